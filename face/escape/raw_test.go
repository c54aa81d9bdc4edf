package escape_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// rawCase is one request of an operation and what it must answer: the
// status and, for an error, the body's code and the field it names.
type rawCase struct {
	name   string
	c      call
	status int
	code   string
	field  string
}

// run sends the cases in order, since each may change what the next sees.
func (b *bundle) run(t *testing.T, cases []rawCase) {
	t.Helper()
	for _, tt := range cases {
		res := b.do(t, tt.c)
		e, field := res.problem(t)
		if res.status != tt.status || e.Code != tt.code || field != tt.field {
			t.Errorf("%s: %s %s → %d %s, want %d %q naming %q", tt.name, tt.c.method, tt.c.path, res.status, res.body,
				tt.status, tt.code, tt.field)
		}
	}
}

const p = "/escape/api/v1"

// setupTeams adds to the bundle a team "alpha" the plain user owns, with
// "reader" as a reader; an internal group "machines"; and a plan "pro".
func setupTeams(t *testing.T) (*bundle, string) {
	t.Helper()
	return teamsOn(t, setup(t))
}

func teamsOn(t *testing.T, b *bundle) (*bundle, string) {
	t.Helper()
	b.mustTeam(t, b.userTok, "alpha")
	reader := b.env.MustCreateUser(t, usher.UserCreate{Username: "reader", Email: "reader@example.com", Password: password})
	if _, err := b.env.Core.Groups.AddMember(coretest.System(), usher.GroupRef{Kind: usher.GroupTeam, Handle: "alpha"},
		usher.UserKey{ID: reader.ID}, usher.LevelRead); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.Create(coretest.System(), usher.GroupCreate{Kind: usher.GroupInternal, Handle: "machines",
		Name: "machines", Members: []int64{b.user.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Plans.Create(coretest.System(), usher.Plan{Name: "pro", CanCreateTeam: true, ProjectLimit: 5, Default: true}); err != nil {
		t.Fatal(err)
	}
	return b, b.env.MustToken(t, reader.ID, usher.TokenPersonal)
}

// TestAuthOperations: log-in, log-out, sign-up methods, sign-up,
// confirmation, password reset and quality, redeem, ACL user and version,
// with the statuses Escape's tables give and bad input for each.
func TestAuthOperations(t *testing.T) {
	t.Parallel()
	testAuthOperations(t, setup(t))
}

// TestAuthOperationsPostgres is TestAuthOperations on PostgreSQL.
func TestAuthOperationsPostgres(t *testing.T) {
	t.Parallel()
	testAuthOperations(t, setupPostgres(t))
}

func testAuthOperations(t *testing.T, b *bundle) {
	login := func(body any) call { return call{method: "POST", path: p + "/auth/login/", body: body} }
	b.run(t, []rawCase{
		{"log-in", login(map[string]any{"email": "plain@example.com", "secret_token": password}), 200, "", ""},
		{"log-in, the deprecated username", login(map[string]any{"username": "plain@example.com", "secret_token": password}), 200, "", ""},
		{"log-in, wrong password", login(map[string]any{"email": "plain@example.com", "secret_token": "nope"}), 401, usher.CodeInvalidCredentials, ""},
		{"log-in, unknown user", login(map[string]any{"email": "ghost@example.com", "secret_token": password}), 401, usher.CodeInvalidCredentials, ""},
		{"log-in, invalid JSON", login("{"), 400, usher.CodeMalformedJSON, ""},
		{"log-in, unknown field", login(map[string]any{"email": "plain@example.com", "password": password}), 400, usher.CodeUnknownField, "password"},
		{"log-in, wrong type", login(map[string]any{"email": 5, "secret_token": password}), 400, usher.CodeWrongType, "email"},
		{"log-in, another site", call{method: "POST", path: p + "/auth/login/", body: map[string]any{"email": "plain@example.com", "secret_token": password},
			header: map[string]string{"Origin": "https://evil.example"}}, 403, usher.CodeCrossOrigin, ""},

		{"sign-up methods", call{method: "GET", path: p + "/auth/signup-methods/"}, 200, "", ""},
		{"sign-up", call{method: "POST", path: p + "/auth/signup/", body: map[string]any{"username": "newbie", "email": "newbie@example.com", "password": password}}, 200, "", ""},
		{"sign-up, exists", call{method: "POST", path: p + "/auth/signup/", body: map[string]any{"username": "newbie", "email": "other@example.com", "password": password}}, 409, usher.CodeUsernameTaken, "username"},
		{"sign-up, weak password", call{method: "POST", path: p + "/auth/signup/", body: map[string]any{"username": "weak", "email": "weak@example.com", "password": "password"}}, 400, usher.CodeValidationFailed, "password"},
		{"sign-up, no password", call{method: "POST", path: p + "/auth/signup/", body: map[string]any{"username": "nopw", "email": "nopw@example.com"}}, 400, usher.CodeValidationFailed, "password"},
		{"sign-up, a space in the username", call{method: "POST", path: p + "/auth/signup/", body: map[string]any{"username": "new bie", "email": "nb@example.com", "password": password}}, 400, usher.CodeValidationFailed, "username"},
		{"sign-up, invalid JSON", call{method: "POST", path: p + "/auth/signup/", body: "[1]"}, 400, usher.CodeMalformedJSON, ""},

		{"confirm, unknown code", call{method: "POST", path: p + "/auth/confirm-email/", body: map[string]any{"code": "x"}}, 404, usher.CodeConfirmNotFound, ""},
		{"confirm, invalid JSON", call{method: "POST", path: p + "/auth/confirm-email/", body: "{"}, 400, usher.CodeMalformedJSON, ""},

		{"reset request", call{method: "POST", path: p + "/auth/password-reset/", body: map[string]any{"email": "plain@example.com"}}, 200, "", ""},
		{"reset request, unknown address", call{method: "POST", path: p + "/auth/password-reset/", body: map[string]any{"email": "ghost@example.com"}}, 200, "", ""},
		{"reset request, invalid JSON", call{method: "POST", path: p + "/auth/password-reset/", body: "{"}, 400, usher.CodeMalformedJSON, ""},
		{"reset, unknown token", call{method: "POST", path: p + "/auth/password-reset/confirm/", body: map[string]any{"password_reset_token": "x", "password": password}}, 404, usher.CodeResetNotFound, ""},
		{"reset, no token", call{method: "POST", path: p + "/auth/password-reset/confirm/", body: map[string]any{"password": password}}, 400, usher.CodeRequired, "password_reset_token"},
		{"reset, invalid JSON", call{method: "POST", path: p + "/auth/password-reset/confirm/", body: "{"}, 400, usher.CodeMalformedJSON, ""},

		{"password quality", call{method: "POST", path: p + "/auth/password-quality/", body: map[string]any{"password": "password"}}, 200, "", ""},
		{"password quality, invalid JSON", call{method: "POST", path: p + "/auth/password-quality/", body: "{"}, 400, usher.CodeMalformedJSON, ""},

		{"redeem, no token", call{method: "GET", path: p + "/auth/redeem/"}, 400, usher.CodeRequired, "redeem-token"},
		{"redeem, unknown token", call{method: "GET", path: p + "/auth/redeem/?redeem-token=nope"}, 404, usher.CodeRedeemNotFound, ""},
		{"OAuth start, no code", call{method: "GET", path: p + "/auth/oauth/corp/start/"}, 400, usher.CodeRequired, "redeem-token"},
		{"OAuth start, an unknown code", call{method: "GET", path: p + "/auth/oauth/corp/start/?redeem-token=ABCD-EFGH"}, 404, usher.CodeDeviceNotFound, ""},
		{"OAuth callback, unknown state", call{method: "GET", path: p + "/auth/oauth/corp/callback/?state=x&code=y"}, 404, usher.CodeOAuthStateNotFound, ""},
		{"OAuth callback, unknown provider", call{method: "GET", path: p + "/auth/oauth/nope/callback/?state=x&code=y"}, 404, usher.CodeProviderNotFound, ""},
		{"OAuth callback, refused", call{method: "GET", path: p + "/auth/oauth/corp/callback/?error=access_denied&state=x"}, 401, usher.CodeOAuthDenied, ""},

		{"ACL user", call{method: "GET", path: p + "/acl/user/", token: b.userTok}, 200, "", ""},
		{"ACL user, invalid token", call{method: "GET", path: p + "/acl/user/", token: "usp_nope"}, 401, usher.CodeInvalidToken, ""},
		{"ACL user, no token", call{method: "GET", path: p + "/acl/user/"}, 401, usher.CodeUnauthenticated, ""},
		{"version", call{method: "GET", path: p + "/version/"}, 200, "", ""},
		{"an unknown route", call{method: "GET", path: p + "/nope/"}, 404, usher.CodeRouteNotFound, ""},
		{"a wrong method", call{method: "PATCH", path: p + "/teams/"}, 405, usher.CodeMethodNotAllowed, ""},
	})

	// Confirm with the mailed code, and reset with the mailed token.
	code := b.mailTo(t, 1, "newbie@example.com")
	b.run(t, []rawCase{
		{"confirm", call{method: "POST", path: p + "/auth/confirm-email/", body: map[string]any{"code": code}}, 200, "", ""},
		{"confirm, used", call{method: "POST", path: p + "/auth/confirm-email/", body: map[string]any{"code": code}}, 404, usher.CodeConfirmNotFound, ""},
	})
	token := b.mailTo(t, 2, "plain@example.com")
	b.run(t, []rawCase{
		{"reset, weak password", call{method: "POST", path: p + "/auth/password-reset/confirm/", body: map[string]any{"password_reset_token": token, "password": "short"}}, 400, usher.CodeValidationFailed, "password"},
		{"log-in with the old password", login(map[string]any{"email": "plain@example.com", "secret_token": password}), 200, "", ""},
		// The refused password left the token good (it was spent on the
		// refusal before).
		{"reset, the same token", call{method: "POST", path: p + "/auth/password-reset/confirm/", body: map[string]any{"password_reset_token": token, "password": "a brand new horse battery"}}, 200, "", ""},
		{"log-in with the new password", login(map[string]any{"email": "plain@example.com", "secret_token": "a brand new horse battery"}), 200, "", ""},
		{"reset, the token used", call{method: "POST", path: p + "/auth/password-reset/confirm/", body: map[string]any{"password_reset_token": token, "password": "yet another horse battery"}}, 404, usher.CodeResetNotFound, ""},
	})

	// Log-out ends the session the call came with.
	res := b.do(t, login(map[string]any{"email": "root@example.com", "secret_token": password}))
	session := res.header.Get("X-Escape-Token")
	b.run(t, []rawCase{
		{"log-out", call{method: "POST", path: p + "/auth/logout/", token: session}, 200, "", ""},
		{"the session after log-out", call{method: "GET", path: p + "/acl/user/", token: session}, 401, usher.CodeInvalidToken, ""},
		{"log-out, anonymous", call{method: "POST", path: p + "/auth/logout/"}, 401, usher.CodeUnauthenticated, ""},
	})
}

// TestSignupDisabled: with sign-up off, Escape's 500 "Signup disabled.",
// the precise reason in the body.
func TestSignupDisabled(t *testing.T) {
	t.Parallel()
	b := setupWith(t, core.Policy{})
	b.run(t, []rawCase{
		{"sign-up methods", call{method: "GET", path: p + "/auth/signup-methods/"}, 500, usher.CodeSignupDisabled, ""},
		{"sign-up", call{method: "POST", path: p + "/auth/signup/", body: map[string]any{"username": "newbie", "email": "newbie@example.com", "password": password}}, 500, usher.CodeSignupDisabled, ""},
	})
}

// TestTeamOperations: teams, their members and service accounts.
func TestTeamOperations(t *testing.T) {
	t.Parallel()
	testTeamOperations(t, setup(t))
}

// TestTeamOperationsPostgres is TestTeamOperations on PostgreSQL.
func TestTeamOperationsPostgres(t *testing.T) {
	t.Parallel()
	testTeamOperations(t, setupPostgres(t))
}

func testTeamOperations(t *testing.T, b *bundle) {
	b, readerTok := teamsOn(t, b)
	team := p + "/teams/alpha/"
	b.run(t, []rawCase{
		{"list", call{method: "GET", path: p + "/teams/?query=alp", token: b.userTok}, 200, "", ""},
		{"list, anonymous", call{method: "GET", path: p + "/teams/"}, 401, usher.CodeUnauthenticated, ""},
		{"create", call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "beta", "description": "B"}}, 200, "", ""},
		{"create, exists", call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "beta"}}, 409, usher.CodeHandleTaken, "name"},
		{"create, a space", call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "be ta"}}, 400, usher.CodeValidationFailed, "name"},
		{"create, exists in another case", call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "BETA"}}, 409, usher.CodeHandleTaken, "name"},
		{"create, a slash", call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "be/ta"}}, 400, usher.CodeValidationFailed, "name"},
		{"create, no name", call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{}}, 400, usher.CodeValidationFailed, "name"},
		{"create, invalid JSON", call{method: "POST", path: p + "/teams/", token: b.userTok, body: "{"}, 400, usher.CodeMalformedJSON, ""},
		{"create, anonymous", call{method: "POST", path: p + "/teams/", body: map[string]any{"name": "gamma"}}, 401, usher.CodeUnauthenticated, ""},

		{"get", call{method: "GET", path: team, token: b.userTok}, 200, "", ""},
		{"get, a reader", call{method: "GET", path: team, token: readerTok}, 200, "", ""},
		{"get, anonymous", call{method: "GET", path: team}, 401, usher.CodeUnauthenticated, ""},
		{"get, unknown", call{method: "GET", path: p + "/teams/nope/", token: b.userTok}, 404, usher.CodeGroupNotFound, ""},
		{"get, an internal group", call{method: "GET", path: p + "/teams/machines/", token: b.adminTok}, 404, usher.CodeGroupNotFound, ""},
		{"update, a reader", call{method: "PUT", path: team, token: readerTok, body: map[string]any{"description": "x"}}, 403, usher.CodeForbidden, ""},
		{"update", call{method: "PUT", path: team, token: b.userTok, body: map[string]any{"description": "A", "logo": "a.png"}}, 200, "", ""},
		{"update, anonymous", call{method: "PUT", path: team, body: map[string]any{"description": "x"}}, 401, usher.CodeUnauthenticated, ""},
		{"update, unknown", call{method: "PUT", path: p + "/teams/nope/", token: b.userTok, body: map[string]any{"description": "x"}}, 404, usher.CodeGroupNotFound, ""},
		{"update, invalid JSON", call{method: "PUT", path: team, token: b.userTok, body: "{"}, 400, usher.CodeMalformedJSON, ""},

		{"add a user", call{method: "POST", path: team + "users/root/", token: b.userTok, body: map[string]any{"permission": "write"}}, 200, "", ""},
		{"add, no permission", call{method: "POST", path: team + "users/root/", token: b.userTok, body: map[string]any{}}, 400, usher.CodeRequired, "permission"},
		{"add, invalid permission", call{method: "POST", path: team + "users/root/", token: b.userTok, body: map[string]any{"permission": "admin"}}, 400, usher.CodeInvalid, "permission"},
		{"add, a reader", call{method: "POST", path: team + "users/root/", token: readerTok, body: map[string]any{"permission": "read"}}, 403, usher.CodeForbidden, ""},
		{"add, anonymous", call{method: "POST", path: team + "users/root/", body: map[string]any{"permission": "read"}}, 401, usher.CodeUnauthenticated, ""},
		{"add, unknown team", call{method: "POST", path: p + "/teams/nope/users/root/", token: b.userTok, body: map[string]any{"permission": "read"}}, 404, usher.CodeGroupNotFound, ""},
		{"add, unknown user", call{method: "POST", path: team + "users/ghost/", token: b.userTok, body: map[string]any{"permission": "read"}}, 404, usher.CodeUserNotFound, ""},
		{"remove a user", call{method: "DELETE", path: team + "users/root/", token: b.userTok, body: map[string]any{"permission": "write"}}, 200, "", ""},
		{"remove, no permission", call{method: "DELETE", path: team + "users/reader/", token: b.userTok, body: map[string]any{}}, 400, usher.CodeRequired, "permission"},

		{"service accounts", call{method: "GET", path: team + "service-accounts/", token: b.userTok}, 200, "", ""},
		{"create a service account", call{method: "POST", path: team + "service-accounts/ci/", token: b.userTok}, 200, "", ""},
		{"create, exists", call{method: "POST", path: team + "service-accounts/ci/", token: b.userTok}, 409, usher.CodeUsernameTaken, "username"},
		{"create, a space", call{method: "POST", path: team + "service-accounts/c%20i/", token: b.userTok}, 400, usher.CodeValidationFailed, "username"},
		{"create, a reader", call{method: "POST", path: team + "service-accounts/cd/", token: readerTok}, 403, usher.CodeForbidden, ""},
		{"mint a token", call{method: "POST", path: team + "service-accounts/ci/token/", token: b.userTok}, 200, "", ""},
		{"rotate", call{method: "POST", path: team + "service-accounts/ci/rotate/", token: b.userTok}, 200, "", ""},
		{"mint, unknown account", call{method: "POST", path: team + "service-accounts/ghost/token/", token: b.userTok}, 404, usher.CodeServiceAccountNotFound, ""},
		{"delete a service account", call{method: "DELETE", path: team + "service-accounts/ci/", token: b.userTok}, 200, "", ""},
		{"delete, unknown", call{method: "DELETE", path: team + "service-accounts/ci/", token: b.userTok}, 404, usher.CodeServiceAccountNotFound, ""},

		{"delete, a reader", call{method: "DELETE", path: team, token: readerTok}, 403, usher.CodeForbidden, ""},
		{"delete, anonymous", call{method: "DELETE", path: team}, 401, usher.CodeUnauthenticated, ""},
		{"delete", call{method: "DELETE", path: team, token: b.userTok}, 200, "", ""},
		{"delete, unknown", call{method: "DELETE", path: team, token: b.userTok}, 404, usher.CodeGroupNotFound, ""},
	})

	// A plan that allows no teams: Escape's 401.
	if _, err := b.env.Core.Plans.Create(coretest.System(), usher.Plan{Name: "free", Default: true}); err != nil {
		t.Fatal(err)
	}
	b.run(t, []rawCase{
		{"create, the plan forbids", call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "gamma"}}, 401, usher.CodePlanForbidsTeams, ""},
	})
}

