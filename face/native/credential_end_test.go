package native_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
	"usher/store"
)

// TestTokenNameRefusesFormatCharacters mints a personal access token whose
// name holds a right-to-left override and a zero-width space: it was taken
// (201), and the token list showed it turned round, where every other name
// a person reads refuses them (round 57). A token's name is checked as a
// name: 422 format_character.
func TestTokenNameRefusesFormatCharacters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	name := "ci \u202egnp.exe\u202c de\u200bploy"
	res := b.api.do(t, req{method: "POST", path: "/v1/me/tokens", token: b.userTok,
		body: map[string]any{"name": name, "scopes": []string{"read_api"}}})
	if res.status == http.StatusCreated {
		list := b.call(t, req{method: "GET", path: "/v1/me/tokens", token: b.userTok}, http.StatusOK, nil)
		t.Fatalf("a token name with format characters was taken: %d %s; the list now: %s (has RLO: %v)",
			res.status, res.body, list.body, strings.Contains(string(list.body), "\u202e"))
	}
	wantFieldError(t, "mint", res, http.StatusUnprocessableEntity, "name", "format_character")
}

// TestEndedCredentialUnknownToItsEnd: an expired token, refused and left
// out of the lists, was found by DELETE /v1/me/tokens/{id} (204), which
// recorded a revocation that ended nothing and ended the change of address
// the account waited for; an expired session likewise by DELETE
// /v1/me/sessions/{id} (round 57). Each is unknown, as a revoked one: 404.
func TestEndedCredentialUnknownToItsEnd(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	b := setupWith(t, coretest.Options{Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	exp := time.Now().Add(time.Hour).UTC()
	tok := b.mustMint(t, b.userTok, map[string]any{"name": "short", "expires_at": exp})
	// The owner's session that will outlive it.
	other := b.mustMint(t, b.userTok, map[string]any{"name": "long"})
	skew.Store(int64(2 * time.Hour))
	time.Sleep(2100 * time.Millisecond) // past the 2 s kept check
	if res := b.api.do(t, req{method: "GET", path: "/v1/me", token: tok.Token}); res.status != http.StatusUnauthorized {
		t.Fatalf("the expired token still works: %d %s", res.status, res.body)
	}
	list := b.call(t, req{method: "GET", path: "/v1/me/tokens", token: other.Token}, http.StatusOK, nil)
	if strings.Contains(string(list.body), `"short"`) {
		t.Fatalf("the expired token is listed: %s", list.body)
	}
	// Rotation already answers it as unknown.
	if res := b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", tok.ID), token: other.Token}); res.status != http.StatusNotFound {
		t.Errorf("rotation of an expired token: %d %s", res.status, res.body)
	}
	res := b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/me/tokens/%d", tok.ID), token: other.Token})
	if res.status != http.StatusNotFound {
		t.Errorf("DELETE of an expired token: %d %s, want 404 token_not_found as for an unknown or revoked one", res.status, res.body)
	}
	// The same for a session that expired: gone from the list, yet found
	// by DELETE /v1/me/sessions/{id}.
	var s sessionBody
	b.env.MustCreateUser(t, usher.UserCreate{Username: "sess", Email: "sess@example.com", Password: matrixPassword, EmailConfirmed: true})
	skew.Store(0)
	b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "sess", "password": matrixPassword}}, http.StatusOK, &s)
	keep := b.mustMint(t, s.Token, map[string]any{"name": "keeps"})
	skew.Store(int64(15 * 24 * time.Hour))
	time.Sleep(2100 * time.Millisecond)
	if res := b.api.do(t, req{method: "GET", path: "/v1/me", token: s.Token}); res.status != http.StatusUnauthorized {
		t.Fatalf("the expired session still works: %d %s", res.status, res.body)
	}
	list = b.call(t, req{method: "GET", path: "/v1/me/sessions", token: keep.Token}, http.StatusOK, nil)
	if strings.Contains(string(list.body), fmt.Sprintf(`"id":%d,`, s.SessionID)) {
		t.Fatalf("the expired session is listed: %s", list.body)
	}
	if res := b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/me/sessions/%d", s.SessionID), token: keep.Token}); res.status != http.StatusNotFound {
		t.Errorf("DELETE of an expired session: %d %s, want 404 as for an unknown or ended one", res.status, res.body)
	}
}

// TestRotationKeepsANameAnEarlierReleaseTook: a token's name is now
// checked as a name (TestTokenNameRefusesFormatCharacters), and rotation
// checked the stored name again: a token an earlier release named with a
// zero-width space could be used, listed and revoked but not rotated
// (422, which the route's description does not list either) (round 58).
// Rotation keeps the name as stored.
func TestRotationKeepsANameAnEarlierReleaseTook(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hash := make([]byte, 32)
	rand.Read(hash)
	old := &usher.Token{Kind: usher.TokenPersonal, UserID: b.user.ID, Name: "ci de\u200bploy", Scopes: []string{"read_api"},
		Hint: "usr_zz", Hash: hash, CreatedAt: time.Now().UTC()}
	if err := b.env.Store.InTx(context.Background(), func(tx store.Tx) error { return tx.TokenCreate(context.Background(), old) }); err != nil {
		t.Fatal(err)
	}
	res := b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", old.ID), token: b.userTok})
	var rotated struct{ Name string }
	if err := json.Unmarshal(res.body, &rotated); res.status != http.StatusOK || err != nil || rotated.Name != old.Name {
		t.Fatalf("its owner's rotation of a token an earlier release named: %d %s; want 200 with the name kept as stored", res.status, res.body)
	}
}
