package native_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

type settingBody struct {
	Name      string          `json:"name"`
	Value     json.RawMessage `json:"value"`
	UpdatedBy *int64          `json:"updated_by"`
}

func TestInstanceSettingsThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Policy: core.Policy{SignupEnabled: true}})
	signup := func(name string, want int) *response {
		t.Helper()
		return b.call(t, req{method: "POST", path: "/v1/auth/signup",
			body: map[string]any{"username": name, "email": name + "@example.com", "password": "a long enough passphrase"}}, want, nil)
	}
	signup("before", 201)

	// Turning sign-up off applies to the next request.
	var st settingBody
	b.call(t, req{method: "PUT", path: "/v1/settings/auth.internal.signup.enabled", token: b.adminTok,
		body: map[string]any{"value": false}}, 200, &st)
	if st.Name != "auth.internal.signup.enabled" || string(st.Value) != "false" || st.UpdatedBy == nil || *st.UpdatedBy != b.admin.ID {
		t.Fatalf("PUT: %+v", st)
	}
	if p := signup("after", 403).problem(t); p.Code != "signup_disabled" {
		t.Fatalf("sign-up while off: %+v", p)
	}
	var cur map[string]json.RawMessage
	b.call(t, req{method: "GET", path: "/v1/settings/current"}, 200, &cur)
	if string(cur["auth.internal.signup.enabled"]) != "false" || string(cur["auth.internal.password-reset.enabled"]) != "true" {
		t.Fatalf("current: %s", cur)
	}

	// Password reset off refuses requests.
	b.call(t, req{method: "PATCH", path: "/v1/settings", token: b.adminTok, body: map[string]any{"values": []map[string]any{
		{"name": "auth.internal.password-reset.enabled", "value": false}, {"name": "auth.internal.signup.enabled"},
		{"name": "ui.brand", "value": map[string]any{"title": "Usher"}}}}}, 200, nil)
	if p := b.call(t, req{method: "POST", path: "/v1/auth/password-reset", body: map[string]any{"email": "plain@example.com"}}, 403, nil).problem(t); p.Code != "password_reset_disabled" {
		t.Fatalf("reset while off: %+v", p)
	}
	signup("again", 201)

	var list struct{ Items []settingBody }
	b.call(t, req{method: "GET", path: "/v1/settings?prefix=ui.", token: b.adminTok}, 200, &list)
	if len(list.Items) != 1 || string(list.Items[0].Value) != `{"title":"Usher"}` {
		t.Fatalf("list: %+v", list)
	}
	b.call(t, req{method: "GET", path: "/v1/settings/ui.brand", token: b.adminTok}, 200, nil)
	b.call(t, req{method: "PUT", path: "/v1/settings/ui.brand", token: b.adminTok, body: map[string]any{"value": nil}}, 204, nil)
	if p := b.call(t, req{method: "GET", path: "/v1/settings/ui.brand", token: b.adminTok}, 404, nil).problem(t); p.Code != "setting_not_found" {
		t.Fatalf("after delete: %+v", p)
	}
	b.call(t, req{method: "PUT", path: "/v1/settings/ui.brand", token: b.userTok, body: map[string]any{"value": 1}}, 403, nil)
}

func TestInstanceSettingsBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		name string
		rq   req
		want int
		code string
	}{
		{"body not JSON", req{method: "PUT", path: "/v1/settings/ui.x", body: `{"value": {`, header: map[string]string{"Content-Type": "application/json"}, unchecked: true}, 400, ""},
		{"unknown field", req{method: "PUT", path: "/v1/settings/ui.x", body: map[string]any{"valu": 1}, unchecked: true}, 400, ""},
		{"unknown prefix", req{method: "PUT", path: "/v1/settings/nope.x", body: map[string]any{"value": 1}}, 422, "invalid_key"},
		{"upper case", req{method: "PUT", path: "/v1/settings/ui.X", body: map[string]any{"value": 1}}, 422, "invalid_key"},
		{"not a boolean", req{method: "PUT", path: "/v1/settings/auth.internal.signup.enabled", body: map[string]any{"value": "off"}}, 422, "invalid"},
		{"oversized value", req{method: "PUT", path: "/v1/settings/ui.x", body: map[string]any{"value": strings.Repeat("x", 17<<10)}}, 422, "too_large"},
		{"one bad of many", req{method: "PATCH", path: "/v1/settings", body: map[string]any{"values": []map[string]any{
			{"name": "ui.ok", "value": 1}, {"name": "bad name", "value": 1}}}}, 422, "invalid_key"},
		{"values not a list", req{method: "PATCH", path: "/v1/settings", body: map[string]any{"values": "ui.x"}, unchecked: true}, 400, ""},
	} {
		tc.rq.token = b.adminTok
		res := b.call(t, tc.rq, tc.want, nil)
		if tc.code == "" {
			continue
		}
		p := res.problem(t)
		if len(p.Errors) == 0 || p.Errors[0].Code != tc.code {
			t.Errorf("%s: %s, want field code %s", tc.name, res.body, tc.code)
		}
	}
	// Nothing of the refused requests was kept.
	var list struct{ Items []settingBody }
	b.call(t, req{method: "GET", path: "/v1/settings", token: b.adminTok}, 200, &list)
	if len(list.Items) != 0 {
		t.Fatalf("refused requests wrote %+v", list.Items)
	}
}

