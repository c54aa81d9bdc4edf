package core_test

import (
	"context"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// TestJWTEndsWithItsTokenAcrossReplicas revokes, from another process on
// the same database, the token a JWT was made with: the JWT ends within the
// bound of every other revocation, the token check's two seconds.
func TestJWTEndsWithItsTokenAcrossReplicas(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := context.Background()
	tok, text, err := b.auth.CreateToken(coretest.System(), usher.TokenCreate{UserID: b.alice.ID, Name: "parent"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.auth.Authenticate(ctx, text)
	if err != nil {
		t.Fatal(err)
	}
	jwt, c, err := b.auth.IssueJWT(usher.WithPrincipal(ctx, p))
	if err != nil || c.Parent != tok.ID {
		t.Fatalf("IssueJWT: %+v, %v", c, err)
	}
	if jp, err := b.auth.Authenticate(ctx, jwt); err != nil || jp.User.ID != b.alice.ID || jp.JWT == nil || jp.Token != nil {
		t.Fatalf("a fresh JWT: %+v, %v", jp, err)
	}
	if _, err := b.env.Replica(t).TokenRevoke(ctx, store.TokenFilter{ID: tok.ID}, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.auth.Authenticate(ctx, jwt); err != nil {
		t.Fatalf("within the check's time: %v", err)
	}
	b.clock.Add(2 * time.Second)
	_, err = b.auth.Authenticate(ctx, jwt)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
}

// TestAuthenticateTakesOnlyTheKindsAsked: a caller that names the kinds of
// credential it takes gets every other kind refused like an unknown token.
func TestAuthenticateTakesOnlyTheKindsAsked(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := context.Background()
	key := b.env.MustToken(t, b.admin.ID, usher.TokenApplication)
	p, err := b.auth.Authenticate(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	jwt, _, err := b.auth.IssueJWT(usher.WithPrincipal(ctx, p))
	if err != nil {
		t.Fatal(err)
	}
	personal := b.env.MustToken(t, b.alice.ID, usher.TokenPersonal)
	tests := []struct {
		name       string
		credential string
		accept     []usher.TokenKind
		ok         bool
	}{
		{"a key, all kinds taken", key, nil, true},
		{"a JWT, all kinds taken", jwt, nil, true},
		{"a key, keys taken", key, []usher.TokenKind{usher.TokenApplication}, true},
		{"a key's JWT, keys taken", jwt, []usher.TokenKind{usher.TokenApplication}, false},
		{"a personal token, keys taken", personal, []usher.TokenKind{usher.TokenApplication}, false},
		{"a key's JWT, JWTs taken", jwt, []usher.TokenKind{usher.TokenJWT}, true},
		{"a key, JWTs taken", key, []usher.TokenKind{usher.TokenJWT}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.auth.Authenticate(ctx, tt.credential, tt.accept...)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
		})
	}
}
