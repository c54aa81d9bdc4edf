package native_test

import (
	"strconv"
	"strings"
	"testing"
)

// appBody is what the tests read of an application.
type appBody struct {
	ID      int64
	Name    string
	OwnerID *int64 `json:"owner_id"`
	Enabled bool
	Unify   struct {
		Name   string
		Listed bool
		Config map[string]any
		Order  int
	}
	DeletedAt *string `json:"deleted_at"`
	CanRead   bool    `json:"can_read"`
	CanUpdate bool    `json:"can_update"`
	CanDelete bool    `json:"can_delete"`
	CanGrant  bool    `json:"can_grant"`
}

func TestApplicationsThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var app appBody
	res := b.call(t, req{method: "POST", path: "/v1/applications", token: b.adminTok, body: map[string]any{
		"name": "CRM", "owner_id": b.user.ID,
		"unify": map[string]any{"name": "Customers", "listed": true, "url": "https://crm.example.com", "config": map[string]any{"theme": "dark"}, "order": 2},
	}}, 201, &app)
	if res.header.Get("Location") != "/v1/applications/"+strconv.FormatInt(app.ID, 10) || !app.Enabled ||
		app.OwnerID == nil || *app.OwnerID != b.user.ID || app.Unify.Config["theme"] != "dark" || !app.CanGrant {
		t.Fatalf("created: %s", res.body)
	}
	path := "/v1/applications/" + strconv.FormatInt(app.ID, 10)
	// The owner sees what it may do: everything but grant.
	b.call(t, req{method: "GET", path: path, token: b.userTok}, 200, &app)
	if !app.CanRead || !app.CanUpdate || !app.CanDelete || app.CanGrant {
		t.Fatalf("owner's view: %+v", app)
	}
	app = appBody{}
	b.call(t, req{method: "PATCH", path: path, token: b.userTok, body: map[string]any{
		"enabled": false, "unify": map[string]any{"config": nil, "order": -1}}}, 200, &app)
	if app.Enabled || len(app.Unify.Config) != 0 || app.Unify.Order != -1 || app.Unify.Name != "Customers" {
		t.Fatalf("patched: %+v", app)
	}
	b.call(t, req{method: "DELETE", path: path, token: b.userTok}, 200, &app)
	if app.DeletedAt == nil {
		t.Fatal("not deleted")
	}
	var list struct {
		Items      []appBody
		NextCursor *string `json:"next_cursor"`
	}
	b.call(t, req{method: "GET", path: "/v1/applications?deleted=only&query=custom", token: b.userTok}, 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != app.ID {
		t.Fatalf("deleted only: %+v", list)
	}
	b.call(t, req{method: "GET", path: "/v1/applications", token: b.userTok}, 200, &list)
	if len(list.Items) != 0 {
		t.Fatalf("live: %+v", list)
	}
	b.call(t, req{method: "POST", path: path + "/undelete", token: b.userTok}, 200, &app)
	if app.DeletedAt != nil {
		t.Fatal("not undeleted")
	}
	b.call(t, req{method: "GET", path: "/v1/applications/999999", token: b.adminTok}, 404, nil)
	b.call(t, req{method: "GET", path: "/v1/applications/abc", token: b.adminTok}, 400, nil)
	b.call(t, req{method: "GET", path: "/v1/applications?deleted=maybe", token: b.adminTok}, 400, nil)
}

func TestApplicationsRefuseBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	big := strings.Repeat("x", 17<<10)
	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
		code   string
	}{
		{"unknown field", map[string]any{"name": "a", "colour": "red"}, 400, "colour", "unknown_field"},
		{"unknown unify field", map[string]any{"name": "a", "unify": map[string]any{"colour": "red"}}, 400, "unify.colour", "unknown_field"},
		{"wrong type", map[string]any{"name": 3}, 400, "name", ""},
		{"empty name", map[string]any{"name": ""}, 422, "name", "required"},
		{"missing name", map[string]any{}, 422, "name", "required"},
		{"unknown owner", map[string]any{"name": "a", "owner_id": 987654}, 422, "owner_id", "unknown"},
		{"oversized config", map[string]any{"name": "a", "unify": map[string]any{"config": map[string]any{"k": big}}}, 422, "unify.config", "too_large"},
		{"config not an object", map[string]any{"name": "a", "unify": map[string]any{"config": []int{1}}}, 422, "unify.config", "invalid"},
		{"script url", map[string]any{"name": "a", "unify": map[string]any{"url": "javascript:alert(1)"}}, 422, "unify.url", "invalid_scheme"},
		{"order out of range", map[string]any{"name": "a", "unify": map[string]any{"order": 1 << 40}}, 422, "unify.order", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.call(t, req{method: "POST", path: "/v1/applications", token: b.adminTok, body: tc.body}, tc.status, nil)
			p := res.problem(t)
			found := false
			for _, e := range p.Errors {
				if e.Field == tc.field && (tc.code == "" || e.Code == tc.code) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want %s on %s: %s", tc.code, tc.field, res.body)
			}
		})
	}
	// The same checks hold for a change.
	var app appBody
	b.call(t, req{method: "POST", path: "/v1/applications", token: b.adminTok, body: map[string]any{"name": "a"}}, 201, &app)
	path := "/v1/applications/" + strconv.FormatInt(app.ID, 10)
	b.call(t, req{method: "PATCH", path: path, token: b.adminTok, body: map[string]any{"name": ""}}, 422, nil)
	b.call(t, req{method: "PATCH", path: path, token: b.adminTok, body: map[string]any{"owner_id": 987654}}, 422, nil)
	b.call(t, req{method: "PATCH", path: path, token: b.adminTok, body: map[string]any{"unify": map[string]any{"x": 1}}}, 400, nil)
	b.call(t, req{method: "PATCH", path: path, token: b.adminTok, body: map[string]any{"unify": map[string]any{"config": map[string]any{"k": big}}}}, 422, nil)
}
