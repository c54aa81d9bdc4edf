package lenses_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"usher"
	"usher/core/coretest"
	"usher/face/lenses"
	"usher/web"
	"usher/web/webtest"
)

// bundle is what a test works with: a server over a real core, an
// administrator with a password and a personal token, an administrator
// service account with its token, a plain user with a password and a
// personal token, and three plain groups.
type bundle struct {
	env      *coretest.Env
	srv      *httptest.Server
	admin    *usher.User
	adminTok string
	sa       *usher.User
	saTok    string
	user     *usher.User
	userTok  string
}

const password = "correct horse battery staple"

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupWith(t, coretest.Options{})
}

// setupWith builds the bundle on a core made with opts.
func setupWith(t *testing.T, opts coretest.Options) *bundle {
	t.Helper()
	env := coretest.New(t, opts)
	log := slog.New(slog.DiscardHandler)
	h := &lenses.Handler{Users: env.Core.Users, Auth: env.Core.Auth, Groups: env.Core.Groups,
		Settings: env.Core.Settings, Log: log, PublicURL: publicURL}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(web.Middleware(mux, log, web.NewMetrics(prometheus.NewRegistry()), nil))
	t.Cleanup(srv.Close)
	b := &bundle{env: env, srv: srv}
	b.admin = env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com",
		Name: "Root", Password: password, Admin: true})
	b.adminTok = env.MustToken(t, b.admin.ID, usher.TokenPersonal)
	b.sa = env.MustCreateUser(t, usher.UserCreate{Username: "deployer", Kind: usher.KindServiceAccount, Admin: true})
	b.saTok = env.MustToken(t, b.sa.ID, usher.TokenServiceAccount)
	b.user = env.MustCreateUser(t, usher.UserCreate{Username: "plain", Email: "plain@example.com",
		Name: "Plain User", Password: password})
	b.userTok = env.MustToken(t, b.user.ID, usher.TokenPersonal)
	for _, g := range []string{"dev", "ops", "qa"} {
		_, err := env.Core.Groups.Create(coretest.System(), usher.GroupCreate{Kind: usher.GroupPlain, Handle: g,
			Name: strings.ToUpper(g), Description: "the " + g + " group"})
		if err != nil {
			t.Fatalf("create group %s: %v", g, err)
		}
	}
	return b
}

