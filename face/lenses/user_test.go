package lenses_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
)

// TestCreateUser: POST /api/v1/users takes name and display_name, checks
// them against Lenses' request shape, and answers 201 with hq_User;
// display_name defaults to name.
func TestCreateUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	before := time.Now().Add(-time.Minute)
	res := b.do(t, call{method: "POST", path: "/api/v1/users", token: b.saTok, body: map[string]any{"name": "mary-jane"}})
	res.check(t, want{status: http.StatusCreated})
	var u userBody
	res.decode(t, &u)
	created, err := time.Parse(time.RFC3339Nano, u.CreatedAt)
	if err != nil || created.Before(before) || !strings.HasSuffix(u.CreatedAt, "Z") {
		t.Errorf("created_at %q: %v", u.CreatedAt, err)
	}
	id, err := strconv.ParseInt(u.ID, 10, 64)
	if err != nil || id <= 0 {
		t.Errorf("id %q is not an usher id", u.ID)
	}
	if u.Name != "mary-jane" || u.DisplayName != "mary-jane" || u.LRN != "iam:user:mary-jane" || u.IsAdmin ||
		u.Groups == nil || len(u.Groups) != 0 || len(u.Profile) != 0 || u.Metadata != nil || u.LastSeenAt != nil {
		t.Errorf("created %s", res.body)
	}
	// The raw body has every field hq_User requires, groups as [] and
	// profile as {}.
	var raw map[string]json.RawMessage
	res.decode(t, &raw)
	for _, f := range []string{"name", "display_name", "lrn", "id", "created_at", "groups", "profile", "is_admin"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("no %s in %s", f, res.body)
		}
	}
	if string(raw["groups"]) != "[]" || string(raw["profile"]) != "{}" {
		t.Errorf("groups %s, profile %s", raw["groups"], raw["profile"])
	}

	named := b.mustCreateWith(t, map[string]any{"name": "bob", "display_name": "Bob the Builder"})
	if named.DisplayName != "Bob the Builder" {
		t.Errorf("display_name %q", named.DisplayName)
	}
	if got := b.mustCreateWith(t, map[string]any{"name": "nully", "display_name": nil}); got.DisplayName != "nully" {
		t.Errorf("a null display_name gave %q", got.DisplayName)
	}

	users, _ := b.env.Counts(t)
	for name, tc := range map[string]struct {
		token string
		body  any
		want  want
	}{
		"upper case":         {body: map[string]any{"name": "Alice"}, want: want{400, "validation_failed", "name"}},
		"space":              {body: map[string]any{"name": "alice smith"}, want: want{400, "validation_failed", "name"}},
		"leading hyphen":     {body: map[string]any{"name": "-alice"}, want: want{400, "validation_failed", "name"}},
		"trailing hyphen":    {body: map[string]any{"name": "alice-"}, want: want{400, "validation_failed", "name"}},
		"e-mail":             {body: map[string]any{"name": "alice@example.com"}, want: want{400, "validation_failed", "name"}},
		"too long":           {body: map[string]any{"name": strings.Repeat("a", 101)}, want: want{400, "validation_failed", "name"}},
		"empty":              {body: map[string]any{"name": ""}, want: want{400, "validation_failed", "name"}},
		"missing":            {body: map[string]any{"display_name": "Alice"}, want: want{400, "validation_failed", "name"}},
		"empty display":      {body: map[string]any{"name": "alice", "display_name": ""}, want: want{400, "too_short", "display_name"}},
		"display too long":   {body: map[string]any{"name": "alice", "display_name": strings.Repeat("é", 151)}, want: want{400, "too_long", "display_name"}},
		"digits only (core)": {body: map[string]any{"name": "12345"}, want: want{400, "validation_failed", "name"}},
		// GET /users/me is the caller, and writes under the same path
		// reached a user of the name (a round 7 reviewer's finding).
		"me (core)":         {body: map[string]any{"name": "me"}, want: want{400, "validation_failed", "name"}},
		"taken":             {body: map[string]any{"name": "bob"}, want: want{409, "username_taken", "name"}},
		"taken, other case": {body: map[string]any{"name": "plain"}, want: want{409, "username_taken", "name"}},
		// GET /users/deployer is 404, yet the name is a service account's.
		"service account's": {body: map[string]any{"name": "deployer"}, want: want{409, "username_taken", "name"}},
		"unknown field":     {body: map[string]any{"name": "alice", "is_admin": true}, want: want{400, "unknown_field", "is_admin"}},
		"wrong type":        {body: map[string]any{"name": 7}, want: want{400, "wrong_type", "name"}},
		"malformed JSON":    {body: `{"name": "alice"`, want: want{400, "malformed_json", ""}},
		"not an object":     {body: `["alice"]`, want: want{400, "malformed_json", ""}},
		"plain user":        {token: b.userTok, body: map[string]any{"name": "alice"}, want: want{403, "forbidden", ""}},
		"anonymous":         {token: "-", body: map[string]any{"name": "alice"}, want: want{401, "unauthenticated", ""}},
	} {
		t.Run(name, func(t *testing.T) {
			token := tc.token
			switch token {
			case "":
				token = b.saTok
			case "-":
				token = ""
			}
			b.do(t, call{method: "POST", path: "/api/v1/users", token: token, body: tc.body}).check(t, tc.want)
		})
	}
	if after, _ := b.env.Counts(t); after != users {
		t.Errorf("refused creations made %d users", after-users)
	}
}

