package escape_test

import (
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
