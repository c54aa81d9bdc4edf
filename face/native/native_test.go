package native_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"

	"usher"
	"usher/core/coretest"
	"usher/face/native"
	"usher/web"
	"usher/web/webtest"
)

// client calls the API and checks every response against the OpenAPI
// description.
type client struct {
	srv    *httptest.Server
	router routers.Router
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem decodes a problem body.
func (r *response) problem(t *testing.T) problemBody {
	t.Helper()
	var p problemBody
	r.decode(t, &p)
	return p
}

type problemBody struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Field string `json:"field"`
		Code  string `json:"code"`
	} `json:"errors"`
}

// req is one call: the body is JSON-encoded unless it is a string or bytes,
// which are sent as they are.
type req struct {
	method, path, token string
	body                any
	header              map[string]string
	// unchecked skips the OpenAPI check, for bulk calls whose shape other
	// tests check.
	unchecked bool
}

func (c *client) do(t *testing.T, rq req) *response {
	t.Helper()
	r := webtest.NewRequest(t, rq.method, c.srv.URL+rq.path, rq.body)
	if rq.token != "" {
		r.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	// A Host header stands for the name the client reached the server by.
	if host := rq.header["Host"]; host != "" {
		r.Host = host
	}
	res := webtest.Do(t, c.srv.Client(), r)
	out := &response{status: res.Status, header: res.Header, body: res.Body}
	if !rq.unchecked {
		c.validate(t, r, out)
	}
	return out
}

// htmlDecoder lets the validator read the HTML pages and the script
// bundles as text.
var htmlDecoder sync.Once

// validate checks a response against the OpenAPI description.
func (c *client) validate(t *testing.T, r *http.Request, res *response) {
	t.Helper()
	htmlDecoder.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/javascript", openapi3filter.PlainBodyDecoder)
	})
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		t.Fatalf("%s %s: not in the OpenAPI description: %v", r.Method, r.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 res.status,
		Header:                 res.header,
		Body:                   io.NopCloser(bytes.NewReader(res.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("%s %s → %d does not match the OpenAPI description: %v\nbody: %s", r.Method, r.URL.Path, res.status, err, res.body)
	}
}

// bundle is what a test works with: a server over a real core, an admin and
// a plain user with their tokens.
type bundle struct {
	env      *coretest.Env
	api      *client
	admin    *usher.User
	adminTok string
	user     *usher.User
	userTok  string
	handler  *native.Handler
}

// openAPIRouter finds a request's operation in the OpenAPI description by
// its path alone, whatever server it went to. It is built once per test
// binary: parsing and validating the description took a sixth of this
// package's time under the race detector when every test did it.
var openAPIRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := native.OpenAPI()
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	return legacy.NewRouter(doc)
})

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupWith(t, coretest.Options{})
}

// setupWith builds the bundle on a core with the given options; when they
// name a mail transport, the outbox is delivered as the server would.
func setupWith(t *testing.T, opts coretest.Options) *bundle {
	t.Helper()
	env := coretest.New(t, opts)
	if opts.Transport != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			env.Core.Outbox.Run(ctx, 20*time.Millisecond)
		}()
		t.Cleanup(func() { cancel(); <-done })
	}
	log := slog.New(slog.DiscardHandler)
	h := &native.Handler{Users: env.Core.Users, Auth: env.Core.Auth, Audit: env.Core.Audit, Stats: env.Core.Stats,
		Groups: env.Core.Groups, Orgs: env.Core.Orgs, Apps: env.Core.Apps, Instance: env.Core.Instance, Plans: env.Core.Plans, Keys: env.Core.Keys,
		Emails: env.Core.Emails, Settings: env.Core.Settings, Avatars: env.Core.Avatars, Reminders: env.Core.Reminders, Attachments: env.Core.Attachments, Scripts: env.Core.Scripts, Log: log,
		PublicURL: cmp.Or(opts.Policy.PublicURL, publicURL)}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(web.Middleware(mux, log, web.NewMetrics(prometheus.NewRegistry()), nil))
	t.Cleanup(srv.Close)
	router, err := openAPIRouter()
	if err != nil {
		t.Fatal(err)
	}
	// The client answers redirects itself, as an API client does.
	srv.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b := &bundle{env: env, api: &client{srv: srv, router: router}, handler: h}
	b.admin = env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Name: "Root", Admin: true})
	b.adminTok = env.MustToken(t, b.admin.ID, usher.TokenPersonal)
	b.user = env.MustCreateUser(t, usher.UserCreate{Username: "plain", Email: "plain@example.com", Name: "Plain User"})
	b.userTok = env.MustToken(t, b.user.ID, usher.TokenPersonal)
	return b
}

// userBody is the part of a user representation the tests read.
type userBody struct {
	ID          int64             `json:"id"`
	UUID        string            `json:"uuid"`
	Username    string            `json:"username"`
	Email       string            `json:"email"`
	Name        string            `json:"name"`
	FirstName   string            `json:"first_name"`
	LastName    string            `json:"last_name"`
	DisplayName string            `json:"display_name"`
	Bio         string            `json:"bio"`
	State       string            `json:"state"`
	Kind        string            `json:"kind"`
	Admin       bool              `json:"admin"`
	Metadata    map[string]string `json:"metadata"`
	Identities  []struct {
		Provider  string `json:"provider"`
		ExternUID string `json:"extern_uid"`
	} `json:"identities"`
	ExternalID  *string `json:"external_id"`
	SuspendedAt *string `json:"suspended_at"`
	DeletedAt   *string `json:"deleted_at"`
	Version     int64   `json:"version"`
}

