package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"usher"
	"usher/core"
	"usher/face/native"
)

// userKey reads a user argument: an id, or else a username.
func userKey(ref string) usher.UserKey {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return usher.UserKey{ID: id}
	}
	return usher.UserKey{Username: ref}
}

// readPassword reads a password from the first line of standard input; an
// empty one is refused.
func (m *Main) readPassword() (string, error) {
	line, err := bufio.NewReader(m.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("standard input held no password; give it on the first line")
	}
	return pw, nil
}

func (m *Main) userCmd(cfg *config) *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "Manage users"}
	user.AddCommand(m.userCreateCmd(cfg), m.userListCmd(cfg), m.userShowCmd(cfg), m.userPasswdCmd(cfg))
	for _, st := range []struct {
		use, short string
		change     func(c *core.Core) func(context.Context, usher.UserKey) (*usher.User, error)
	}{
		{"block", "Block a user: every session and token ends, log-in is refused", func(c *core.Core) func(context.Context, usher.UserKey) (*usher.User, error) { return c.Users.Block }},
		{"unblock", "Unblock a blocked user", func(c *core.Core) func(context.Context, usher.UserKey) (*usher.User, error) { return c.Users.Unblock }},
		{"suspend", "Suspend a user: every session and token ends until unsuspended", func(c *core.Core) func(context.Context, usher.UserKey) (*usher.User, error) { return c.Users.Suspend }},
		{"unsuspend", "Lift a user's suspension", func(c *core.Core) func(context.Context, usher.UserKey) (*usher.User, error) { return c.Users.Unsuspend }},
		{"delete", "Delete a user (recoverable with undelete); every session and token ends", func(c *core.Core) func(context.Context, usher.UserKey) (*usher.User, error) { return c.Users.Delete }},
		{"undelete", "Bring back a deleted user", func(c *core.Core) func(context.Context, usher.UserKey) (*usher.User, error) { return c.Users.Undelete }},
	} {
		output := outputTable
		cmd := &cobra.Command{
			Use:   st.use + " USER",
			Short: st.short + "; USER is a username or an id",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
					u, err := st.change(c)(ctx, userKey(args[0]))
					if err != nil {
						return describe(err)
					}
					return m.printUsers(cmd, output, u)
				})
			},
		}
		addOutputFlag(cmd, &output)
		user.AddCommand(cmd)
	}
	return user
}

func (m *Main) userCreateCmd(cfg *config) *cobra.Command {
	var in usher.UserCreate
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user and print it as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if passwordStdin {
				if in.Password != "" {
					return usagef(cmd, "give --password or --password-stdin, not both")
				}
				pw, err := m.readPassword()
				if err != nil {
					return err
				}
				in.Password = pw
			}
			return m.withCore(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				u, err := c.Users.Create(ctx, in)
				if err != nil {
					return describe(err)
				}
				enc := json.NewEncoder(m.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(native.UserView(u))
			})
		},
	}
	f := create.Flags()
	f.StringVar(&in.Username, "username", "", "username (required)")
	f.StringVar(&in.Email, "email", "", "e-mail address")
	f.StringVar(&in.Password, "password", "", "password (visible to other local users in the process list; prefer --password-stdin)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.StringVar(&in.Name, "name", "", "full name")
	f.BoolVar(&in.Admin, "admin", false, "make the user an administrator")
	f.BoolVar(&in.EmailConfirmed, "confirmed", true, "mark the e-mail address confirmed")
	_ = create.MarkFlagRequired("username")
	return create
}

func (m *Main) userListCmd(cfg *config) *cobra.Command {
	output := outputTable
	var (
		f       usher.UserFilter
		state   string
		deleted bool
		limit   int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef(cmd, "--limit must be 0 (every user) or more")
			}
			f.State = usher.UserState(state)
			if deleted {
				f.Deleted = usher.Include
			}
			return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				var users []*usher.User
				for {
					f.Page.Limit = limit - len(users)
					if limit == 0 {
						f.Page.Limit = 0
					}
					page, err := c.Users.List(ctx, f)
					if err != nil {
						return describe(err)
					}
					users = append(users, page.Items...)
					if page.Next == nil || (limit > 0 && len(users) >= limit) {
						break
					}
					f.Page.After = page.Next
				}
				return m.printUsers(cmd, output, users...)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.Query, "query", "q", "", "keep users whose username, name or e-mail address holds this text")
	f.SearchEmail = true
	fl.StringVar(&state, "state", "", "keep users in this state: active, pending_confirmation, blocked, suspended")
	fl.BoolVar(&deleted, "deleted", false, "list deleted users too")
	fl.IntVar(&limit, "limit", 100, "most users to list; 0 lists every one")
	addOutputFlag(cmd, &output)
	return cmd
}

func (m *Main) userShowCmd(cfg *config) *cobra.Command {
	output := outputTable
	cmd := &cobra.Command{
		Use:   "show USER",
		Short: "Show a user; USER is a username or an id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				u, err := c.Users.Get(ctx, userKey(args[0]))
				if err != nil {
					return describe(err)
				}
				return m.print(cmd, output, native.UserView(u), func(t *table) {
					for _, r := range [][2]string{
						{"id", strconv.FormatInt(u.ID, 10)}, {"uuid", u.UUID}, {"username", u.Username}, {"email", u.Email},
						{"name", u.Name}, {"state", string(u.State)}, {"kind", string(u.Kind)}, {"admin", yesNo(u.Admin)},
						{"created", when(&u.CreatedAt)}, {"last sign-in", when(u.LastSignInAt)}, {"deleted", when(u.DeletedAt)},
					} {
						t.row(r[0]+":", r[1])
					}
				})
			})
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func (m *Main) userPasswdCmd(cfg *config) *cobra.Command {
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "passwd USER --password-stdin",
		Short: "Set a user's password from standard input; every session of the account ends",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !passwordStdin {
				return usagef(cmd, "give the password on standard input with --password-stdin")
			}
			pw, err := m.readPassword()
			if err != nil {
				return err
			}
			return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				if err := c.Auth.SetPassword(ctx, userKey(args[0]), pw); err != nil {
					return describe(err)
				}
				_, err := fmt.Fprintf(m.Stdout, "password of %s set\n", args[0])
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

// printUsers prints users as a table, or as the native API's JSON: an
// object for one user, an array for a list.
func (m *Main) printUsers(cmd *cobra.Command, output outputFormat, users ...*usher.User) error {
	views := make([]any, len(users))
	for i, u := range users {
		views[i] = native.UserView(u)
	}
	var v any = views
	if len(users) == 1 && cmd.Name() != "list" {
		v = views[0]
	}
	return m.print(cmd, output, v, func(t *table) {
		t.row("ID", "USERNAME", "EMAIL", "NAME", "STATE", "ADMIN", "CREATED", "DELETED")
		for _, u := range users {
			t.row(strconv.FormatInt(u.ID, 10), u.Username, u.Email, u.Name, string(u.State), yesNo(u.Admin),
				when(&u.CreatedAt), when(u.DeletedAt))
		}
	})
}
