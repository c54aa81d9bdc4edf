package escape_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"usher"
)

// TestPathsBelowARouteAreNotIt: a route's pattern ends in a slash, and a
// path below it is no operation's: 404 route_not_found, or 405 where
// another method serves the path, as docs/escape.md says. It used to be
// served by the route above it, so DELETE /teams/alpha/anything/ deleted
// the team alpha.
func TestPathsBelowARouteAreNotIt(t *testing.T) {
	t.Parallel()
	b, _ := setupTeams(t)
	b.run(t, []rawCase{
		{"below the version", call{method: "GET", path: p + "/version/x"}, 404, usher.CodeRouteNotFound, ""},
		{"below a team", call{method: "GET", path: p + "/teams/alpha/x/", token: b.userTok}, 404, usher.CodeRouteNotFound, ""},
		{"a team's users", call{method: "GET", path: p + "/teams/alpha/users/", token: b.userTok}, 404, usher.CodeRouteNotFound, ""},
		{"below a log-in", call{method: "POST", path: p + "/auth/login/x/", body: map[string]any{"email": "plain@example.com", "secret_token": password}}, 404, usher.CodeRouteNotFound, ""},
		{"below an avatar", call{method: "GET", path: p + "/users/plain/avatar/x", token: b.userTok}, 404, usher.CodeRouteNotFound, ""},
		{"delete below a team", call{method: "DELETE", path: p + "/teams/alpha/anything/", token: b.userTok}, 404, usher.CodeRouteNotFound, ""},
		{"the team is still there", call{method: "GET", path: p + "/teams/alpha/", token: b.userTok}, 200, "", ""},
		{"a wrong method on a route still 405", call{method: "PATCH", path: p + "/teams/alpha/", token: b.userTok}, 405, usher.CodeMethodNotAllowed, ""},
	})
}

// TestAddUserNamesItsFields: the refusals of POST /groups/add-user/ name
// the body's fields, group and user_id, not the core's handle and uuid.
func TestAddUserNamesItsFields(t *testing.T) {
	t.Parallel()
	b, _ := setupTeams(t)
	add := func(body map[string]any) call {
		return call{method: "POST", path: p + "/groups/add-user/", token: b.adminTok, body: body}
	}
	b.run(t, []rawCase{
		{"not a UUID", add(map[string]any{"group": "project-x", "user_id": "not-a-uuid"}), 400, usher.CodeInvalidParameter, "user_id"},
		{"a team's name", add(map[string]any{"group": "alpha", "user_id": b.admin.UUID}), 409, usher.CodeHandleTaken, "group"},
		{"not a name", add(map[string]any{"group": "a b", "user_id": b.admin.UUID}), 400, usher.CodeValidationFailed, "group"},
		{"no group", add(map[string]any{"user_id": b.admin.UUID}), 400, usher.CodeInvalidParameter, "group"},
	})
	res := b.do(t, add(map[string]any{"group": "project-x", "user_id": "not-a-uuid"}))
	if e, _ := res.problem(t); e.Message != "user_id: is not a UUID" {
		t.Errorf("message %q names another field", e.Message)
	}
	// A team's refusal names its name in the message as in the fields.
	res = b.do(t, call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "be ta"}})
	if e, field := res.problem(t); field != "name" || !strings.HasPrefix(e.Message, "name: ") {
		t.Errorf("team: %s", res.body)
	}
}

// TestBodyOfAnotherTypeIs400: Escape's tables answer a body that is not
// JSON with 400 ("Invalid JSON body", "Failed to read JSON body") and name
// no 415.
func TestBodyOfAnotherTypeIs400(t *testing.T) {
	t.Parallel()
	b := setup(t)
	text := map[string]string{"Content-Type": "text/plain"}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	b.run(t, []rawCase{
		{"log-in as text", call{method: "POST", path: p + "/auth/login/", body: `{"email":"plain@example.com","secret_token":"x"}`, header: text}, 400, usher.CodeUnsupportedMediaType, ""},
		{"sign-up as a form", call{method: "POST", path: p + "/auth/signup/", body: "username=x&password=y", header: form}, 400, usher.CodeUnsupportedMediaType, ""},
		{"a team as text", call{method: "POST", path: p + "/teams/", token: b.userTok, body: `{"name":"beta"}`, header: text}, 400, usher.CodeUnsupportedMediaType, ""},
		{"a plan as text", call{method: "POST", path: p + "/plans/", token: b.adminTok, body: `{"name":"gold"}`, header: text}, 400, usher.CodeUnsupportedMediaType, ""},
	})
}

