package native_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"usher"
)

// TestUserHandleOrganisationMeta: a user is created with an organisation
// and a meta object, found by handle and by address, and listed by
// organisation and handle.
func TestUserHandleOrganisationMeta(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, err := b.env.Core.Orgs.Create(usher.WithPrincipal(t.Context(), &usher.Principal{Kind: usher.PrincipalUser, User: b.admin}), "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	res := b.api.do(t, req{method: "POST", path: "/v1/users", token: b.adminTok, body: map[string]any{
		"username": "alice", "email": "alice@example.com", "name": "Alice Liddell",
		"organisation_id": org.ID, "meta": map[string]any{"theme": map[string]any{"dark": true}},
	}})
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var u struct {
		ID             int64          `json:"id"`
		Handle         string         `json:"handle"`
		OrganisationID *int64         `json:"organisation_id"`
		Meta           map[string]any `json:"meta"`
	}
	res.decode(t, &u)
	if u.Handle != "alice-liddell" || u.OrganisationID == nil || *u.OrganisationID != org.ID || u.Meta["theme"] == nil {
		t.Fatalf("created: %s", res.body)
	}
	for _, path := range []string{"/v1/users/@ALICE-liddell", "/v1/users/email:" + url.PathEscape("Alice@example.com")} {
		res := b.api.do(t, req{method: "GET", path: path, token: b.adminTok})
		var got userBody
		if res.decode(t, &got); res.status != http.StatusOK || got.ID != u.ID {
			t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
	}
	for _, query := range []string{fmt.Sprintf("organisation_id=%d", org.ID), "handle=Alice-Liddell"} {
		res := b.api.do(t, req{method: "GET", path: "/v1/users?" + query, token: b.adminTok})
		var list userList
		if res.decode(t, &list); res.status != http.StatusOK || len(list.Items) != 1 || list.Items[0].ID != u.ID {
			t.Fatalf("GET /v1/users?%s: %d %s", query, res.status, res.body)
		}
	}
	// Another user sees the profile: the organisation, not the meta.
	res = b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/users/%d", u.ID), token: b.userTok})
	u.OrganisationID, u.Meta = nil, nil
	res.decode(t, &u)
	if u.OrganisationID == nil || len(u.Meta) != 0 {
		t.Fatalf("the profile: %s", res.body)
	}
	// An address is no way in for someone who may not look users up by it.
	res = b.api.do(t, req{method: "GET", path: "/v1/users/email:alice@example.com", token: b.userTok})
	if p := res.problem(t); res.status != http.StatusForbidden || p.Code != usher.CodeForbidden {
		t.Fatalf("a user looks another up by address: %d %s", res.status, res.body)
	}
}