// TestPasswordLoginOff: with auth.internal.enabled false, POST
// /v1/auth/login is 403 password_login_disabled, right password or not,
// the methods list has no password, and tokens go on working.
func TestPasswordLoginOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const pw = "a long enough passphrase"
	b.env.MustCreateUser(t, usher.UserCreate{Username: "pat", Email: "pat@example.com", Password: pw})
	b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "pat", "password": pw}}, 200, nil)
	b.call(t, req{method: "PUT", path: "/v1/settings/auth.internal.enabled", token: b.adminTok,
		body: map[string]any{"value": false}}, 200, nil)
	for _, password := range []string{pw, "wrong"} {
		res := b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "pat", "password": password}}, 403, nil)
		if p := res.problem(t); p.Code != usher.CodePasswordLoginOff || p.Status != 403 {
			t.Fatalf("log-in while off: %s", res.body)
		}
	}
	var methods struct {
		Methods []struct {
			Name string `json:"name"`
		} `json:"methods"`
	}
	b.call(t, req{method: "GET", path: "/v1/auth/methods"}, 200, &methods)
	for _, m := range methods.Methods {
		if m.Name == "password" {
			t.Fatalf("methods while off: %+v", methods)
		}
	}
	b.call(t, req{method: "GET", path: "/v1/users/plain", token: b.userTok}, 200, nil)
}

// TestUserSettingsAuditBounded replays a signed-in user writing their own
// settings in a loop: each request wrote a settings.update event holding
// every value whole, changed or not, so about 1 MiB a request went into
// the audit log, which is never pruned. A value left as it was is no
// change, and a large one is audited by its size, as the instance's
// settings are; on both engines (PostgreSQL keeps the values as jsonb).
func TestUserSettingsAuditBounded(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		b := setupWith(t, coretest.Options{Postgres: pg})
		big := map[string]any{}
		for i := range 60 {
			big[fmt.Sprintf("k%d", i)] = strings.Repeat("x", 16000)
		}
		big["pref"] = map[string]any{"b": 2, "a": []int{1, 2}}
		for range 3 {
			b.call(t, req{method: "PATCH", path: "/v1/users/plain/settings", token: b.userTok, body: big}, 200, nil)
		}
		page, err := b.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "settings.update"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 {
			t.Fatalf("postgres=%v: %d settings.update events for three writes of the same values, want 1", pg, len(page.Items))
		}
		e := page.Items[0]
		if raw, _ := json.Marshal(e.Changes); len(raw) > 8<<10 || !strings.Contains(string(raw), `"New":16002`) {
			t.Errorf("postgres=%v: the event's changes are %d bytes: %.300s", pg, len(raw), raw)
		}
	}
}

// TestProfileAuditBounded replays a user changing their own profile's
// meta and metadata (16 KiB and 50 values of 500 bytes, within their
// bounds) back and forth: each change recorded both fields whole, old and
// new, about 74 KB of audit a request. As for settings, a value over 1 KiB
// is recorded by its size.
func TestProfileAuditBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	profile := func(fill string) map[string]any {
		meta, metadata := map[string]any{}, map[string]any{}
		for i := range 15 {
			meta[fmt.Sprintf("m%d", i)] = strings.Repeat(fill, 1000)
		}
		for i := range 50 {
			metadata[fmt.Sprintf("k%d", i)] = strings.Repeat(fill, 500)
		}
		return map[string]any{"meta": meta, "metadata": metadata}
	}
	for _, fill := range []string{"a", "b", "a"} {
		b.call(t, req{method: "PATCH", path: "/v1/users/plain", token: b.userTok, body: profile(fill)}, http.StatusOK, nil)
	}
	page, err := b.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "user.update"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 {
		t.Fatalf("%d user.update events for three changes, want 3", len(page.Items))
	}
	for _, e := range page.Items {
		raw, _ := json.Marshal(e.Changes)
		if len(raw) > 1<<10 || !strings.Contains(string(raw), `"meta"`) || !strings.Contains(string(raw), `"metadata"`) {
			t.Errorf("an event's changes are %d bytes: %.300s", len(raw), raw)
		}
	}
}

