package native_test

import (
	"fmt"
	"net/http"
	"testing"

	"usher"
)

// TestServiceAccountRuleTellsNoHiddenTeam: an owner of team "ops" took
// one of its service accounts out of ops: the rule that keeps a service
// account in a team let it go (200) when an administrator had also put
// the account in a team hidden from the owner, and refused it (409 "stays
// in its team") when it was in none: the answer told whether the account
// is in a team the caller may not read (round 52). Only the teams the
// caller reads count now.
func TestServiceAccountRuleTellsNoHiddenTeam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ops := b.mustTeamAccount(t, b.userTok, "ops", "bot-a1")
	for _, n := range []string{"bot-a2", "bot-b1", "bot-b2", "bot-c1", "bot-c2"} {
		b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", ops.ID), token: b.userTok,
			body: map[string]any{"username": n}}, http.StatusCreated, nil)
	}
	var secret groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "secret-crew"}}, http.StatusCreated, &secret)
	for _, n := range []string{"bot-a1", "bot-b1", "bot-c1"} {
		b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%s", secret.ID, n), token: b.adminTok,
			body: map[string]any{"level": "read"}}, http.StatusOK, nil)
	}
	// The owner of ops sees none of the hidden team in the account's teams.
	var shown struct {
		Items []struct {
			GroupID int64 `json:"group_id"`
		} `json:"items"`
	}
	b.call(t, req{method: "GET", path: "/v1/users/bot-a1/groups?kind=team", token: b.userTok}, http.StatusOK, &shown)
	for _, it := range shown.Items {
		if it.GroupID == secret.ID {
			t.Fatalf("the owner reads the hidden team: %+v", shown.Items)
		}
	}
	for _, c := range []struct {
		name          string
		member, other req
	}{
		{"set_groups []",
			req{method: "PUT", path: "/v1/users/bot-a1/groups", token: b.userTok, body: map[string]any{"kind": "team", "set_groups": []string{}}},
			req{method: "PUT", path: "/v1/users/bot-a2/groups", token: b.userTok, body: map[string]any{"kind": "team", "set_groups": []string{}}}},
		{"remove_from_groups [ops]",
			req{method: "PUT", path: "/v1/users/bot-b1/groups", token: b.userTok, body: map[string]any{"kind": "team", "remove_from_groups": []string{"ops"}}},
			req{method: "PUT", path: "/v1/users/bot-b2/groups", token: b.userTok, body: map[string]any{"kind": "team", "remove_from_groups": []string{"ops"}}}},
		{"DELETE members",
			req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/bot-c1", ops.ID), token: b.userTok},
			req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/bot-c2", ops.ID), token: b.userTok}},
	} {
		m := b.api.do(t, c.member)
		o := b.api.do(t, c.other)
		if m.status != o.status {
			t.Errorf("%s: in hidden team %d %s; in none %d %s; want the same answer", c.name, m.status, m.body, o.status, o.body)
		}
	}
}

// TestSetTellsNoInternalMembership: a plain user sees no internal group
// (not found to them), and GET of another's internal groups shows none;
// yet set_groups [] of kind internal looked up each group the user is in,
// and was refused 404 where the user is in an internal group and answered
// 200 where not (round 52). A set leaves the user in a group the caller
// cannot see as in one they may not read.
func TestSetTellsNoInternalMembership(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim := b.env.MustCreateUser(t, usher.UserCreate{Username: "victim", Email: "victim@example.com", Name: "Victim"})
	b.env.MustCreateUser(t, usher.UserCreate{Username: "bystander", Email: "bystander@example.com", Name: "Bystander"})
	var internal groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "internal", "handle": "prod-admins"}}, http.StatusCreated, &internal)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%d", internal.ID, victim.ID), token: b.adminTok,
		body: map[string]any{}}, http.StatusOK, nil)
	g1 := b.api.do(t, req{method: "GET", path: "/v1/users/victim/groups?kind=internal", token: b.userTok})
	g2 := b.api.do(t, req{method: "GET", path: "/v1/users/bystander/groups?kind=internal", token: b.userTok})
	if g1.status != g2.status || string(g1.body) != string(g2.body) {
		t.Fatalf("GET tells already: %d %s / %d %s", g1.status, g1.body, g2.status, g2.body)
	}
	in := b.api.do(t, req{method: "PUT", path: "/v1/users/victim/groups", token: b.userTok, body: map[string]any{"kind": "internal", "set_groups": []string{}}})
	out := b.api.do(t, req{method: "PUT", path: "/v1/users/bystander/groups", token: b.userTok, body: map[string]any{"kind": "internal", "set_groups": []string{}}})
	if in.status != out.status || string(in.body) != string(out.body) {
		t.Errorf("set_groups [] (internal) tells membership: member %d %s; non-member %d %s", in.status, in.body, out.status, out.body)
	}
}
