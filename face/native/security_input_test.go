package native_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"usher"

	"usher/core/coretest"
)

// cursorOf encodes raw as a cursor is encoded: JSON in unpadded URL-safe
// base64. The tests write the JSON by hand, as a hostile client would.
func cursorOf(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }

// TestMalformedCursorIs400 proves that a cursor no list gave out is
// refused with 400 invalid_cursor on every list that pages, instead of
// being read as "from the start" or as a position before the first row.
func TestMalformedCursorIs400(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lists := []string{"/v1/users", "/v1/groups", "/v1/organisations", "/v1/audit", "/v1/groups/1/members"}
	cursors := []struct{ name, cursor string }{
		{"not base64", "!!"},
		{"padded base64", cursorOf("42") + "="},
		{"null", cursorOf("null")},
		{"zero id", cursorOf("0")},
		{"negative id", cursorOf("-5")},
		{"overflowing id", cursorOf("99999999999999999999")},
		{"fractional id", cursorOf("1.5")},
		{"unknown field", cursorOf(`{"s":"","i":1,"zz":3}`)},
		{"object for an id", cursorOf(`{}`)},
	}
	b.api.do(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, unchecked: true,
		body: map[string]any{"kind": "group", "handle": "g1", "name": "G1"}})
	for _, list := range lists {
		for _, c := range cursors {
			t.Run(list+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				res := b.api.do(t, req{method: "GET", path: list + "?cursor=" + c.cursor, token: b.adminTok})
				p := res.problem(t)
				if res.status != http.StatusBadRequest || p.Code != "invalid_cursor" || len(p.Errors) != 1 || p.Errors[0].Field != "cursor" {
					t.Fatalf("GET %s?cursor=%s: %d %s, want 400 invalid_cursor naming cursor", list, c.cursor, res.status, res.body)
				}
			})
		}
	}
}

// wantFieldError fails unless res is status with a problem naming field
// with code.
func wantFieldError(t *testing.T, what string, res *response, status int, field, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: %d %s, want %d", what, res.status, res.body, status)
	}
	for _, e := range res.problem(t).Errors {
		if e.Field == field && e.Code == code {
			return
		}
	}
	t.Fatalf("%s: %s names no %s %s", what, res.body, field, code)
}

// TestShortRSAKeyRefused proves that an RSA key under 2048 bits and a DSA
// key are refused with a field error on key, while RSA of 2048 bits,
// Ed25519 and ECDSA keys are added.
func TestShortRSAKeyRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name, key string
		status    int
		code      string
	}{
		{"1024-bit RSA", coretest.ShortRSAKey, http.StatusUnprocessableEntity, "weak_key"},
		{"DSA", coretest.DSAKey, http.StatusUnprocessableEntity, "unsupported_type"},
		{"2048-bit RSA", coretest.RSAKey, http.StatusCreated, ""},
		{"Ed25519", coretest.Ed25519Key, http.StatusCreated, ""},
		{"ECDSA", coretest.ECDSAKey, http.StatusCreated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := b.api.do(t, req{method: "POST", path: "/v1/users/plain/keys", token: b.userTok,
				body: map[string]any{"title": tt.name, "key": tt.key}})
			if tt.status == http.StatusCreated {
				if res.status != tt.status || !strings.HasPrefix(string(res.body), "{") || !strings.Contains(string(res.body), `"fingerprint":"SHA256:`) {
					t.Fatalf("%s: %d %s, want 201 with the key", tt.name, res.status, res.body)
				}
				return
			}
			wantFieldError(t, tt.name, res, tt.status, "key", tt.code)
		})
	}
}

