package main

import (
	"github.com/spf13/cobra"

	"usher/password"
)

// hashKeysCommand is the name of the hidden command serve runs as its key
// processes (--hash-process): it derives argon2id keys for its parent,
// reading requests on its standard input until the parent closes it.
const hashKeysCommand = "hash-keys"

func (m *Main) hashKeysCmd() *cobra.Command {
	return &cobra.Command{
		Use:    hashKeysCommand,
		Short:  "derive argon2id keys for a serve process (internal)",
		Hidden: true,
		Args:   cobra.NoArgs,
		// No settings: the parent sends every parameter.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			m.started = true
			return password.ServeKeys(m.Stdin, m.Stdout)
		},
	}
}