// mustList reads GET /api/v1/users with the token and returns its items.
func (b *bundle) mustList(t *testing.T, token string) []userBody {
	t.Helper()
	res := b.do(t, call{method: "GET", path: "/api/v1/users", token: token})
	res.check(t, want{status: 200})
	var list struct {
		Items []userBody `json:"items"`
	}
	res.decode(t, &list)
	return list.Items
}

// names returns the names of users.
func names(users []userBody) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.Name)
	}
	return out
}

func (b *bundle) mustCreateWith(t *testing.T, body map[string]any) userBody {
	t.Helper()
	res := b.do(t, call{method: "POST", path: "/api/v1/users", token: b.adminTok, body: body})
	res.check(t, want{status: http.StatusCreated})
	var u userBody
	res.decode(t, &u)
	return u
}

// TestGetAndList: users are found by name; service accounts are not
// Lenses users, in the list or by name.
func TestGetAndList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, call{method: "GET", path: "/api/v1/users/plain", token: b.saTok})
	res.check(t, want{status: 200})
	var u userBody
	res.decode(t, &u)
	if u.Name != "plain" || u.DisplayName != "Plain User" || u.ID != strconv.FormatInt(b.user.ID, 10) ||
		u.Profile["full_name"] != "Plain User" || u.Profile["email_address"] != "plain@example.com" || u.IsAdmin {
		t.Errorf("got %s", res.body)
	}
	// Another plain user sees the public profile: no e-mail address.
	res = b.do(t, call{method: "GET", path: "/api/v1/users/root", token: b.userTok})
	res.check(t, want{status: 200})
	var other userBody
	res.decode(t, &other)
	if other.Name != "root" || !other.IsAdmin || other.Profile["email_address"] != "" || other.Profile["full_name"] != "Root" {
		t.Errorf("plain user sees %s", res.body)
	}
	for name, path := range map[string]string{
		"unknown":         "/api/v1/users/ghost",
		"service account": "/api/v1/users/deployer",
	} {
		t.Run(name, func(t *testing.T) {
			b.do(t, call{method: "GET", path: path, token: b.saTok}).check(t, want{404, "user_not_found", ""})
		})
	}

	b.mustCreate(t, "carol")
	if got := names(b.mustList(t, b.userTok)); !slices.Equal(got, []string{"root", "plain", "carol"}) {
		t.Errorf("listed %v", got)
	}
	b.do(t, call{method: "GET", path: "/api/v1/users"}).check(t, want{401, "unauthenticated", ""})
}

// TestListAllPages: the list reads every page of the core's.
func TestListAllPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 1005 {
		b.env.MustCreateUser(t, usher.UserCreate{Username: "bulk-" + strconv.Itoa(i)})
	}
	items := b.mustList(t, b.saTok)
	if len(items) != 1007 || items[1006].Name != "bulk-1004" {
		t.Errorf("%d users listed", len(items))
	}
}

// TestUpdateUser: PATCH /api/v1/users/{name} changes display_name; absent
// fields are left alone.
func TestUpdateUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, "dave")
	res := b.do(t, call{method: "PATCH", path: "/api/v1/users/dave", token: b.saTok, body: map[string]any{"display_name": "Dave D."}})
	res.check(t, want{status: 200})
	var u userBody
	res.decode(t, &u)
	if u.Name != "dave" || u.DisplayName != "Dave D." {
		t.Errorf("updated %s", res.body)
	}
	res = b.do(t, call{method: "PATCH", path: "/api/v1/users/dave", token: b.saTok, body: map[string]any{}})
	res.check(t, want{status: 200})
	res.decode(t, &u)
	if u.DisplayName != "Dave D." {
		t.Errorf("an empty patch changed display_name to %q", u.DisplayName)
	}
	for name, tc := range map[string]struct {
		path, token string
		body        any
		want        want
	}{
		"empty display_name":  {"/api/v1/users/dave", b.saTok, map[string]any{"display_name": ""}, want{400, "too_short", "display_name"}},
		"display_name long":   {"/api/v1/users/dave", b.saTok, map[string]any{"display_name": strings.Repeat("x", 151)}, want{400, "too_long", "display_name"}},
		"name is not patched": {"/api/v1/users/dave", b.saTok, map[string]any{"name": "david"}, want{400, "unknown_field", "name"}},
		"malformed JSON":      {"/api/v1/users/dave", b.saTok, `{`, want{400, "malformed_json", ""}},
		"a null body":         {"/api/v1/users/dave", b.saTok, `null`, want{400, "malformed_json", ""}},
		"empty body":          {"/api/v1/users/dave", b.saTok, "", want{400, "empty_body", ""}},
		"unknown user":        {"/api/v1/users/ghost", b.saTok, map[string]any{"display_name": "G"}, want{404, "user_not_found", ""}},
		"another's account":   {"/api/v1/users/dave", b.userTok, map[string]any{"display_name": "Mine"}, want{403, "forbidden", ""}},
	} {
		t.Run(name, func(t *testing.T) {
			b.do(t, call{method: "PATCH", path: tc.path, token: tc.token, body: tc.body}).check(t, tc.want)
		})
	}
	// Everyone may change their own display name.
	b.do(t, call{method: "PATCH", path: "/api/v1/users/plain", token: b.userTok, body: map[string]any{"display_name": "Me"}}).check(t, want{status: 200})
}

