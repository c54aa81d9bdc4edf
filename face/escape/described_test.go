package escape_test

import (
	"fmt"
	"net/http"
	"testing"

	"usher"
	"usher/core/coretest"
	"usher/face/escape"
)

// TestRefusalsAreDescribed: the core's refusals of a token's scopes, of a
// rule denying a user's read or the user list, and of the deletion of a
// team's last owner reached callers from routes whose OpenAPI description
// listed no such answer (round 55): an Escape client reading the
// description did not expect them. b.do checks every answer against the
// description.
func TestRefusalsAreDescribed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := escape.Prefix
	sys := coretest.System()
	role := func(username, handle string, rule usher.Rule) {
		g, err := b.env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: handle})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.env.Core.Groups.SetRules(sys, usher.GroupRef{ID: g.ID}, []usher.Rule{rule}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := b.env.Core.Groups.AddMember(sys, usher.GroupRef{ID: g.ID}, usher.UserKey{Username: username}, ""); err != nil {
			t.Fatal(err)
		}
	}
	secret := b.env.MustCreateUser(t, usher.UserCreate{Username: "secret", Email: "secret@example.com", Password: password})
	lister := b.env.MustCreateUser(t, usher.UserCreate{Username: "lister", Email: "lister@example.com", Password: password})
	listerTok := b.env.MustToken(t, lister.ID, usher.TokenPersonal)
	role("plain", "blind", usher.Rule{Resource: fmt.Sprintf("user:%d", secret.ID), Operation: "read", Access: usher.Deny})
	role("lister", "nolist", usher.Rule{Resource: "user", Operation: "list", Access: usher.Deny})
	readUser := b.env.MustToken(t, b.user.ID, usher.TokenPersonal, usher.ScopeReadUser)
	readAPI := b.env.MustToken(t, b.user.ID, usher.TokenPersonal, usher.ScopeReadAPI)
	for _, c := range []call{
		{method: "GET", path: p + "/users/", token: readUser},
		{method: "GET", path: p + "/users/root/", token: readUser},
		{method: "GET", path: p + "/teams/", token: readUser},
		{method: "GET", path: p + "/groups/", token: readUser},
		{method: "GET", path: p + "/plans/", token: readUser},
		{method: "POST", path: p + "/teams/", token: readAPI, body: map[string]any{"name": "zz"}},
		{method: "GET", path: p + "/users/secret/", token: b.userTok},
		{method: "GET", path: p + "/users/", token: listerTok},
	} {
		if res := b.do(t, c); res.status != http.StatusForbidden {
			t.Errorf("%s %s: %d %s; want 403", c.method, c.path, res.status, res.body)
		}
	}
	b.mustTeam(t, b.userTok, "devs")
	res := b.do(t, call{method: "DELETE", path: p + "/users/plain/", token: b.adminTok})
	if e, _ := res.problem(t); res.status != http.StatusConflict || e.Code != "last_team_owner" {
		t.Errorf("DELETE users/plain/, the last owner of devs: %d %s; want 409 last_team_owner", res.status, res.body)
	}
}
