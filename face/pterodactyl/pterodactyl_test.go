package pterodactyl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/face/pterodactyl"
	"usher/web"
	"usher/web/webtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// start is the clock's first reading: the time of Pterodactyl's example.
var start = time.Date(2022, 9, 15, 17, 33, 34, 0, time.UTC)

// bundle is what a test works with: a server over a real core on its own
// SQLite database, an administrator and its application key, and a clock
// the test moves.
type bundle struct {
	env   *coretest.Env
	srv   *httptest.Server
	admin *usher.User
	key   string
	now   atomic.Int64 // unix nanoseconds
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupWith(t, options{})
}

// options change what setupWith builds.
type options struct {
	policy  core.Policy // the core's policy
	baseURL string      // the face's configured public URL
}

// setupWith builds the bundle on a core and a face set up by opts.
func setupWith(t *testing.T, opts options) *bundle {
	t.Helper()
	b := &bundle{}
	b.now.Store(start.UnixNano())
	b.env = coretest.New(t, coretest.Options{Policy: opts.policy, Now: func() time.Time { return time.Unix(0, b.now.Load()).UTC() }})
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	(&pterodactyl.Handler{Users: b.env.Core.Users, Auth: b.env.Core.Auth, BaseURL: opts.baseURL, Log: log}).Mount(mux)
	b.srv = httptest.NewServer(web.Middleware(mux, log, web.NewMetrics(prometheus.NewRegistry()), nil))
	t.Cleanup(b.srv.Close)
	// A client that follows a redirect would hide one; an API never sends one.
	b.srv.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b.admin = b.env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com",
		FirstName: "Root", LastName: "Admin", Admin: true})
	b.key = b.env.MustToken(t, b.admin.ID, usher.TokenApplication)
	return b
}

// tick moves the clock on by d.
func (b *bundle) tick(d time.Duration) { b.now.Add(int64(d)) }

