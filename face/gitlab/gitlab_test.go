package gitlab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"usher"
	"usher/core/coretest"
	"usher/face/gitlab"
	"usher/web"
	"usher/web/webtest"
)

// baseURL is the public URL the face is given in tests.
const baseURL = "https://usher.example.com"

// password passes the core's password policy.
const password = "correct horse battery staple"

// bundle is what a test works with: a server with the GitLab and native
// faces over a real core, an administrator and a plain user with their
// tokens.
type bundle struct {
	env      *coretest.Env
	srv      *httptest.Server
	admin    *usher.User
	adminTok string
	user     *usher.User
	userTok  string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupWith(t, options{})
}

// options change what setupWith builds.
type options struct {
	core coretest.Options
	// mounts put more handlers on the server's mux.
	mounts []func(*http.ServeMux, *coretest.Env)
}

func setupWith(t *testing.T, opts options) *bundle {
	t.Helper()
	env := coretest.New(t, opts.core)
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	h := &gitlab.Handler{Users: env.Core.Users, Auth: env.Core.Auth, Keys: env.Core.Keys,
		Emails: env.Core.Emails, BaseURL: baseURL + "/", Log: log}
	h.Mount(mux)
	for _, m := range opts.mounts {
		m(mux, env)
	}
	srv := httptest.NewServer(web.Middleware(mux, log, nil, nil))
	t.Cleanup(srv.Close)
	b := &bundle{env: env, srv: srv}
	b.admin = env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Name: "Root", Admin: true, EmailConfirmed: true})
	b.adminTok = env.MustToken(t, b.admin.ID, usher.TokenPersonal)
	b.user = env.MustCreateUser(t, usher.UserCreate{Username: "plain", Email: "plain@example.com", Name: "Plain User"})
	b.userTok = env.MustToken(t, b.user.ID, usher.TokenPersonal)
	return b
}

// client is GitLab's own Go client, pointed at the server with token.
func (b *bundle) client(t *testing.T, token string) *gl.Client {
	t.Helper()
	c, err := gl.NewClient(token, gl.WithBaseURL(b.srv.URL), gl.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// call is one raw request. A map or slice body is sent as JSON; a string
// body is sent as it is, with contentType.
type call struct {
	method, path string
	token        string // sent as PRIVATE-TOKEN
	body         any
	contentType  string
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
	if _, text := c.body.(string); text {
		// Text goes with the call's own content type, or none.
		r.Header.Del("Content-Type")
	}
	if c.contentType != "" {
		r.Header.Set("Content-Type", c.contentType)
	}
	if c.token != "" {
		r.Header.Set("PRIVATE-TOKEN", c.token)
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	res := webtest.Do(t, b.srv.Client(), r)
	return &response{status: res.Status, header: res.Header, body: res.Body}
}

// want fails unless the response has the status and, when body is not
// empty, exactly that JSON body.
func (r *response) want(t *testing.T, what string, status int, body string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
	if body == "" {
		return
	}
	if !jsonEqual(t, r.body, []byte(body)) {
		t.Fatalf("%s: body %s, want %s", what, bytes.TrimSpace(r.body), body)
	}
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// object decodes a JSON object body.
func (r *response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	return m
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("bad expected JSON %s: %v", b, err)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}

// system is a context acting as usher itself.
func system() context.Context { return coretest.System() }

// stored returns a user as the database holds it, read as the system.
func (b *bundle) stored(t *testing.T, id int64) *usher.User {
	t.Helper()
	u, err := b.env.Core.Users.Get(system(), usher.UserKey{ID: id})
	if err != nil {
		t.Fatalf("get user %d: %v", id, err)
	}
	return u
}

func ptr[T any](v T) *T { return &v }

// TestRoutes checks that every route is served under both versions, and
// that Mount registers exactly the routes Routes lists, each at its own
// pattern (so none shadows another), even on a Handler without services.
func TestRoutes(t *testing.T) {
	t.Parallel()
	h := &gitlab.Handler{}
	routes := h.Routes()
	v4, v3 := 0, 0
	for _, r := range routes {
		switch {
		case strings.Contains(r, " /api/v4/"):
			v4++
		case strings.Contains(r, " /api/v3/"):
			v3++
		default:
			t.Errorf("route %q is under neither version", r)
		}
	}
	if v4 == 0 || v4 != v3 {
		t.Fatalf("v4 routes %d, v3 routes %d", v4, v3)
	}
	for _, want := range []string{
		"GET /api/v4/users", "POST /api/v4/users", "GET /api/v4/users/{id}", "PUT /api/v4/users/{id}",
		"DELETE /api/v4/users/{id}", "GET /api/v4/user", "GET /api/v4/user/keys", "GET /api/v4/users/{id}/keys",
		"GET /api/v4/user/keys/{key}", "POST /api/v4/user/keys", "POST /api/v4/users/{id}/keys",
		"DELETE /api/v4/user/keys/{key}", "DELETE /api/v4/users/{id}/keys/{key}", "GET /api/v4/user/emails",
		"GET /api/v4/users/{id}/emails", "GET /api/v4/user/emails/{email}", "POST /api/v4/user/emails",
		"POST /api/v4/users/{id}/emails", "DELETE /api/v4/user/emails/{email}", "DELETE /api/v4/users/{id}/emails/{email}",
		"PUT /api/v4/users/{id}/block", "PUT /api/v4/users/{id}/unblock", "POST /api/v4/users/{id}/block",
		"POST /api/v4/users/{id}/unblock", "PUT /api/v3/users/{id}/block",
	} {
		found := false
		for _, r := range routes {
			found = found || r == want
		}
		if !found {
			t.Errorf("no route %q", want)
		}
	}

	mux := http.NewServeMux()
	h.Mount(mux)
	fill := strings.NewReplacer("{id}", "7", "{key}", "8", "{email}", "9")
	for _, route := range routes {
		method, pattern, _ := strings.Cut(route, " ")
		r := httptest.NewRequest(method, fill.Replace(pattern), nil)
		if _, got := mux.Handler(r); got != route {
			t.Errorf("%s %s is served by %q, want %q", method, r.URL.Path, got, route)
		}
	}
	// Anything else under a version falls to the face's 404 and 405.
	for path, want := range map[string]string{"/api/v4/projects": "/api/v4/", "/api/v3/users/7/nothing": "/api/v3/"} {
		if _, got := mux.Handler(httptest.NewRequest("GET", path, nil)); got != want {
			t.Errorf("GET %s is served by %q, want %q", path, got, want)
		}
	}
}
