package core_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// offsetBundle is a core that pages by 3 by default, counts totals exactly
// up to 5 rows and lets an offset page reach row 20, with seven rows in
// every list it pages.
type offsetBundle struct {
	env   *coretest.Env
	admin context.Context
	team  *usher.Group
}

func setupOffsets(t *testing.T, pg bool) *offsetBundle {
	t.Helper()
	env := coretest.New(t, coretest.Options{Postgres: pg, Policy: core.Policy{DefaultPageSize: 3, MaxPageSize: 5, ExactTotal: 5, MaxOffset: 20}})
	root := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
	b := &offsetBundle{env: env, admin: as(root)}
	team, err := env.Core.Groups.Create(coretest.System(), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "crew"})
	if err != nil {
		t.Fatal(err)
	}
	b.team = team
	for i := range 7 {
		u := env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("off-%d", i)})
		if _, err := env.Core.Groups.AddMember(b.admin, usher.GroupRef{ID: team.ID}, usher.UserKey{ID: u.ID}, usher.LevelRead); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Core.Groups.Create(b.admin, usher.GroupCreate{Kind: usher.GroupPlain, Handle: fmt.Sprintf("g%d", i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Core.Orgs.Create(b.admin, fmt.Sprintf("org%d", i), "Org"); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Core.Apps.Create(b.admin, usher.ApplicationCreate{Name: fmt.Sprintf("app%d", i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Core.Reminders.Create(b.admin, usher.ReminderCreate{Resource: "invoice:1", AssignedTo: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// pageIDs is what a test reads of one page.
type pageIDs struct {
	ids       []int64
	next      *usher.Cursor
	total     int
	estimated bool
}

func idsOf[T any](p *usher.Page[T], err error, id func(T) int64) (pageIDs, error) {
	if err != nil {
		return pageIDs{}, err
	}
	out := pageIDs{next: p.Next, total: p.Total, estimated: p.TotalEstimated}
	for _, v := range p.Items {
		out.ids = append(out.ids, id(v))
	}
	return out, nil
}

// lists reads one page of every list the core pages by offset, as ctx's
// caller; each holds seven rows.
func (b *offsetBundle) lists(ctx context.Context) map[string]func(usher.PageRequest) (pageIDs, error) {
	c := b.env.Core
	team := usher.GroupRef{ID: b.team.ID}
	userID := func(u *usher.User) int64 { return u.ID }
	return map[string]func(usher.PageRequest) (pageIDs, error){
		"users": func(req usher.PageRequest) (pageIDs, error) {
			p, err := c.Users.List(ctx, usher.UserFilter{Query: "off-", Page: req})
			if err != nil {
				return pageIDs{}, err
			}
			return idsOf(&p.Page, nil, userID)
		},
		"groups": func(req usher.PageRequest) (pageIDs, error) {
			p, err := c.Groups.List(ctx, usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupPlain}, Page: req})
			return idsOf(p, err, func(g *usher.Group) int64 { return g.ID })
		},
		"organisations": func(req usher.PageRequest) (pageIDs, error) {
			p, err := c.Orgs.List(ctx, usher.OrganisationFilter{Page: req})
			return idsOf(p, err, func(o *usher.Organisation) int64 { return o.ID })
		},
		"applications": func(req usher.PageRequest) (pageIDs, error) {
			p, err := c.Apps.List(ctx, usher.ApplicationFilter{Page: req})
			return idsOf(p, err, func(a *usher.AllowedApplication) int64 { return a.ID })
		},
		"reminders": func(req usher.PageRequest) (pageIDs, error) {
			p, err := c.Reminders.List(ctx, usher.ReminderFilter{Page: req})
			return idsOf(p, err, func(r *usher.Reminder) int64 { return r.ID })
		},
		"audit": func(req usher.PageRequest) (pageIDs, error) {
			p, err := c.Audit.List(ctx, usher.AuditFilter{Action: "organisation.create", Page: req})
			return idsOf(p, err, func(e *usher.AuditEvent) int64 { return e.ID })
		},
		"members": func(req usher.PageRequest) (pageIDs, error) {
			p, err := c.Groups.Members(ctx, team, req)
			return idsOf(p, err, func(m *usher.Membership) int64 { return m.UserID })
		},
		"member ids": func(req usher.PageRequest) (pageIDs, error) {
			p, err := c.Groups.MemberIDs(ctx, team, req)
			return idsOf(p, err, func(id int64) int64 { return id })
		},
	}
}

// TestPageOffset: on SQLite and PostgreSQL, offset pages of every list hold
// the rows the cursor's pages hold, in the same order, none twice and none
// left out; a total is exact up to the policy's ExactTotal and flagged an
// estimate past it.
func TestPageOffset(t *testing.T) {
	t.Parallel()
	for name, pg := range map[string]bool{"sqlite": false, "postgres": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setupOffsets(t, pg)
			for list, read := range b.lists(b.admin) {
				var byCursor []int64
				req := usher.PageRequest{Limit: 3}
				for {
					p, err := read(req)
					if err != nil {
						t.Fatalf("%s: %v", list, err)
					}
					byCursor = append(byCursor, p.ids...)
					if p.next == nil {
						break
					}
					req.After = p.next
				}
				var byOffset []int64
				for offset := 0; offset < 9; offset += 3 {
					p, err := read(usher.PageRequest{Offset: offset, Limit: 3})
					if err != nil {
						t.Fatalf("%s at %d: %v", list, offset, err)
					}
					if (p.next == nil) != (offset == 6) || p.total != -1 {
						t.Errorf("%s at %d: next %v, total %d; want a next page before the last and no total", list, offset, p.next, p.total)
					}
					byOffset = append(byOffset, p.ids...)
				}
				if len(byCursor) != 7 || !slices.Equal(byOffset, byCursor) {
					t.Errorf("%s: offset pages give %v, cursor pages %v", list, byOffset, byCursor)
				}
				// Numbered pages of 50 are numbered in the 5 the core
				// serves.
				var byNumber []int64
				for n := 1; n <= 2; n++ {
					p, err := read(usher.PageRequest{Number: n, Limit: 50})
					if err != nil {
						t.Fatalf("%s page %d: %v", list, n, err)
					}
					byNumber = append(byNumber, p.ids...)
				}
				if !slices.Equal(byNumber, byCursor) {
					t.Errorf("%s: numbered pages give %v, cursor pages %v", list, byNumber, byCursor)
				}
				if p, err := read(usher.PageRequest{Offset: 7, Limit: 3}); err != nil || len(p.ids) != 0 || p.next != nil {
					t.Errorf("%s past the end: %+v, %v; want an empty last page", list, p, err)
				}
				// Seven rows are past the exact bound of 5: an estimate,
				// here the full count, kept.
				p, err := read(usher.PageRequest{Offset: 3, Limit: 2, WithTotal: true})
				if err != nil || p.total != 7 || !p.estimated || len(p.ids) != 2 {
					t.Errorf("%s with a total: %+v, %v; want 7 estimated", list, p, err)
				}
			}
		})
	}
}

// TestPageTotalExact: under the bound a total is exact and not flagged, on
// every list, and a list filtered by the caller's sight counts only what
// the caller sees.
func TestPageTotalExact(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Policy: core.Policy{ExactTotal: 100}})
	root := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
	b := &offsetBundle{env: env, admin: as(root)}
	team, err := env.Core.Groups.Create(coretest.System(), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "crew"})
	if err != nil {
		t.Fatal(err)
	}
	b.team = team
	for list, read := range b.lists(b.admin) {
		if p, err := read(usher.PageRequest{WithTotal: true}); err != nil || p.total != 0 || p.estimated {
			t.Errorf("%s, empty: %+v, %v", list, p, err)
		}
	}
	alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice"})
	for _, h := range []string{"seen", "hidden"} {
		if _, err := env.Core.Groups.Create(b.admin, usher.GroupCreate{Kind: usher.GroupTeam, Handle: h}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Core.Groups.AddMember(b.admin, usher.GroupRef{Kind: usher.GroupTeam, Handle: "seen"}, usher.UserKey{ID: alice.ID}, usher.LevelRead); err != nil {
		t.Fatal(err)
	}
	// Alice sees one of the three teams: the others count for no one but
	// an administrator.
	for who, want := range map[string]int{"root": 3, "alice": 1} {
		ctx := b.admin
		if who == "alice" {
			ctx = as(alice)
		}
		p, err := env.Core.Groups.List(ctx, usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam}, Page: usher.PageRequest{WithTotal: true}})
		if err != nil || p.Total != want || p.TotalEstimated || len(p.Items) != want {
			t.Errorf("%s's teams: %d of total %d (estimated %v), %v; want %d", who, len(p.Items), p.Total, p.TotalEstimated, err, want)
		}
	}
}

// TestPageOffsetRefused: a negative offset, an offset with a cursor and one
// that reaches past the policy's MaxOffset are Invalid, naming the offset,
// on every list.
func TestPageOffsetRefused(t *testing.T) {
	t.Parallel()
	b := setupOffsets(t, false)
	for name, tt := range map[string]struct {
		req         usher.PageRequest
		field, code string
	}{
		"negative":             {usher.PageRequest{Offset: -1}, "offset", usher.CodeOutOfRange},
		"with cursor":          {usher.PageRequest{Offset: 1, After: &usher.Cursor{ID: 1}}, "offset", usher.CodeConflict},
		"too deep":             {usher.PageRequest{Offset: 18, Limit: 3}, "offset", usher.CodeOutOfRange},
		"page negative":        {usher.PageRequest{Number: -1}, "page", usher.CodeOutOfRange},
		"page with offset":     {usher.PageRequest{Number: 2, Offset: 3}, "page", usher.CodeConflict},
		"page with cursor":     {usher.PageRequest{Number: 2, After: &usher.Cursor{ID: 1}}, "page", usher.CodeConflict},
		"page too deep":        {usher.PageRequest{Number: 7, Limit: 3}, "page", usher.CodeOutOfRange},
		"page in capped pages": {usher.PageRequest{Number: 5, Limit: 50}, "page", usher.CodeOutOfRange},
		"largest page number":  {usher.PageRequest{Number: 1<<31 - 1, Limit: 1<<31 - 1}, "page", usher.CodeOutOfRange},
	} {
		for list, read := range b.lists(b.admin) {
			_, err := read(tt.req)
			e := usher.AsError(err)
			if err == nil || e.Kind != usher.KindInvalid || len(e.Fields) != 1 || e.Fields[0].Field != tt.field || e.Fields[0].Code != tt.code {
				t.Errorf("%s, %s: %v; want invalid %s %s", list, name, err, tt.field, tt.code)
			}
		}
	}
	// The deepest page allowed is read.
	for list, read := range b.lists(b.admin) {
		if p, err := read(usher.PageRequest{Offset: 17, Limit: 3}); err != nil || len(p.ids) != 0 {
			t.Errorf("%s at the deepest offset: %+v, %v", list, p, err)
		}
	}
}
