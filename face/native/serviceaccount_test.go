package native_test

import (
	"fmt"
	"testing"
)

func TestServiceAccountsThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var g groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "build"}}, 201, &g)
	path := fmt.Sprintf("/v1/groups/%d/service-accounts", g.ID)
	var sa userBody
	res := b.call(t, req{method: "POST", path: path, token: b.userTok, body: map[string]any{"username": "build-bot", "name": "Build bot"}}, 201, &sa)
	if sa.Kind != "service_account" || res.header.Get("Location") != fmt.Sprintf("/v1/users/%d", sa.ID) {
		t.Fatalf("created %s", res.body)
	}
	var tok struct{ Token string }
	b.call(t, req{method: "POST", path: path + "/build-bot/token", token: b.userTok}, 201, &tok)
	var me userBody
	b.call(t, req{method: "GET", path: "/v1/me", token: tok.Token}, 200, &me)
	if me.ID != sa.ID {
		t.Fatalf("the token is %s's", me.Username)
	}
	// Regenerating by id ends the old token.
	var second struct{ Token string }
	b.call(t, req{method: "POST", path: fmt.Sprintf("%s/%d/token", path, sa.ID), token: b.userTok, body: map[string]any{"regenerate": true}}, 201, &second)
	b.call(t, req{method: "GET", path: "/v1/me", token: tok.Token}, 401, nil)
	var list userList
	b.call(t, req{method: "GET", path: path, token: b.userTok}, 200, &list)
	if len(list.Items) != 1 || list.Items[0].Username != "build-bot" {
		t.Fatalf("list: %+v", list)
	}
	// A service account has no password to log in with.
	b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "build-bot", "password": "anything long enough"}}, 401, nil)
	b.call(t, req{method: "DELETE", path: path + "/build-bot", token: b.userTok}, 204, nil)
	b.call(t, req{method: "GET", path: "/v1/me", token: second.Token}, 401, nil)
	b.call(t, req{method: "DELETE", path: path + "/build-bot", token: b.userTok}, 404, nil)
}

// A service account is made with its team and stays one: no update or
// create, an administrator's included, makes an account one or turns one
// into a plain account that could then be given a password and listed as
// a person (as an edit through Corteza, which shows it as kind "", did).
func TestServiceAccountKindIsFixed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var g groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "deploy"}}, 201, &g)
	var sa userBody
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", g.ID), token: b.userTok,
		body: map[string]any{"username": "deploy-bot"}}, 201, &sa)
	saPath := fmt.Sprintf("/v1/users/%d", sa.ID)
	for _, tc := range []struct {
		name   string
		rq     req
		status int
		code   string // of the field error on kind, when refused
	}{
		{"a service account made normal", req{method: "PATCH", path: saPath, body: map[string]any{"kind": "normal"}}, 422, "not_allowed"},
		{"a service account made a bot", req{method: "PATCH", path: saPath, body: map[string]any{"kind": "bot", "name": "Deploy"}}, 422, "not_allowed"},
		{"a user made a service account", req{method: "PATCH", path: "/v1/users/plain", body: map[string]any{"kind": "service_account"}}, 422, "not_allowed"},
		{"a service account created by hand", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "handmade", "kind": "service_account"}}, 422, "not_allowed"},
		{"a service account's kind sent back unchanged", req{method: "PATCH", path: saPath, body: map[string]any{"kind": "service_account", "name": "Deploy bot"}}, 200, ""},
		{"a user made a bot", req{method: "PATCH", path: "/v1/users/plain", body: map[string]any{"kind": "bot"}}, 200, ""},
		{"a bot made normal again", req{method: "PATCH", path: "/v1/users/plain", body: map[string]any{"kind": "normal"}}, 200, ""},
	} {
		tc.rq.token = b.adminTok
		res := b.api.do(t, tc.rq)
		if res.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, res.status, res.body, tc.status)
			continue
		}
		if tc.code == "" {
			continue
		}
		if p := res.problem(t); p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != "kind" || p.Errors[0].Code != tc.code {
			t.Errorf("%s: %s", tc.name, res.body)
		}
	}
	var got userBody
	b.call(t, req{method: "GET", path: saPath, token: b.adminTok}, 200, &got)
	if got.Kind != "service_account" || got.Name != "Deploy bot" {
		t.Fatalf("the service account is now %+v", got)
	}
	b.call(t, req{method: "GET", path: "/v1/users/handmade", token: b.adminTok}, 404, nil)
}
