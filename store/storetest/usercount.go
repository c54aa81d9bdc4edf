package storetest

import (
	"context"
	"fmt"
	"testing"

	"usher"
	"usher/store"
)

// testUserListCounted: a user list that filters by kind, state and
// deletion alone has an exact total, however small its CountUpTo, through
// every write that adds, removes or moves a user — a bulk insert, a state
// change, a soft delete and its undoing, a change of kind, a purge.
func testUserListCounted(t *testing.T, s store.Store) {
	ctx := context.Background()
	var bulk []*usher.User
	for i := range 5 {
		u := newUser(fmt.Sprintf("counted-%d", i), "", "")
		if i%2 == 1 {
			u.Kind = usher.KindBot
		}
		bulk = append(bulk, u)
	}
	if err := s.UserCreateMany(ctx, bulk, make([]string, len(bulk))); err != nil {
		t.Fatal(err)
	}
	one := mustCreateUser(t, s, newUser("counted-one", "", ""))
	update := func(id int64, fn func(u *usher.User)) {
		t.Helper()
		if _, err := s.UserUpdate(ctx, id, func(u *usher.User) error { fn(u); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	update(bulk[0].ID, func(u *usher.User) { u.State = usher.StateSuspended })
	update(bulk[2].ID, func(u *usher.User) { u.State = usher.StateBlocked })
	update(bulk[4].ID, func(u *usher.User) { u.DeletedAt = &base })
	update(one.ID, func(u *usher.User) { u.DeletedAt = &base })
	update(one.ID, func(u *usher.User) { u.DeletedAt = nil; u.Kind = usher.KindBot })
	update(bulk[3].ID, func(u *usher.User) { u.Name = "renamed" })
	if err := s.UserPurge(ctx, bulk[1].ID); err != nil {
		t.Fatal(err)
	}

	for name, f := range map[string]usher.UserFilter{
		"default":          {},
		"with suspended":   {Suspended: usher.Include},
		"suspended only":   {Suspended: usher.Only, Deleted: usher.Include},
		"deleted only":     {Deleted: usher.Only, Suspended: usher.Include},
		"everyone":         {Deleted: usher.Include, Suspended: usher.Include},
		"bots":             {Kind: usher.KindBot, Suspended: usher.Include},
		"normal and bots":  {Kinds: []usher.UserKind{usher.KindNormal, usher.KindBot}, Deleted: usher.Include},
		"blocked":          {State: usher.StateBlocked},
		"sorted, searched": {Sort: usher.SortUsernameDesc, SearchEmail: true, Suspended: usher.Include},
	} {
		f.Page = usher.PageRequest{}
		want := len(list(t, s, f).Items)
		f.Page = usher.PageRequest{Limit: 1, WithTotal: true, CountUpTo: 1}
		if p := list(t, s, f); p.Total != want || p.TotalEstimated {
			t.Errorf("%s: total %d, estimated %v; want exactly %d", name, p.Total, p.TotalEstimated, want)
		}
	}
}