// TestDeleteUser: DELETE /api/v1/users/{name} answers 204 and the user is
// gone.
func TestDeleteUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, "erin")
	b.do(t, call{method: "DELETE", path: "/api/v1/users/erin", token: b.userTok}).check(t, want{403, "forbidden", ""})
	res := b.do(t, call{method: "DELETE", path: "/api/v1/users/erin", token: b.saTok})
	res.check(t, want{status: 204})
	if len(res.body) != 0 {
		t.Errorf("204 with a body: %s", res.body)
	}
	b.do(t, call{method: "GET", path: "/api/v1/users/erin", token: b.saTok}).check(t, want{404, "user_not_found", ""})
	b.do(t, call{method: "DELETE", path: "/api/v1/users/erin", token: b.saTok}).check(t, want{404, "user_not_found", ""})
	b.do(t, call{method: "DELETE", path: "/api/v1/users/deployer", token: b.adminTok}).check(t, want{404, "user_not_found", ""})
	// The name is free again.
	b.mustCreate(t, "erin")
}

// TestUpdateProfile: PATCH /api/v1/users/{name}/profile sets full_name and
// email_address, each at most 100 characters; absent fields are left
// alone.
func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, "frank")
	steps := []struct {
		name    string
		body    any
		want    want
		profile map[string]string
	}{
		{"both", map[string]any{"full_name": "Frank Furter", "email_address": "frank@example.com"}, want{status: 200},
			map[string]string{"full_name": "Frank Furter", "email_address": "frank@example.com"}},
		{"full_name only", map[string]any{"full_name": "Franklin"}, want{status: 200},
			map[string]string{"full_name": "Franklin", "email_address": "frank@example.com"}},
		{"email_address only", map[string]any{"email_address": "f@example.org"}, want{status: 200},
			map[string]string{"full_name": "Franklin", "email_address": "f@example.org"}},
		{"nothing", map[string]any{}, want{status: 200},
			map[string]string{"full_name": "Franklin", "email_address": "f@example.org"}},
		{"full_name too long", map[string]any{"full_name": strings.Repeat("n", 101)}, want{400, "too_long", "full_name"}, nil},
		{"email_address too long", map[string]any{"email_address": strings.Repeat("e", 89) + "@example.com"}, want{400, "too_long", "email_address"}, nil},
		{"invalid e-mail", map[string]any{"email_address": "not an address"}, want{400, "validation_failed", "email_address"}, nil},
		{"e-mail taken", map[string]any{"email_address": "PLAIN@example.com"}, want{409, "email_taken", "email_address"}, nil},
		{"control character", map[string]any{"full_name": "a\u0007b"}, want{400, "validation_failed", "full_name"}, nil},
		{"wrong type", map[string]any{"full_name": true}, want{400, "wrong_type", "full_name"}, nil},
		{"malformed JSON", `{"full_name": }`, want{400, "malformed_json", ""}, nil},
		{"a null body", `null`, want{400, "malformed_json", ""}, nil},
		{"cleared", map[string]any{"full_name": "", "email_address": ""}, want{status: 200}, map[string]string{}},
	}
	for _, s := range steps {
		res := b.do(t, call{method: "PATCH", path: "/api/v1/users/frank/profile", token: b.saTok, body: s.body})
		res.check(t, s.want)
		if s.profile == nil {
			continue
		}
		var u userBody
		res.decode(t, &u)
		if len(u.Profile) != len(s.profile) || u.Profile["full_name"] != s.profile["full_name"] ||
			u.Profile["email_address"] != s.profile["email_address"] {
			t.Errorf("%s: profile %v, want %v", s.name, u.Profile, s.profile)
		}
	}
	b.do(t, call{method: "PATCH", path: "/api/v1/users/ghost/profile", token: b.saTok,
		body: map[string]any{"full_name": "G"}}).check(t, want{404, "user_not_found", ""})
	b.do(t, call{method: "PATCH", path: "/api/v1/users/frank/profile", token: b.userTok,
		body: map[string]any{"full_name": "G"}}).check(t, want{403, "forbidden", ""})
}