// TestAuditHidesDeniedUsersAndTeams replays a holder of audit.read whom a
// rule keeps from reading one account (user:<id> read denied) and one team
// (group:<id> read denied): GET /v1/users/{it} and /v1/groups/{it} are 403,
// but the audit log showed the account's old and new address, name and bio,
// its address as the actor of its own changes, and the team's handle and
// name. Those values are hidden now, as a setting's are; the events stay,
// and everyone else's values show as before.
func TestAuditHidesDeniedUsersAndTeams(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hidden, htok := b.mustPrincipal(t, "hidden", false)
	b.mustPrincipal(t, "open", false)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "merger-talks",
		"name": "Acquisition of Initech"}}, http.StatusCreated, &team)
	auditor, tok := b.mustPrincipal(t, "auditor", false)
	b.mustRole(t, "auditors", []*usher.User{auditor}, allow("audit", "read"),
		deny("user:"+strconv.FormatInt(hidden.ID, 10), "read"), deny("group:"+strconv.FormatInt(team.ID, 10), "read"))
	b.refused(t, req{method: "GET", path: "/v1/users/hidden", token: tok}, http.StatusForbidden, usher.CodeForbidden)
	b.call(t, req{method: "PATCH", path: "/v1/users/hidden", token: b.adminTok,
		body: map[string]any{"email": "ceo-private@corp.example", "name": "Secret Name", "bio": "private-bio"}}, http.StatusOK, nil)
	b.call(t, req{method: "PATCH", path: "/v1/users/hidden", token: b.adminTok, body: map[string]any{"username": "ceo-secret-handle"}}, http.StatusOK, nil)
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", hidden.ID), token: htok, body: map[string]any{"bio": "another private bio"}}, http.StatusOK, nil)
	b.call(t, req{method: "PATCH", path: "/v1/users/open", token: b.adminTok, body: map[string]any{"bio": "an open bio"}}, http.StatusOK, nil)

	res := b.call(t, req{method: "GET", path: "/v1/audit?limit=100", token: tok}, http.StatusOK, nil)
	for _, secret := range []string{"ceo-private", "hidden@example.com", "Secret Name", "private bio", "private-bio", "ceo-secret-handle",
		"merger-talks", "Initech"} {
		if strings.Contains(string(res.body), secret) {
			t.Errorf("the auditor reads %q, which a rule keeps from them", secret)
		}
	}
	if !strings.Contains(string(res.body), "an open bio") {
		t.Errorf("another account's change is hidden too: %.600s", res.body)
	}
	var events struct {
		Items []struct {
			Action     string `json:"action"`
			ResourceID string `json:"resource_id"`
		} `json:"items"`
	}
	res.decode(t, &events)
	kept := 0
	for _, e := range events.Items {
		if e.ResourceID == strconv.FormatInt(hidden.ID, 10) && e.Action == "user.update" {
			kept++
		}
	}
	if kept != 3 {
		t.Errorf("%d of the hidden account's three user.update events are listed, want all", kept)
	}
}

