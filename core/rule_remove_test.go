package core_test

import (
	"context"
	"testing"

	"usher"
)

// TestRemoveRule: one rule of a role goes, the others stay, and the
// member loses what it granted at once; a rule the role lacks, a group
// that is no role and a caller who may not are refused.
func TestRemoveRule(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	admin := as(b.admin)
	role, err := b.g.Create(admin, usher.GroupCreate{Kind: usher.GroupRole, Handle: "auditors", Members: []int64{b.bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ref := usher.GroupRef{ID: role.ID}
	_, err = b.g.SetRules(admin, ref, []usher.Rule{{Resource: "audit", Operation: "read", Access: usher.Allow},
		{Resource: "user", Operation: "state", Access: usher.Deny}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Audit.List(as(b.bob), usher.AuditFilter{}); err != nil {
		t.Fatalf("the rule does not grant: %v", err)
	}
	plain, err := b.g.Create(admin, usher.GroupCreate{Kind: usher.GroupPlain, Handle: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		ctx                 context.Context
		ref                 usher.GroupRef
		resource, operation string
		kind                usher.Kind
	}{
		{"anonymous", context.Background(), ref, "audit", "read", usher.KindUnauthenticated},
		{"a member", as(b.bob), ref, "audit", "read", usher.KindForbidden},
		{"no such rule", admin, ref, "audit", "write", usher.KindNotFound},
		{"empty", admin, ref, "", "", usher.KindNotFound},
		{"not a role", admin, usher.GroupRef{ID: plain.ID}, "audit", "read", usher.KindNotFound},
	}
	for _, tt := range tests {
		if err := b.g.RemoveRule(tt.ctx, tt.ref, tt.resource, tt.operation); usher.AsError(err).Kind != tt.kind || err == nil {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.kind)
		}
	}
	if err := b.g.RemoveRule(admin, ref, "audit", "read"); err != nil {
		t.Fatal(err)
	}
	rules, err := b.g.Rules(admin, ref)
	if err != nil || len(rules) != 1 || rules[0].Resource != "user" {
		t.Fatalf("left: %+v, %v", rules, err)
	}
	if _, err := b.env.Core.Audit.List(as(b.bob), usher.AuditFilter{}); usher.AsError(err).Kind != usher.KindForbidden {
		t.Fatalf("the removed rule still grants: %v", err)
	}
}