// TestSetGroups: PUT /api/v1/users/{name}/groups with Lenses' semantics:
// set_groups cannot be combined with the others, removal wins over
// addition, an empty set_groups leaves no group. Each step starts where
// the one before left off.
func TestSetGroups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, "gina")
	steps := []struct {
		name   string
		body   any
		want   want
		groups []string
	}{
		{"add", map[string]any{"add_to_groups": []string{"ops", "dev"}}, want{status: 200}, []string{"dev", "ops"}},
		{"add again", map[string]any{"add_to_groups": []string{"dev"}}, want{status: 200}, []string{"dev", "ops"}},
		{"remove", map[string]any{"remove_from_groups": []string{"ops"}}, want{status: 200}, []string{"dev"}},
		{"add and remove: removal wins", map[string]any{"add_to_groups": []string{"qa", "ops"}, "remove_from_groups": []string{"qa"}},
			want{status: 200}, []string{"dev", "ops"}},
		{"remove one not held", map[string]any{"remove_from_groups": []string{"qa"}}, want{status: 200}, []string{"dev", "ops"}},
		{"set", map[string]any{"set_groups": []string{"qa", "ops"}}, want{status: 200}, []string{"ops", "qa"}},
		{"set with add", map[string]any{"set_groups": []string{"dev"}, "add_to_groups": []string{"ops"}},
			want{400, "invalid_parameter", "set_groups"}, nil},
		{"set with remove", map[string]any{"set_groups": []string{"dev"}, "remove_from_groups": []string{"qa"}},
			want{400, "invalid_parameter", "set_groups"}, nil},
		{"unknown group", map[string]any{"add_to_groups": []string{"nope"}}, want{404, "group_not_found", ""}, nil},
		{"nothing", map[string]any{}, want{status: 200}, []string{"ops", "qa"}},
		{"null set is absent", map[string]any{"set_groups": nil}, want{status: 200}, []string{"ops", "qa"}},
		{"wrong type", map[string]any{"set_groups": "dev"}, want{400, "wrong_type", "set_groups"}, nil},
		{"a null body", `null`, want{400, "malformed_json", ""}, nil},
		{"set to none", map[string]any{"set_groups": []string{}}, want{status: 200}, []string{}},
	}
	for _, s := range steps {
		res := b.do(t, call{method: "PUT", path: "/api/v1/users/gina/groups", token: b.saTok, body: s.body})
		res.check(t, s.want)
		if s.groups != nil {
			var u userBody
			res.decode(t, &u)
			if got := u.groupNames(); !slices.Equal(got, s.groups) {
				t.Errorf("%s: groups %v, want %v", s.name, got, s.groups)
			}
		}
		// A refused change changes nothing.
		if s.want.status != 200 {
			res := b.do(t, call{method: "GET", path: "/api/v1/users/gina", token: b.saTok})
			var u userBody
			res.decode(t, &u)
			if got := u.groupNames(); !slices.Equal(got, []string{"ops", "qa"}) {
				t.Errorf("%s: refused, yet groups are %v", s.name, got)
			}
		}
	}
	for name, tc := range map[string]struct {
		path, token string
		want        want
	}{
		"unknown user":    {"/api/v1/users/ghost/groups", b.saTok, want{404, "user_not_found", ""}},
		"service account": {"/api/v1/users/deployer/groups", b.saTok, want{404, "user_not_found", ""}},
		"plain user":      {"/api/v1/users/gina/groups", b.userTok, want{403, "forbidden", ""}},
	} {
		t.Run(name, func(t *testing.T) {
			b.do(t, call{method: "PUT", path: tc.path, token: tc.token,
				body: map[string]any{"add_to_groups": []string{"dev"}}}).check(t, tc.want)
		})
	}
}

// TestCompactGroup: a user's groups are hq_CompactGroup, with the group's
// member count.
func TestCompactGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"plain", "root"} {
		b.do(t, call{method: "PUT", path: "/api/v1/users/" + name + "/groups", token: b.saTok,
			body: map[string]any{"add_to_groups": []string{"dev"}}}).check(t, want{status: 200})
	}
	res := b.do(t, call{method: "GET", path: "/api/v1/users/me", token: b.userTok})
	res.check(t, want{status: 200})
	var u userBody
	res.decode(t, &u)
	if len(u.Groups) != 1 {
		t.Fatalf("groups %s", res.body)
	}
	g := u.Groups[0]
	if _, err := strconv.ParseInt(g.ID, 10, 64); err != nil || g.Name != "dev" || g.DisplayName != "DEV" ||
		g.LRN != "iam:group:dev" || g.Description != "the dev group" || g.UserCount != 2 || g.SACount != 0 ||
		g.RoleCount != 0 || g.SSOName != "" || g.CreatedAt == "" {
		t.Errorf("compact group %+v", g)
	}
	var raw struct {
		Groups []map[string]json.RawMessage `json:"groups"`
	}
	res.decode(t, &raw)
	for _, f := range []string{"name", "display_name", "sso_name", "lrn", "id", "created_at", "description", "user_count", "sa_count", "role_count"} {
		if _, ok := raw.Groups[0][f]; !ok {
			t.Errorf("no %s in %s", f, res.body)
		}
	}
}