// TestSetRolesTakesEscapesBody: Escape's request to set roles is
// {"roles", "username"} (with "group" in its other form); the path names
// the group and the user too, so the body's, when given, must name the
// same ones.
func TestSetRolesTakesEscapesBody(t *testing.T) {
	t.Parallel()
	b, _ := setupTeams(t)
	path := p + "/groups/alpha/users/reader/roles/"
	set := func(body map[string]any) call { return call{method: "PUT", path: path, token: b.userTok, body: body} }
	b.run(t, []rawCase{
		{"roles and username", set(map[string]any{"roles": []string{"write"}, "username": "reader"}), 200, "", ""},
		{"roles, group and username", set(map[string]any{"group": "alpha", "roles": []string{"read"}, "username": "reader"}), 200, "", ""},
		{"the username in another case", set(map[string]any{"roles": []string{"write"}, "username": "Reader"}), 200, "", ""},
		{"another username", set(map[string]any{"roles": []string{"owner"}, "username": "plain"}), 400, usher.CodeInvalid, "username"},
		{"another group", set(map[string]any{"group": "machines", "roles": []string{"owner"}}), 400, usher.CodeInvalid, "group"},
		{"username of a wrong type", set(map[string]any{"roles": []string{"read"}, "username": 5}), 400, usher.CodeWrongType, "username"},
		// An empty role or null changed nothing and answered 200; a body
		// without roles took the member out (round 45).
		{"an empty role", set(map[string]any{"roles": []string{""}}), 400, usher.CodeInvalid, "roles"},
		{"a null role", set(map[string]any{"roles": []any{nil}}), 400, usher.CodeInvalid, "roles"},
		{"no roles", set(map[string]any{"username": "reader", "group": "alpha"}), 400, usher.CodeRequired, "roles"},
		{"roles null", set(map[string]any{"roles": nil}), 400, usher.CodeRequired, "roles"},
	})
	res := b.do(t, call{method: "GET", path: path, token: b.userTok})
	if got := strings.TrimSpace(string(res.body)); got != `["write"]` {
		t.Errorf("roles after: %s", got)
	}
}

// TestOAuthStartUnknownCodeIs404: Escape's OAuth log-in answers 404
// "Redeem token not found." for a code no log-in is waiting with; a live
// code still goes to the device page.
func TestOAuthStartUnknownCodeIs404(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, err := b.env.Core.Auth.StartDeviceLogin(context.Background(), "corp")
	if err != nil {
		t.Fatal(err)
	}
	start := p + "/auth/oauth/corp/start/?redeem-token="
	b.run(t, []rawCase{
		{"an unknown code", call{method: "GET", path: start + "ABCD-EFGH"}, 404, usher.CodeDeviceNotFound, ""},
		{"the client's redeem token, not the person's code", call{method: "GET", path: start + url.QueryEscape(d.RedeemToken)}, 404, usher.CodeDeviceNotFound, ""},
		{"a live code", call{method: "GET", path: start + url.QueryEscape(d.UserCode)}, 302, "", ""},
		{"a live code again: opening approves nothing", call{method: "GET", path: start + url.QueryEscape(d.UserCode)}, 302, "", ""},
		{"no code", call{method: "GET", path: p + "/auth/oauth/corp/start/"}, 400, usher.CodeRequired, "redeem-token"},
	})
}

// TestRefusalsTheDescriptionNames: a body over the limit (413) and a
// list's query parameter given twice (400) are answered as the served
// OpenAPI description says, which named neither (round 45); each answer
// is checked against it.
func TestRefusalsTheDescriptionNames(t *testing.T) {
	t.Parallel()
	b, _ := setupTeams(t)
	b.run(t, []rawCase{
		{"a body over 1 MiB", call{method: "PUT", path: p + "/users/plain/", token: b.userTok,
			body: map[string]any{"description": strings.Repeat("x", 1<<20+10)}}, 413, usher.CodeBodyTooLarge, ""},
		{"a team list's query twice", call{method: "GET", path: p + "/teams/?query=a&query=b", token: b.userTok}, 400, usher.CodeRepeatedParameter, "query"},
		{"a group list's query twice", call{method: "GET", path: p + "/groups/?query=a&query=b", token: b.userTok}, 400, usher.CodeRepeatedParameter, "query"},
	})
}
