package escape_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"

	"usher"
	"usher/connector"
	"usher/connector/oidctest"
	"usher/core"
	"usher/core/coretest"
	"usher/face/escape"
	"usher/mail"
	"usher/mail/smtptest"
	"usher/web"
	"usher/web/webtest"
)

// bundle is what a test works with: a server over a real core whose mail
// goes to an in-process SMTP server and whose one external provider,
// "corp", is an in-process OpenID Connect provider; an administrator and a
// plain user, each with a password and a personal token.
type bundle struct {
	env      *coretest.Env
	srv      *httptest.Server
	router   routers.Router // the OpenAPI description's routes
	smtp     *smtptest.Server
	idp      *oidctest.Provider
	admin    *usher.User
	adminTok string
	user     *usher.User
	userTok  string
}

const password = "correct horse battery staple"

// openAPIRouter finds a request's operation in the OpenAPI description by
// its path alone, whatever server it went to; it is built once per test
// binary, as parsing and validating the description is most of a small
// test's time under the race detector.
var openAPIRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := escape.OpenAPI()
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	return legacy.NewRouter(doc)
})

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupWith(t, core.Policy{SignupEnabled: true})
}

// setupWith builds the bundle on a core with the policy; the public URL is
// the test server's.
func setupWith(t *testing.T, policy core.Policy) *bundle {
	t.Helper()
	return setupOn(t, policy, false)
}

// setupPostgres builds the bundle on a schema of the test PostgreSQL
// server; the test skips when none is configured.
func setupPostgres(t *testing.T) *bundle {
	t.Helper()
	return setupOn(t, core.Policy{SignupEnabled: true}, true)
}

func setupOn(t *testing.T, policy core.Policy, postgres bool) *bundle {
	t.Helper()
	return setupServed(t, policy, postgres, false)
}

// setupServed is setupOn, served over HTTPS (with Secure cookies, as
// behind an https public URL) when https is set.
func setupServed(t *testing.T, policy core.Policy, postgres, https bool) *bundle {
	t.Helper()
	return setupFrom(t, coretest.Options{Postgres: postgres, Policy: policy}, https)
}

// setupFrom is setupServed over a core made with o (its store wrapped,
// say), to which the bundle adds the mail, the provider and the public
// URL.
func setupFrom(t *testing.T, o coretest.Options, https bool) *bundle {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	if https {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	// The client answers redirects itself, as an API client does.
	srv.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	idp := oidctest.New(t, "usher-client", "usher-secret")
	oidc, err := connector.NewOIDC(context.Background(), connector.OIDCConfig{Name: "corp", Issuer: idp.Issuer(),
		ClientID: "usher-client", ClientSecret: "usher-secret", RedirectURL: srv.URL + escape.Prefix + "/auth/oauth/corp/callback/"})
	if err != nil {
		t.Fatal(err)
	}
	smtp := smtptest.New(t)
	tr, err := mail.NewSMTP(smtp.URL(), "usher@example.test")
	if err != nil {
		t.Fatal(err)
	}
	o.Policy.PublicURL, o.Transport, o.Connectors = srv.URL, tr, []usher.Connector{oidc}
	env := coretest.New(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		env.Core.Outbox.Run(ctx, 20*time.Millisecond)
	}()
	t.Cleanup(func() { cancel(); <-done })
	log := slog.New(slog.DiscardHandler)
	h := &escape.Handler{Users: env.Core.Users, Auth: env.Core.Auth, Groups: env.Core.Groups, Plans: env.Core.Plans,
		Avatars: env.Core.Avatars, Log: log, PublicURL: srv.URL, Version: "v1.2.3", SecureCookies: https}
	mux := http.NewServeMux()
	h.Mount(mux)
	handler = web.Middleware(mux, log, web.NewMetrics(prometheus.NewRegistry()), nil)
	router, err := openAPIRouter()
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{env: env, srv: srv, smtp: smtp, idp: idp, router: router}
	b.admin = env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com",
		Name: "Root", Password: password, Admin: true})
	b.adminTok = env.MustToken(t, b.admin.ID, usher.TokenPersonal)
	b.user = env.MustCreateUser(t, usher.UserCreate{Username: "plain", Email: "plain@example.com",
		Name: "Plain User", Password: password})
	b.userTok = env.MustToken(t, b.user.ID, usher.TokenPersonal)
	return b
}

// call is one request. The body is JSON-encoded unless it is a string,
// which is sent as it is.
type call struct {
	method, path string
	token        string // sent as X-Escape-Token
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
	path := c.path
	if path[0] == '/' {
		path = b.srv.URL + path
	}
	r := webtest.NewRequest(t, c.method, path, c.body)
	if c.token != "" {
		r.Header.Set("X-Escape-Token", c.token)
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	res := webtest.Do(t, b.srv.Client(), r)
	out := &response{status: res.Status, header: res.Header, body: res.Body}
	b.validate(t, r, out)
	return out
}

// imageDecoder lets the validator read avatars.
var imageDecoder sync.Once

// validate checks a response of a route against the OpenAPI description:
// its status is one the operation lists, and its body has the shape it
// gives. A request no operation takes (an unknown path, a wrong method) is
// the fallback's, which the description does not list.
func (b *bundle) validate(t *testing.T, r *http.Request, res *response) {
	t.Helper()
	imageDecoder.Do(func() { openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder) })
	route, params, err := b.router.FindRoute(r)
	if err != nil {
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 res.status,
		Header:                 res.header,
		Body:                   io.NopCloser(bytes.NewReader(res.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match the OpenAPI description: %v\nbody: %s", r.Method, r.URL.Path, res.status, err, res.body)
	}
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorBody is the face's error body.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fields  []struct {
		Field string `json:"field"`
		Code  string `json:"code"`
	} `json:"fields"`
}

// problem returns the error body, and the field it names first.
func (r *response) problem(t *testing.T) (errorBody, string) {
	t.Helper()
	var e errorBody
	if len(r.body) > 0 && r.body[0] == '{' {
		r.decode(t, &e)
	}
	field := ""
	if len(e.Fields) > 0 {
		field = e.Fields[0].Field
	}
	return e, field
}

// secretRE finds a one-time code in a mail: 32 base62 characters on a line
// of their own.
var secretRE = regexp.MustCompile(`(?m)^\s+([0-9A-Za-z]{32})\s*$`)

// mailTo waits for n mails and returns the code of the last of them sent
// to to.
func (b *bundle) mailTo(t *testing.T, n int, to string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := b.smtp.Wait(ctx, n)
	if err != nil {
		t.Fatalf("mail %d never came: %v", n, err)
	}
	for i := n - 1; i >= 0; i-- {
		if slices.Contains(msgs[i].To, to) {
			if found := secretRE.FindStringSubmatch(msgs[i].Body); found != nil {
				return found[1]
			}
		}
	}
	t.Fatalf("none of %d mails to %s carries a code", n, to)
	return ""
}

// mustTeam creates a team owned by the user whose token is given.
func (b *bundle) mustTeam(t *testing.T, token, name string) {
	t.Helper()
	res := b.do(t, call{method: "POST", path: escape.Prefix + "/teams/", token: token, body: map[string]any{"name": name}})
	if res.status != http.StatusOK {
		t.Fatalf("create team %s: %d %s", name, res.status, res.body)
	}
}