// TestAuditHidesDeniedApplicationsAndTeamTokens: as
// TestAuditHidesDeniedUsersAndTeams, for two more things a rule hides. A
// holder of audit.read denied one application (application:<id> read:
// GET answers 404) read its name and address in the log, as it was made
// and renamed; denied a team, they read its handle as the name of its
// service account's token (token.create, and its rotation's and
// revocation's once the team was renamed), which the service account's
// own events hid. Both are hidden now; another application's name shows.
func TestAuditHidesDeniedApplicationsAndTeamTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var app, open, team, bot struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/applications", token: b.adminTok, body: map[string]any{"name": "Project-Falcon-Layoffs",
		"unify": map[string]any{"listed": true, "url": "https://falcon-secret.example/"}}}, http.StatusCreated, &app)
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/applications/%d", app.ID), token: b.adminTok,
		body: map[string]any{"name": "Project-Falcon-Renamed"}}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: "/v1/applications", token: b.adminTok, body: map[string]any{"name": "Canteen-Menu"}}, http.StatusCreated, &open)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "merger-talks"}}, http.StatusCreated, &team)
	b.call(t, req{method: "POST", path: "/v1/groups/merger-talks/service-accounts", token: b.adminTok, body: map[string]any{"username": "bot1"}},
		http.StatusCreated, &bot)
	var minted, rotated tokenBody
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/merger-talks/service-accounts/%d/token", bot.ID), token: b.adminTok},
		http.StatusCreated, &minted)
	// Its rotation and revocation name the team too; renamed, the team
	// no longer holds the name they give.
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", minted.ID), token: minted.Token}, http.StatusOK, &rotated)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/me/tokens/%d", rotated.ID), token: rotated.Token}, http.StatusNoContent, nil)
	b.call(t, req{method: "PATCH", path: "/v1/groups/merger-talks", token: b.adminTok, body: map[string]any{"handle": "renamed-team"}}, http.StatusOK, nil)
	auditor, tok := b.mustPrincipal(t, "auditor", false)
	b.mustRole(t, "auditors", []*usher.User{auditor}, allow("audit", "read"),
		deny("application:"+strconv.FormatInt(app.ID, 10), "read"), deny("group:"+strconv.FormatInt(team.ID, 10), "read"))
	b.refused(t, req{method: "GET", path: fmt.Sprintf("/v1/applications/%d", app.ID), token: tok}, http.StatusNotFound, usher.CodeApplicationNotFound)
	res := b.call(t, req{method: "GET", path: "/v1/audit?limit=100", token: tok}, http.StatusOK, nil)
	for _, s := range []string{"Project-Falcon", "falcon-secret", "merger-talks", "renamed-team"} {
		if strings.Contains(string(res.body), s) {
			t.Errorf("the auditor reads %q, which a rule hides: %s", s, res.body)
		}
	}
	for _, s := range []string{`"action":"application.update"`, `"action":"token.create"`, `"action":"token.rotate"`, `"action":"token.revoke"`, "Canteen-Menu"} {
		if !strings.Contains(string(res.body), s) {
			t.Errorf("the log lacks %s: %s", s, res.body)
		}
	}
}

// TestAuditHidesSettingValues replays a holder of audit.read, refused the
// instance settings (which may hold the mail server's password), reading a
// setting's value from its audit event, old and new; and the same with a
// user's own settings. The event stays, naming the setting, without the
// values; a reader who may read the settings sees them.
func TestAuditHidesSettingValues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, v := range []string{"first-secret", "smtp-hunter2-secret"} {
		b.call(t, req{method: "PUT", path: "/v1/settings/system.mail.password", token: b.adminTok, body: map[string]any{"value": v}}, http.StatusOK, nil)
	}
	auditor, tok := b.mustPrincipal(t, "auditor", false)
	b.mustRole(t, "auditors", []*usher.User{auditor}, allow("audit", "read"))
	b.refused(t, req{method: "GET", path: "/v1/settings/system.mail.password", token: tok}, http.StatusForbidden, "forbidden")
	type events struct {
		Items []struct {
			ResourceID string                            `json:"resource_id"`
			Changes    map[string]struct{ Old, New any } `json:"changes"`
		} `json:"items"`
	}
	var seen events
	res := b.api.do(t, req{method: "GET", path: "/v1/audit?resource=setting", token: tok})
	res.decode(t, &seen)
	if res.status != http.StatusOK || strings.Contains(string(res.body), "secret") || len(seen.Items) != 2 ||
		seen.Items[0].ResourceID != "system.mail.password" || seen.Items[0].Changes["value"].New != "[hidden]" ||
		seen.Items[0].Changes["value"].Old != "[hidden]" || seen.Items[1].Changes["value"].Old != nil {
		t.Fatalf("the auditor's view: %d %s", res.status, res.body)
	}
	readers, rtok := b.mustPrincipal(t, "reader", false)
	b.mustRole(t, "readers", []*usher.User{readers}, allow("audit", "read"), allow("instance_settings", "read"))
	b.call(t, req{method: "GET", path: "/v1/audit?resource=setting", token: rtok}, http.StatusOK, &seen)
	if len(seen.Items) != 2 || seen.Items[0].Changes["value"].New != "smtp-hunter2-secret" || seen.Items[0].Changes["value"].Old != "first-secret" {
		t.Fatalf("a settings reader's view: %+v", seen.Items)
	}

	// A user's own settings likewise, to a reader who may not read them.
	b.call(t, req{method: "PATCH", path: "/v1/users/plain/settings", token: b.userTok,
		body: map[string]any{"webhook_secret": "plain-hunter2-secret"}}, http.StatusOK, nil)
	b.refused(t, req{method: "GET", path: "/v1/users/plain/settings", token: tok}, http.StatusForbidden, "forbidden")
	path := "/v1/audit?action=settings.update"
	res = b.api.do(t, req{method: "GET", path: path, token: tok})
	res.decode(t, &seen)
	if res.status != http.StatusOK || strings.Contains(string(res.body), "hunter2") || len(seen.Items) != 1 ||
		seen.Items[0].Changes["webhook_secret"].New != "[hidden]" {
		t.Fatalf("the auditor's view of a user's settings: %d %s", res.status, res.body)
	}
	b.call(t, req{method: "GET", path: path, token: b.adminTok}, http.StatusOK, &seen)
	if len(seen.Items) != 1 || seen.Items[0].Changes["webhook_secret"].New != "plain-hunter2-secret" {
		t.Fatalf("the administrator's view: %+v", seen.Items)
	}
}

