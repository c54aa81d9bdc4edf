package core_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/password"
	"usher/seal"
	"usher/store"
)

// jwksKids returns the key ids the JWKS lists.
func jwksKids(t *testing.T, a *core.Auth) []string {
	t.Helper()
	data, err := a.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	slices.Sort(kids)
	return kids
}

func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{JWTTTL: 10 * time.Minute, ImpersonationTTL: time.Hour})
	ctx := context.Background()
	sys := coretest.System()
	p, err := b.auth.Authenticate(ctx, b.env.MustToken(t, b.alice.ID, usher.TokenPersonal, "api"))
	if err != nil {
		t.Fatal(err)
	}
	before, _, err := b.auth.IssueJWT(usher.WithPrincipal(ctx, p))
	if err != nil {
		t.Fatal(err)
	}
	old := kidOf(before)
	b.clock.Add(time.Second)
	if err := b.auth.RotateSigningKey(sys); err != nil {
		t.Fatal(err)
	}
	after, _, err := b.auth.IssueJWT(usher.WithPrincipal(ctx, p))
	if err != nil {
		t.Fatal(err)
	}
	current := kidOf(after)
	if current == old || current == "" {
		t.Fatalf("the JWT after the rotation has kid %q, before %q", current, old)
	}
	if _, err := b.auth.Authenticate(ctx, before); err != nil {
		t.Fatalf("a JWT signed before the rotation: %v", err)
	}
	want := []string{old, current}
	slices.Sort(want)
	if got := jwksKids(t, b.auth); !slices.Equal(got, want) {
		t.Fatalf("JWKS after the rotation: %v, want %v", got, want)
	}
	keys, err := b.auth.SigningKeys(sys)
	if err != nil || len(keys) != 2 || keys[0].ID != old || keys[0].Current || keys[0].VerifiesUntil == nil ||
		!keys[0].VerifiesUntil.Equal(keys[0].RetiredAt.Add(time.Hour+30*time.Second)) || !keys[1].Current || keys[1].RetiredAt != nil {
		t.Fatalf("SigningKeys: %+v, %v", keys, err)
	}

	// Within the window, nothing is pruned; only an administrator prunes.
	b.clock.Add(time.Hour)
	if pruned, err := b.auth.PruneSigningKeys(sys); err != nil || len(pruned) != 0 {
		t.Fatalf("prune within the window: %v, %v", pruned, err)
	}
	_, err = b.auth.PruneSigningKeys(usher.WithPrincipal(ctx, p))
	wantKind(t, err, usher.KindForbidden, "")
	_, err = b.auth.SigningKeys(usher.WithPrincipal(ctx, p))
	wantKind(t, err, usher.KindForbidden, "")

	// Past the longest lifetime a JWT can have, the old key is gone.
	b.clock.Add(time.Minute)
	if pruned, err := b.auth.PruneSigningKeys(sys); err != nil || !slices.Equal(pruned, []string{old}) {
		t.Fatalf("prune past the window: %v, %v", pruned, err)
	}
	if got := jwksKids(t, b.auth); !slices.Equal(got, []string{current}) {
		t.Fatalf("JWKS after the prune: %v, want [%s]", got, current)
	}
	_, err = b.auth.Authenticate(ctx, before)
	wantKind(t, err, usher.KindUnauthenticated, "")
	keys, err = b.auth.SigningKeys(sys)
	if err != nil || len(keys) != 1 || keys[0].ID != current {
		t.Fatalf("SigningKeys after the prune: %+v, %v", keys, err)
	}

	// A rotation prunes by itself what has passed its window.
	b.clock.Add(time.Second)
	if err := b.auth.RotateSigningKey(sys); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(2 * time.Hour)
	if err := b.auth.RotateSigningKey(sys); err != nil {
		t.Fatal(err)
	}
	keys, err = b.auth.SigningKeys(sys)
	if err != nil || len(keys) != 2 || keys[0].ID == current || keys[0].RetiredAt == nil || !keys[1].Current {
		t.Fatalf("SigningKeys after two rotations: %+v, %v", keys, err)
	}
}