// TestMe: GET /api/v1/users/me is the caller, admin flag and metadata
// included.
func TestMe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	meta := map[string]string{"team": "blue"}
	if _, err := b.env.Core.Users.Update(coretest.System(), usher.UserKey{ID: b.user.ID}, usher.UserUpdate{Metadata: &meta}); err != nil {
		t.Fatal(err)
	}
	res := b.do(t, call{method: "GET", path: "/api/v1/users/me", token: b.userTok})
	res.check(t, want{status: 200})
	var u userBody
	res.decode(t, &u)
	if u.Name != "plain" || u.IsAdmin || u.Metadata["team"] != "blue" || u.Profile["email_address"] != "plain@example.com" {
		t.Errorf("me %s", res.body)
	}
	res = b.do(t, call{method: "GET", path: "/api/v1/users/me", token: b.adminTok})
	var admin userBody
	res.decode(t, &admin)
	if admin.Name != "root" || !admin.IsAdmin {
		t.Errorf("me %s", res.body)
	}
}

// TestSettings: GET and PATCH /api/v1/users/me/settings read and merge the
// caller's settings: absent keys are left alone, null removes a key.
func TestSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	steps := []struct {
		name   string
		method string
		body   any
		want   want
		result string
	}{
		{"none yet", "GET", nil, want{status: 200}, `{}`},
		{"set two", "PATCH", map[string]any{"theme": "dark", "page_size": 50}, want{status: 200}, `{"page_size":50,"theme":"dark"}`},
		{"change one", "PATCH", map[string]any{"theme": map[string]string{"mode": "light"}}, want{status: 200}, `{"page_size":50,"theme":{"mode":"light"}}`},
		{"remove one", "PATCH", map[string]any{"page_size": nil}, want{status: 200}, `{"theme":{"mode":"light"}}`},
		{"read back", "GET", nil, want{status: 200}, `{"theme":{"mode":"light"}}`},
		{"bad key", "PATCH", map[string]any{"no spaces": 1}, want{400, "validation_failed", "no spaces"}, ""},
		{"malformed JSON", "PATCH", `{"theme": `, want{400, "malformed_json", ""}, ""},
		{"not an object", "PATCH", `[1, 2]`, want{400, "malformed_json", ""}, ""},
		{"null body", "PATCH", `null`, want{400, "malformed_json", ""}, ""},
	}
	for _, s := range steps {
		res := b.do(t, call{method: s.method, path: "/api/v1/users/me/settings", token: b.userTok, body: s.body})
		res.check(t, s.want)
		if s.result != "" {
			if got := strings.TrimSpace(string(res.body)); got != s.result {
				t.Errorf("%s: %s, want %s", s.name, got, s.result)
			}
		}
	}
	// Settings are the caller's own.
	res := b.do(t, call{method: "GET", path: "/api/v1/users/me/settings", token: b.adminTok})
	res.check(t, want{status: 200})
	if got := strings.TrimSpace(string(res.body)); got != `{}` {
		t.Errorf("admin's settings %s", got)
	}
	b.do(t, call{method: "GET", path: "/api/v1/users/me/settings"}).check(t, want{401, "unauthenticated", ""})
}

// TestListAgreesWithGet: the list holds exactly the users GET finds by
// name: suspended and blocked ones too; neither holds deleted users or
// service accounts.
func TestListAgreesWithGet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := coretest.System()
	sus := b.env.MustCreateUser(t, usher.UserCreate{Username: "sus"})
	if _, err := b.env.Core.Users.Suspend(ctx, usher.UserKey{ID: sus.ID}); err != nil {
		t.Fatal(err)
	}
	blo := b.env.MustCreateUser(t, usher.UserCreate{Username: "blo"})
	if _, err := b.env.Core.Users.Block(ctx, usher.UserKey{ID: blo.ID}); err != nil {
		t.Fatal(err)
	}
	del := b.env.MustCreateUser(t, usher.UserCreate{Username: "del"})
	if _, err := b.env.Core.Users.Delete(ctx, usher.UserKey{ID: del.ID}); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{b.adminTok, b.userTok} {
		listed := names(b.mustList(t, token))
		if !slices.Equal(listed, []string{"root", "plain", "sus", "blo"}) {
			t.Errorf("listed %v", listed)
		}
		for name, tc := range map[string]struct {
			want   want
			listed bool
		}{
			"sus":      {want{status: 200}, true},
			"blo":      {want{status: 200}, true},
			"plain":    {want{status: 200}, true},
			"del":      {want{404, "user_not_found", ""}, false},
			"deployer": {want{404, "user_not_found", ""}, false},
		} {
			t.Run(name, func(t *testing.T) {
				b.do(t, call{method: "GET", path: "/api/v1/users/" + name, token: token}).check(t, tc.want)
				if slices.Contains(listed, name) != tc.listed {
					t.Errorf("%s listed: %v, want %v", name, !tc.listed, tc.listed)
				}
			})
		}
	}
}

