package core_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
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