// TestKeyTitleAndCommentBounded proves that a key's title and the comment
// after the key have a maximum length and hold no control or invisible
// formatting character, and that a key line has a maximum size.
func TestKeyTitleAndCommentBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	long := strings.Repeat("x", 256)
	tests := []struct {
		name, title, key string
		field, code      string
	}{
		{"title of 256 characters", long, coretest.ECDSAKey, "title", "too_long"},
		{"title with a right-to-left override", "laptop\u202e", coretest.ECDSAKey, "title", "format_character"},
		{"comment of 256 characters", "t", coretest.ECDSAKey + " " + long, "key", "invalid_comment"},
		{"comment with a terminal escape", "t", coretest.ECDSAKey + " a\x1b[31mred", "key", "invalid_comment"},
		{"comment with a right-to-left override", "t", coretest.ECDSAKey + " moc.elpmaxe@\u202eevil", "key", "invalid_comment"},
		{"key line over 8 KiB", "t", coretest.ECDSAKey + " " + strings.Repeat("y", 8<<10), "key", "too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := b.api.do(t, req{method: "POST", path: "/v1/users/plain/keys", token: b.userTok,
				body: map[string]any{"title": tt.title, "key": tt.key}})
			wantFieldError(t, tt.name, res, http.StatusUnprocessableEntity, tt.field, tt.code)
		})
	}
	// 255 characters of each are accepted.
	res := b.api.do(t, req{method: "POST", path: "/v1/users/plain/keys", token: b.userTok,
		body: map[string]any{"title": long[1:], "key": coretest.ECDSAKey + " " + long[1:]}})
	if res.status != http.StatusCreated || !strings.Contains(string(res.body), long[1:]) {
		t.Fatalf("255 characters: %d %s", res.status, res.body)
	}
}

// TestBidiOverrideRefusedInUsername proves that a username holding a
// bidirectional control or a zero-width character is refused with a field
// error saying so — a username is an identifier, so even a joiner is.
func TestBidiOverrideRefusedInUsername(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"adm\u202ein", "ad\u2066min", "ad\u200bmin", "ad\u200dmin", "\ufeffadmin", "ad\u061cmin", "ad\u2060min"} {
		t.Run(fmt.Sprintf("%+q", name), func(t *testing.T) {
			t.Parallel()
			res := b.api.do(t, req{method: "POST", path: "/v1/users", token: b.adminTok,
				body: map[string]any{"username": name, "email": "x@example.com"}})
			wantFieldError(t, "create", res, http.StatusUnprocessableEntity, "username", "format_character")
			res = b.api.do(t, req{method: "PATCH", path: "/v1/users/plain", token: b.adminTok,
				body: map[string]any{"username": name}})
			wantFieldError(t, "rename", res, http.StatusUnprocessableEntity, "username", "format_character")
		})
	}
}

// TestFormatCharacterRefusedInNames proves that the names people read —
// a user's name, first, last and display names, a group's name — refuse
// bidirectional controls and zero-width characters, while a joiner that
// writing needs (Persian, an emoji sequence) is kept.
func TestFormatCharacterRefusedInNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name, path, method, field, value string
	}{
		{"name with an override", "/v1/users/plain", "PATCH", "name", "Plain \u202eresU"},
		{"first name with an isolate", "/v1/users/plain", "PATCH", "first_name", "Pl\u2067ain"},
		{"last name with a zero-width space", "/v1/users/plain", "PATCH", "last_name", "Us\u200ber"},
		{"display name with a byte-order mark", "/v1/users/plain", "PATCH", "display_name", "\ufeffroot"},
		{"display name with a leading joiner", "/v1/users/plain", "PATCH", "display_name", "\u200droot"},
		{"display name with a mark of right-to-left", "/v1/users/plain", "PATCH", "display_name", "root\u200f"},
		{"group name with an override", "/v1/groups", "POST", "name", "ops\u202e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := map[string]any{tt.field: tt.value}
			if tt.method == "POST" {
				body["kind"], body["handle"] = "group", "g"+fmt.Sprint(len(tt.name))
			}
			res := b.api.do(t, req{method: tt.method, path: tt.path, token: b.adminTok, body: body})
			wantFieldError(t, tt.name, res, http.StatusUnprocessableEntity, tt.field, "format_character")
		})
	}
	// Joiners between letters or symbols are writing, not tricks.
	for _, name := range []string{"\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\U0001f468\u200d\U0001f469\u200d\U0001f467"} {
		res := b.api.do(t, req{method: "PATCH", path: "/v1/users/plain", token: b.adminTok, body: map[string]any{"display_name": name}})
		var u userBody
		if res.decode(t, &u); res.status != http.StatusOK || u.DisplayName != name {
			t.Fatalf("%+q: %d %s", name, res.status, res.body)
		}
	}
}

