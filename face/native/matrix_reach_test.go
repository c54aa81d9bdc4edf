package native_test

import (
	"fmt"
	"strings"
	"testing"

	"usher"
)

// The reach matrix extends the authorization matrix from who may call a
// group route to what the call may reach: a caller with a level in group A
// acts on group B, where it has no level or a lower one. Each row is an
// operation that changes a group; each column a caller. Outcomes are
// written out per cell, and a refused call must leave A and B as they were
// and write nothing.

// A reachColumn is a caller: its level in A and in B ("" for none); sa
// makes it a service account of A (a writer there), admin an
// administrator, the control column that shows each request can succeed.
type reachColumn struct {
	name      string
	inA, inB  usher.Level
	sa, admin bool
}

var reachColumns = []reachColumn{
	{name: "none"},
	{name: "reader", inA: usher.LevelRead},
	{name: "writer", inA: usher.LevelWrite},
	{name: "writer/B-read", inA: usher.LevelWrite, inB: usher.LevelRead},
	{name: "owner", inA: usher.LevelOwner},
	{name: "owner/B-read", inA: usher.LevelOwner, inB: usher.LevelRead},
	{name: "owner/B-write", inA: usher.LevelOwner, inB: usher.LevelWrite},
	{name: "sa", sa: true},
	{name: "sa/B-read", sa: true, inB: usher.LevelRead},
	{name: "admin", admin: true},
}

// reachCell is one request of the reach matrix, on groups made for it: A,
// a team; B, a team or a role with two owners (members, for a role), a
// reader and, for a team, a service account of its own.
type reachCell struct {
	t      *testing.T
	b      *bundle
	caller *usher.User
	token  string
	a, g   *usher.Group // A and B
	boss   *usher.User  // B's second owner
	bsa    *usher.User  // B's service account (teams only)
}

// A reachRow is one operation on B (or, for a merge, on A and B).
type reachRow struct {
	name   string
	method string
	kind   usher.GroupKind // B's kind
	want   string
	build  func(c *reachCell) req
}

func (c *reachCell) must(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

func (c *reachCell) path(g *usher.Group, suffix string) string {
	return fmt.Sprintf("/v1/groups/%d%s", g.ID, suffix)
}

// newReachCell makes the column's caller and the cell's groups.
func newReachCell(t *testing.T, b *bundle, col reachColumn, kind usher.GroupKind, n int) *reachCell {
	t.Helper()
	c := &reachCell{t: t, b: b}
	groups := b.env.Core.Groups
	mk := func(kind usher.GroupKind, handle string) *usher.Group {
		g, err := groups.Create(sys(), usher.GroupCreate{Kind: kind, Handle: fmt.Sprintf("%s-%d", handle, n)})
		c.must(err)
		return g
	}
	add := func(g *usher.Group, u *usher.User, level usher.Level) {
		if g.Kind != usher.GroupTeam {
			level = ""
		}
		_, err := groups.AddMember(sys(), usher.GroupRef{ID: g.ID}, usher.UserKey{ID: u.ID}, level)
		c.must(err)
	}
	user := func(name string, admin bool) *usher.User {
		return b.env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("%s-%d", name, n), Admin: admin})
	}
	c.a, c.g = mk(usher.GroupTeam, "a"), mk(kind, "b")
	switch {
	case col.sa:
		sa, err := groups.CreateServiceAccount(sys(), usher.GroupRef{ID: c.a.ID}, fmt.Sprintf("caller-%d", n), "")
		c.must(err)
		c.caller, c.token = sa, b.env.MustToken(t, sa.ID, usher.TokenServiceAccount, usher.ScopeAPI)
	default:
		c.caller = user("caller", col.admin)
		c.token = b.env.MustToken(t, c.caller.ID, usher.TokenPersonal)
		if col.inA != "" {
			add(c.a, c.caller, col.inA)
		}
	}
	if col.inB != "" {
		add(c.g, c.caller, col.inB)
	}
	add(c.g, user("boss1", false), usher.LevelOwner)
	c.boss = user("boss2", false)
	add(c.g, c.boss, usher.LevelOwner)
	add(c.g, user("reader", false), usher.LevelRead)
	if kind == usher.GroupTeam {
		sa, err := groups.CreateServiceAccount(sys(), usher.GroupRef{ID: c.g.ID}, fmt.Sprintf("bsa-%d", n), "")
		c.must(err)
		c.bsa = sa
	}
	return c
}

