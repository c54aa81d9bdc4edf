package escape_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"usher"
)

// TestListedUsersPlanIsTheirs: GET /users/ gives each User's plan as
// GET /users/{username}/ gives it, to an administrator and to the user
// itself. It answered a plan named "" with every capability false and a
// limit of 0 — a plan made up from its absence — since only a user read
// alone had its plan read (Plans.Of now, for a page at once).
func TestListedUsersPlanIsTheirs(t *testing.T) {
	t.Parallel()
	b, _ := setupTeams(t) // "pro" is the default plan: can_create_team, project_limit 5
	type user struct {
		Username string          `json:"username"`
		Plan     json.RawMessage `json:"plan"`
	}
	one := b.ok(t, call{method: "GET", path: p + "/users/plain/", token: b.adminTok})
	var got user
	one.decode(t, &got)
	list := b.ok(t, call{method: "GET", path: p + "/users/?query=plain", token: b.adminTok})
	var users []user
	list.decode(t, &users)
	for _, u := range users {
		if u.Username == "plain" && string(u.Plan) != string(got.Plan) {
			t.Errorf("administrator: GET /users/?query=plain gives plain the plan %s; GET /users/plain/ gives %s", u.Plan, got.Plan)
		}
	}
	// The caller's own entry, as a plain user lists it.
	own := b.ok(t, call{method: "GET", path: p + "/user/", token: b.userTok})
	own.decode(t, &got)
	list = b.ok(t, call{method: "GET", path: p + "/users/?query=plain", token: b.userTok})
	list.decode(t, &users)
	for _, u := range users {
		if u.Username == "plain" && string(u.Plan) != string(got.Plan) {
			t.Errorf("plain user: GET /users/?query=plain gives its own plan as %s; GET /user/ gives %s", u.Plan, got.Plan)
		}
	}
}

// TestAssignPlanWithoutNameRefused: PUT /users/{username}/plan/ takes
// {"name"}; a body without a name (or with "") is no plan's name, which
// the face's own table answers with 400. It was 200, and took the user
// off the plan it was on, as the native API's empty plan does.
func TestAssignPlanWithoutNameRefused(t *testing.T) {
	t.Parallel()
	b, _ := setupTeams(t)
	b.ok(t, call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "poor", "project_limit": 0}})
	b.ok(t, call{method: "PUT", path: p + "/users/reader/plan/", token: b.adminTok, body: map[string]any{"name": "poor"}})
	for _, body := range []map[string]any{{}, {"name": ""}} {
		res := b.do(t, call{method: "PUT", path: p + "/users/reader/plan/", token: b.adminTok, body: body})
		if res.status != http.StatusBadRequest {
			t.Errorf("PUT /users/reader/plan/ %v: %d %q, want 400 naming \"name\"", body, res.status, res.body)
		}
		b.ok(t, call{method: "PUT", path: p + "/users/reader/plan/", token: b.adminTok, body: map[string]any{"name": "poor"}})
	}
}

// TestErrorFieldsNameTheRequestsFields: a 400's fields name the field of
// the request at fault (docs/escape.md: "fields (when the request was at
// fault) lists {field, code, message} for each field"). These five named
// the core's field, one the request has not: q, avatar, plan, level, bio.
func TestErrorFieldsNameTheRequestsFields(t *testing.T) {
	t.Parallel()
	b, _ := setupTeams(t)
	for _, tt := range []struct {
		c    call
		want string
	}{
		{call{method: "GET", path: p + "/users/?query=ab", token: b.userTok}, "query"},
		{call{method: "PUT", path: p + "/users/plain/avatar/", token: b.userTok, body: map[string]any{"image_uri": "aGVsbG8="}}, "image_uri"},
		{call{method: "PUT", path: p + "/users/plain/plan/", token: b.adminTok, body: map[string]any{"name": "nope"}}, "name"},
		{call{method: "PUT", path: p + "/groups/alpha/users/reader/roles/", token: b.userTok, body: map[string]any{"roles": []string{"bogus"}}}, "roles"},
		{call{method: "PUT", path: p + "/users/plain/", token: b.userTok, body: map[string]any{"description": strings.Repeat("x", 100000)}}, "description"},
	} {
		res := b.do(t, tt.c)
		e, field := res.problem(t)
		if res.status != http.StatusBadRequest || field != tt.want {
			t.Errorf("%s %s: %d %s (code %q) names field %q, want 400 naming %q", tt.c.method, tt.c.path, res.status, e.Message, e.Code, field, tt.want)
		}
	}
}

