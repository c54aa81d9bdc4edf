package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	b := mustCreateUser(t, s, newUser("bob", "", ""))
	exp := base.Add(time.Hour)
	mk := func(user *usher.User, kind usher.TokenKind, hash string, expires *time.Time) *usher.Token {
		tok := &usher.Token{Kind: kind, UserID: user.ID, Name: "n-" + hash, Scopes: []string{"api"},
			Hint: "hint", Hash: []byte(hash), ExpiresAt: expires, CreatedAt: base,
			Address: "192.0.2.1", UserAgent: "test"}
		if err := s.TokenCreate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	t1 := mk(a, usher.TokenSession, "h1", &exp)
	t2 := mk(a, usher.TokenPersonal, "h2", nil)
	mk(a, usher.TokenSession, "h3", ptr(base.Add(-time.Hour))) // expired
	t4 := &usher.Token{Kind: usher.TokenServiceAccount, UserID: b.ID, Hint: "hint", Hash: []byte("h4"), CreatedAt: base, MintedByAdmin: a.ID}
	if err := s.TokenCreate(ctx, t4); err != nil {
		t.Fatal(err)
	}
	wantUnique(t, s.TokenCreate(ctx, &usher.Token{Kind: usher.TokenPersonal, UserID: a.ID, Hint: "x", Hash: []byte("h1"), CreatedAt: base}), "hash")

	got, err := s.TokenByHash(ctx, []byte("h1"))
	if err != nil || got.ID != t1.ID || got.Kind != usher.TokenSession || fmt.Sprint(got.Scopes) != "[api]" ||
		!got.ExpiresAt.Equal(exp) || got.Address != "192.0.2.1" || got.UserAgent != "test" || got.Name != "n-h1" {
		t.Fatalf("TokenByHash = %+v, %v", got, err)
	}
	if got, err := s.TokenGet(ctx, t2.ID); err != nil || got.ExpiresAt != nil || string(got.Hash) != "h2" || got.MintedByAdmin != 0 {
		t.Fatalf("TokenGet = %+v, %v", got, err)
	}
	if got, err := s.TokenGet(ctx, t4.ID); err != nil || got.MintedByAdmin != a.ID || got.MintedByOwner != 0 {
		t.Fatalf("TokenGet of a token an administrator minted = %+v, %v", got, err)
	}
	_, err = s.TokenByHash(ctx, []byte("nope"))
	wantNotFound(t, err)

	active := store.TokenFilter{UserID: a.ID, Active: true, Now: base}
	if toks, _ := s.TokenList(ctx, active); len(toks) != 2 {
		t.Fatalf("active tokens of alice = %d, want 2", len(toks))
	}
	for _, c := range []struct {
		name string
		f    store.TokenFilter
		want int
	}{
		{"alice's active tokens", active, 2},
		{"alice's active sessions", store.TokenFilter{UserID: a.ID, Kinds: []usher.TokenKind{usher.TokenSession}, Active: true, Now: base}, 1},
		{"alice's sessions, expired or not", store.TokenFilter{UserID: a.ID, Kinds: []usher.TokenKind{usher.TokenSession}}, 2},
		{"alice's active tokens but one", store.TokenFilter{UserID: a.ID, Active: true, Now: base, ExceptID: t1.ID}, 1},
		{"everyone's tokens", store.TokenFilter{}, 4},
		{"the tokens alice minted as an administrator", store.TokenFilter{MintedByAdmin: a.ID}, 1},
		{"the tokens bob minted as an administrator", store.TokenFilter{MintedByAdmin: b.ID}, 0},
		{"alice's tokens made before they were", store.TokenFilter{UserID: a.ID, CreatedBefore: base}, 0},
		{"alice's tokens made before a moment after", store.TokenFilter{UserID: a.ID, CreatedBefore: base.Add(time.Millisecond)}, 3},
	} {
		if n, err := s.TokenCount(ctx, c.f); err != nil || n != c.want {
			t.Errorf("TokenCount of %s = %d, %v; want %d", c.name, n, err, c.want)
		}
	}
	if toks, _ := s.TokenList(ctx, store.TokenFilter{UserID: a.ID, Kinds: []usher.TokenKind{usher.TokenSession}}); len(toks) != 2 || toks[0].ID < toks[1].ID {
		t.Fatalf("sessions of alice, newest first: %v", toks)
	}
	at := base.Add(time.Minute)
	if err := s.TokenTouch(ctx, t2.ID, at, at.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A second use within the window is not written.
	if err := s.TokenTouch(ctx, t2.ID, at.Add(time.Second), at.Add(-59*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TokenGet(ctx, t2.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) {
		t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, at)
	}
	if _, err := s.TokenRevoke(ctx, store.TokenFilter{}, at); err == nil {
		t.Fatal("TokenRevoke with an empty filter revoked something")
	}
	// A token of a user that does not exist.
	err = s.TokenCreate(ctx, &usher.Token{Kind: usher.TokenPersonal, UserID: b.ID + 100, Hint: "x", Hash: []byte("h9"), CreatedAt: base})
	wantNotFound(t, err)
	// Revoke alice's sessions except t1: only the expired one is left to revoke.
	n, err := s.TokenRevoke(ctx, store.TokenFilter{UserID: a.ID, Kinds: []usher.TokenKind{usher.TokenSession}, ExceptID: t1.ID}, at)
	if err != nil || n != 1 {
		t.Fatalf("TokenRevoke = %d, %v; want 1", n, err)
	}
	n, _ = s.TokenRevoke(ctx, store.TokenFilter{UserID: a.ID}, at)
	if n != 2 {
		t.Fatalf("second TokenRevoke = %d, want 2 (already revoked ones are left alone)", n)
	}
	if toks, _ := s.TokenList(ctx, active); len(toks) != 0 {
		t.Fatalf("active tokens after revoke: %d", len(toks))
	}
	if got, _ := s.TokenGet(ctx, t1.ID); got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Fatalf("RevokedAt = %v", got.RevokedAt)
	}
	if toks, _ := s.TokenList(ctx, store.TokenFilter{UserID: b.ID, Active: true, Now: base}); len(toks) != 1 {
		t.Fatalf("bob's tokens were touched: %d", len(toks))
	}
	t5 := &usher.Token{Kind: usher.TokenServiceAccount, UserID: b.ID, Hint: "hint", Hash: []byte("h5"), CreatedAt: base, MintedByOwner: a.ID}
	if err := s.TokenCreate(ctx, t5); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TokenByHash(ctx, []byte("h5")); err != nil || got.MintedByOwner != a.ID || got.MintedByAdmin != 0 {
		t.Fatalf("TokenByHash of a token an owner minted = %+v, %v", got, err)
	}
}
