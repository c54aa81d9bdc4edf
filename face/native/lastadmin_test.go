package native_test

import (
	"fmt"
	"net/http"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestLastAdministratorKept takes the one administrator who may sign in
// away every way the API has — a demotion, a block, a suspension, a
// deletion, a purge, by the administrator themself or by another — and
// proves each
// refused (409 last_administrator) while no other is left, and allowed
// once one is: before, root demoted, blocked or deleted itself and the
// instance was left with no one to administer it but the command line on
// its server.
func TestLastAdministratorKept(t *testing.T) {
	t.Parallel()
	b := setup(t)
	root := fmt.Sprintf("/v1/users/%d", b.admin.ID)
	// A blocked administrator is none a person may sign in as, nor is a
	// pending one, whom the default policy lets in only once the address
	// is proved (round 32).
	sys := coretest.System()
	held := b.env.MustCreateUser(t, usher.UserCreate{Username: "held", Email: "held@example.com", Admin: true})
	if _, err := b.env.Core.Users.Block(sys, usher.UserKey{ID: held.ID}); err != nil {
		t.Fatal(err)
	}
	if pend := b.env.MustCreateUser(t, usher.UserCreate{Username: "pend", Email: "pend@example.com", Admin: true,
		State: usher.StatePending}); pend.State != usher.StatePending {
		t.Fatalf("pend is %s, want pending", pend.State)
	}
	takes := []struct {
		name         string
		method, path string
		body         any
	}{
		{"a demotion", "PATCH", root, map[string]any{"admin": false}},
		{"a block", "POST", root + "/block", nil},
		{"a suspension", "POST", root + "/suspend", nil},
		{"a deletion", "DELETE", root, nil},
		// Round 32: a purge, which takes a live account too, for good.
		{"a purge", "POST", root + "/purge", nil},
	}
	for _, tc := range takes {
		res := b.api.do(t, req{method: tc.method, path: tc.path, token: b.adminTok, body: tc.body})
		wantProblem(t, "root's "+tc.name+" of itself, the last administrator", res, http.StatusConflict, usher.CodeLastAdministrator)
	}
	var me struct {
		Admin bool   `json:"admin"`
		State string `json:"state"`
	}
	b.call(t, req{method: "GET", path: "/v1/me", token: b.adminTok}, http.StatusOK, &me)
	if !me.Admin || me.State != "active" {
		t.Fatalf("after the refusals root is %+v, want an active administrator", me)
	}

	// With another administrator who may sign in, each is allowed, and
	// the other becomes the last one.
	ada := b.env.MustCreateUser(t, usher.UserCreate{Username: "ada", Email: "ada@example.com", Admin: true})
	adaTok := b.env.MustToken(t, ada.ID, usher.TokenPersonal)
	b.call(t, req{method: "POST", path: root + "/block", token: adaTok}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: root + "/unblock", token: adaTok}, http.StatusOK, nil)
	b.call(t, req{method: "PATCH", path: root, token: b.adminTok, body: map[string]any{"admin": false}}, http.StatusOK, nil)
	res := b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d", ada.ID), token: adaTok})
	wantProblem(t, "ada's deletion of itself, now the last administrator", res, http.StatusConflict, usher.CodeLastAdministrator)
	// A change that keeps the last one an administrator who may sign in
	// is no concern of the rule.
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", ada.ID), token: adaTok,
		body: map[string]any{"name": "Ada Lovelace"}}, http.StatusOK, nil)
}