type userList struct {
	Items      []userBody `json:"items"`
	NextCursor *string    `json:"next_cursor"`
	Total      *int       `json:"total"`
}

func (b *bundle) mustCreate(t *testing.T, body map[string]any) userBody {
	t.Helper()
	res := b.api.do(t, req{method: "POST", path: "/v1/users", token: b.adminTok, body: body, unchecked: true})
	if res.status != http.StatusCreated {
		t.Fatalf("create %v: %d %s", body, res.status, res.body)
	}
	var u userBody
	res.decode(t, &u)
	return u
}

func TestCreateAndGet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.api.do(t, req{method: "POST", path: "/v1/users", token: b.adminTok, body: map[string]any{
		"username": "john_smith", "email": "John@Example.com", "name": "John Smith", "password": "correct horse battery",
		"bio": "hello", "metadata": map[string]string{"team": "blue"}, "external_id": "ext-1",
		"identities": []map[string]string{{"provider": "github", "extern_uid": "2435223452345"}},
	}})
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var u userBody
	res.decode(t, &u)
	if u.ID == 0 || u.UUID == "" || u.Username != "john_smith" || u.Email != "John@Example.com" ||
		u.FirstName != "John" || u.LastName != "Smith" || u.DisplayName != "John Smith" || u.State != "active" ||
		u.Kind != "normal" || u.Bio != "hello" || u.Metadata["team"] != "blue" || u.Version != 1 ||
		u.ExternalID == nil || *u.ExternalID != "ext-1" || len(u.Identities) != 1 || u.Identities[0].Provider != "github" {
		t.Fatalf("created user: %s", res.body)
	}
	if strings.Contains(string(res.body), "correct horse") || strings.Contains(string(res.body), "argon2") {
		t.Fatal("the response shows the password or its hash")
	}
	created := res.header.Get("ETag")
	if !strings.HasPrefix(created, `"1-`) {
		t.Fatalf("ETag = %q", created)
	}
	if got := res.header.Get("Location"); got != fmt.Sprintf("/v1/users/%d", u.ID) {
		t.Fatalf("Location = %q", got)
	}
	for _, path := range []string{fmt.Sprintf("/v1/users/%d", u.ID), "/v1/users/john_smith", "/v1/users/JOHN_SMITH"} {
		res := b.api.do(t, req{method: "GET", path: path, token: b.adminTok})
		var got userBody
		res.decode(t, &got)
		if res.status != http.StatusOK || got.ID != u.ID || got.Email != "John@Example.com" {
			t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
	}
	// A plain user sees the account without its private fields.
	res = b.api.do(t, req{method: "GET", path: "/v1/users/john_smith", token: b.userTok})
	var seen userBody
	res.decode(t, &seen)
	if res.status != http.StatusOK || seen.Email != "" || seen.ExternalID != nil || len(seen.Identities) != 0 || len(seen.Metadata) != 0 || seen.Name != "John Smith" {
		t.Fatalf("plain user's view: %d %s", res.status, res.body)
	}
	res = b.api.do(t, req{method: "GET", path: "/v1/users/john_smith", token: b.adminTok, header: map[string]string{"If-None-Match": created}})
	if res.status != http.StatusNotModified || len(res.body) != 0 {
		t.Fatalf("If-None-Match: %d %s", res.status, res.body)
	}
	res = b.api.do(t, req{method: "GET", path: "/v1/users/nobody", token: b.adminTok})
	if p := res.problem(t); res.status != http.StatusNotFound || p.Code != "user_not_found" {
		t.Fatalf("unknown user: %d %s", res.status, res.body)
	}
}

func TestUniqueCaseInsensitive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, map[string]any{"username": "Alice", "email": "alice@example.com"})
	tests := []struct {
		name   string
		body   map[string]any
		fields []string // the problem's errors; the code names the first
	}{
		{"username in another case", map[string]any{"username": "alice", "email": "other@example.com"}, []string{"username"}},
		{"e-mail in another case", map[string]any{"username": "alicia", "email": "ALICE@example.com"}, []string{"email"}},
		{"both", map[string]any{"username": "ALICE", "email": "Alice@example.com"}, []string{"username", "email"}},
	}
	for _, tt := range tests {
		before, events := b.env.Counts(t)
		res := b.api.do(t, req{method: "POST", path: "/v1/users", token: b.adminTok, body: tt.body})
		p := res.problem(t)
		var fields []string
		for _, e := range p.Errors {
			fields = append(fields, e.Field)
		}
		if res.status != http.StatusConflict || p.Code != tt.fields[0]+"_taken" || !slices.Equal(fields, tt.fields) {
			t.Errorf("%s: %d %s", tt.name, res.status, res.body)
		}
		if after, eventsAfter := b.env.Counts(t); after != before || eventsAfter != events {
			t.Errorf("%s: a refused create wrote something", tt.name)
		}
	}
}

