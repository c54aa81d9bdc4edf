package main

import (
	"os"

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
			in := m.Stdin
			if f, ok := in.(*os.File); ok {
				// A blocking read would hold back the derivation it has
				// just started (password.Pollable); the file as it is
				// serves, slower, when it cannot be polled, and is then
				// what Pollable returns.
				p, done, _ := password.Pollable(f)
				defer done()
				in = p
			}
			return password.ServeKeys(in, m.Stdout)
		},
	}
}