// TestTeamBody: a team's representation, with members and the caller's
// permission.
func TestTeamBody(t *testing.T) {
	t.Parallel()
	b, readerTok := setupTeams(t)
	res := b.do(t, call{method: "GET", path: p + "/teams/alpha/", token: readerTok})
	var team struct {
		Name       string `json:"name"`
		Permission string `json:"permission"`
		Members    map[string]struct {
			ID         string `json:"id"`
			Permission string `json:"permission"`
		} `json:"members"`
	}
	res.decode(t, &team)
	if team.Name != "alpha" || team.Permission != "read" || team.Members["plain"].Permission != "owner" ||
		team.Members["reader"].Permission != "read" || team.Members["plain"].ID != b.user.UUID {
		t.Fatalf("team: %s", res.body)
	}
}

// TestGroupAndPlanOperations: groups with internal ones, their users,
// service accounts and roles; plans.
func TestGroupAndPlanOperations(t *testing.T) {
	t.Parallel()
	testGroupAndPlanOperations(t, setup(t))
}

// TestGroupAndPlanOperationsPostgres is TestGroupAndPlanOperations on
// PostgreSQL.
func TestGroupAndPlanOperationsPostgres(t *testing.T) {
	t.Parallel()
	testGroupAndPlanOperations(t, setupPostgres(t))
}

