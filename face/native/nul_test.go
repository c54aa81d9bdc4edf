package native_test

import (
	"net/http"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestMalformedTextPostgres sends text PostgreSQL refuses — a NUL, bytes
// that are not UTF-8 — where the API takes a name, a handle, a filter or
// a header, on PostgreSQL, where each answered 500: a look-up by such a
// key is not found, as an unknown one is; a filter or a field is refused
// naming it; a client's user agent is recorded made valid.
func TestMalformedTextPostgres(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Postgres: true})
	b.env.MustCreateUser(t, usher.UserCreate{Username: "walker", Email: "walker@example.com", Password: "correct horse battery staple"})
	type want struct {
		status int
		code   string
		field  string
	}
	notFound := func(code string) want { return want{http.StatusNotFound, code, ""} }
	badFilter := func(field string) want { return want{http.StatusBadRequest, "invalid_parameter", field} }
	for _, tc := range []struct {
		name   string
		rq     req
		anon   bool
		expect want
	}{
		{"login with a NUL", req{method: "POST", path: "/v1/auth/login", body: `{"login":"g\u0000@x.com","password":"a"}`}, true,
			want{http.StatusUnauthorized, "invalid_credentials", ""}},
		{"login from an agent that is not UTF-8", req{method: "POST", path: "/v1/auth/login", header: map[string]string{"User-Agent": "a\xffb"},
			body: `{"login":"walker","password":"correct horse battery staple"}`}, true, want{http.StatusOK, "", ""}},
		{"create from an agent that is not UTF-8", req{method: "POST", path: "/v1/users", header: map[string]string{"User-Agent": "curl\xff/8"},
			body: map[string]any{"username": "agent", "email": "agent@example.com"}}, false, want{http.StatusCreated, "", ""}},
		{"group's rules", req{method: "GET", path: "/v1/groups/a%00b/rules"}, false, notFound("group_not_found")},
		{"group's rules by kind", req{method: "DELETE", path: "/v1/groups/role:a%00b/rules"}, false, notFound("group_not_found")},
		{"team's service accounts", req{method: "GET", path: "/v1/groups/a%00b/service-accounts"}, false, notFound("group_not_found")},
		{"groups by handle", req{method: "GET", path: "/v1/groups?handle=a%00b"}, false, badFilter("handle")},
		{"users by handle", req{method: "GET", path: "/v1/users?handle=a%00b"}, false, badFilter("handle")},
		{"organisation", req{method: "GET", path: "/v1/organisations/a%00b"}, false, notFound("organisation_not_found")},
		{"organisation archived", req{method: "POST", path: "/v1/organisations/a%00b/archive"}, false, notFound("organisation_not_found")},
		{"plan", req{method: "GET", path: "/v1/plans/a%00b"}, false, notFound("plan_not_found")},
		{"plan deleted", req{method: "DELETE", path: "/v1/plans/a%00b"}, false, notFound("plan_not_found")},
		{"user's plan", req{method: "POST", path: "/v1/users", body: `{"username":"planned","email":"planned@example.com","plan":"a\u0000b"}`}, false,
			want{http.StatusUnprocessableEntity, "validation_failed", "plan"}},
		{"script", req{method: "GET", path: "/v1/scripts/a%00b"}, false, notFound("script_not_found")},
		{"script not UTF-8", req{method: "GET", path: "/v1/scripts/a%FFb"}, false, notFound("script_not_found")},
		{"script changed", req{method: "PATCH", path: "/v1/scripts/a%00b", body: map[string]any{"enabled": false}}, false, notFound("script_not_found")},
		{"script deleted", req{method: "DELETE", path: "/v1/scripts/a%00b"}, false, notFound("script_not_found")},
		{"script run", req{method: "POST", path: "/v1/scripts/a%FFb/run"}, false, notFound("script_not_found")},
		{"script bundle", req{method: "GET", path: "/v1/scripts/bundles/a%00b"}, false, notFound("script_not_found")},
		{"script source", req{method: "POST", path: "/v1/scripts", body: `{"name":"nul","kind":"server","source":"let x = 1;\u0000"}`}, false,
			want{http.StatusUnprocessableEntity, "validation_failed", "source"}},
		{"setting", req{method: "GET", path: "/v1/settings/a%00b"}, false, notFound("setting_not_found")},
		{"settings by prefix", req{method: "GET", path: "/v1/settings?prefix=a%FFb"}, false, badFilter("prefix")},
		{"applications by name", req{method: "GET", path: "/v1/applications?name=a%00b"}, false, badFilter("name")},
		{"applications by query", req{method: "GET", path: "/v1/applications?query=a%00b"}, false, badFilter("query")},
		{"audit by action", req{method: "GET", path: "/v1/audit?action=a%00b"}, false, badFilter("action")},
		{"audit by resource", req{method: "GET", path: "/v1/audit?resource=user:a%FFb"}, false, badFilter("resource")},
		{"provider's refusal", req{method: "GET", path: "/v1/auth/oauth/github/callback?error=a%00b&state=x"}, true, badFilter("error")},
		{"refusal of no provider", req{method: "GET", path: "/v1/auth/oauth/a%00b/callback?error=access_denied"}, true, notFound("provider_not_found")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rq := tc.rq
			if !tc.anon {
				rq.token = b.adminTok
			}
			res := b.api.do(t, rq)
			if res.status != tc.expect.status {
				t.Fatalf("%s %s: %d %s, want %d", rq.method, rq.path, res.status, res.body, tc.expect.status)
			}
			if tc.expect.code == "" {
				return
			}
			p := res.problem(t)
			if p.Code != tc.expect.code || tc.expect.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.expect.field) {
				t.Fatalf("%s %s: %s, want code %s naming %q", rq.method, rq.path, res.body, tc.expect.code, tc.expect.field)
			}
		})
	}
}