// call is one request. The body is JSON-encoded unless it is a string,
// which is sent as it is.
type call struct {
	method, path string
	token        string // sent as Authorization: Bearer
	cookie       string // sent as the session_id cookie
	body         any
	header       map[string]string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (b *bundle) do(t *testing.T, c call) *response {
	t.Helper()
	r := webtest.NewRequest(t, c.method, b.srv.URL+c.path, c.body)
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.cookie != "" {
		r.AddCookie(&http.Cookie{Name: "session_id", Value: c.cookie})
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	// A Host header stands for the name the client reached the server by.
	if host := c.header["Host"]; host != "" {
		r.Host = host
	}
	res := webtest.Do(t, b.srv.Client(), r)
	return &response{status: res.Status, header: res.Header, body: res.Body}
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorBody is the face's error body.
type errorBody struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	Type          string `json:"type"`
	Title         string `json:"title"`
	Status        int    `json:"status"`
	RequestID     string `json:"request_id"`
	InvalidFields []struct {
		Name  string `json:"name"`
		Error string `json:"error"`
		Title string `json:"title"`
	} `json:"invalid_fields"`
}

// want is an expected answer: the status and, for an error, its code and
// the field it names.
type want struct {
	status int
	code   string
	field  string
}

// check asserts the status and, for an error, the body: its code, the
// field it names, and the fields every error body carries.
func (r *response) check(t *testing.T, w want) {
	t.Helper()
	if r.status != w.status {
		t.Fatalf("status %d, want %d: %s", r.status, w.status, r.body)
	}
	if w.status < 400 {
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var e errorBody
	r.decode(t, &e)
	if e.Code != w.code || e.Status != w.status || e.Message == "" || e.Title != e.Message || e.Type == "" || e.RequestID == "" {
		t.Errorf("error body %s, want code %q and status %d", r.body, w.code, w.status)
	}
	if w.field == "" {
		if len(e.InvalidFields) != 0 {
			t.Errorf("invalid_fields in %s", r.body)
		}
		return
	}
	if len(e.InvalidFields) == 0 || e.InvalidFields[0].Name != w.field || !strings.HasPrefix(e.Message, w.field+": ") {
		t.Errorf("error body %s does not name field %q", r.body, w.field)
	}
}

// userBody is hq_User as the tests read it.
type userBody struct {
	Name        string            `json:"name"`
	DisplayName string            `json:"display_name"`
	LRN         string            `json:"lrn"`
	ID          string            `json:"id"`
	CreatedAt   string            `json:"created_at"`
	Groups      []groupBody       `json:"groups"`
	LastSeenAt  *string           `json:"last_seen_at"`
	Profile     map[string]string `json:"profile"`
	IsAdmin     bool              `json:"is_admin"`
	Metadata    map[string]string `json:"metadata"`
}

// groupBody is hq_CompactGroup.
type groupBody struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	SSOName     string `json:"sso_name"`
	LRN         string `json:"lrn"`
	ID          string `json:"id"`
	CreatedAt   string `json:"created_at"`
	Description string `json:"description"`
	UserCount   int    `json:"user_count"`
	SACount     int    `json:"sa_count"`
	RoleCount   int    `json:"role_count"`
}

func (u userBody) groupNames() []string {
	out := []string{}
	for _, g := range u.Groups {
		out = append(out, g.Name)
	}
	return out
}

// mustCreate creates a user through the API as the service account.
func (b *bundle) mustCreate(t *testing.T, name string) userBody {
	t.Helper()
	res := b.do(t, call{method: "POST", path: "/api/v1/users", token: b.saTok, body: map[string]any{"name": name}})
	res.check(t, want{status: http.StatusCreated})
	var u userBody
	res.decode(t, &u)
	return u
}

// login logs in through the API and returns the session cookie's value.
func (b *bundle) login(t *testing.T, username string) string {
	t.Helper()
	res := b.do(t, call{method: "POST", path: "/api/v1/login", body: map[string]string{"username": username, "password": password}})
	res.check(t, want{status: http.StatusNoContent})
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == "session_id" && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("no session_id cookie in %v", res.header)
	return ""
}

// TestCredentials: a service-account token, a personal token and a session
// cookie work; a revoked token, other kinds of usher credential and
// garbage do not; without a credential the core refuses.
func TestCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok, revoked, err := b.env.Core.Auth.CreateToken(coretest.System(), usher.TokenCreate{UserID: b.sa.ID, Name: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.env.Core.Auth.RevokeToken(coretest.System(), tok.ID); err != nil {
		t.Fatal(err)
	}
	appKey := b.env.MustToken(t, b.admin.ID, usher.TokenApplication)
	cookie := b.login(t, "plain")
	cases := map[string]struct {
		token, cookie string
		header        map[string]string
		want          want
		me            string
	}{
		// The token works, but a service account is no Lenses user: not
		// by name, and not as "me".
		"service-account token": {token: b.saTok, want: want{404, "user_not_found", ""}},
		"personal token":        {token: b.userTok, want: want{status: 200}, me: "plain"},
		"session cookie":        {cookie: cookie, want: want{status: 200}, me: "plain"},
		"bearer wins":           {token: b.adminTok, cookie: cookie, want: want{status: 200}, me: "root"},
		"revoked token":         {token: revoked, want: want{401, "invalid_token", ""}},
		"application key":       {token: appKey, want: want{401, "invalid_token", ""}},
		"session as bearer":     {token: cookie, want: want{401, "invalid_token", ""}},
		"token as cookie":       {cookie: b.saTok, want: want{401, "invalid_token", ""}},
		"garbage":               {token: "usa_nonsense", want: want{401, "invalid_token", ""}},
		"none":                  {want: want{401, "unauthenticated", ""}},
		"basic":                 {header: map[string]string{"Authorization": "Basic cm9vdDpwdw=="}, want: want{401, "unauthenticated", ""}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res := b.do(t, call{method: "GET", path: "/api/v1/users/me", token: tc.token, cookie: tc.cookie, header: tc.header})
			res.check(t, tc.want)
			if tc.want.status == 401 && res.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tc.me != "" {
				var u userBody
				res.decode(t, &u)
				if u.Name != tc.me {
					t.Errorf("me is %q, want %q", u.Name, tc.me)
				}
			}
		})
	}
}

// TestLogin: POST /api/v1/login answers 204 with the session_id cookie, or
// the core's refusal.
func TestLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, call{method: "POST", path: "/api/v1/login", body: map[string]string{"username": "plain", "password": password}})
	res.check(t, want{status: 204})
	if len(res.body) != 0 {
		t.Errorf("204 with a body: %s", res.body)
	}
	cookies := (&http.Response{Header: res.header}).Cookies()
	if len(cookies) != 1 || cookies[0].Name != "session_id" || !cookies[0].HttpOnly || cookies[0].Path != "/api/v1" ||
		cookies[0].SameSite != http.SameSiteLaxMode || cookies[0].MaxAge <= 0 || !strings.HasPrefix(cookies[0].Value, "uss_") {
		t.Errorf("cookie %+v", cookies)
	}
	for name, tc := range map[string]struct {
		body   any
		header map[string]string
		want   want
	}{
		"wrong password":    {body: map[string]string{"username": "plain", "password": "nope nope nope"}, want: want{401, "invalid_credentials", ""}},
		"unknown user":      {body: map[string]string{"username": "ghost", "password": password}, want: want{401, "invalid_credentials", ""}},
		"missing password":  {body: map[string]string{"username": "plain"}, want: want{400, "missing_credentials", ""}},
		"malformed JSON":    {body: `{"username":`, want: want{400, "malformed_json", ""}},
		"unknown field":     {body: map[string]string{"user": "plain"}, want: want{400, "unknown_field", "user"}},
		"cross-site log-in": {body: map[string]string{"username": "plain", "password": password}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: want{403, "cross_origin", ""}},
	} {
		t.Run(name, func(t *testing.T) {
			res := b.do(t, call{method: "POST", path: "/api/v1/login", body: tc.body, header: tc.header})
			res.check(t, tc.want)
			if res.header.Get("Set-Cookie") != "" {
				t.Errorf("a refused log-in set a cookie: %s", res.header.Get("Set-Cookie"))
			}
		})
	}
}