// TestListInputsBounded proves that the lists a request carries are
// bounded with a field error: settings changed at once, a role's rules,
// a token's scopes, a user's identities, the groups one request changes.
func TestListInputsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var role groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "role", "handle": "ops"}}, 201, &role)
	settings := map[string]any{}
	for i := range 201 {
		settings[fmt.Sprintf("k%d", i)] = i
	}
	var rules []map[string]string
	for i := range 501 {
		rules = append(rules, map[string]string{"resource": fmt.Sprintf("user:%d", i+1), "operation": "read", "access": "allow"})
	}
	var identities []map[string]string
	for i := range 21 {
		identities = append(identities, map[string]string{"provider": fmt.Sprintf("p%d", i), "extern_uid": "1"})
	}
	groups := make([]string, 1001)
	for i := range groups {
		groups[i] = fmt.Sprintf("g%d", i)
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		field, code        string
	}{
		{"201 settings at once", "PATCH", "/v1/users/plain/settings", settings, 422, "settings", "too_many"},
		{"501 rules", "PUT", fmt.Sprintf("/v1/groups/%d/rules", role.ID), map[string]any{"rules": rules}, 422, "rules", "too_many"},
		{"a scope named twice", "POST", "/v1/me/tokens", map[string]any{"name": "t", "scopes": []string{"read_user", "read_user"}}, 422, "scopes", "duplicate"},
		{"21 identities", "POST", "/v1/users", map[string]any{"username": "many", "identities": identities}, 422, "identities", "too_many"},
		{"1001 groups to add to", "PUT", "/v1/users/plain/groups", map[string]any{"add_to_groups": groups}, 400, "add_to_groups", "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := b.api.do(t, req{method: tt.method, path: tt.path, token: b.adminTok, body: tt.body})
			wantFieldError(t, tt.name, res, tt.status, tt.field, tt.code)
		})
	}
}

// TestCursorOnWholeListIs400 proves that the lists served whole — keys,
// addresses, tokens, plans, operations — refuse a cursor as a parameter
// they do not take, instead of ignoring it and serving the list again.
func TestCursorOnWholeListIs400(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, list := range []string{"/v1/users/plain/keys", "/v1/users/plain/emails", "/v1/me/tokens", "/v1/plans", "/v1/permissions"} {
		t.Run(list, func(t *testing.T) {
			t.Parallel()
			res := b.api.do(t, req{method: "GET", path: list + "?cursor=" + cursorOf("5"), token: b.adminTok})
			p := res.problem(t)
			if res.status != http.StatusBadRequest || p.Code != "unknown_parameter" || len(p.Errors) != 1 || p.Errors[0].Field != "cursor" {
				t.Fatalf("GET %s?cursor=…: %d %s, want 400 unknown_parameter naming cursor", list, res.status, res.body)
			}
		})
	}
}

