package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"usher"
	"usher/core"
)

// defaultTokenTTL is the lifetime of a token minted on the command line
// unless --expires or --no-expiry says otherwise.
const defaultTokenTTL = 24 * time.Hour

func (m *Main) tokenCmd(cfg *config) *cobra.Command {
	token := &cobra.Command{Use: "token", Short: "Manage tokens"}
	token.AddCommand(m.tokenCreateCmd(cfg), m.tokenListCmd(cfg), m.tokenRevokeCmd(cfg))
	return token
}

func (m *Main) tokenCreateCmd(cfg *config) *cobra.Command {
	var (
		ref, name, kind string
		scopes          []string
		expires         time.Duration
		noExpiry        bool
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Mint a token for a user and print it; it expires in 24h unless --expires or --no-expiry says otherwise",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case noExpiry && cmd.Flags().Changed("expires"):
				return usagef(cmd, "give --expires or --no-expiry, not both")
			case expires <= 0 && !noExpiry:
				return usagef(cmd, "--expires must be positive; --no-expiry mints a token that never expires")
			}
			return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				u, err := c.Users.Get(ctx, userKey(ref))
				if err != nil {
					return describe(err)
				}
				in := usher.TokenCreate{UserID: u.ID, Kind: usher.TokenKind(kind), Name: name, Scopes: scopes}
				if !noExpiry {
					t := time.Now().Add(expires)
					in.ExpiresAt = &t
				}
				_, text, err := c.Auth.CreateToken(ctx, in)
				if err != nil {
					return describe(err)
				}
				_, err = fmt.Fprintln(m.Stdout, text)
				return err
			})
		},
	}
	f := create.Flags()
	f.StringVar(&ref, "user", "", "username or id of the token's owner (required)")
	f.StringVar(&name, "name", "cli", "the token's name")
	f.StringVar(&kind, "kind", "personal", "personal, service_account or application")
	f.StringArrayVar(&scopes, "scope", nil, "a scope the token is limited to (repeatable): api, read_api, read_user, sudo")
	f.DurationVar(&expires, "expires", defaultTokenTTL, "lifetime, e.g. 720h")
	f.BoolVar(&noExpiry, "no-expiry", false, "mint a token that never expires")
	_ = create.MarkFlagRequired("user")
	return create
}

// tokenJSON is a token as token list prints it in JSON: never its secret.
type tokenJSON struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Hint       string     `json:"hint"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

func (m *Main) tokenListCmd(cfg *config) *cobra.Command {
	output := outputTable
	var ref string
	cmd := &cobra.Command{
		Use:   "list --user USER",
		Short: "List a user's live tokens (sessions aside), newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				toks, err := c.Auth.UserTokens(ctx, userKey(ref))
				if err != nil {
					return describe(err)
				}
				rows := make([]tokenJSON, len(toks))
				for i, t := range toks {
					rows[i] = tokenJSON{ID: t.ID, Kind: string(t.Kind), Name: t.Name, Scopes: t.Scopes, Hint: t.Hint,
						ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, CreatedAt: t.CreatedAt}
					if rows[i].Scopes == nil {
						rows[i].Scopes = []string{}
					}
				}
				return m.print(cmd, output, rows, func(tb *table) {
					tb.row("ID", "KIND", "NAME", "SCOPES", "HINT", "EXPIRES", "LAST USED", "CREATED")
					for _, t := range toks {
						tb.row(strconv.FormatInt(t.ID, 10), string(t.Kind), t.Name, strings.Join(t.Scopes, ","), t.Hint,
							when(t.ExpiresAt), when(t.LastUsedAt), when(&t.CreatedAt))
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&ref, "user", "", "username or id of the tokens' owner (required)")
	_ = cmd.MarkFlagRequired("user")
	addOutputFlag(cmd, &output)
	return cmd
}

func (m *Main) tokenRevokeCmd(cfg *config) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token by its id (from token list)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usagef(cmd, "the token id %q is not a number; token list shows the ids", args[0])
			}
			return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				if err := c.Auth.RevokeToken(ctx, id); err != nil {
					return describe(err)
				}
				_, err := fmt.Fprintf(m.Stdout, "token %d revoked\n", id)
				return err
			})
		},
	}
}
