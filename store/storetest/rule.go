package storetest

import (
	"context"
	"fmt"
	"testing"

	"usher"
	"usher/store"
)

func testRules(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	r1 := mustCreateGroup(t, s, newGroup(usher.GroupRole, "helpdesk"))
	r2 := mustCreateGroup(t, s, newGroup(usher.GroupRole, "auditors"))
	archived := mustCreateGroup(t, s, newGroup(usher.GroupRole, "old"))
	rule := func(role *usher.Group, res, op string, acc usher.Access) {
		if err := s.RuleSet(ctx, usher.Rule{RoleID: role.ID, Resource: res, Operation: op, Access: acc}); err != nil {
			t.Fatal(err)
		}
	}
	rule(r1, "user", "block", usher.Allow)
	rule(r1, "user", "delete", usher.Allow)
	rule(r1, "user", "delete", usher.Deny) // replaces
	rule(r2, "audit", "read", usher.Allow)
	rule(r2, "user", "block", usher.Deny)
	rule(archived, "user", "purge", usher.Allow)
	at := base
	if _, err := s.GroupUpdate(ctx, archived.ID, func(g *usher.Group) error { g.ArchivedAt = &at; return nil }); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.RuleList(ctx, r1.ID); fmt.Sprint(rs) != fmt.Sprintf("[{%d user block allow} {%d user delete deny}]", r1.ID, r1.ID) {
		t.Fatalf("RuleList: %v", rs)
	}
	for _, g := range []*usher.Group{r1, r2, archived} {
		if err := s.MembershipSet(ctx, usher.Membership{GroupID: g.ID, UserID: a.ID, Level: usher.LevelMember, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	if rs, _ := s.RulesFor(ctx, a.ID); len(rs) != 4 {
		t.Fatalf("RulesFor (the archived role's rules do not count): %v", rs)
	}
	if _, err := s.GroupUpdate(ctx, r2.ID, func(g *usher.Group) error { g.DeletedAt = &at; return nil }); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.RulesFor(ctx, a.ID); len(rs) != 2 {
		t.Fatalf("RulesFor (a deleted role's rules do not count): %v", rs)
	}
	if rs, _ := s.RulesKept(ctx, a.ID); len(rs) != 5 {
		t.Fatalf("RulesKept (the archived and the deleted role's rules count): %v", rs)
	}
	if n, _ := s.RuleDelete(ctx, r1.ID, "user", "block"); n != 1 {
		t.Fatalf("RuleDelete one: %d", n)
	}
	if n, _ := s.RuleDelete(ctx, r2.ID, "", ""); n != 2 {
		t.Fatalf("RuleDelete all: %d", n)
	}
	if rs, _ := s.RuleList(ctx, r1.ID); len(rs) != 1 || rs[0].Operation != "delete" {
		t.Fatalf("RuleDelete took another role's rules: %v", rs)
	}
}
