package main

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"usher"
	"usher/core"
)

// groupRef reads a group argument: an id, or else a handle of the kind.
func groupRef(ref string, kind usher.GroupKind) usher.GroupRef {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return usher.GroupRef{ID: id}
	}
	return usher.GroupRef{Handle: ref, Kind: kind}
}

// groupJSON is a group as group list prints it in JSON.
type groupJSON struct {
	ID             int64      `json:"id"`
	Kind           string     `json:"kind"`
	Handle         string     `json:"handle"`
	Name           string     `json:"name"`
	Description    string     `json:"description"`
	OrganisationID int64      `json:"organisation_id,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	ArchivedAt     *time.Time `json:"archived_at"`
	DeletedAt      *time.Time `json:"deleted_at"`
}

// memberJSON is a membership as group members prints it in JSON.
type memberJSON struct {
	UserID   int64     `json:"user_id"`
	Username string    `json:"username"`
	Level    string    `json:"level"`
	Since    time.Time `json:"since"`
}

func (m *Main) groupCmd(cfg *config) *cobra.Command {
	group := &cobra.Command{Use: "group", Short: "Read teams, roles and groups"}
	group.AddCommand(m.groupListCmd(cfg), m.groupMembersCmd(cfg))
	return group
}

// kindFlag reads --kind, which must be a group kind when given.
func kindFlag(cmd *cobra.Command, kind string) (usher.GroupKind, error) {
	k := usher.GroupKind(kind)
	if kind != "" && !k.Valid() {
		return "", usagef(cmd, "--kind %q is not a group kind: team, role, group or internal", kind)
	}
	return k, nil
}

func (m *Main) groupListCmd(cfg *config) *cobra.Command {
	output := outputTable
	var (
		f     usher.GroupFilter
		kind  string
		limit int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List groups of every kind, or of one, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := kindFlag(cmd, kind)
			if err != nil {
				return err
			}
			if k != "" {
				f.Kinds = []usher.GroupKind{k}
			}
			f.Page.Limit = limit
			return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				page, err := c.Groups.List(ctx, f)
				if err != nil {
					return describe(err)
				}
				rows := make([]groupJSON, len(page.Items))
				for i, g := range page.Items {
					rows[i] = groupJSON{ID: g.ID, Kind: string(g.Kind), Handle: g.Handle, Name: g.Name, Description: g.Description,
						OrganisationID: g.OrganisationID, CreatedAt: g.CreatedAt, ArchivedAt: g.ArchivedAt, DeletedAt: g.DeletedAt}
				}
				return m.print(cmd, output, rows, func(t *table) {
					t.row("ID", "KIND", "HANDLE", "NAME", "CREATED", "ARCHIVED")
					for _, g := range page.Items {
						t.row(strconv.FormatInt(g.ID, 10), string(g.Kind), g.Handle, g.Name, when(&g.CreatedAt), when(g.ArchivedAt))
					}
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "kind", "", "list only groups of this kind: team, role, group or internal")
	fl.StringVarP(&f.Query, "query", "q", "", "keep groups whose handle or name holds this text")
	fl.IntVar(&limit, "limit", 100, "most groups to list")
	addOutputFlag(cmd, &output)
	return cmd
}

func (m *Main) groupMembersCmd(cfg *config) *cobra.Command {
	output := outputTable
	var (
		kind  string
		limit int
	)
	cmd := &cobra.Command{
		Use:   "members GROUP",
		Short: "List a group's members; GROUP is an id, or a handle with --kind",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := kindFlag(cmd, kind)
			if err != nil {
				return err
			}
			return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				page, err := c.Groups.Members(ctx, groupRef(args[0], k), usher.PageRequest{Limit: limit})
				if err != nil {
					return describe(err)
				}
				rows := make([]memberJSON, len(page.Items))
				for i, mb := range page.Items {
					rows[i] = memberJSON{UserID: mb.UserID, Level: string(mb.Level), Since: mb.CreatedAt}
					if mb.User != nil {
						rows[i].Username = mb.User.Username
					}
				}
				return m.print(cmd, output, rows, func(t *table) {
					t.row("USER ID", "USERNAME", "LEVEL", "SINCE")
					for _, r := range rows {
						t.row(strconv.FormatInt(r.UserID, 10), r.Username, r.Level, when(&r.Since))
					}
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "kind", string(usher.GroupTeam), "the kind of group a handle names: team, role, group or internal")
	fl.IntVar(&limit, "limit", 100, "most members to list")
	addOutputFlag(cmd, &output)
	return cmd
}