// req is one call. The body is JSON-encoded unless it is a string, which is
// sent as it is. key "" sends the bundle's application key; "-" sends none.
// A header "" is removed; a "Host" header replaces the request's host.
type req struct {
	method, path, key string
	body              any
	header            map[string]string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (b *bundle) do(t *testing.T, rq req) *response {
	t.Helper()
	r := webtest.NewRequest(t, rq.method, b.srv.URL+rq.path, rq.body)
	r.Header.Set("Accept", "application/json")
	switch rq.key {
	case "":
		r.Header.Set("Authorization", "Bearer "+b.key)
	case "-":
	default:
		r.Header.Set("Authorization", "Bearer "+rq.key)
	}
	for k, v := range rq.header {
		switch {
		case k == "Host":
			r.Host = v
		case v == "":
			r.Header.Del(k)
		default:
			r.Header.Set(k, v)
		}
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

// errorsBody is Pterodactyl's error body.
type errorsBody struct {
	Errors []struct {
		Code   string `json:"code"`
		Status string `json:"status"`
		Detail string `json:"detail"`
		Meta   *struct {
			SourceField string `json:"source_field"`
			Rule        string `json:"rule"`
		} `json:"meta"`
	} `json:"errors"`
}

// errs decodes an error body and checks that it is one: JSON, with the
// status as a string in every entry.
func (r *response) errs(t *testing.T) errorsBody {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error content type %q: %s", ct, r.body)
	}
	var e errorsBody
	r.decode(t, &e)
	if len(e.Errors) == 0 {
		t.Fatalf("no errors in %s", r.body)
	}
	for _, entry := range e.Errors {
		if entry.Status != fmt.Sprint(r.status) || entry.Code == "" || entry.Detail == "" {
			t.Fatalf("bad error entry in %d %s", r.status, r.body)
		}
	}
	return e
}

// rules lists "field:rule" for each entry of a 422.
func (e errorsBody) rules() []string {
	var out []string
	for _, entry := range e.Errors {
		if entry.Meta != nil {
			out = append(out, entry.Meta.SourceField+":"+entry.Meta.Rule)
		}
	}
	return out
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// golden compares a response with testdata/<name>.golden: its status and
// its body, indented with the keys in the order they were sent. The
// server's address becomes http://panel.test and each UUID a numbered
// placeholder, in order of appearance. With -update the file is rewritten.
func (b *bundle) golden(t *testing.T, name string, res *response) {
	t.Helper()
	body := strings.ReplaceAll(string(res.body), b.srv.URL, "http://panel.test")
	seen := map[string]string{}
	body = uuidRE.ReplaceAllStringFunc(body, func(u string) string {
		if _, ok := seen[u]; !ok {
			seen[u] = fmt.Sprintf("uuid-%d", len(seen)+1)
		}
		return seen[u]
	})
	var out bytes.Buffer
	fmt.Fprintf(&out, "%d %s\n", res.status, http.StatusText(res.status))
	if body != "" {
		if err := json.Indent(&out, []byte(body), "", "  "); err != nil {
			t.Fatalf("%s: the body is not JSON: %v\n%s", name, err, body)
		}
		out.WriteByte('\n')
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, out.Bytes()) {
		t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, out.Bytes(), want)
	}
}

// mustCreateUser creates a user through the core, as the system.
func (b *bundle) mustCreateUser(t *testing.T, in usher.UserCreate) *usher.User {
	t.Helper()
	return b.env.MustCreateUser(t, in)
}

// userBody is the part of a user item the tests read.
type userBody struct {
	Object     string `json:"object"`
	Attributes struct {
		ID         int64   `json:"id"`
		ExternalID *string `json:"external_id"`
		UUID       string  `json:"uuid"`
		Username   string  `json:"username"`
		Email      string  `json:"email"`
		FirstName  string  `json:"first_name"`
		LastName   string  `json:"last_name"`
		Language   string  `json:"language"`
		RootAdmin  bool    `json:"root_admin"`
		TwoFactor  bool    `json:"2fa"`
		CreatedAt  string  `json:"created_at"`
		UpdatedAt  string  `json:"updated_at"`
	} `json:"attributes"`
	Meta *struct {
		Resource string `json:"resource"`
	} `json:"meta"`
}

// listBody is a user list.
type listBody struct {
	Object string     `json:"object"`
	Data   []userBody `json:"data"`
	Meta   struct {
		Pagination struct {
			Total       int               `json:"total"`
			Count       int               `json:"count"`
			PerPage     int               `json:"per_page"`
			CurrentPage int               `json:"current_page"`
			TotalPages  int               `json:"total_pages"`
			Links       map[string]string `json:"links"`
		} `json:"pagination"`
	} `json:"meta"`
}

// ids lists the ids of a list's users in order.
func (l listBody) ids() []int64 {
	var out []int64
	for _, u := range l.Data {
		out = append(out, u.Attributes.ID)
	}
	return out
}

func (b *bundle) list(t *testing.T, query string) listBody {
	t.Helper()
	res := b.do(t, req{method: "GET", path: "/api/application/users" + query})
	if res.status != http.StatusOK {
		t.Fatalf("list %s: %d %s", query, res.status, res.body)
	}
	var l listBody
	res.decode(t, &l)
	return l
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	want := []string{
		"GET /api/application/users",
		"GET /api/application/users/{id}",
		"GET /api/application/users/external/{external_id}",
		"POST /api/application/users",
		"PATCH /api/application/users/{id}",
		"DELETE /api/application/users/{id}",
	}
	if got := (&pterodactyl.Handler{}).Routes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Routes() = %v", got)
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := coretest.System()
	user := b.mustCreateUser(t, usher.UserCreate{Username: "plain", Email: "plain@example.com", Password: "correct horse battery staple"})
	personal := b.env.MustToken(t, b.admin.ID, usher.TokenPersonal)
	session, err := b.env.Core.Auth.Login(context.Background(), "plain", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.env.Core.Auth.EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := b.env.Core.Auth.Authenticate(context.Background(), personal)
	if err != nil {
		t.Fatal(err)
	}
	jwt, _, err := b.env.Core.Auth.IssueJWT(usher.WithPrincipal(context.Background(), p))
	if err != nil {
		t.Fatal(err)
	}
	// An administrator's key stops working when its owner is no longer one.
	demoted := b.mustCreateUser(t, usher.UserCreate{Username: "former", Email: "former@example.com", Admin: true})
	demotedKey := b.env.MustToken(t, demoted.ID, usher.TokenApplication)
	no := false
	if _, err := b.env.Core.Users.Update(ctx, usher.UserKey{ID: demoted.ID}, usher.UserUpdate{Admin: &no}); err != nil {
		t.Fatal(err)
	}
	revoked := b.env.MustToken(t, b.admin.ID, usher.TokenApplication)
	toks, err := b.env.Core.Auth.Tokens(usher.WithPrincipal(context.Background(), p), usher.TokenApplication)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if strings.HasPrefix(revoked, tok.Hint) {
			if err := b.env.Core.Auth.RevokeToken(usher.WithPrincipal(context.Background(), p), tok.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		header map[string]string
		status int
		golden string
	}{
		{"no credential", map[string]string{"Authorization": ""}, 401, "error_401"},
		{"no credential, asking for HTML", map[string]string{"Authorization": "", "Accept": "text/html"}, 401, "error_401"},
		{"unknown key", map[string]string{"Authorization": "Bearer ptla_" + strings.Repeat("x", 43)}, 401, ""},
		{"revoked key", map[string]string{"Authorization": "Bearer " + revoked}, 401, ""},
		{"another scheme", map[string]string{"Authorization": "Basic " + b.key}, 401, ""},
		{"personal token", map[string]string{"Authorization": "Bearer " + personal}, 401, ""},
		{"session", map[string]string{"Authorization": "Bearer " + session.Secret}, 401, ""},
		{"JWT", map[string]string{"Authorization": "Bearer " + jwt}, 401, ""},
		{"key of a former administrator", map[string]string{"Authorization": "Bearer " + demotedKey}, 403, "error_403"},
		{"application key", nil, 200, ""},
		{"scheme in lower case", map[string]string{"Authorization": "bearer " + b.key}, 200, ""},
	}
	for _, tt := range tests {
		for _, path := range []string{"/api/application/users", fmt.Sprintf("/api/application/users/%d", user.ID)} {
			res := b.do(t, req{method: "GET", path: path, header: tt.header})
			if res.status != tt.status {
				t.Errorf("%s, %s: %d %s", tt.name, path, res.status, res.body)
				continue
			}
			if tt.status == 200 {
				continue
			}
			e := res.errs(t)
			if res.header.Get("Location") != "" {
				t.Errorf("%s: redirected", tt.name)
			}
			if tt.status == 401 && (e.Errors[0].Code != "AuthenticationException" || e.Errors[0].Detail != "Unauthenticated.") {
				t.Errorf("%s: %s", tt.name, res.body)
			}
			if tt.golden != "" {
				b.golden(t, tt.golden, res)
			}
		}
	}
	// A refused key changes nothing.
	users, events := b.env.Counts(t)
	res := b.do(t, req{method: "POST", path: "/api/application/users", key: demotedKey,
		body: map[string]any{"email": "n@example.com", "username": "n", "first_name": "N", "last_name": "N"}})
	if res.status != 403 {
		t.Fatalf("create with a former administrator's key: %d %s", res.status, res.body)
	}
	if u, e := b.env.Counts(t); u != users || e != events {
		t.Fatal("a refused create wrote something")
	}
}

// TestUnroutedPaths: a path the API does not have is a 404, a method its
// path is not served with a 405 naming those it is, in Allow too, and a
// body that is not JSON a 415, each in Pterodactyl's errors array.
func TestUnroutedPaths(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name   string
		rq     req
		golden string
		status int
		code   string
		allow  string
	}{
		{"other method", req{method: "PUT", path: "/api/application/users/1", body: map[string]any{}}, "error_405", 405, "MethodNotAllowedHttpException", "GET, HEAD, PATCH, DELETE"},
		{"other method on the list", req{method: "DELETE", path: "/api/application/users"}, "", 405, "MethodNotAllowedHttpException", "GET, HEAD, POST"},
		{"unknown resource", req{method: "GET", path: "/api/application/nodes", key: "-"}, "error_404", 404, "NotFoundHttpException", ""},
		{"unknown path under a user", req{method: "GET", path: "/api/application/users/1/servers", key: "-"}, "", 404, "NotFoundHttpException", ""},
		{"the prefix", req{method: "GET", path: "/api/application/", key: "-"}, "", 404, "NotFoundHttpException", ""},
		{"a form", req{method: "PATCH", path: "/api/application/users/1", body: "email=a@example.com",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, "error_415", 415, "UnsupportedMediaTypeHttpException", ""},
		{"text", req{method: "POST", path: "/api/application/users", body: `{"email":"a@example.com"}`,
			header: map[string]string{"Content-Type": "text/plain"}}, "", 415, "UnsupportedMediaTypeHttpException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.do(t, tt.rq)
			if tt.golden != "" {
				b.golden(t, tt.golden, res)
			}
			if e := res.errs(t); res.status != tt.status || len(e.Errors) != 1 || e.Errors[0].Code != tt.code ||
				e.Errors[0].Status != fmt.Sprint(tt.status) {
				t.Errorf("%d %s", res.status, res.body)
			}
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
}