// TestSigningKeyServeLifetime: a command with shorter JWT lifetimes than
// the server's rotates and prunes by the server's, which the server
// recorded at start: the key it retires verifies as long as the server's
// JWTs live, is not pruned before, and the key it makes carries the
// server's lifetime on to its own retirement.
func TestSigningKeyServeLifetime(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := context.Background()
	sys := coretest.System()
	key, err := seal.ParseKey(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	box, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	auth := func(jwtTTL, impersonationTTL time.Duration) *core.Auth {
		return core.New(core.Config{Store: b.env.Store, Now: b.clock.Now, Seal: box, Hasher: password.NewHasher(coretest.FastParams, password.Pool{Queue: 4}),
			Policy: core.Policy{JWTTTL: jwtTTL, ImpersonationTTL: impersonationTTL}}).Auth
	}
	serve, cli := auth(2*time.Hour, 10*time.Minute), auth(10*time.Minute, 20*time.Minute)
	if err := serve.EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := serve.Authenticate(ctx, b.env.MustToken(t, b.alice.ID, usher.TokenPersonal, "api"))
	if err != nil {
		t.Fatal(err)
	}
	jwt, _, err := serve.IssueJWT(usher.WithPrincipal(ctx, p))
	if err != nil {
		t.Fatal(err)
	}
	old := kidOf(jwt)
	b.clock.Add(time.Second)
	if err := cli.RotateSigningKey(sys); err != nil {
		t.Fatal(err)
	}
	window := 2*time.Hour + 30*time.Second
	keys, err := cli.SigningKeys(sys)
	if err != nil || len(keys) != 2 || keys[0].ID != old || keys[0].VerifiesUntil == nil ||
		!keys[0].VerifiesUntil.Equal(keys[0].RetiredAt.Add(window)) {
		t.Fatalf("SigningKeys after the command's rotation: %+v, %v; want the old key verifying for %v", keys, err, window)
	}
	b.clock.Add(time.Hour)
	if pruned, err := cli.PruneSigningKeys(sys); err != nil || len(pruned) != 0 {
		t.Fatalf("the command pruned %v (%v) while the server's JWTs live", pruned, err)
	}
	if _, err := serve.Authenticate(ctx, jwt); err != nil {
		t.Fatalf("the server's JWT after the command's prune: %v", err)
	}
	b.clock.Add(time.Hour + time.Minute)
	if pruned, err := cli.PruneSigningKeys(sys); err != nil || !slices.Equal(pruned, []string{old}) {
		t.Fatalf("prune past the server's window: %v, %v", pruned, err)
	}
	// The key the command made carries the server's lifetime.
	if err := cli.RotateSigningKey(sys); err != nil {
		t.Fatal(err)
	}
	keys, err = cli.SigningKeys(sys)
	if err != nil || len(keys) != 2 || keys[0].VerifiesUntil == nil || !keys[0].VerifiesUntil.Equal(keys[0].RetiredAt.Add(window)) {
		t.Fatalf("SigningKeys after the second rotation: %+v, %v", keys, err)
	}
}

// heldKeyList is a store whose SigningKeyList, once armed, holds back
// what it read until released: a reload of the keys that began before a
// rotation committed and ends after it.
type heldKeyList struct {
	store.Store
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (s *heldKeyList) SigningKeyList(ctx context.Context) ([]*usher.SigningKey, error) {
	list, err := s.Store.SigningKeyList(ctx)
	if s.armed.CompareAndSwap(true, false) {
		close(s.entered)
		<-s.release
	}
	return list, err
}

// TestKeyReloadOvertakenByRotation: a reload of the keys that read them
// before a rotation committed, and stored them after the rotation's own
// reload, put the retired key back: the process that rotated signed with
// it again, took what it signed after its retirement, and refused the new
// key's JWTs, for the five seconds the keys count as fresh.
func TestKeyReloadOvertakenByRotation(t *testing.T) {
	t.Parallel()
	held := &heldKeyList{entered: make(chan struct{}), release: make(chan struct{})}
	env := coretest.New(t, coretest.Options{WrapStore: func(s store.Store) store.Store { held.Store = s; return held }})
	ctx := context.Background()
	alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"})
	p, err := env.Core.Auth.Authenticate(ctx, env.MustToken(t, alice.ID, usher.TokenPersonal))
	if err != nil {
		t.Fatal(err)
	}
	pctx := usher.WithPrincipal(ctx, p)
	before, _, err := env.Core.Auth.IssueJWT(pctx)
	if err != nil {
		t.Fatal(err)
	}
	old := kidOf(before)
	// Past the keys' freshness (5 s), the next JWT checked reloads them.
	time.Sleep(5200 * time.Millisecond)
	held.armed.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := env.Core.Auth.Authenticate(ctx, before)
		done <- err
	}()
	<-held.entered
	if err := env.Core.Auth.RotateSigningKey(coretest.System()); err != nil {
		t.Fatal(err)
	}
	rotated, _, err := env.Core.Auth.IssueJWT(pctx)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(rotated) == old {
		t.Fatal("the rotation did not change the signing key")
	}
	close(held.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	after, _, err := env.Core.Auth.IssueJWT(pctx)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(after) == old {
		t.Errorf("after the rotation the process signs with the retired key %s again", old)
	}
	if _, err := env.Core.Auth.Authenticate(ctx, rotated); err != nil {
		t.Errorf("a JWT of the new key, made after the rotation, is refused: %v", err)
	}
}