func testGroupAndPlanOperations(t *testing.T, b *bundle) {
	b, readerTok := teamsOn(t, b)
	b.run(t, []rawCase{
		{"groups", call{method: "GET", path: p + "/groups/", token: b.adminTok}, 200, "", ""},
		{"groups, anonymous", call{method: "GET", path: p + "/groups/"}, 401, usher.CodeUnauthenticated, ""},
		{"group users, internal", call{method: "GET", path: p + "/groups/machines/users/", token: b.adminTok}, 200, "", ""},
		{"group users, a team", call{method: "GET", path: p + "/groups/alpha/users/", token: readerTok}, 200, "", ""},
		{"group users, unknown", call{method: "GET", path: p + "/groups/nope/users/", token: b.adminTok}, 404, usher.CodeGroupNotFound, ""},
		{"group service accounts", call{method: "GET", path: p + "/groups/alpha/service-accounts/", token: b.userTok}, 200, "", ""},
		{"group service accounts, internal", call{method: "GET", path: p + "/groups/machines/service-accounts/", token: b.adminTok}, 200, "", ""},
		{"roles", call{method: "GET", path: p + "/groups/alpha/users/reader/roles/", token: b.userTok}, 200, "", ""},
		{"roles, unknown user", call{method: "GET", path: p + "/groups/alpha/users/ghost/roles/", token: b.adminTok}, 404, usher.CodeUserNotFound, ""},

		{"set roles", call{method: "PUT", path: p + "/groups/alpha/users/reader/roles/", token: b.userTok, body: map[string]any{"roles": []string{"write"}}}, 200, "", ""},
		{"set roles, two", call{method: "PUT", path: p + "/groups/alpha/users/reader/roles/", token: b.userTok, body: map[string]any{"roles": []string{"write", "read"}}}, 400, usher.CodeInvalid, "roles"},
		{"set roles, not a level", call{method: "PUT", path: p + "/groups/alpha/users/reader/roles/", token: b.userTok, body: map[string]any{"roles": []string{"boss"}}}, 400, usher.CodeValidationFailed, "roles"},
		{"set roles, a reader", call{method: "PUT", path: p + "/groups/alpha/users/reader/roles/", token: readerTok, body: map[string]any{"roles": []string{"owner"}}}, 403, usher.CodeForbidden, ""},
		{"set roles, invalid JSON", call{method: "PUT", path: p + "/groups/alpha/users/reader/roles/", token: b.userTok, body: "{"}, 400, usher.CodeMalformedJSON, ""},
		{"add to a group", call{method: "POST", path: p + "/groups/add-user/", token: b.adminTok, body: map[string]any{"group": "project-x", "user_id": b.user.UUID}}, 200, "", ""},
		{"add to the group again", call{method: "POST", path: p + "/groups/add-user/", token: b.adminTok, body: map[string]any{"group": "project-x", "user_id": b.admin.UUID}}, 200, "", ""},
		{"add, unknown user", call{method: "POST", path: p + "/groups/add-user/", token: b.adminTok, body: map[string]any{"group": "project-y", "user_id": "4d5cc8fe-1bf5-40c7-8ce2-9b30b81784c9"}}, 404, usher.CodeUserNotFound, ""},
		{"add, no user", call{method: "POST", path: p + "/groups/add-user/", token: b.adminTok, body: map[string]any{"group": "project-y"}}, 400, usher.CodeRequired, "user_id"},
		{"add, no group", call{method: "POST", path: p + "/groups/add-user/", token: b.adminTok, body: map[string]any{"user_id": b.user.UUID}}, 400, usher.CodeInvalidParameter, "group"},
		{"add, a plain user", call{method: "POST", path: p + "/groups/add-user/", token: b.userTok, body: map[string]any{"group": "project-z", "user_id": b.user.UUID}}, 403, usher.CodeForbidden, ""},
		{"add, invalid JSON", call{method: "POST", path: p + "/groups/add-user/", token: b.adminTok, body: "{"}, 400, usher.CodeMalformedJSON, ""},
		{"plans", call{method: "GET", path: p + "/plans/", token: b.userTok}, 200, "", ""},
		{"plans, anonymous", call{method: "GET", path: p + "/plans/"}, 401, usher.CodeUnauthenticated, ""},
		{"create a plan", call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "team", "can_create_team": true, "project_limit": 10, "default": true}}, 200, "", ""},
		{"create, exists", call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "pro"}}, 409, usher.CodePlanExists, ""},
		{"create, invalid JSON", call{method: "POST", path: p + "/plans/", token: b.adminTok, body: "{"}, 400, usher.CodeMalformedJSON, ""},
		{"create, negative limit", call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "neg", "project_limit": -1}}, 400, usher.CodeValidationFailed, "project_limit"},
		{"create, a plain user", call{method: "POST", path: p + "/plans/", token: b.userTok, body: map[string]any{"name": "mine"}}, 403, usher.CodeForbidden, ""},
		{"update", call{method: "PUT", path: p + "/plans/pro/", token: b.adminTok, body: map[string]any{"can_create_team": true, "project_limit": 7}}, 200, "", ""},
		{"update, unknown", call{method: "PUT", path: p + "/plans/nope/", token: b.adminTok, body: map[string]any{}}, 404, usher.CodePlanNotFound, ""},
		{"update, invalid JSON", call{method: "PUT", path: p + "/plans/pro/", token: b.adminTok, body: "{"}, 400, usher.CodeMalformedJSON, ""},
		{"assign", call{method: "PUT", path: p + "/users/plain/plan/", token: b.adminTok, body: map[string]any{"name": "pro"}}, 200, "", ""},
		{"assign, unknown plan", call{method: "PUT", path: p + "/users/plain/plan/", token: b.adminTok, body: map[string]any{"name": "nope"}}, 400, usher.CodeValidationFailed, "name"},
		{"assign, no name", call{method: "PUT", path: p + "/users/plain/plan/", token: b.adminTok, body: map[string]any{}}, 400, usher.CodeRequired, "name"},
		{"assign, an empty name", call{method: "PUT", path: p + "/users/plain/plan/", token: b.adminTok, body: map[string]any{"name": ""}}, 400, usher.CodeRequired, "name"},
		{"assign, unknown user", call{method: "PUT", path: p + "/users/ghost/plan/", token: b.adminTok, body: map[string]any{"name": "pro"}}, 404, usher.CodeUserNotFound, ""},
		{"delete", call{method: "DELETE", path: p + "/plans/team/", token: b.adminTok}, 200, "", ""},
		{"delete, unknown", call{method: "DELETE", path: p + "/plans/team/", token: b.adminTok}, 404, usher.CodePlanNotFound, ""},
	})
	res := b.do(t, call{method: "GET", path: p + "/groups/alpha/users/reader/roles/", token: b.userTok})
	if string(res.body) != `["write"]`+"\n" && string(res.body) != `["write"]` {
		t.Errorf("roles: %s", res.body)
	}
	res = b.do(t, call{method: "GET", path: p + "/plans/", token: b.userTok})
	var plans struct {
		Default string `json:"default_plan"`
		Plans   map[string]struct {
			CanCreateTeam bool `json:"can_create_team"`
			ProjectLimit  int  `json:"project_limit"`
		} `json:"plans"`
	}
	res.decode(t, &plans)
	if pro := plans.Plans["pro"]; !pro.CanCreateTeam || pro.ProjectLimit != 7 {
		t.Errorf("plans: %s", res.body)
	}
	res = b.do(t, call{method: "GET", path: p + "/users/plain/", token: b.userTok})
	var u struct {
		Plan struct {
			Name         string `json:"name"`
			ProjectLimit int    `json:"project_limit"`
		} `json:"plan"`
		Groups []struct {
			Name       string `json:"name"`
			IsInternal bool   `json:"is_internal"`
			Role       string `json:"role"`
		} `json:"groups"`
	}
	res.decode(t, &u)
	if u.Plan.Name != "pro" || u.Plan.ProjectLimit != 7 || len(u.Groups) != 3 {
		t.Errorf("user: %s", res.body)
	}
}