// TestMeAgreesWithName: GET /users/me answers as GET /users/{name} does
// for the caller's own name: a service account is found by neither.
func TestMeAgreesWithName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, tc := range map[string]struct {
		token, path string
		want        want
	}{
		"service account": {b.saTok, "/api/v1/users/deployer", want{404, "user_not_found", ""}},
		"user":            {b.userTok, "/api/v1/users/plain", want{status: 200}},
		"administrator":   {b.adminTok, "/api/v1/users/root", want{status: 200}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			me := b.do(t, call{method: "GET", path: "/api/v1/users/me", token: tc.token})
			me.check(t, tc.want)
			byName := b.do(t, call{method: "GET", path: tc.path, token: tc.token})
			byName.check(t, tc.want)
			if tc.want.status == 200 && string(me.body) != string(byName.body) {
				t.Errorf("me %s\nby name %s", me.body, byName.body)
			}
		})
	}
}

// TestLastSeenAt: a user's last_seen_at is when its token or session was
// last used, the same in the list, by name and as "me", and on the native
// face; it is absent until then.
func TestLastSeenAt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, "never")
	before := time.Now().UTC().Add(-time.Second)
	b.do(t, call{method: "GET", path: "/api/v1/users/me", token: b.userTok}).check(t, want{status: 200})
	seen := func(path string) map[string]*string {
		out := map[string]*string{}
		if path == "/api/v1/users" {
			for _, u := range b.mustList(t, b.adminTok) {
				out[u.Name] = u.LastSeenAt
			}
			return out
		}
		res := b.do(t, call{method: "GET", path: path, token: b.adminTok})
		res.check(t, want{status: 200})
		var u userBody
		res.decode(t, &u)
		out[u.Name] = u.LastSeenAt
		return out
	}
	list := seen("/api/v1/users")
	if list["never"] != nil {
		t.Errorf("never used, yet seen at %s", *list["never"])
	}
	got := list["plain"]
	if got == nil {
		t.Fatal("plain was not seen")
	}
	at, err := time.Parse(time.RFC3339Nano, *got)
	if err != nil || at.Before(before) || at.After(time.Now()) {
		t.Errorf("last_seen_at %s: %v", *got, err)
	}
	for _, path := range []string{"/api/v1/users/plain"} {
		if s := seen(path)["plain"]; s == nil || *s != *got {
			t.Errorf("%s: last_seen_at %v, list %s", path, s, *got)
		}
	}
	// The caller's own view says the same.
	res := b.do(t, call{method: "GET", path: "/api/v1/users/me", token: b.userTok})
	var me userBody
	res.decode(t, &me)
	if me.LastSeenAt == nil || *me.LastSeenAt != *got {
		t.Errorf("me: last_seen_at %v, want %s", me.LastSeenAt, *got)
	}
}

// TestCompactGroupCounts: a group's counts are the core's: user_count its
// members that are not service accounts, sa_count those that are,
// role_count the roles its members hold; the list shows the same as GET.
func TestCompactGroupCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := coretest.System()
	for _, u := range []*usher.User{b.user, b.sa, b.admin} {
		if _, err := b.env.Core.Groups.AddMember(ctx, usher.GroupRef{Kind: usher.GroupPlain, Handle: "dev"}, usher.UserKey{ID: u.ID}, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, role := range []string{"readers", "writers"} {
		if _, err := b.env.Core.Groups.Create(ctx, usher.GroupCreate{Kind: usher.GroupRole, Handle: role}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []struct {
		role string
		u    *usher.User
	}{{"readers", b.user}, {"writers", b.sa}, {"readers", b.admin}} {
		if _, err := b.env.Core.Groups.AddMember(ctx, usher.GroupRef{Kind: usher.GroupRole, Handle: m.role}, usher.UserKey{ID: m.u.ID}, ""); err != nil {
			t.Fatal(err)
		}
	}
	res := b.do(t, call{method: "GET", path: "/api/v1/users/plain", token: b.userTok})
	res.check(t, want{status: 200})
	var u userBody
	res.decode(t, &u)
	if len(u.Groups) != 1 || u.Groups[0].Name != "dev" || u.Groups[0].UserCount != 2 || u.Groups[0].SACount != 1 || u.Groups[0].RoleCount != 2 {
		t.Errorf("groups %+v", u.Groups)
	}
	for _, it := range b.mustList(t, b.userTok) {
		if it.Name == "plain" && !slices.Equal(it.Groups, u.Groups) {
			t.Errorf("listed with %+v, by name %+v", it.Groups, u.Groups)
		}
	}
}

// TestRefusalTellsNoExistence: a caller who may delete no user is refused
// alike for a user that exists and one that does not, so that the answer
// tells nothing; the face looked the name up first, and answered 404 for
// nobody and 403 for somebody.
func TestRefusalTellsNoExistence(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"root", "nobody-by-this-name"} {
		b.do(t, call{method: "DELETE", path: "/api/v1/users/" + name, token: b.userTok}).check(t, want{status: 403, code: "forbidden"})
	}
	b.do(t, call{method: "GET", path: "/api/v1/users/root", token: b.adminTok}).check(t, want{status: 200})
}

// TestOwnAddressWaits: a user who changes their own email_address gets 200
// with the address as it was: the new one waits for the code mailed to it.
// An administrator's change is made at once.
func TestOwnAddressWaits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, call{method: "PATCH", path: "/api/v1/users/plain/profile", token: b.userTok,
		body: map[string]any{"email_address": "new@example.com"}})
	res.check(t, want{status: 200})
	var u userBody
	res.decode(t, &u)
	if u.Profile["email_address"] != "plain@example.com" {
		t.Errorf("own change answered %s", res.body)
	}
	got, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: b.user.ID})
	if err != nil || got.Email != "plain@example.com" || got.UnconfirmedEmail != "new@example.com" {
		t.Errorf("stored %+v: %v", got, err)
	}
	res = b.do(t, call{method: "PATCH", path: "/api/v1/users/plain/profile", token: b.adminTok,
		body: map[string]any{"email_address": "set@example.com"}})
	res.check(t, want{status: 200})
	res.decode(t, &u)
	if u.Profile["email_address"] != "set@example.com" {
		t.Errorf("administrator's change answered %s", res.body)
	}
}