// TestLoginPasswordOff: with auth.internal.enabled false the log-in is
// 403 password_login_disabled and sets no cookie; a token still works.
func TestLoginPasswordOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.env.Core.Instance.Set(usher.WithPrincipal(t.Context(), &usher.Principal{Kind: usher.PrincipalUser, User: b.admin}),
		usher.SettingInternalEnabled, []byte("false")); err != nil {
		t.Fatal(err)
	}
	res := b.do(t, call{method: "POST", path: "/api/v1/login", body: map[string]string{"username": "plain", "password": password}})
	res.check(t, want{403, usher.CodePasswordLoginOff, ""})
	if res.header.Get("Set-Cookie") != "" {
		t.Errorf("a refused log-in set a cookie: %s", res.header.Get("Set-Cookie"))
	}
	b.do(t, call{method: "GET", path: "/api/v1/users/me", token: b.userTok}).check(t, want{status: 200})
}

// TestSessionCookie: changes by cookie must come from the same origin;
// DELETE /users/me/sessions ends every session of the caller and removes
// the cookie.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first, second := b.login(t, "plain"), b.login(t, "plain")
	other := b.login(t, "root")
	patch := map[string]any{"full_name": "Cookie Monster"}
	for name, tc := range map[string]struct {
		header map[string]string
		want   want
	}{
		"cross-site":     {map[string]string{"Sec-Fetch-Site": "cross-site"}, want{403, "cross_origin", ""}},
		"foreign Origin": {map[string]string{"Origin": "https://evil.example"}, want{403, "cross_origin", ""}},
		"same origin":    {map[string]string{"Sec-Fetch-Site": "same-origin"}, want{status: 200}},
		"not a browser":  {nil, want{status: 200}},
	} {
		t.Run(name, func(t *testing.T) {
			res := b.do(t, call{method: "PATCH", path: "/api/v1/users/plain/profile", cookie: first, body: patch, header: tc.header})
			res.check(t, tc.want)
		})
	}
	// Reading across sites is harmless, and allowed.
	b.do(t, call{method: "GET", path: "/api/v1/users/me", cookie: first,
		header: map[string]string{"Sec-Fetch-Site": "cross-site"}}).check(t, want{status: 200})

	res := b.do(t, call{method: "DELETE", path: "/api/v1/users/me/sessions", cookie: first})
	res.check(t, want{status: 204})
	if len(res.body) != 0 {
		t.Errorf("204 with a body: %s", res.body)
	}
	// A browser removes a cookie only when the path matches the one it was
	// set with.
	if c := res.header.Get("Set-Cookie"); !strings.HasPrefix(c, "session_id=;") || !strings.Contains(c, "Max-Age=0") ||
		!strings.Contains(c, "Path=/api/v1;") {
		t.Errorf("the cookie is not removed: %q", c)
	}
	for _, s := range []string{first, second} {
		b.do(t, call{method: "GET", path: "/api/v1/users/me", cookie: s}).check(t, want{401, "invalid_token", ""})
	}
	// Another account's session lives on; so do the caller's tokens.
	b.do(t, call{method: "GET", path: "/api/v1/users/me", cookie: other}).check(t, want{status: 200})
	b.do(t, call{method: "GET", path: "/api/v1/users/me", token: b.userTok}).check(t, want{status: 200})
	// A caller with a token ends its sessions, of which it has none.
	b.do(t, call{method: "DELETE", path: "/api/v1/users/me/sessions", token: b.saTok}).check(t, want{status: 204})
	b.do(t, call{method: "DELETE", path: "/api/v1/users/me/sessions"}).check(t, want{401, "unauthenticated", ""})
}

