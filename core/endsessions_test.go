package core_test

import (
	"context"
	"testing"

	"usher"
	"usher/core"
)

// TestEndUserSessions: an administrator signs a user out everywhere, and
// the sessions are refused at once; who may not is refused, and learns
// nothing.
func TestEndUserSessions(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com", Password: alicePassword})
	var secrets []string
	for range 2 {
		s, err := b.auth.Login(from("192.0.2.1"), "alice", alicePassword)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, s.Secret)
	}
	alice := usher.UserKey{ID: b.alice.ID}
	tests := []struct {
		name string
		ctx  context.Context
		key  usher.UserKey
		kind usher.Kind
	}{
		{"anonymous", context.Background(), alice, usher.KindUnauthenticated},
		{"another user", as(bob, usher.ScopeAPI, usher.ScopeReadAPI), alice, usher.KindForbidden},
		{"read-only token", as(b.admin, usher.ScopeReadAPI), alice, usher.KindForbidden},
		{"impersonation", usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser,
			User: b.admin, Impersonator: b.admin}), alice, usher.KindForbidden},
		{"no such user", as(b.admin), usher.UserKey{ID: 999999}, usher.KindNotFound},
	}
	for _, tt := range tests {
		if _, err := b.auth.EndUserSessions(tt.ctx, tt.key); usher.ErrorKind(err) != tt.kind && usher.AsError(err).Kind != tt.kind {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.kind)
		}
	}
	if _, err := b.auth.Authenticate(context.Background(), secrets[0]); err != nil {
		t.Fatalf("a refused call ended a session: %v", err)
	}
	n, err := b.auth.EndUserSessions(as(b.admin), alice)
	if err != nil || n != 2 {
		t.Fatalf("ended %d, %v; want 2", n, err)
	}
	for _, s := range secrets {
		if _, err := b.auth.Authenticate(context.Background(), s); err == nil {
			t.Fatal("an ended session still works")
		}
	}
	page, err := b.env.Core.Audit.List(as(b.admin), usher.AuditFilter{Action: "auth.sessions_end", ResourceType: "user"})
	if err != nil || len(page.Items) != 1 || page.Items[0].ActorID != b.admin.ID || page.Items[0].Meta["ended"] != "2" {
		t.Fatalf("the audit: %+v, %v", page, err)
	}
}