// TestUserOperations: users, their avatar, activation and deletion.
func TestUserOperations(t *testing.T) {
	t.Parallel()
	testUserOperations(t, setup(t))
}

// TestUserOperationsPostgres is TestUserOperations on PostgreSQL.
func TestUserOperationsPostgres(t *testing.T) {
	t.Parallel()
	testUserOperations(t, setupPostgres(t))
}

func testUserOperations(t *testing.T, b *bundle) {
	png := base64.StdEncoding.EncodeToString(pngBytes)
	b.run(t, []rawCase{
		{"me", call{method: "GET", path: p + "/user/", token: b.userTok}, 200, "", ""},
		{"me, anonymous", call{method: "GET", path: p + "/user/"}, 401, usher.CodeUnauthenticated, ""},
		{"list", call{method: "GET", path: p + "/users/?query=pla", token: b.adminTok}, 200, "", ""},
		{"list, a query of two characters", call{method: "GET", path: p + "/users/?query=pl", token: b.adminTok}, 400, usher.CodeInvalidParameter, "query"},
		{"get", call{method: "GET", path: p + "/users/plain/", token: b.userTok}, 200, "", ""},
		{"get, unknown", call{method: "GET", path: p + "/users/ghost/", token: b.adminTok}, 404, usher.CodeUserNotFound, ""},
		{"update", call{method: "PUT", path: p + "/users/plain/", token: b.userTok, body: map[string]any{"first_name": "Pla", "description": "hi"}}, 200, "", ""},
		{"update, bad address", call{method: "PUT", path: p + "/users/plain/", token: b.adminTok, body: map[string]any{"email": "not an address"}}, 400, usher.CodeValidationFailed, "email"},
		{"update, invalid JSON", call{method: "PUT", path: p + "/users/plain/", token: b.userTok, body: "{"}, 400, usher.CodeMalformedJSON, ""},
		{"update, another user", call{method: "PUT", path: p + "/users/root/", token: b.userTok, body: map[string]any{"first_name": "x"}}, 403, usher.CodeForbidden, ""},
		{"set the avatar", call{method: "PUT", path: p + "/users/plain/avatar/", token: b.userTok, body: map[string]any{"image_uri": "data:image/png;base64," + png}}, 200, "", ""},
		{"set, not base64", call{method: "PUT", path: p + "/users/plain/avatar/", token: b.userTok, body: map[string]any{"image_uri": "data:image/png,%%%"}}, 400, usher.CodeInvalid, "image_uri"},
		{"get the avatar", call{method: "GET", path: p + "/users/plain/avatar/", token: b.userTok}, 200, "", ""},
		{"deactivate, a plain user", call{method: "POST", path: p + "/users/root/deactivate/", token: b.userTok}, 403, usher.CodeForbidden, ""},
		{"deactivate", call{method: "POST", path: p + "/users/plain/deactivate/", token: b.adminTok}, 200, "", ""},
		{"the user's token after", call{method: "GET", path: p + "/user/", token: b.userTok}, 401, usher.CodeAccountInactive, ""},
		{"activate", call{method: "POST", path: p + "/users/plain/activate/", token: b.adminTok}, 200, "", ""},
		{"activate, unknown", call{method: "POST", path: p + "/users/ghost/activate/", token: b.adminTok}, 404, usher.CodeUserNotFound, ""},
		{"delete, a plain user", call{method: "DELETE", path: p + "/users/root/", token: b.userTok}, 403, usher.CodeForbidden, ""},
		{"delete", call{method: "DELETE", path: p + "/users/plain/", token: b.adminTok}, 200, "", ""},
		{"delete, unknown", call{method: "DELETE", path: p + "/users/plain/", token: b.adminTok}, 404, usher.CodeUserNotFound, ""},
	})
}

