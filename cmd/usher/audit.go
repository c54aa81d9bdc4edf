package main

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"usher"
	"usher/core"
)

// eventJSON is an audit event as audit tail prints it in JSON.
type eventJSON struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	ActorKind string    `json:"actor_kind"`
	ActorID   int64     `json:"actor_id,omitempty"`
	ActorName string    `json:"actor_name,omitempty"`
	// ImpersonatorID is the administrator who acted as the actor.
	ImpersonatorID int64                   `json:"impersonator_id,omitempty"`
	Action         string                  `json:"action"`
	Resource       string                  `json:"resource"`
	Changes        map[string]usher.Change `json:"changes,omitempty"`
	Meta           map[string]string       `json:"meta,omitempty"`
	Address        string                  `json:"address,omitempty"`
	RequestID      string                  `json:"request_id,omitempty"`
}

func (m *Main) auditCmd(cfg *config) *cobra.Command {
	audit := &cobra.Command{Use: "audit", Short: "Read the audit log"}
	output := outputTable
	var (
		f      usher.AuditFilter
		limit  int
		follow bool
		every  time.Duration
	)
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print the latest audit events, oldest first; with --follow, then each new one as it comes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return usagef(cmd, "--limit must be 1 or more")
			}
			if every <= 0 {
				return usagef(cmd, "--interval must be positive")
			}
			return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				f.Page = usher.PageRequest{Limit: limit}
				page, err := c.Audit.List(ctx, f)
				if err != nil {
					return describe(err)
				}
				events := slices.Clone(page.Items)
				slices.Reverse(events)
				if err := m.printEvents(cmd, output, events, true); err != nil || !follow {
					return err
				}
				return m.followAudit(ctx, cmd, c, f, output, events, every)
			})
		},
	}
	fl := tail.Flags()
	fl.IntVarP(&limit, "limit", "n", 20, "how many of the latest events to print")
	fl.StringVar(&f.Action, "action", "", `keep events of this action, or of actions under a prefix ending in "." (user.)`)
	fl.StringVar(&f.ResourceType, "resource-type", "", "keep events about this kind of resource (user, token, group)")
	fl.StringVar(&f.ResourceID, "resource-id", "", "with --resource-type, keep events about this one resource")
	fl.BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	fl.DurationVar(&every, "interval", 2*time.Second, "with --follow, how often to look for new events")
	addOutputFlag(tail, &output)
	audit.AddCommand(tail)
	return audit
}

// followAudit prints the events newer than those printed, every interval,
// until ctx ends.
func (m *Main) followAudit(ctx context.Context, cmd *cobra.Command, c *core.Core, f usher.AuditFilter, output outputFormat,
	printed []*usher.AuditEvent, every time.Duration) error {
	var last int64
	since := time.Now()
	if n := len(printed); n > 0 {
		last, since = printed[n-1].ID, printed[n-1].At
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		f.From, f.Page = &since, usher.PageRequest{}
		var fresh []*usher.AuditEvent
		for {
			page, err := c.Audit.List(ctx, f)
			if ctx.Err() != nil {
				return nil // stopped while it read: the end asked for
			}
			if err != nil {
				return describe(err)
			}
			for _, e := range page.Items {
				if e.ID > last {
					fresh = append(fresh, e)
				}
			}
			if page.Next == nil {
				break
			}
			f.Page.After = page.Next
		}
		slices.Reverse(fresh)
		if len(fresh) > 0 {
			last, since = fresh[len(fresh)-1].ID, fresh[len(fresh)-1].At
		}
		if err := m.printEvents(cmd, output, fresh, false); err != nil {
			return err
		}
	}
}

// printEvents prints events as a table (with its header when header is
// set) or as JSON: an array, one object per line when following.
func (m *Main) printEvents(cmd *cobra.Command, output outputFormat, events []*usher.AuditEvent, header bool) error {
	rows := make([]eventJSON, len(events))
	for i, e := range events {
		rows[i] = eventJSON{ID: e.ID, At: e.At, ActorKind: string(e.ActorKind), ActorID: e.ActorID, ActorName: e.ActorName,
			ImpersonatorID: e.ImpersonatorID, Action: e.Action, Resource: e.ResourceType + ":" + e.ResourceID, Changes: e.Changes, Meta: e.Meta,
			Address: e.Address, RequestID: e.RequestID}
	}
	if !header && output == outputJSON {
		for _, r := range rows {
			if err := m.print(cmd, output, r, nil); err != nil {
				return err
			}
		}
		return nil
	}
	return m.print(cmd, output, rows, func(t *table) {
		if header {
			t.row("ID", "TIME", "ACTOR", "ACTION", "RESOURCE", "ADDRESS", "REQUEST")
		}
		for _, r := range rows {
			actor := r.ActorKind
			if r.ActorName != "" {
				actor = r.ActorName
			}
			if r.ImpersonatorID != 0 {
				actor += " (impersonated by #" + strconv.FormatInt(r.ImpersonatorID, 10) + ")"
			}
			t.row(strconv.FormatInt(r.ID, 10), r.At.UTC().Format(time.RFC3339), actor, r.Action, r.Resource,
				orDash(r.Address), orDash(r.RequestID))
		}
	})
}

// orDash is s, or "-" when it is empty, for a table's cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