func TestConcurrentCreatesOfOneUsername(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 32
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := b.api.do(t, req{method: "POST", path: "/v1/users", token: b.adminTok,
				body: map[string]any{"username": "same", "email": fmt.Sprintf("same%d@example.com", i)}})
			statuses[i] = res.status
		}()
	}
	wg.Wait()
	created, conflicts := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			conflicts++
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("%d created, %d conflicts; want 1 and %d", created, conflicts, n-1)
	}
}

// TestThousandUsersFoundBySubstring imports 1,000 users and finds each one
// through the API by a substring of its username, name or e-mail address,
// the three in turn.
func TestThousandUsersFoundBySubstring(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 1000
	type spec struct{ username, name, email string }
	specs := make([]spec, n)
	rnd := rand.New(rand.NewPCG(1, 2))
	letters := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rnd.IntN(26))
		}
		return string(b)
	}
	for i := range specs {
		specs[i] = spec{
			username: letters(5+rnd.IntN(5)) + fmt.Sprint(i),
			name:     strings.ToUpper(letters(1)) + letters(4+rnd.IntN(6)) + " " + strings.ToUpper(letters(1)) + letters(5+rnd.IntN(6)),
			email:    letters(6+rnd.IntN(6)) + "@" + letters(5+rnd.IntN(4)) + "." + letters(2+rnd.IntN(2)),
		}
	}
	// The users come in one import, not a thousand requests: what is
	// asked over HTTP is the search.
	batch := make([]usher.ImportUser, n)
	for i, sp := range specs {
		batch[i] = usher.ImportUser{UserCreate: usher.UserCreate{Username: sp.username, Name: sp.name, Email: sp.email}}
	}
	results, err := b.env.Core.Users.Import(sys(), batch)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, n)
	for i, r := range results {
		if r.Err != nil || r.Outcome != usher.ImportCreated {
			t.Fatalf("import of %v: %v %v", specs[i], r.Outcome, r.Err)
		}
		ids[i] = r.ID
	}
	var wg sync.WaitGroup
	// Search from 4 clients at once; every user by a substring of one of
	// its fields, each field in turn.
	search := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range search {
				field := []string{specs[i].username, specs[i].name, specs[i].email}[i%3]
				if !b.findsBySubstring(t, ids[i], field, i) {
					return
				}
			}
		}()
	}
	for i := range specs {
		search <- i
	}
	close(search)
	wg.Wait()
}

// findsBySubstring searches for a substring of field, from a place and of a
// length that vary with i, and reports whether user id is among the results
// and every result holds the substring. Two-character substrings, which no
// trigram serves, are tried for every 25th user: they are refused with 400.
func (b *bundle) findsBySubstring(t *testing.T, id int64, field string, i int) bool {
	length := 3 + i%6
	if i%25 == 0 {
		length = 2
	}
	length = min(length, len(field))
	start := (i * 31) % (len(field) - length + 1)
	q := field[start : start+length]
	if i%2 == 1 {
		q = strings.ToUpper(q)
	}
	if length < 3 {
		res := b.api.do(t, req{method: "GET", path: "/v1/users?q=" + urlQuery(q), token: b.adminTok, unchecked: true})
		if res.status != http.StatusBadRequest || !strings.Contains(string(res.body), "at least 3 characters") {
			t.Errorf("search %q: %d %s; want 400, at least 3 characters", q, res.status, res.body)
			return false
		}
		return true
	}
	found := false
	for path := "/v1/users?limit=1000&q=" + urlQuery(q); path != "" && !found; {
		res := b.api.do(t, req{method: "GET", path: path, token: b.adminTok, unchecked: true})
		var list userList
		res.decode(t, &list)
		for _, u := range list.Items {
			found = found || u.ID == id
			if !strings.Contains(strings.ToLower(u.Username+"\x00"+u.Name+"\x00"+u.Email), strings.ToLower(q)) {
				t.Errorf("search %q returned %s, which does not contain it", q, u.Username)
				return false
			}
		}
		path = ""
		if list.NextCursor != nil {
			path = "/v1/users?limit=1000&q=" + urlQuery(q) + "&cursor=" + *list.NextCursor
		}
	}
	if !found {
		t.Errorf("search %q (from %q) did not find user %d", q, field, id)
	}
	return found
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", " ", "%20", "#", "%23").Replace(s)
}

