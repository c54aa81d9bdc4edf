package core_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"usher"
	"usher/core/coretest"
	"usher/store"
)

// listCounter counts the pages of groups the core reads from the store.
type listCounter struct {
	store.Store
	reads atomic.Int64
}

func (s *listCounter) GroupList(ctx context.Context, f usher.GroupFilter) (*usher.Page[*usher.Group], error) {
	s.reads.Add(1)
	return s.Store.GroupList(ctx, f)
}

// TestGroupListReadsWhatTheCallerSees: a caller who is no administrator
// lists the groups they may see — roles and plain groups, their teams, a
// team a rule lets them read — in one read of the store, however many
// teams they are not in; before, the core read every group a page at a
// time and left out the others, so that anyone in few of many teams made
// each list read the whole table. A team a rule denies stays out.
func TestGroupListReadsWhatTheCallerSees(t *testing.T) {
	t.Parallel()
	for _, engine := range []struct {
		name     string
		postgres bool
	}{{"sqlite", false}, {"postgres", true}} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			counter := &listCounter{}
			env := coretest.New(t, coretest.Options{Postgres: engine.postgres, WrapStore: func(s store.Store) store.Store {
				counter.Store = s
				return counter
			}})
			sys := coretest.System()
			alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice"})
			create := func(kind usher.GroupKind, handle string, members ...int64) *usher.Group {
				t.Helper()
				g, err := env.Core.Groups.Create(sys, usher.GroupCreate{Kind: kind, Handle: handle, Members: members})
				if err != nil {
					t.Fatal(err)
				}
				return g
			}
			for i := range 200 {
				create(usher.GroupTeam, fmt.Sprintf("other-%d", i))
			}
			create(usher.GroupTeam, "mine", alice.ID)
			create(usher.GroupPlain, "everyone")
			ruled := create(usher.GroupTeam, "ruled")
			denied := create(usher.GroupTeam, "denied", alice.ID)
			role := create(usher.GroupRole, "readers", alice.ID)
			rules := []usher.Rule{
				{Resource: fmt.Sprintf("group:%d", ruled.ID), Operation: "read", Access: usher.Allow},
				{Resource: fmt.Sprintf("group:%d", denied.ID), Operation: "read", Access: usher.Deny},
			}
			if _, err := env.Core.Groups.SetRules(sys, usher.GroupRef{ID: role.ID}, rules, true); err != nil {
				t.Fatal(err)
			}
			for i := range 100 {
				create(usher.GroupTeam, fmt.Sprintf("later-%d", i))
			}
			ctx := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: alice})
			counter.reads.Store(0)
			page, err := env.Core.Groups.List(ctx, usher.GroupFilter{Page: usher.PageRequest{Limit: 20}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range page.Items {
				got = append(got, g.Handle)
			}
			if want := []string{"mine", "everyone", "ruled", "readers"}; !slices.Equal(got, want) || page.Next != nil {
				t.Errorf("alice's groups: %v (next %v), want %v", got, page.Next, want)
			}
			if n := counter.reads.Load(); n != 1 {
				t.Errorf("the list read %d pages of groups, want 1", n)
			}
			// Her teams alone, in pages of one, still page as before.
			counter.reads.Store(0)
			var teams []string
			req := usher.PageRequest{Limit: 1}
			for {
				page, err := env.Core.Groups.List(ctx, usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam}, Page: req})
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range page.Items {
					teams = append(teams, g.Handle)
				}
				if page.Next == nil {
					break
				}
				req.After = page.Next
			}
			if want := []string{"mine", "ruled"}; !slices.Equal(teams, want) {
				t.Errorf("alice's teams by pages of one: %v, want %v", teams, want)
			}
			if n := counter.reads.Load(); n > 4 {
				t.Errorf("paging alice's teams read %d pages of groups, want at most 4", n)
			}
		})
	}
}
