package core_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"usher"
	"usher/core/coretest"
	"usher/store"
)

// ruleCounter counts the reads of a role's rules.
type ruleCounter struct {
	store.Store
	reads atomic.Int64
}

func (s *ruleCounter) RuleList(ctx context.Context, roleID int64) ([]usher.Rule, error) {
	s.reads.Add(1)
	return s.Store.RuleList(ctx, roleID)
}

// TestSettingRoleMembersReadsItsRulesOnce: whoever is no administrator
// and sets a role's members has the role's rules checked once, not once
// per member joining or leaving: setting 300 members read them 300 times.
func TestSettingRoleMembersReadsItsRulesOnce(t *testing.T) {
	t.Parallel()
	counter := &ruleCounter{}
	env := coretest.New(t, coretest.Options{WrapStore: func(s store.Store) store.Store {
		counter.Store = s
		return counter
	}})
	sys := coretest.System()
	role, err := env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "readers"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Core.Groups.SetRules(sys, usher.GroupRef{ID: role.ID}, []usher.Rule{
		{Resource: "user", Operation: "read", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	keeper := env.MustCreateUser(t, usher.UserCreate{Username: "keeper"})
	keepers, err := env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "keepers", Members: []int64{keeper.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Core.Groups.SetRules(sys, usher.GroupRef{ID: keepers.ID}, []usher.Rule{
		{Resource: fmt.Sprintf("group:%d", role.ID), Operation: "*", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 300 {
		ids = append(ids, env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("member-%d", i)}).ID)
	}
	ctx := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: keeper})
	counter.reads.Store(0)
	if _, err := env.Core.Groups.Update(ctx, usher.GroupRef{ID: role.ID}, usher.GroupUpdate{Members: ids}); err != nil {
		t.Fatal(err)
	}
	if n := counter.reads.Load(); n > 2 {
		t.Fatalf("setting 300 members read the role's rules %d times", n)
	}
}