// snapshot is what a refused call must leave as it was: the group, its
// members and levels, and a role's rules.
func (c *reachCell) snapshot(g *usher.Group) string {
	c.t.Helper()
	ref := usher.GroupRef{ID: g.ID}
	gr, _, err := c.b.env.Core.Groups.Get(sys(), ref)
	c.must(err)
	out := fmt.Sprintf("%s %q %q archived=%t deleted=%t org=%d v%d members: %s", gr.Handle, gr.Name, gr.Description,
		gr.ArchivedAt != nil, gr.DeletedAt != nil, gr.OrganisationID, gr.Version, c.b.members(c.t, g.ID))
	if gr.Kind == usher.GroupRole {
		rules, err := c.b.env.Core.Groups.Rules(sys(), ref)
		c.must(err)
		out += fmt.Sprintf(" rules: %v", rules)
	}
	return out
}

func reachRows() []reachRow {
	team, role := usher.GroupTeam, usher.GroupRole
	rules := map[string]any{"rules": []map[string]string{{"resource": "*", "operation": "*", "access": "allow"}}}
	on := func(suffix string, body any) func(*reachCell) req {
		return func(c *reachCell) req { return req{path: c.path(c.g, suffix), body: body} }
	}
	// Columns: none reader writer writer/B-read owner owner/B-read
	// owner/B-write sa sa/B-read admin.
	return []reachRow{
		{"PATCH B", "PATCH", team, "FFFFFFAFFA", on("", map[string]any{"description": "changed"})},
		{"DELETE B", "DELETE", team, "FFFFFFFFFA", on("", nil)},
		{"undelete B", "POST", team, "NNNNNNNNNA", func(c *reachCell) req {
			_, err := c.b.env.Core.Groups.Delete(sys(), usher.GroupRef{ID: c.g.ID})
			c.must(err)
			if c.caller.Kind == usher.KindServiceAccount {
				// Deleting B ended the tokens of the service
				// accounts in it; the caller's A mints anew.
				c.token = c.b.env.MustToken(c.t, c.caller.ID, usher.TokenServiceAccount, usher.ScopeAPI)
			}
			return req{path: c.path(c.g, "/undelete")}
		}},
		{"archive B", "POST", team, "FFFFFFAFFA", on("/archive", nil)},
		{"unarchive B", "POST", team, "FFFFFFAFFA", func(c *reachCell) req {
			_, err := c.b.env.Core.Groups.SetArchived(sys(), usher.GroupRef{ID: c.g.ID}, true)
			c.must(err)
			return req{path: c.path(c.g, "/unarchive")}
		}},
		{"move B", "POST", team, "FFFFFFAFFA", func(c *reachCell) req {
			o, err := c.b.env.Core.Orgs.Create(sys(), "org-"+c.g.Handle, "Org")
			c.must(err)
			return req{path: c.path(c.g, "/move"), body: map[string]any{"organisation_id": o.ID}}
		}},
		{"merge A into B", "POST", team, "FFFFFFFFFA", func(c *reachCell) req {
			return req{path: c.path(c.a, "/merge"), body: map[string]any{"into": c.g.ID}}
		}},
		{"merge B into A", "POST", team, "FFFFFFFFFA", func(c *reachCell) req {
			return req{path: c.path(c.g, "/merge"), body: map[string]any{"into": c.a.ID}}
		}},
		{"make oneself owner of B", "PUT", team, "FFFFFFFFFA", func(c *reachCell) req {
			return req{path: c.path(c.g, fmt.Sprintf("/members/%d", c.caller.ID)), body: map[string]any{"level": "owner"}}
		}},
		{"remove an owner of B", "DELETE", team, "FFFFFFFFFA", func(c *reachCell) req {
			return req{path: c.path(c.g, fmt.Sprintf("/members/%d", c.boss.ID))}
		}},
		{"replace role B's rules", "PUT", role, "FFFFFFFFFA", on("/rules", rules)},
		{"add to role B's rules", "PATCH", role, "FFFFFFFFFA", on("/rules", rules)},
		{"clear role B's rules", "DELETE", role, "FFFFFFFFFA", on("/rules", nil)},
		{"create a service account of B", "POST", team, "FFFFFFFFFA", func(c *reachCell) req {
			return req{path: c.path(c.g, "/service-accounts"), body: map[string]any{"username": "made-" + c.g.Handle}}
		}},
		{"delete B's service account", "DELETE", team, "FFFFFFFFFA", func(c *reachCell) req {
			return req{path: c.path(c.g, "/service-accounts/"+c.bsa.Username)}
		}},
		{"mint a token for B's service account", "POST", team, "FFFFFFFFFA", func(c *reachCell) req {
			return req{path: c.path(c.g, "/service-accounts/"+c.bsa.Username+"/token")}
		}},
		{"add oneself to B by user groups", "PUT", team, "FFFFFFFFFA", func(c *reachCell) req {
			return req{path: fmt.Sprintf("/v1/users/%d/groups", c.caller.ID), body: map[string]any{"kind": "team", "add_to_groups": []string{c.g.Handle}}}
		}},
		// A set leaves the owner in B where the caller may not read B,
		// and changes nothing (round 51: its refusal told membership).
		{"take an owner out of B by user groups", "PUT", team, "AAAFAFFAFA", func(c *reachCell) req {
			return req{path: fmt.Sprintf("/v1/users/%d/groups", c.boss.ID), body: map[string]any{"kind": "team", "set_groups": []string{}}}
		}},
	}
}