// TestBadPathName: a {name} in the path that can be no user's name is 400
// naming the path parameter as Lenses does, "name", on every endpoint that
// takes one.
func TestBadPathName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"a%00b", "a%FFb", strings.Repeat("a", 256)} {
		for _, c := range []call{
			{method: "GET", path: "/api/v1/users/" + name},
			{method: "PATCH", path: "/api/v1/users/" + name, body: map[string]any{"display_name": "X"}},
			{method: "DELETE", path: "/api/v1/users/" + name},
			{method: "PATCH", path: "/api/v1/users/" + name + "/profile", body: map[string]any{"full_name": "X"}},
			{method: "PUT", path: "/api/v1/users/" + name + "/groups", body: map[string]any{"add_to_groups": []string{"dev"}}},
		} {
			t.Run(c.method+" "+c.path[:min(len(c.path), 40)], func(t *testing.T) {
				c.token = b.saTok
				b.do(t, c).check(t, want{400, "invalid_parameter", "name"})
			})
		}
	}
}

// TestNamelessUsersKeepTheirNames: accounts made without a username (as
// Corteza makes them) were all named "" here, with the lrn "iam:user:",
// an administrator and another alike, and none could be named in a path.
// Such an account is named "@" and its handle, and found by that name.
func TestNamelessUsersKeepTheirNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Email: "boss@example.com", Handle: "boss", Admin: true, UsernameOptional: true})
	b.env.MustCreateUser(t, usher.UserCreate{Email: "temp@example.com", Handle: "temp", UsernameOptional: true})
	res := b.do(t, call{method: "GET", path: "/api/v1/users", token: b.saTok})
	body := string(res.body)
	if res.status != 200 || strings.Contains(body, `"name":""`) || !strings.Contains(body, `"lrn":"iam:user:@boss"`) ||
		!strings.Contains(body, `"lrn":"iam:user:@temp"`) {
		t.Fatalf("users: %d %s", res.status, body)
	}
	if res := b.do(t, call{method: "GET", path: "/api/v1/users/@temp", token: b.saTok}); res.status != 200 || !strings.Contains(string(res.body), "temp@example.com") {
		t.Fatalf("the user by its name: %d %s", res.status, res.body)
	}
}

// TestHandleNamesOnlyNamelessAccounts: "@" and a handle is the name of an
// account without a username only; for one that has a username, it named
// no one Lenses lists, yet read, changed and deleted the account (200,
// 200, 204) under a name that is not its own. It is 404, as any name
// nobody holds, and its avatar is none.
func TestHandleNamesOnlyNamelessAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "named", Handle: "nh", Password: password})
	for _, c := range []call{
		{method: "GET", path: "/api/v1/users/@nh", token: b.adminTok},
		{method: "PATCH", path: "/api/v1/users/@nh", token: b.adminTok, body: map[string]any{"display_name": "renamed"}},
		{method: "PATCH", path: "/api/v1/users/@nh/profile", token: b.adminTok, body: map[string]any{"full_name": "Renamed"}},
		{method: "PUT", path: "/api/v1/users/@nh/groups", token: b.adminTok, body: map[string]any{"add_to_groups": []string{"dev"}}},
		{method: "DELETE", path: "/api/v1/users/@nh", token: b.adminTok},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			b.do(t, c).check(t, want{404, "user_not_found", ""})
		})
	}
	u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{Username: "named"})
	if err != nil || u.DisplayName != "named" || u.Name != "" {
		t.Fatalf("named after the requests to @nh: %+v, %v", u, err)
	}
	if _, err := b.env.Core.Avatars.Get(coretest.System(), usher.KeyOfName("@nh")); usher.ErrorKind(err) != usher.KindNotFound {
		t.Fatalf("the avatar of @nh: %v, want not found", err)
	}
	b.do(t, call{method: "GET", path: "/api/v1/users/named", token: b.adminTok}).check(t, want{status: 200})
}