// TestLineSeparatorsRefusedInNewText: a line or paragraph separator
// (U+2028, U+2029) is neither a control nor a format character, and a name
// took it, which many renderers draw as a line break: a plain user's
// display name shown as "Root" over "(administrator)" (found through
// Lenses' face). A new name — an account's, a group's, an application's —
// is refused it as it is a control character. One stored before, by an
// earlier release, stays with its holder until changed: a first version
// refused it in every check of the whole account or group, so that a bio
// kept from before blocked a change of the location alone (GitLab's PUT
// /users/:id), and a review of the second found the same for a token's
// rotation, an identity sent back unchanged and an import run again.
func TestLineSeparatorsRefusedInNewText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	user := fmt.Sprintf("/v1/users/%d", b.user.ID)
	for _, tc := range []struct{ field, value string }{
		{"display_name", "Root\u2028(administrator)"},
		{"name", "Root\u2029(administrator)"},
		{"first_name", "Root\u2028(administrator)"},
	} {
		res := b.api.do(t, req{method: "PATCH", path: user, token: b.userTok, body: map[string]any{tc.field: tc.value}})
		wantFieldError(t, tc.field, res, http.StatusUnprocessableEntity, tc.field, usher.CodeControlCharacter)
	}
	// A space of a name swapped for one makes another name (a review
	// found a name's words compared at every white space, the separators'
	// too, so that the swap passed as the name kept).
	b.call(t, req{method: "PATCH", path: user, token: b.userTok, body: map[string]any{"display_name": "Root (administrator)"}}, http.StatusOK, nil)
	res := b.api.do(t, req{method: "PATCH", path: user, token: b.userTok, body: map[string]any{"display_name": "Root\u2028(administrator)"}})
	wantFieldError(t, "a space swapped for a separator", res, http.StatusUnprocessableEntity, "display_name", usher.CodeControlCharacter)

	// Names an earlier release stored with one.
	if _, err := b.env.Store.UserUpdate(ctx, b.user.ID, func(u *usher.User) error {
		// The full name as an earlier release made it of the first and
		// last ones.
		u.DisplayName, u.FirstName, u.Name = "Kept\u2029Name", "Kept\u2028First ", "Kept\u2028First  User"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var team struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "separated"}}, 201, &team)
	if _, err := b.env.Store.GroupUpdate(ctx, team.ID, func(g *usher.Group) error {
		g.Name = "Kept\u2028Team"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var app struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/applications", token: b.adminTok, body: map[string]any{"name": "CRM"}}, 201, &app)
	if _, err := b.env.Store.AppUpdate(ctx, app.ID, func(a *usher.Application) error {
		a.Name = "Kept\u2028CRM"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	group, application := fmt.Sprintf("/v1/groups/%d", team.ID), fmt.Sprintf("/v1/applications/%d", app.ID)
	for _, tt := range []struct {
		name string
		req  req
		want int
	}{
		{"the owner changes the location alone", req{method: "PATCH", path: user, token: b.userTok, body: map[string]any{"location": "Oslo"}}, http.StatusOK},
		{"an administrator changes the bio alone", req{method: "PATCH", path: user, token: b.adminTok, body: map[string]any{"bio": "Plain"}}, http.StatusOK},
		{"the owner sends the kept names back, trimmed", req{method: "PATCH", path: user, token: b.userTok,
			body: map[string]any{"display_name": "Kept\u2029Name", "first_name": "Kept\u2028First", "location": "Bergen"}}, http.StatusOK},
		{"the owner writes another display name with one", req{method: "PATCH", path: user, token: b.userTok, body: map[string]any{"display_name": "New\u2029Name"}}, http.StatusUnprocessableEntity},
		{"the owner changes the last name, which makes a new name of the kept first one, without the separator", req{method: "PATCH", path: user, token: b.userTok,
			body: map[string]any{"last_name": "Zed"}}, http.StatusOK},
		{"the team's description changes alone", req{method: "PATCH", path: group, token: b.adminTok, body: map[string]any{"description": "payroll"}}, http.StatusOK},
		{"the team is renamed to another name with one", req{method: "PATCH", path: group, token: b.adminTok, body: map[string]any{"name": "New\u2028Team"}}, http.StatusUnprocessableEntity},
		{"the application is disabled", req{method: "PATCH", path: application, token: b.adminTok, body: map[string]any{"enabled": false}}, http.StatusOK},
		{"the application is renamed with one", req{method: "PATCH", path: application, token: b.adminTok, body: map[string]any{"name": "New\u2028CRM"}}, http.StatusUnprocessableEntity},
	} {
		if res := b.api.do(t, tt.req); res.status != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, res.status, res.body, tt.want)
		}
	}

	var got struct {
		Name      string `json:"name"`
		FirstName string `json:"first_name"`
	}
	b.call(t, req{method: "GET", path: user, token: b.userTok}, http.StatusOK, &got)
	if got.Name != "Kept First Zed" || got.FirstName != "Kept\u2028First" {
		t.Errorf("the names after the last name's change: %+q, want the full name made without the separator and the first name kept", got)
	}

	// An import run again carries the names as its file writes them.
	out, err := b.env.Core.Users.Import(sys(), []usher.ImportUser{{UserCreate: usher.UserCreate{Username: "plain",
		Email: "plain@example.com", DisplayName: "Kept\u2029Name", Location: "Tromsø"}}})
	if err != nil || len(out) != 1 || out[0].Err != nil {
		t.Errorf("an import of the account with its kept display name: %v %+v", err, out)
	}
}