// pngBytes is a 1×1 PNG.
var pngBytes, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// TestAvatarNotSniffed: the avatar is served as the native face serves
// it, never to be read as anything but an image at usher's origin.
func TestAvatarNotSniffed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if res := b.do(t, call{method: "PUT", path: p + "/users/plain/avatar/", token: b.userTok,
		body: map[string]any{"image_uri": "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes)}}); res.status != 200 {
		t.Fatalf("set: %d %s", res.status, res.body)
	}
	res := b.do(t, call{method: "GET", path: p + "/users/plain/avatar/", token: b.userTok})
	if res.status != 200 || res.header.Get("Content-Type") != "image/png" || res.header.Get("X-Content-Type-Options") != "nosniff" ||
		res.header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
		t.Fatalf("avatar: %d %v", res.status, res.header)
	}
}

// TestNamelessMembersKeepTheirNames replays accounts made without a
// username (as Corteza makes them) in a team: Escape keys a team's members
// by username, so all of them shared the key "", the last one's
// permission took it — an owner vanished behind a reader — and an
// outsider without a username was told by /acl/user/ that it was "", the
// name a service would look up in that map. Such an account is named "@"
// and its handle, unique among users, which no username can be.
func TestNamelessMembersKeepTheirNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	boss := b.env.MustCreateUser(t, usher.UserCreate{Email: "boss@example.com", Handle: "boss", UsernameOptional: true})
	intern := b.env.MustCreateUser(t, usher.UserCreate{Email: "intern@example.com", Handle: "intern", UsernameOptional: true})
	outsider := b.env.MustCreateUser(t, usher.UserCreate{Email: "outsider@example.com", Handle: "outsider", UsernameOptional: true})
	b.mustTeam(t, b.userTok, "payments")
	ref := usher.GroupRef{Kind: usher.GroupTeam, Handle: "payments"}
	for _, m := range []struct {
		u     *usher.User
		level usher.Level
	}{{boss, usher.LevelOwner}, {intern, usher.LevelRead}} {
		if _, err := b.env.Core.Groups.AddMember(coretest.System(), ref, usher.UserKey{ID: m.u.ID}, m.level); err != nil {
			t.Fatal(err)
		}
	}
	res := b.do(t, call{method: "GET", path: p + "/teams/payments/", token: b.userTok})
	var team struct {
		Members map[string]struct {
			ID         string `json:"id"`
			Username   string `json:"username"`
			Permission string `json:"permission"`
		} `json:"members"`
	}
	if err := json.Unmarshal(res.body, &team); err != nil || res.status != 200 {
		t.Fatalf("team: %d %s", res.status, res.body)
	}
	if _, ok := team.Members[""]; ok || team.Members["@boss"].Permission != "owner" || team.Members["@intern"].Permission != "read" ||
		team.Members["@boss"].ID != boss.UUID {
		t.Fatalf("members: %s", res.body)
	}
	tok := b.env.MustToken(t, outsider.ID, usher.TokenPersonal)
	res = b.do(t, call{method: "GET", path: p + "/acl/user/", token: tok})
	if res.status != 200 || !strings.Contains(string(res.body), `"username":"@outsider"`) {
		t.Fatalf("acl: %d %s", res.status, res.body)
	}
	// The name finds the account.
	if res := b.do(t, call{method: "GET", path: p + "/users/@boss/", token: b.adminTok}); res.status != 200 || !strings.Contains(string(res.body), boss.UUID) {
		t.Fatalf("the user by its name: %d %s", res.status, res.body)
	}
}