// TestReadUserTokenReadsItsOwnUser: a personal token scoped read_user
// ("read the account's own profile", usher.ScopeReadUser) reads its
// account through the native face (GET /v1/me; face/native matrix column
// sa-read-user is A) and through Escape's ACL look-up here; Escape's
// GET /user/ — "200 User; 401" — answered 403, reading every plan
// (Plans.List, which needs read_api) to fill the caller's own.
func TestReadUserTokenReadsItsOwnUser(t *testing.T) {
	t.Parallel()
	b, _ := setupTeams(t)
	tok := b.env.MustToken(t, b.user.ID, usher.TokenPersonal, usher.ScopeReadUser)
	if res := b.do(t, call{method: "GET", path: p + "/acl/user/", token: tok}); res.status != http.StatusOK {
		t.Fatalf("ACL look-up with a read_user token: %d %s", res.status, res.body)
	}
	if res := b.do(t, call{method: "GET", path: p + "/user/", token: tok}); res.status != http.StatusOK {
		t.Errorf("GET /user/ with a read_user-scoped token of the caller itself: %d %s, want 200 User", res.status, res.body)
	}
}

// TestSignupAnswersNoMadeUpPlan: POST /auth/signup/ answers the created
// User with a plan named "" and every capability false, none of the
// instance's; the caller, no one yet, is told none (null), and reads it
// once signed in (GET /user/), the default plan.
func TestSignupAnswersNoMadeUpPlan(t *testing.T) {
	t.Parallel()
	b, _ := setupTeams(t) // default plan "pro": can_create_team, project_limit 5
	res := b.ok(t, call{method: "POST", path: p + "/auth/signup/", body: map[string]any{"username": "newbie",
		"email": "newbie@example.com", "password": password}})
	var u struct {
		Plan *struct {
			Name          string `json:"name"`
			CanCreateTeam bool   `json:"can_create_team"`
			ProjectLimit  int    `json:"project_limit"`
		} `json:"plan"`
	}
	res.decode(t, &u)
	if u.Plan != nil {
		t.Errorf("sign-up answers the new user's plan as %+v, want null", *u.Plan)
	}
}

// TestLastOwnerStatusDescribed: docs/escape.md gives adding/changing a
// member and removing one "409 last_owner", and the face answers it; the
// OpenAPI description it serves (GET /escape/api/v1/openapi.json) listed
// no 409 for either operation, so a client generated from it had no case
// for it (b.do checks each answer against it).
func TestLastOwnerStatusDescribed(t *testing.T) {
	t.Parallel()
	b, _ := setupTeams(t)
	for _, c := range []call{
		{method: "POST", path: p + "/teams/alpha/users/plain/", token: b.userTok, body: map[string]any{"permission": "read"}},
		{method: "DELETE", path: p + "/teams/alpha/users/plain/", token: b.userTok, body: map[string]any{"permission": "owner"}},
	} {
		if res := b.do(t, c); res.status != http.StatusConflict {
			t.Errorf("%s %s (the last owner): %d %s, want 409 last_owner", c.method, c.path, res.status, res.body)
		}
	}
}

// TestPlanUpdateKeepsTheDefault: Escape's UserPlan has no "default" field,
// so an Escape client that updated the default plan's capabilities with a
// UserPlan body left the instance with no default plan (default_plan "");
// without the field, whether the plan is the default stays.
func TestPlanUpdateKeepsTheDefault(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.ok(t, call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "basic", "project_limit": 0, "default": true}})
	b.ok(t, call{method: "PUT", path: p + "/plans/basic/", token: b.adminTok, body: map[string]any{"name": "basic",
		"can_create_team": false, "can_create_state_project": false, "can_manage_project_acl": false, "can_manage_project_hooks": false, "project_limit": 1}})
	var out struct {
		DefaultPlan string `json:"default_plan"`
	}
	b.ok(t, call{method: "GET", path: p + "/plans/", token: b.adminTok}).decode(t, &out)
	if out.DefaultPlan != "basic" {
		t.Errorf("after PUT /plans/basic/ with a UserPlan body (no \"default\"), default_plan is %q, want \"basic\"", out.DefaultPlan)
	}
}