// TestGroupCountsLeaveOutDeletedMembers: a user's plain group counted, in
// user_count, a member an administrator had deleted, and in role_count the
// roles only that member held, though a deleted account is in no member
// list or total: any signed-in caller learned that the deleted account
// was still in the group and held a role. The counts are of live members.
func TestGroupCountsLeaveOutDeletedMembers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := coretest.System()
	gone := b.env.MustCreateUser(t, usher.UserCreate{Username: "gone", Email: "gone@example.com", Name: "Gone", Password: password})
	dev := usher.GroupRef{Kind: usher.GroupPlain, Handle: "dev"}
	for _, id := range []int64{b.user.ID, gone.ID} {
		if _, err := b.env.Core.Groups.AddMember(ctx, dev, usher.UserKey{ID: id}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.env.Core.Groups.Create(ctx, usher.GroupCreate{Kind: usher.GroupRole, Handle: "hers", Name: "Hers", Members: []int64{gone.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Users.Delete(ctx, usher.UserKey{ID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	members, err := b.env.Core.Groups.Members(ctx, dev, usher.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	res := b.do(t, call{method: "GET", path: "/api/v1/users/plain", token: b.userTok})
	res.check(t, want{status: http.StatusOK})
	var u userBody
	res.decode(t, &u)
	found := false
	for _, g := range u.Groups {
		if g.Name == "dev" {
			found = true
			if g.UserCount != len(members.Items) || g.RoleCount != 0 {
				t.Errorf("dev: user_count %d, role_count %d; want %d live members and no role", g.UserCount, g.RoleCount, len(members.Items))
			}
		}
	}
	if !found {
		t.Fatalf("plain's groups: %+v", u.Groups)
	}
}

// TestRoleCountLeavesHiddenRolesOut replays a review's finding: a rule
// denying group:<id> read hides a role from the caller, but role_count of
// a plain group the caller shares with another user counted every role
// that user holds, the hidden one too: watching the count, the caller
// learnt when its group-mate joined or left a role it may not see. The
// count is of the roles the caller sees.
func TestRoleCountLeavesHiddenRolesOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sys := coretest.System()
	vic := b.env.MustCreateUser(t, usher.UserCreate{Username: "vic", Email: "vic@example.com", Name: "Vic", Password: password})
	dev := usher.GroupRef{Kind: usher.GroupPlain, Handle: "dev"}
	for _, id := range []int64{b.user.ID, vic.ID} {
		if _, err := b.env.Core.Groups.AddMember(sys, dev, usher.UserKey{ID: id}, ""); err != nil {
			t.Fatal(err)
		}
	}
	secret, err := b.env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "secret", Name: "Secret"})
	if err != nil {
		t.Fatal(err)
	}
	// The caller's own role hides "secret" from them.
	watch, err := b.env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "watch", Name: "Watch", Members: []int64{b.user.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.SetRules(sys, usher.GroupRef{ID: watch.ID},
		[]usher.Rule{{Resource: fmt.Sprintf("group:%d", secret.ID), Operation: "read", Access: usher.Deny}}, true); err != nil {
		t.Fatal(err)
	}

	count := func() int {
		t.Helper()
		res := b.do(t, call{method: "GET", path: "/api/v1/users/plain", token: b.userTok})
		res.check(t, want{status: http.StatusOK})
		var u userBody
		res.decode(t, &u)
		for _, g := range u.Groups {
			if g.Name == "dev" {
				return g.RoleCount
			}
		}
		t.Fatalf("plain's groups: %+v", u.Groups)
		return 0
	}
	before := count()

	// vic joins the hidden role.
	if _, err := b.env.Core.Groups.AddMember(sys, usher.GroupRef{ID: secret.ID}, usher.UserKey{ID: vic.ID}, ""); err != nil {
		t.Fatal(err)
	}

	// The role is hidden from the caller: not readable, not among vic's groups.
	as := usher.WithPrincipal(t.Context(), &usher.Principal{Kind: usher.PrincipalUser, User: b.user})
	if _, _, err := b.env.Core.Groups.Get(as, usher.GroupRef{ID: secret.ID}); err == nil {
		t.Fatal("precondition: the caller reads the hidden role")
	}
	ms, err := b.env.Core.Groups.UserGroups(as, usher.UserKey{ID: vic.ID}, usher.GroupRole)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.GroupID == secret.ID {
			t.Fatal("precondition: the hidden role is among vic's groups as the caller sees them")
		}
	}

	after := count()
	if after != before {
		t.Fatalf("dev's role_count went %d -> %d when vic joined role %d, which a rule hides from the caller: "+
			"the count tells the caller that a group-mate holds a role it may not see", before, after, secret.ID)
	}
}
