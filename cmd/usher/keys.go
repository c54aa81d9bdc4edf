package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"usher"
	"usher/core"
)

// keysCmd manages the JWT signing keys. It is also "usher jwt", its
// earlier name. Its --jwt-ttl and --impersonation-ttl should match the
// server's (the configuration file and USHER_* set both alike): a key
// retired by rotate verifies for the longer of them and the lifetime the
// server recorded on it at start.
func (m *Main) keysCmd(cfg *config) *cobra.Command {
	p := core.DefaultPolicy()
	keys := &cobra.Command{Use: "keys", Aliases: []string{"jwt"}, Short: "Manage the keys that sign JWTs"}
	pf := keys.PersistentFlags()
	pf.DurationVar(&p.JWTTTL, "jwt-ttl", p.JWTTTL, "lifetime of a JWT, as usher serve has it")
	pf.DurationVar(&p.ImpersonationTTL, "impersonation-ttl", p.ImpersonationTTL, "longest impersonation, as usher serve has it")
	keys.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key current and retire the others, Corteza's shared secret too; they verify for the longest JWT lifetime, then are pruned",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withPolicy(cmd.Context(), cfg, p, func(ctx context.Context, c *core.Core) error {
				if err := c.Auth.RotateSigningKey(ctx); err != nil {
					return describe(err)
				}
				_, err := fmt.Fprintln(m.Stdout, "signing key rotated")
				return err
			})
		},
	})
	keys.AddCommand(&cobra.Command{
		Use:   "prune",
		Short: "Delete the retired signing keys whose JWTs have all expired",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withPolicy(cmd.Context(), cfg, p, func(ctx context.Context, c *core.Core) error {
				pruned, err := c.Auth.PruneSigningKeys(ctx)
				if err != nil {
					return describe(err)
				}
				_, err = fmt.Fprintf(m.Stdout, "%d signing key(s) pruned%s\n", len(pruned), strings.Join(append([]string{""}, pruned...), "\n  "))
				return err
			})
		},
	})
	output := outputTable
	list := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys: the current one, and retired ones with when they stop verifying",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withPolicy(cmd.Context(), cfg, p, func(ctx context.Context, c *core.Core) error {
				keys, err := c.Auth.SigningKeys(ctx)
				if err != nil {
					return describe(err)
				}
				return m.print(cmd, output, keyRows(keys), func(t *table) {
					t.row("KID", "ALGORITHM", "CREATED", "STATE", "VERIFIES UNTIL")
					for _, k := range keys {
						t.row(k.ID, k.Algorithm, when(&k.CreatedAt), keyState(k), when(k.VerifiesUntil))
					}
				})
			})
		},
	}
	addOutputFlag(list, &output)
	keys.AddCommand(list)
	return keys
}

// keyRow is a signing key in JSON output.
type keyRow struct {
	ID            string     `json:"kid"`
	Algorithm     string     `json:"algorithm"`
	CreatedAt     time.Time  `json:"created_at"`
	State         string     `json:"state"`
	RetiredAt     *time.Time `json:"retired_at"`
	VerifiesUntil *time.Time `json:"verifies_until"`
}

func keyRows(keys []usher.SigningKeyState) []keyRow {
	rows := make([]keyRow, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, keyRow{k.ID, k.Algorithm, k.CreatedAt, keyState(k), k.RetiredAt, k.VerifiesUntil})
	}
	return rows
}

// keyState names what a key does: signs, verifies only, or is shared.
func keyState(k usher.SigningKeyState) string {
	switch {
	case k.Current:
		return "current"
	case k.RetiredAt != nil:
		return "retired"
	case k.Algorithm == "HS256":
		return "shared"
	}
	return "unused"
}