func TestListFiltersAndCursor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 7 {
		b.mustCreate(t, map[string]any{"username": fmt.Sprintf("page%d", i), "email": fmt.Sprintf("page%d@example.com", i)})
	}
	// Walk the pages by cursor, sorted by username descending.
	var seen []string
	path := "/v1/users?q=page&limit=3&sort=-username&total=true"
	for pages := 0; ; pages++ {
		res := b.api.do(t, req{method: "GET", path: path, token: b.adminTok})
		var list userList
		res.decode(t, &list)
		if res.status != http.StatusOK || list.Total == nil || *list.Total != 7 {
			t.Fatalf("page %d: %d %s", pages, res.status, res.body)
		}
		for _, u := range list.Items {
			seen = append(seen, u.Username)
		}
		if list.NextCursor == nil {
			if res.header.Get("Link") != "" {
				t.Fatal("Link header on the last page")
			}
			break
		}
		if !strings.Contains(res.header.Get("Link"), `rel="next"`) {
			t.Fatalf("no Link header: %v", res.header)
		}
		path = "/v1/users?q=page&limit=3&sort=-username&total=true&cursor=" + *list.NextCursor
	}
	if got := fmt.Sprint(seen); got != "[page6 page5 page4 page3 page2 page1 page0]" {
		t.Fatalf("pages: %s", got)
	}
	tests := []struct {
		query string
		want  string
	}{
		{"username=PAGE3", "[page3]"},
		{"email=page4@EXAMPLE.com", "[page4]"},
		{"admin=true", "[root]"},
		{"kind=normal&q=page1", "[page1]"},
		{"state=blocked", "[]"},
	}
	for _, tt := range tests {
		res := b.api.do(t, req{method: "GET", path: "/v1/users?" + tt.query, token: b.adminTok})
		var list userList
		res.decode(t, &list)
		var names []string
		for _, u := range list.Items {
			names = append(names, u.Username)
		}
		if res.status != http.StatusOK || fmt.Sprint(names) != strings.ReplaceAll(tt.want, "[]", "[]") {
			t.Errorf("?%s: %d %v, want %s", tt.query, res.status, names, tt.want)
		}
	}
}

func TestPatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.mustCreate(t, map[string]any{"username": "alice", "email": "alice@example.com", "name": "Alice Liddell", "bio": "hi"})
	path := fmt.Sprintf("/v1/users/%d", u.ID)
	res := b.api.do(t, req{method: "PATCH", path: path, token: b.adminTok, body: `{"name":"Alice Pleasance Liddell","bio":null}`})
	var got userBody
	res.decode(t, &got)
	if res.status != http.StatusOK || got.Name != "Alice Pleasance Liddell" || got.Bio != "" || got.Email != "alice@example.com" ||
		got.FirstName != "Alice Pleasance" || got.LastName != "Liddell" || got.Version != 2 || !strings.HasPrefix(res.header.Get("ETag"), `"2-`) {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
	// A stale If-Match is refused and changes nothing.
	res = b.api.do(t, req{method: "PATCH", path: path, token: b.adminTok, body: `{"name":"Stale"}`, header: map[string]string{"If-Match": `"1"`}})
	if p := res.problem(t); res.status != http.StatusPreconditionFailed || p.Code != "version_mismatch" {
		t.Fatalf("stale If-Match: %d %s", res.status, res.body)
	}
	res = b.api.do(t, req{method: "PATCH", path: path, token: b.adminTok, body: `{"name":"Fresh"}`, header: map[string]string{"If-Match": `"2"`}})
	if res.status != http.StatusOK {
		t.Fatalf("fresh If-Match: %d %s", res.status, res.body)
	}
	// Nothing to change writes nothing.
	_, events := b.env.Counts(t)
	res = b.api.do(t, req{method: "PATCH", path: "/v1/users/alice", token: b.adminTok, body: `{"name":"Fresh"}`})
	res.decode(t, &got)
	if _, after := b.env.Counts(t); res.status != http.StatusOK || got.Version != 3 || after != events {
		t.Fatalf("no-op patch: %d version %d, %d events written", res.status, got.Version, after-events)
	}
	// The audit log has the change with old and new values.
	res = b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/audit?action=user.update&resource=user:%d", u.ID), token: b.adminTok})
	var audit struct {
		Items []struct {
			Action  string                    `json:"action"`
			ActorID int64                     `json:"actor_id"`
			Changes map[string]map[string]any `json:"changes"`
		} `json:"items"`
	}
	res.decode(t, &audit)
	if len(audit.Items) != 2 || audit.Items[1].Changes["name"]["old"] != "Alice Liddell" ||
		audit.Items[1].Changes["name"]["new"] != "Alice Pleasance Liddell" || audit.Items[1].ActorID != b.admin.ID {
		t.Fatalf("audit: %s", res.body)
	}
}

func TestStateChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := b.env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"})
	aliceTok := b.env.MustToken(t, alice.ID, usher.TokenPersonal)
	path := fmt.Sprintf("/v1/users/%d", alice.ID)
	me := func() int {
		return b.api.do(t, req{method: "GET", path: path, token: aliceTok}).status
	}
	steps := []struct {
		action     string
		status     int
		state      string
		aliceCanGo int
	}{
		{"block", 200, "blocked", 401},
		{"block", 200, "blocked", 401},
		{"unblock", 200, "active", 200},
		{"suspend", 200, "suspended", 401},
		{"unsuspend", 200, "active", 200},
		{"unsuspend", 200, "active", 200},
		{"block", 200, "blocked", 401},
		{"unsuspend", 409, "", 401},
		{"suspend", 409, "", 401},
		{"unblock", 200, "active", 200},
		{"suspend", 200, "suspended", 401},
		{"unblock", 409, "", 401},
		{"block", 200, "blocked", 401},
		{"unblock", 200, "active", 200},
	}
	for _, s := range steps {
		res := b.api.do(t, req{method: "POST", path: path + "/" + s.action, token: b.adminTok})
		if res.status != s.status {
			t.Fatalf("%s: %d %s", s.action, res.status, res.body)
		}
		if s.state != "" {
			var got userBody
			res.decode(t, &got)
			if got.State != s.state {
				t.Fatalf("%s: state %s, want %s", s.action, got.State, s.state)
			}
		}
		if got := me(); got != s.aliceCanGo {
			t.Fatalf("after %s alice's token gets %d, want %d", s.action, got, s.aliceCanGo)
		}
	}
	// Delete frees the name and kills the token for good; undelete restores.
	res := b.api.do(t, req{method: "DELETE", path: path, token: b.adminTok})
	var got userBody
	res.decode(t, &got)
	if res.status != 200 || got.DeletedAt == nil {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	if s := b.api.do(t, req{method: "GET", path: path, token: b.adminTok}).status; s != 404 {
		t.Fatalf("GET deleted: %d", s)
	}
	if s := b.api.do(t, req{method: "DELETE", path: path, token: b.adminTok}).status; s != 404 {
		t.Fatalf("second delete: %d", s)
	}
	res = b.api.do(t, req{method: "GET", path: "/v1/users?deleted=only", token: b.adminTok})
	var list userList
	res.decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != alice.ID {
		t.Fatalf("deleted=only: %s", res.body)
	}
	if s := b.api.do(t, req{method: "POST", path: path + "/undelete", token: b.adminTok}).status; s != 200 {
		t.Fatalf("undelete: %d", s)
	}
	if got := me(); got != 401 {
		t.Fatalf("a deleted user's token works again after undelete: %d", got)
	}
	if s := b.api.do(t, req{method: "POST", path: path + "/undelete", token: b.adminTok}).status; s != 409 {
		t.Fatalf("undelete of a live user: %d", s)
	}
	res = b.api.do(t, req{method: "POST", path: path + "/purge", token: b.adminTok})
	if res.status != http.StatusNoContent || len(res.body) != 0 {
		t.Fatalf("purge: %d %s", res.status, res.body)
	}
	res = b.api.do(t, req{method: "GET", path: "/v1/users?deleted=include&username=alice", token: b.adminTok})
	res.decode(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("purged user still listed: %s", res.body)
	}
	// An externally blocked user cannot be unblocked through the API.
	ext := b.env.MustCreateUser(t, usher.UserCreate{Username: "ldap-user", State: usher.StateBlockedExternal})
	for _, action := range []string{"block", "unblock"} {
		res := b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/%s", ext.ID, action), token: b.adminTok})
		if p := res.problem(t); res.status != http.StatusForbidden || p.Code != "blocked_externally" {
			t.Fatalf("%s external: %d %s", action, res.status, res.body)
		}
	}
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	readOnly := b.env.MustToken(t, b.admin.ID, usher.TokenPersonal, usher.ScopeReadAPI)
	target := fmt.Sprintf("/v1/users/%d", b.user.ID)
	tests := []struct {
		name   string
		rq     req
		status int
		code   string
	}{
		{"anonymous list", req{method: "GET", path: "/v1/users"}, 401, "unauthenticated"},
		{"anonymous create", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "x"}}, 401, "unauthenticated"},
		{"garbage token", req{method: "GET", path: "/v1/users", token: "usp_nope"}, 401, "invalid_token"},
		{"well-formed unknown token", req{method: "GET", path: "/v1/users", token: "usp_" + strings.Repeat("a", 43) + "AAAAAA"}, 401, "invalid_token"},
		{"plain user creates", req{method: "POST", path: "/v1/users", token: b.userTok, body: map[string]any{"username": "x"}}, 403, "forbidden"},
		{"plain user patches another", req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", b.admin.ID), token: b.userTok, body: map[string]any{"name": "x"}}, 403, "forbidden"},
		{"plain user blocks", req{method: "POST", path: target + "/block", token: b.userTok}, 403, "forbidden"},
		{"plain user reads the audit log", req{method: "GET", path: "/v1/audit", token: b.userTok}, 403, "forbidden"},
		{"read-only token writes", req{method: "DELETE", path: target, token: readOnly}, 403, "forbidden"},
		{"read-only token reads", req{method: "GET", path: target, token: readOnly}, 200, ""},
		{"plain user reads", req{method: "GET", path: "/v1/users", token: b.userTok}, 200, ""},
	}
	for _, tt := range tests {
		before, events := b.env.Counts(t)
		res := b.api.do(t, tt.rq)
		if res.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, res.status, res.body, tt.status)
			continue
		}
		if tt.code != "" {
			if p := res.problem(t); p.Code != tt.code {
				t.Errorf("%s: code %q, want %q", tt.name, p.Code, tt.code)
			}
		}
		if tt.status == 401 && res.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tt.name)
		}
		if after, eventsAfter := b.env.Counts(t); after != before || (tt.status >= 400 && eventsAfter != events) {
			t.Errorf("%s: the request wrote something", tt.name)
		}
	}
	// A plain user's list does not show others' e-mail addresses.
	res := b.api.do(t, req{method: "GET", path: "/v1/users", token: b.userTok})
	var list userList
	res.decode(t, &list)
	for _, u := range list.Items {
		if u.ID != b.user.ID && u.Email != "" {
			t.Fatalf("plain user sees %s's e-mail", u.Username)
		}
		if u.ID == b.user.ID && u.Email != "plain@example.com" {
			t.Fatalf("plain user does not see their own e-mail")
		}
	}
}