// TestAuthorizationReach runs every group-changing operation as every
// reach column against B and checks each outcome, and that a refused call
// changed neither group and wrote nothing.
func TestAuthorizationReach(t *testing.T) {
	t.Parallel()
	// Rows whose call, done by one who is no administrator, must have
	// changed nothing either.
	unchangedWhenDone := map[string]bool{"take an owner out of B by user groups": true}
	for _, r := range reachRows() {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			if len(r.want) != len(reachColumns) {
				t.Fatalf("%d outcomes for %d columns", len(r.want), len(reachColumns))
			}
			b := setup(t)
			got := make([]byte, len(reachColumns))
			var detail []string
			for i, col := range reachColumns {
				c := newReachCell(t, b, col, r.kind, i)
				rq := r.build(c)
				beforeA, beforeB := c.snapshot(c.a), c.snapshot(c.g)
				users, events := b.env.Counts(t)
				rq.method, rq.token = r.method, c.token
				res := b.api.do(t, rq)
				got[i] = outcome(res.status)
				if got[i] != r.want[i] {
					detail = append(detail, fmt.Sprintf("%s: %d %s", col.name, res.status, res.body))
				}
				if res.status < 400 && (!unchangedWhenDone[r.name] || col.admin) {
					continue
				}
				if afterA, afterB := c.snapshot(c.a), c.snapshot(c.g); afterA != beforeA || afterB != beforeB {
					t.Errorf("%s: a call (%d) changed the groups:\nA %s\n→ %s\nB %s\n→ %s", col.name, res.status, beforeA, afterA, beforeB, afterB)
				}
				if u, e := b.env.Counts(t); u != users || e != events {
					t.Errorf("%s: a call (%d) wrote: users %d→%d, events %d→%d", col.name, res.status, users, u, events, e)
				}
			}
			if string(got) != r.want {
				t.Errorf("got %s, want %s\n%s", got, r.want, strings.Join(detail, "\n"))
			}
		})
	}
}
