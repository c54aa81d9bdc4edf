package native_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestCreateAndUpdateNameFirstProblemAlike: a creation names a bad handle
// before a bad address, as Corteza's user service checks them; a change
// of the same two fields named the address first (round 40). Both name
// the handle first.
func TestCreateAndUpdateNameFirstProblemAlike(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := map[string]any{"username": "carol", "email": "not-an-address", "handle": "-bad"}
	created := b.api.do(t, req{method: "POST", path: "/v1/users", token: b.adminTok, body: body})
	cp := created.problem(t)
	u := b.mustCreate(t, map[string]any{"username": "dave", "email": "dave@example.com"})
	patched := b.api.do(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", u.ID), token: b.adminTok,
		body: map[string]any{"email": "not-an-address", "handle": "-bad"}})
	pp := patched.problem(t)
	if created.status != http.StatusUnprocessableEntity || patched.status != http.StatusUnprocessableEntity {
		t.Fatalf("create %d %s; patch %d %s", created.status, created.body, patched.status, patched.body)
	}
	if cp.Detail != pp.Detail || len(cp.Errors) == 0 || len(pp.Errors) == 0 || cp.Errors[0].Field != pp.Errors[0].Field {
		t.Errorf("POST /v1/users detail %q (errors %v); PATCH of the same fields detail %q (errors %v): want one order", cp.Detail, cp.Errors, pp.Detail, pp.Errors)
	}
}