// TestBadInput sends malformed and invalid requests: each gets its 4xx with
// a problem naming the field, and nothing is written.
func TestBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := b.mustCreate(t, map[string]any{"username": "alice", "email": "alice@example.com"})
	alicePath := fmt.Sprintf("/v1/users/%d", alice.ID)
	long := strings.Repeat("x", 256)
	tests := []struct {
		name   string
		rq     req
		status int
		code   string
		field  string
	}{
		{"malformed JSON", req{method: "POST", path: "/v1/users", body: `{"username":`}, 400, "malformed_json", ""},
		{"not an object", req{method: "POST", path: "/v1/users", body: `["alice"]`}, 400, "malformed_json", ""},
		{"empty body", req{method: "POST", path: "/v1/users", body: ``}, 400, "empty_body", ""},
		{"wrong type", req{method: "POST", path: "/v1/users", body: `{"username":"bob","admin":"yes"}`}, 400, "wrong_type", "admin"},
		{"wrong type in patch", req{method: "PATCH", path: alicePath, body: `{"external":"many"}`}, 400, "wrong_type", "external"},
		{"GitLab's projects_limit", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "projects_limit": 5}}, 400, "unknown_field", "projects_limit"},
		{"GitLab's skype in patch", req{method: "PATCH", path: alicePath, body: map[string]any{"skype": "alice.sk"}}, 400, "unknown_field", "skype"},
		{"GitLab's theme_id in patch", req{method: "PATCH", path: alicePath, body: map[string]any{"theme_id": 2}}, 400, "unknown_field", "theme_id"},
		{"unknown field", req{method: "POST", path: "/v1/users", body: `{"username":"bob","nickname":"b"}`}, 400, "unknown_field", "nickname"},
		{"not JSON content type", req{method: "POST", path: "/v1/users", body: `{"username":"bob"}`, header: map[string]string{"Content-Type": "text/plain"}}, 415, "unsupported_media_type", ""},
		{"body over 1 MiB", req{method: "POST", path: "/v1/users", body: `{"username":"bob","bio":"` + strings.Repeat("a", 1<<20) + `"}`}, 413, "body_too_large", ""},
		{"no username, address or handle", req{method: "POST", path: "/v1/users", body: `{"bio":"no one to find"}`}, 422, "validation_failed", "username"},
		{"username too long", req{method: "POST", path: "/v1/users", body: map[string]any{"username": strings.Repeat("b", 101)}}, 422, "validation_failed", "username"},
		{"control character in username", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bo\x07b"}}, 422, "validation_failed", "username"},
		{"space in username", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bo b"}}, 422, "validation_failed", "username"},
		{"digits-only username", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "12345"}}, 422, "validation_failed", "username"},
		{"invalid e-mail", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "email": "bob@"}}, 422, "validation_failed", "email"},
		{"e-mail with a name", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "email": "Bob <bob@example.com>"}}, 422, "validation_failed", "email"},
		{"name too long", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "name": long}}, 422, "validation_failed", "name"},
		{"control character in name", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "name": "Bob\nSmith"}}, 422, "validation_failed", "name"},
		{"unknown kind", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "kind": "robot"}}, 422, "validation_failed", "kind"},
		{"short password", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "password": "short"}}, 422, "validation_failed", "password"},
		{"too many metadata keys", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "bob", "metadata": manyKeys(51)}}, 422, "validation_failed", "metadata"},
		{"patch to a taken e-mail", req{method: "PATCH", path: alicePath, body: map[string]any{"email": "ROOT@example.com"}}, 409, "email_taken", "email"},
		{"patch with an invalid e-mail", req{method: "PATCH", path: alicePath, body: map[string]any{"email": "nope"}}, 422, "validation_failed", "email"},
		{"patch kind to null", req{method: "PATCH", path: alicePath, body: `{"kind":null}`}, 422, "validation_failed", "kind"},
		{"javascript website", req{method: "PATCH", path: alicePath, body: map[string]any{"website_url": "javascript:alert(1)"}}, 422, "validation_failed", "website_url"},
		{"control character in metadata", req{method: "PATCH", path: alicePath, body: map[string]any{"metadata": map[string]string{"k": "a\x00b"}}}, 422, "validation_failed", "metadata"},
		{"NUL in search", req{method: "GET", path: "/v1/users?q=a%00b"}, 400, "invalid_parameter", "q"},
		{"search of two characters", req{method: "GET", path: "/v1/users?q=ab"}, 400, "invalid_parameter", "q"},
		{"invalid UTF-8 in username filter", req{method: "GET", path: "/v1/users?username=%ff"}, 400, "invalid_parameter", "username"},
		{"cursor of another shape", req{method: "GET", path: "/v1/users?sort=created_at&cursor=eyJzIjoiY3JlYXRlZF9hdCIsImkiOjEsImsiOiJ4In0"}, 400, "invalid_cursor", "cursor"},
		// Creation times far outside the years 1–9999 (a review found
		// PostgreSQL's driver answered the first in reverse).
		{"cursor of no time", req{method: "GET", path: "/v1/users?sort=created_at&cursor=eyJzIjoiY3JlYXRlZF9hdCIsImkiOjEsImsiOiItOTIyMzM3MjAzNjg1NDc3NTgwOCJ9"}, 400, "invalid_cursor", "cursor"},
		{"cursor past the year 9999", req{method: "GET", path: "/v1/users?sort=created_at&cursor=eyJzIjoiY3JlYXRlZF9hdCIsImkiOjEsImsiOiIyNTM0MDIzMDA4MDAwMDAwMDAifQ"}, 400, "invalid_cursor", "cursor"},
		{"id out of range", req{method: "GET", path: "/v1/users/99999999999999999999"}, 400, "invalid_id", "user"},
		{"id zero", req{method: "PATCH", path: "/v1/users/0", body: `{}`}, 400, "invalid_id", "user"},
		{"purge by name", req{method: "POST", path: "/v1/users/alice/purge"}, 400, "id_required", "user"},
		{"If-Match garbage", req{method: "PATCH", path: alicePath, body: `{"name":"x"}`, header: map[string]string{"If-Match": "garbage"}}, 412, "version_mismatch", ""},
		{"If-Match weak", req{method: "PATCH", path: alicePath, body: `{"name":"x"}`, header: map[string]string{"If-Match": `W/"1"`}}, 412, "version_mismatch", ""},
		{"unknown query parameter", req{method: "GET", path: "/v1/users?colour=red"}, 400, "unknown_parameter", "colour"},
		{"limit zero", req{method: "GET", path: "/v1/users?limit=0"}, 400, "out_of_range", "limit"},
		{"limit not a number", req{method: "GET", path: "/v1/users?limit=abc"}, 400, "not_an_integer", "limit"},
		{"unknown sort", req{method: "GET", path: "/v1/users?sort=password"}, 400, "invalid_parameter", "sort"},
		{"unknown state", req{method: "GET", path: "/v1/users?state=sleeping"}, 400, "invalid_parameter", "state"},
		{"unknown inclusion", req{method: "GET", path: "/v1/users?deleted=maybe"}, 400, "invalid_value", "deleted"},
		{"bad boolean", req{method: "GET", path: "/v1/users?admin=perhaps"}, 400, "not_a_boolean", "admin"},
		{"bad time", req{method: "GET", path: "/v1/users?created_after=yesterday"}, 400, "not_a_time", "created_after"},
		{"reversed range", req{method: "GET", path: "/v1/users?created_after=2025-01-02T00:00:00Z&created_before=2025-01-01T00:00:00Z"}, 400, "invalid_parameter", "created_after"},
		{"bad cursor", req{method: "GET", path: "/v1/users?cursor=!!"}, 400, "invalid_cursor", "cursor"},
		{"bad uuid", req{method: "GET", path: "/v1/users?uuid=nope"}, 400, "invalid_parameter", "uuid"},
		{"repeated parameter", req{method: "GET", path: "/v1/users?q=a&q=b"}, 400, "repeated_parameter", "q"},
		{"bad audit actor", req{method: "GET", path: "/v1/audit?actor=me"}, 400, "invalid_id", "actor"},
		{"reversed audit range", req{method: "GET", path: "/v1/audit?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z"}, 400, "invalid_range", "from"},
		{"empty audit range", req{method: "GET", path: "/v1/audit?from=2025-01-01T00:00:00Z&to=2025-01-01T00:00:00Z"}, 400, "invalid_range", "from"},
		{"malformed audit time", req{method: "GET", path: "/v1/audit?from=yesterday"}, 400, "not_a_time", "from"},
		{"audit time without zone", req{method: "GET", path: "/v1/audit?to=2025-01-01T00:00:00"}, 400, "not_a_time", "to"},
		{"non-numeric audit actor in a list", req{method: "GET", path: "/v1/audit?actor=1,x"}, 400, "invalid_id", "actor"},
		{"repeated non-numeric audit actor", req{method: "GET", path: "/v1/audit?actor=1&actor=2.5"}, 400, "invalid_id", "actor"},
		{"zero audit actor", req{method: "GET", path: "/v1/audit?actor=0"}, 400, "invalid_id", "actor"},
		{"too many audit actors", req{method: "GET", path: "/v1/audit?actor=" + strings.Repeat("1,", 100) + "1"}, 400, "too_many", "actor"},
		{"unknown stats parameter", req{method: "GET", path: "/v1/stats?fast=1"}, 400, "unknown_parameter", "fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rq.token = b.adminTok
			before, events := b.env.Counts(t)
			res := b.api.do(t, tt.rq)
			p := res.problem(t)
			if res.status != tt.status || p.Code != tt.code || p.Status != tt.status {
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
	// Alice is as she was.
	res := b.api.do(t, req{method: "GET", path: alicePath, token: b.adminTok})
	var got userBody
	res.decode(t, &got)
	if got.Version != 1 || got.Email != "alice@example.com" {
		t.Fatalf("alice changed: %s", res.body)
	}
}

func manyKeys(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.mustCreate(t, map[string]any{"username": "alice"})
	b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/block", u.ID), token: b.adminTok,
		header: map[string]string{"User-Agent": "audit-test", "X-Request-ID": "req-42"}})
	res := b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/audit?resource=user:%d", u.ID), token: b.adminTok})
	var list struct {
		Items []struct {
			Action    string `json:"action"`
			ActorKind string `json:"actor_kind"`
			ActorID   int64  `json:"actor_id"`
			ActorName string `json:"actor_name"`
			Address   string `json:"address"`
			UserAgent string `json:"user_agent"`
			RequestID string `json:"request_id"`
			Changes   map[string]map[string]any
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	res.decode(t, &list)
	if len(list.Items) != 2 || list.Items[0].Action != "user.block" || list.Items[1].Action != "user.create" {
		t.Fatalf("events: %s", res.body)
	}
	e := list.Items[0]
	if e.ActorKind != "user" || e.ActorID != b.admin.ID || e.ActorName != "root" || e.Address != "127.0.0.1" ||
		e.UserAgent != "audit-test" || e.RequestID != "req-42" || e.Changes["state"]["new"] != "blocked" {
		t.Fatalf("block event: %+v", e)
	}
	// Paging by cursor reaches the oldest event.
	res = b.api.do(t, req{method: "GET", path: "/v1/audit?limit=1&action=user.", token: b.adminTok})
	res.decode(t, &list)
	if len(list.Items) != 1 || list.NextCursor == nil {
		t.Fatalf("first page: %s", res.body)
	}
	res = b.api.do(t, req{method: "GET", path: "/v1/audit?limit=1&action=user.&cursor=" + *list.NextCursor, token: b.adminTok})
	res.decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Action != "user.create" {
		t.Fatalf("second page: %s", res.body)
	}
}

// TestOpenAPICoversRoutes fails when a route is served but not described.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	doc, err := native.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the description is not valid OpenAPI: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %s, want 3.1.0", doc.OpenAPI)
	}
	for _, r := range (&native.Handler{}).Routes() {
		method, path, _ := strings.Cut(r, " ")
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	b := setup(t)
	res := b.api.do(t, req{method: "GET", path: "/openapi.json"})
	var served map[string]any
	res.decode(t, &served)
	if res.status != 200 || served["openapi"] != "3.1.0" {
		t.Fatalf("/openapi.json: %d", res.status)
	}
}

