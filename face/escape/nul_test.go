package escape_test

import (
	"testing"

	"usher"
)

// TestMalformedTextPostgres sends text PostgreSQL refuses — a NUL, bytes
// that are not UTF-8 — where the face takes a login, a team, a group, a
// plan or a provider's error, on PostgreSQL, where each answered 500: a
// look-up by such a key is not found (a log-in refused) as an unknown one
// is, and a value is refused naming its field.
func TestMalformedTextPostgres(t *testing.T) {
	t.Parallel()
	b, _ := teamsOn(t, setupPostgres(t))
	b.run(t, []rawCase{
		{"log-in", call{method: "POST", path: p + "/auth/login/", body: `{"email":"g\u0000@x.com","secret_token":"a"}`}, 401, usher.CodeInvalidCredentials, ""},
		{"team", call{method: "GET", path: p + "/teams/a%00b/", token: b.adminTok}, 404, usher.CodeGroupNotFound, ""},
		{"team deleted", call{method: "DELETE", path: p + "/teams/a%00b/", token: b.adminTok}, 404, usher.CodeGroupNotFound, ""},
		{"team's service accounts", call{method: "GET", path: p + "/teams/a%00b/service-accounts/", token: b.adminTok}, 404, usher.CodeGroupNotFound, ""},
		{"team's new service account", call{method: "POST", path: p + "/teams/a%00b/service-accounts/bot/", token: b.adminTok}, 404, usher.CodeGroupNotFound, ""},
		{"group's users", call{method: "GET", path: p + "/groups/a%00b/users/", token: b.adminTok}, 404, usher.CodeGroupNotFound, ""},
		{"group's service accounts", call{method: "GET", path: p + "/groups/a%00b/service-accounts/", token: b.adminTok}, 404, usher.CodeGroupNotFound, ""},
		{"group joined", call{method: "POST", path: p + "/groups/add-user/", token: b.adminTok,
			body: `{"group":"a\u0000b","user_id":"` + b.user.UUID + `"}`}, 400, usher.CodeValidationFailed, "group"},
		{"plan deleted", call{method: "DELETE", path: p + "/plans/a%00b/", token: b.adminTok}, 404, usher.CodePlanNotFound, ""},
		{"user's plan", call{method: "PUT", path: p + "/users/plain/plan/", token: b.adminTok, body: `{"name":"a\u0000b"}`}, 400, usher.CodeValidationFailed, "name"},
		{"provider's refusal", call{method: "GET", path: p + "/auth/oauth/corp/callback/?error=a%00b&state=x"}, 400, usher.CodeInvalidParameter, "error"},
	})
}
