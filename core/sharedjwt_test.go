package core_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core"
)

// TestSharedJWT: a shared (HS256) JWT carries Corteza's claims, is taken
// only by callers that name its kind, and ends with the session it was made
// with, with its account, and when tampered with or expired.
func TestSharedJWT(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := context.Background()
	s, err := b.auth.Login(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.auth.Authenticate(ctx, s.Secret)
	if err != nil {
		t.Fatal(err)
	}
	raw, c, err := b.auth.IssueSharedJWT(usher.WithPrincipal(ctx, p))
	if err != nil || c.Parent != s.Token.ID {
		t.Fatalf("IssueSharedJWT: %+v, %v", c, err)
	}
	if len(raw) <= 100 || !core.IsSharedJWT(raw) {
		t.Fatalf("JWT %q: Corteza's client takes only JWTs over 100 characters", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["userID"] != strconv.FormatInt(b.alice.ID, 10) || claims["exp"] == nil || claims["memberOf"] == nil {
		t.Errorf("claims %v: want userID as a string, exp and memberOf", claims)
	}
	shared := []usher.TokenKind{usher.TokenSharedJWT}
	if jp, err := b.auth.Authenticate(ctx, raw, shared...); err != nil || jp.User.ID != b.alice.ID {
		t.Fatalf("a fresh shared JWT: %+v, %v", jp, err)
	}
	for name, accept := range map[string][]usher.TokenKind{"all kinds": nil, "JWTs": {usher.TokenJWT}} {
		if _, err := b.auth.Authenticate(ctx, raw, accept...); err == nil {
			t.Errorf("%s taken: a shared JWT is taken only where named", name)
		}
	}
	parts := strings.Split(raw, ".")
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	_, err = b.auth.Authenticate(ctx, forged, shared...)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")

	// Another instance's secret does not verify it.
	other := setupAuth(t, core.Policy{})
	_, err = other.auth.Authenticate(ctx, raw, shared...)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")

	// Logging out with the JWT ends its session, and so the JWT, within
	// the token check's bound.
	jp, err := b.auth.Authenticate(ctx, raw, shared...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.auth.Logout(usher.WithPrincipal(ctx, jp)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.auth.Authenticate(ctx, s.Secret); err == nil {
		t.Error("the session outlived a log-out with its JWT")
	}
	b.clock.Add(2 * time.Second)
	_, err = b.auth.Authenticate(ctx, raw, shared...)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
}