// TestUnrouted: what no operation takes is answered as a problem, like
// every error of the face: a path under /v1 no operation has is 404, a
// method its path is not served with 405 with Allow, and a body of a type
// the operation does not take 415.
func TestUnrouted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	form := url.Values{"username": {"bob"}}
	tests := []struct {
		name   string
		rq     req
		status int
		code   string
		allow  string
	}{
		{"unknown path", req{method: "GET", path: "/v1/nothing", unchecked: true}, 404, "route_not_found", ""},
		{"unknown path under a user", req{method: "GET", path: "/v1/users/1/nothing", unchecked: true}, 404, "route_not_found", ""},
		{"other method on a user", req{method: "PUT", path: "/v1/users/1", unchecked: true}, 405, "method_not_allowed", "GET, HEAD, PATCH, DELETE"},
		{"other method on a list", req{method: "DELETE", path: "/v1/users", unchecked: true}, 405, "method_not_allowed", "GET, HEAD, POST"},
		{"text to JSON", req{method: "POST", path: "/v1/users", body: `{"username":"bob"}`, header: map[string]string{"Content-Type": "text/plain"}}, 415, "unsupported_media_type", ""},
		{"a form to JSON", req{method: "POST", path: "/v1/users", body: form}, 415, "unsupported_media_type", ""},
		{"JSON to the device form", req{method: "POST", path: "/v1/auth/device", body: map[string]string{"user_code": "ABCD-EFGH"}}, 415, "unsupported_media_type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rq.token = b.adminTok
			before, events := b.env.Counts(t)
			res := b.api.do(t, tt.rq)
			var p struct {
				problemBody
				Type  string `json:"type"`
				Title string `json:"title"`
			}
			res.decode(t, &p)
			if res.status != tt.status || p.Status != tt.status || p.Code != tt.code ||
				p.Type != "urn:usher:error:"+tt.code || p.Title != http.StatusText(tt.status) || p.Detail == "" ||
				res.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s %s", res.status, res.header.Get("Content-Type"), res.body)
			}
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
			if after, eventsAfter := b.env.Counts(t); after != before || eventsAfter != events {
				t.Fatalf("a refused request wrote: users %d→%d, events %d→%d", before, after, events, eventsAfter)
			}
		})
	}
}

// atOnce sends n requests at the same moment, send(i) making the i-th,
// and reports each answered with another status than want: for the write
// paths that two requests at once must not deadlock on PostgreSQL.
func atOnce(t *testing.T, n, want int, send func(i int) *response) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if res := send(i); res.status != want {
				t.Errorf("request %d of %d at once: %d, want %d: %.300s", i, n, res.status, want, res.body)
			}
		})
	}
	wg.Wait()
}
