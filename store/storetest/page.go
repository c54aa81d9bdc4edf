package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"usher"
	"usher/store"
)

// pagedList reads one page of a list and the ids of its rows; add adds a
// row to the end of the list.
type pagedList struct {
	read func(req usher.PageRequest) (ids []int64, page usher.Page[struct{}], err error)
	add  func(t *testing.T)
}

// shape keeps what a test reads of a page but its items.
func shape[T any](p *usher.Page[T], err error, id func(T) int64) ([]int64, usher.Page[struct{}], error) {
	if err != nil {
		return nil, usher.Page[struct{}]{}, err
	}
	var ids []int64
	for _, v := range p.Items {
		ids = append(ids, id(v))
	}
	return ids, usher.Page[struct{}]{Next: p.Next, Total: p.Total, TotalEstimated: p.TotalEstimated, Limit: p.Limit}, nil
}

// pagedLists makes every list the store pages hold four rows.
func pagedLists(t *testing.T, s store.Store) map[string]pagedList {
	ctx := context.Background()
	team := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "crew"))
	reminded := mustCreateUser(t, s, newUser("reminded", "", ""))
	n := 0
	next := func() int { n++; return n }
	addUser := func(t *testing.T, prefix string) *usher.User {
		return mustCreateUser(t, s, newUser(fmt.Sprintf("%s-%d", prefix, next()), "", ""))
	}
	lists := map[string]pagedList{
		"users": {
			read: func(req usher.PageRequest) ([]int64, usher.Page[struct{}], error) {
				p, err := s.UserList(ctx, usher.UserFilter{Query: "paged-", Page: req})
				if err != nil {
					return nil, usher.Page[struct{}]{}, err
				}
				return shape(&p.Page, nil, func(u *usher.User) int64 { return u.ID })
			},
			add: func(t *testing.T) { addUser(t, "paged") },
		},
		"groups": {
			read: func(req usher.PageRequest) ([]int64, usher.Page[struct{}], error) {
				p, err := s.GroupList(ctx, usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupPlain}, Page: req})
				return shape(p, err, func(g *usher.Group) int64 { return g.ID })
			},
			add: func(t *testing.T) { mustCreateGroup(t, s, newGroup(usher.GroupPlain, fmt.Sprintf("g%d", next()))) },
		},
		"organisations": {
			read: func(req usher.PageRequest) ([]int64, usher.Page[struct{}], error) {
				p, err := s.OrgList(ctx, usher.OrganisationFilter{Archived: usher.Include, Deleted: usher.Exclude, Page: req})
				return shape(p, err, func(o *usher.Organisation) int64 { return o.ID })
			},
			add: func(t *testing.T) {
				o := &usher.Organisation{Handle: fmt.Sprintf("o%d", next()), CreatedAt: base, UpdatedAt: base}
				if err := s.OrgCreate(ctx, o); err != nil {
					t.Fatal(err)
				}
			},
		},
		"applications": {
			read: func(req usher.PageRequest) ([]int64, usher.Page[struct{}], error) {
				p, err := s.AppList(ctx, usher.ApplicationFilter{Page: req})
				return shape(p, err, func(a *usher.Application) int64 { return a.ID })
			},
			add: func(t *testing.T) { mustCreateApp(t, s, &usher.Application{Name: fmt.Sprintf("app%d", next())}) },
		},
		"reminders": {
			read: func(req usher.PageRequest) ([]int64, usher.Page[struct{}], error) {
				p, err := s.ReminderList(ctx, usher.ReminderFilter{Page: req})
				return shape(p, err, func(r *usher.Reminder) int64 { return r.ID })
			},
			add: func(t *testing.T) {
				mustAddReminder(t, s, newReminder(fmt.Sprintf("user:%d", next()), reminded.ID, 0, nil))
			},
		},
		"audit": {
			read: func(req usher.PageRequest) ([]int64, usher.Page[struct{}], error) {
				p, err := s.AuditList(ctx, usher.AuditFilter{Action: "paged.add", Page: req})
				return shape(p, err, func(e *usher.AuditEvent) int64 { return e.ID })
			},
			add: func(t *testing.T) {
				e := &usher.AuditEvent{At: base, ActorKind: usher.PrincipalSystem, Action: "paged.add", ResourceType: "x", ResourceID: fmt.Sprint(next())}
				if err := s.AuditAppend(ctx, e); err != nil {
					t.Fatal(err)
				}
			},
		},
		"members": {
			read: func(req usher.PageRequest) ([]int64, usher.Page[struct{}], error) {
				p, err := s.GroupMembers(ctx, team.ID, true, req)
				return shape(p, err, func(m *usher.Membership) int64 { return m.UserID })
			},
			add: func(t *testing.T) {
				u := addUser(t, "member")
				if err := s.MembershipSet(ctx, usher.Membership{GroupID: team.ID, UserID: u.ID, Level: usher.LevelRead, CreatedAt: base}); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, l := range lists {
		for range 4 {
			l.add(t)
		}
	}
	return lists
}

// testListOffset: on every list, pages by offset hold the rows the pages
// by cursor hold, none twice and none skipped; an offset past the rows is
// an empty last page; an offset page counts no total unless asked.
func testListOffset(t *testing.T, s store.Store) {
	for name, l := range pagedLists(t, s) {
		all, _, err := l.read(usher.PageRequest{})
		if err != nil || len(all) != 4 {
			t.Fatalf("%s: %v, %v; want four rows", name, all, err)
		}
		var got []int64
		for offset := 0; offset < 4; offset += 3 {
			ids, p, err := l.read(usher.PageRequest{Offset: offset, Limit: 3})
			if err != nil {
				t.Fatalf("%s at %d: %v", name, offset, err)
			}
			if (p.Next == nil) != (offset == 3) || p.Total != -1 || p.Limit != 3 {
				t.Errorf("%s at %d: %+v; a next page only before the last, no total", name, offset, p)
			}
			if p.Next != nil && p.Next.ID != ids[len(ids)-1] {
				t.Errorf("%s at %d: next %v, want the last row's", name, offset, p.Next)
			}
			got = append(got, ids...)
		}
		if !slices.Equal(got, all) {
			t.Errorf("%s: offset pages give %v, want %v", name, got, all)
		}
		// The cursor a page by offset ends with continues it.
		_, first, _ := l.read(usher.PageRequest{Offset: 1, Limit: 2})
		if ids, _, err := l.read(usher.PageRequest{After: first.Next, Limit: 2}); err != nil || !slices.Equal(ids, all[3:]) {
			t.Errorf("%s: after an offset page: %v, %v; want %v", name, ids, err, all[3:])
		}
		if ids, p, err := l.read(usher.PageRequest{Offset: 4, Limit: 3}); err != nil || len(ids) != 0 || p.Next != nil {
			t.Errorf("%s past the rows: %v %+v, %v", name, ids, p, err)
		}
	}
}

// testListTotal: on every list, a total counts the whole list — not the
// page, not the rows after a cursor — exactly up to CountUpTo; past it the
// total is flagged as an estimate and a count made within the minute is
// given again, though rows were added since.
func testListTotal(t *testing.T, s store.Store) {
	for name, l := range pagedLists(t, s) {
		all, _, _ := l.read(usher.PageRequest{})
		for _, req := range []usher.PageRequest{
			{Limit: 1, WithTotal: true},
			{Limit: 1, WithTotal: true, CountUpTo: 4},
			{Limit: 1, WithTotal: true, CountUpTo: 10, Offset: 2},
			{Limit: 1, WithTotal: true, CountUpTo: 4, After: &usher.Cursor{ID: all[1]}},
		} {
			if _, p, err := l.read(req); err != nil || p.Total != 4 || p.TotalEstimated {
				t.Errorf("%s, %+v: total %d estimated %v, %v; want exactly 4", name, req, p.Total, p.TotalEstimated, err)
			}
		}
		past := usher.PageRequest{Limit: 1, WithTotal: true, CountUpTo: 2}
		if _, p, err := l.read(past); err != nil || p.Total != 4 || !p.TotalEstimated {
			t.Errorf("%s past the bound: total %d estimated %v, %v; want 4 estimated", name, p.Total, p.TotalEstimated, err)
		}
		l.add(t)
		if _, p, err := l.read(past); err != nil || p.Total != 4 || !p.TotalEstimated {
			t.Errorf("%s past the bound again: total %d estimated %v, %v; want the kept 4", name, p.Total, p.TotalEstimated, err)
		}
		if _, p, err := l.read(usher.PageRequest{Limit: 1, WithTotal: true, CountUpTo: 5}); err != nil || p.Total != 5 || p.TotalEstimated {
			t.Errorf("%s under the bound: total %d estimated %v, %v; want exactly 5", name, p.Total, p.TotalEstimated, err)
		}
	}
	// A transaction counts for itself: its reads see its own rows, and the
	// count kept for every reader is none of its to give or to make anew
	// on its connection once it has ended (round 54 found a kept count's
	// refresh run on the transaction that asked). Reminders are the list
	// a quota counts in one.
	ctx := context.Background()
	creator := mustCreateUser(t, s, newUser("counted", "", ""))
	reminders := func(q interface {
		ReminderList(context.Context, usher.ReminderFilter) (*usher.Page[*usher.Reminder], error)
	}) (*usher.Page[*usher.Reminder], error) {
		return q.ReminderList(ctx, usher.ReminderFilter{CreatedBy: creator.ID,
			Page: usher.PageRequest{Limit: 1, WithTotal: true, CountUpTo: 1}})
	}
	for i := range 2 {
		mustAddReminder(t, s, newReminder(fmt.Sprintf("user:%d", i), creator.ID, creator.ID, nil))
	}
	if p, err := reminders(s); err != nil || p.Total != 2 || !p.TotalEstimated {
		t.Fatalf("reminders past the bound: %+v, %v; want 2 estimated", p, err)
	}
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ReminderAdd(ctx, newReminder("user:3", creator.ID, creator.ID, nil)); err != nil {
			return err
		}
		p, err := reminders(tx)
		if err != nil {
			return err
		}
		if p.Total != 3 || p.TotalEstimated {
			t.Errorf("reminders counted in the transaction that made one: total %d estimated %v; want exactly 3", p.Total, p.TotalEstimated)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