// TestUserModelBadInput: a bad handle, meta or organisation is refused with
// the field named, and nothing is written.
func TestUserModelBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := usher.WithPrincipal(t.Context(), &usher.Principal{Kind: usher.PrincipalUser, User: b.admin})
	org, err := b.env.Core.Orgs.Create(admin, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	gone, err := b.env.Core.Orgs.Create(admin, "gone", "Gone")
	if err != nil {
		t.Fatal(err)
	}
	deleted := true
	if _, err := b.env.Core.Orgs.Update(admin, gone.ID, usher.OrganisationUpdate{Deleted: &deleted}); err != nil {
		t.Fatal(err)
	}
	b.mustCreate(t, map[string]any{"username": "alice", "handle": "Alice"})
	plainPath := fmt.Sprintf("/v1/users/%d", b.user.ID)
	deep := strings.Repeat(`{"a":`, 9) + "1" + strings.Repeat("}", 9)
	tests := []struct {
		name   string
		rq     req
		status int
		code   string
		field  string
	}{
		{"handle with a space", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "handle": "b b"}}, 422, "validation_failed", "handle"},
		{"handle of digits", req{method: "PATCH", path: plainPath, body: map[string]any{"handle": "42"}}, 422, "validation_failed", "handle"},
		{"handle taken in another case", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "handle": "ALICE"}}, 409, "handle_taken", "handle"},
		{"patch to a taken handle", req{method: "PATCH", path: plainPath, body: map[string]any{"handle": "alice"}}, 409, "handle_taken", "handle"},
		{"meta an array", req{method: "POST", path: "/v1/users", body: `{"username":"bob","meta":[1]}`}, 422, "validation_failed", "meta"},
		{"meta too deep", req{method: "PATCH", path: plainPath, body: `{"meta":` + deep + `}`}, 422, "validation_failed", "meta"},
		{"meta too large", req{method: "PATCH", path: plainPath, body: map[string]any{"meta": map[string]string{"a": strings.Repeat("x", 16<<10)}}}, 422, "validation_failed", "meta"},
		{"unknown organisation", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "organisation_id": org.ID + 100}}, 422, "validation_failed", "organisation_id"},
		{"deleted organisation", req{method: "PATCH", path: plainPath, body: map[string]any{"organisation_id": gone.ID}}, 422, "validation_failed", "organisation_id"},
		{"organisation of the wrong type", req{method: "PATCH", path: plainPath, body: `{"organisation_id":"acme"}`}, 400, "wrong_type", "organisation_id"},
		{"organisation filter not a number", req{method: "GET", path: "/v1/users?organisation_id=acme"}, 400, "not_an_integer", "organisation_id"},
		{"user by an unknown handle", req{method: "GET", path: "/v1/users/@nobody"}, 404, "user_not_found", ""},
		{"a user sets their organisation", req{method: "PATCH", path: plainPath, body: map[string]any{"organisation_id": org.ID}, token: b.userTok}, 403, "forbidden", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rq.token == "" {
				tt.rq.token = b.adminTok
			}
			before, events := b.env.Counts(t)
			res := b.api.do(t, tt.rq)
			p := res.problem(t)
			if res.status != tt.status || p.Code != tt.code {
				t.Fatalf("%d %s; want %d with code %s", res.status, res.body, tt.status, tt.code)
			}
			if tt.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.field) {
				t.Fatalf("problem names %v, want field %q: %s", p.Errors, tt.field, res.body)
			}
			if after, eventsAfter := b.env.Counts(t); after != before || eventsAfter != events {
				t.Fatalf("a refused request wrote: users %d→%d, events %d→%d", before, after, events, eventsAfter)
			}
		})
	}
}

// TestUserWithoutUsername: the native API makes a user without a username
// when it has an address or a handle, found by either; its username may
// be set later, not removed.
func TestUserWithoutUsername(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, body := range []map[string]any{
		{"email": "nameless@example.com"},
		{"handle": "ghost"},
		{"name": "Ada Lovelace"},
	} {
		res := b.api.do(t, req{method: "POST", path: "/v1/users", token: b.adminTok, body: body})
		var u struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
			Handle   string `json:"handle"`
		}
		if res.decode(t, &u); res.status != http.StatusCreated || u.Username != "" || u.Handle == "" {
			t.Fatalf("create %v: %d %s", body, res.status, res.body)
		}
		b.call(t, req{method: "GET", path: "/v1/users/@" + u.Handle, token: b.userTok}, 200, nil)
	}
	b.call(t, req{method: "GET", path: "/v1/users/email:nameless@example.com", token: b.adminTok}, 200, nil)
	b.call(t, req{method: "PATCH", path: "/v1/users/@ghost", token: b.adminTok, body: map[string]any{"username": "casper"}}, 200, nil)
	res := b.call(t, req{method: "PATCH", path: "/v1/users/casper", token: b.adminTok, body: `{"username":null}`}, 422, nil)
	if p := res.problem(t); len(p.Errors) == 0 || p.Errors[0].Field != "username" || p.Errors[0].Code != usher.CodeRequired {
		t.Fatalf("removing a username: %s", res.body)
	}
}