// TestAuditHidesDeniedTeamsAndOwnersElsewhere: past
// TestAuditHidesDeniedUsersAndTeams, a team a reader of the audit log is
// denied reading was still named by its handle in other resources' events
// (a user's groups set, a merge's source, a service account's team), and
// an account the reader is denied reading still showed the names it gave
// its tokens and files (events of those resources, not of the account).
// They are hidden now.
func TestAuditHidesDeniedTeamsAndOwnersElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	open, _ := b.mustPrincipal(t, "open", false)
	hidden, htok := b.mustPrincipal(t, "hidden", false)
	var secret, other groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "merger-talks"}}, http.StatusCreated, &secret)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "public-team"}}, http.StatusCreated, &other)
	auditor, tok := b.mustPrincipal(t, "auditor", false)
	b.mustRole(t, "auditors", []*usher.User{auditor}, allow("audit", "read"),
		deny("group:"+strconv.FormatInt(secret.ID, 10), "read"), deny("user:"+strconv.FormatInt(hidden.ID, 10), "read"))

	b.call(t, req{method: "PUT", path: "/v1/users/" + strconv.FormatInt(open.ID, 10) + "/groups", token: b.adminTok,
		body: map[string]any{"kind": "team", "add_to_groups": []string{"merger-talks", "public-team"}}}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: "/v1/groups/merger-talks/service-accounts", token: b.adminTok, body: map[string]any{"username": "deal-bot"}}, http.StatusCreated, nil)
	b.call(t, req{method: "POST", path: "/v1/groups/" + strconv.FormatInt(secret.ID, 10) + "/merge", token: b.adminTok,
		body: map[string]any{"into": other.ID}}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: "/v1/me/tokens", token: htok, body: map[string]any{"name": "job-hunt-at-competitor", "scopes": []string{"read_api"}}}, http.StatusCreated, nil)
	body, ctype := multipartFile(t, "file", "ceo-divorce-papers.txt", []byte("hello"), nil)
	b.call(t, req{method: "POST", path: "/v1/attachments", token: htok, body: body, header: map[string]string{"Content-Type": ctype}}, http.StatusCreated, nil)

	res := b.call(t, req{method: "GET", path: "/v1/audit?limit=100", token: tok}, http.StatusOK, nil)
	for _, s := range []string{"merger-talks", "job-hunt-at-competitor", "ceo-divorce-papers"} {
		if strings.Contains(string(res.body), s) {
			t.Errorf("the auditor reads %q, which a deny keeps from them: %s", s, res.body)
		}
	}
	for _, s := range []string{"public-team", "user.groups_set", "group.merge", "token.create", "attachment.create", "service_account.create"} {
		if !strings.Contains(string(res.body), s) {
			t.Errorf("the auditor does not read %q, which no deny keeps from them", s)
		}
	}
	// An administrator reads it all.
	res = b.call(t, req{method: "GET", path: "/v1/audit?limit=100", token: b.adminTok}, http.StatusOK, nil)
	for _, s := range []string{"merger-talks", "job-hunt-at-competitor", "ceo-divorce-papers"} {
		if !strings.Contains(string(res.body), s) {
			t.Errorf("the administrator does not read %q", s)
		}
	}
}