// TestUnrouted: other paths under /api/v1 get a 404, other methods a 405
// with Allow, and a body that is not JSON a 415, all in the face's error
// body.
func TestUnrouted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name     string
		c        call
		want     want
		typ      string
		allow    string
		loggedIn bool
	}{
		{"unknown path", call{method: "GET", path: "/api/v1/service-accounts"}, want{404, "route_not_found", ""}, "not_found", "", false},
		{"unknown path under a user", call{method: "GET", path: "/api/v1/users/plain/nothing"}, want{404, "route_not_found", ""}, "not_found", "", false},
		{"other method on a user", call{method: "POST", path: "/api/v1/users/plain"}, want{405, "method_not_allowed", ""}, "method_not_allowed", "GET, HEAD, PATCH, DELETE", false},
		{"other method on the log-in", call{method: "GET", path: "/api/v1/login"}, want{405, "method_not_allowed", ""}, "method_not_allowed", "POST", false},
		{"text to JSON", call{method: "POST", path: "/api/v1/users", body: `{"name":"bob"}`, header: map[string]string{"Content-Type": "text/plain"}},
			want{415, "unsupported_media_type", ""}, "unsupported_media_type", "", true},
		{"a form to JSON", call{method: "PATCH", path: "/api/v1/users/me/settings", body: url.Values{"theme": {"dark"}}},
			want{415, "unsupported_media_type", ""}, "unsupported_media_type", "", true},
		{"a form to the log-in", call{method: "POST", path: "/api/v1/login", body: url.Values{"username": {"plain"}, "password": {"x"}}},
			want{415, "unsupported_media_type", ""}, "unsupported_media_type", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.loggedIn {
				tt.c.token = b.saTok
			}
			res := b.do(t, tt.c)
			res.check(t, tt.want)
			var e errorBody
			res.decode(t, &e)
			if e.Type != tt.typ {
				t.Errorf("type %q, want %q", e.Type, tt.typ)
			}
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
}

// TestRoutes: Routes lists what Mount serves.
func TestRoutes(t *testing.T) {
	t.Parallel()
	routes := (&lenses.Handler{}).Routes()
	for _, r := range []string{"GET /api/v1/users", "PUT /api/v1/users/{name}/groups", "POST /api/v1/login", "DELETE /api/v1/users/me/sessions"} {
		found := false
		for _, have := range routes {
			found = found || have == r
		}
		if !found {
			t.Errorf("Routes lacks %q: %v", r, routes)
		}
	}
	if len(routes) != 12 {
		t.Errorf("%d routes: %v", len(routes), routes)
	}
}

// TestAnonymousFirst: every endpoint but the log-in needs a credential, as
// Lenses documents, and a request without one is 401 unauthenticated
// whatever its body: the answer names the missing credential, not a
// field of a body no one may send.
func TestAnonymousFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	users, _ := b.env.Counts(t)
	for _, tc := range []struct {
		name string
		c    call
	}{
		{"create, empty display_name", call{method: "POST", path: "/api/v1/users", body: map[string]any{"name": "x", "display_name": ""}}},
		{"create, long display_name", call{method: "POST", path: "/api/v1/users", body: map[string]any{"name": "x", "display_name": strings.Repeat("x", 151)}}},
		{"create, malformed JSON", call{method: "POST", path: "/api/v1/users", body: `{"name":`}},
		{"create, unknown field", call{method: "POST", path: "/api/v1/users", body: map[string]any{"name": "x", "is_admin": true}}},
		{"create, good body", call{method: "POST", path: "/api/v1/users", body: map[string]any{"name": "x"}}},
		{"update, empty display_name", call{method: "PATCH", path: "/api/v1/users/plain", body: map[string]any{"display_name": ""}}},
		{"update, empty body", call{method: "PATCH", path: "/api/v1/users/plain", body: ""}},
		{"profile, long full_name", call{method: "PATCH", path: "/api/v1/users/plain/profile", body: map[string]any{"full_name": strings.Repeat("n", 101)}}},
		{"groups, wrong type", call{method: "PUT", path: "/api/v1/users/plain/groups", body: map[string]any{"set_groups": "dev"}}},
		{"settings, not an object", call{method: "PATCH", path: "/api/v1/users/me/settings", body: `[1]`}},
		{"delete", call{method: "DELETE", path: "/api/v1/users/plain"}},
		{"list", call{method: "GET", path: "/api/v1/users"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.do(t, tc.c)
			res.check(t, want{401, "unauthenticated", ""})
			if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="lenses"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
		})
	}
	if after, _ := b.env.Counts(t); after != users {
		t.Errorf("anonymous requests made %d users", after-users)
	}
}
