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
