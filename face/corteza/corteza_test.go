package corteza_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/face/corteza"
	"usher/web"
)

const password = "correct horse battery staple"

// bundle is a server over a real core with a movable clock, an
// administrator and a plain user, each signed in through the face.
type bundle struct {
	env      *coretest.Env
	srv      *httptest.Server
	clock    *clock
	handler  *corteza.Handler
	admin    *usher.User
	adminJWT string
	user     *usher.User
	userJWT  string
	logs     *logBuffer
}

// logBuffer holds what the server logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// clock is a test clock that only moves when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupOn(t, false)
}

func setupOn(t *testing.T, postgres bool) *bundle {
	t.Helper()
	return setupWith(t, coretest.Options{Postgres: postgres, Policy: core.Policy{SignupEnabled: true}})
}

// setupWith is setup over a core made with o, whose clock it sets.
func setupWith(t *testing.T, o coretest.Options) *bundle {
	t.Helper()
	clk := &clock{now: time.Now().UTC()}
	o.Now = clk.Now
	env := coretest.New(t, o)
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	c := env.Core
	mux := http.NewServeMux()
	srv := httptest.NewServer(web.Middleware(mux, log, web.NewMetrics(prometheus.NewRegistry()), nil))
	t.Cleanup(srv.Close)
	h := &corteza.Handler{Users: c.Users, Auth: c.Auth, Groups: c.Groups, Apps: c.Apps, Settings: c.Instance,
		Reminders: c.Reminders, Attachments: c.Attachments, Stats: c.Stats, Audit: c.Audit, Orgs: c.Orgs, Scripts: c.Scripts, Log: log,
		PublicURL: srv.URL}
	h.Mount(mux)
	b := &bundle{env: env, srv: srv, clock: clk, handler: h, logs: logs}
	b.admin = env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Name: "Root", Password: password, Admin: true})
	b.user = env.MustCreateUser(t, usher.UserCreate{Username: "plain", Email: "plain@example.com", Name: "Plain", Password: password})
	b.adminJWT = b.login(t, "root@example.com")
	b.userJWT = b.login(t, "plain@example.com")
	return b
}

// login signs in through /auth/internal/login and returns the JWT.
func (b *bundle) login(t *testing.T, email string) string {
	t.Helper()
	res := b.do(t, "POST", "/auth/internal/login", "", map[string]string{"email": email, "password": password})
	var out struct {
		Response struct {
			JWT  string `json:"jwt"`
			User struct {
				ID    string `json:"userID"`
				Email string `json:"email"`
			} `json:"user"`
		} `json:"response"`
	}
	res.decode(t, &out)
	if len(out.Response.JWT) <= 100 || out.Response.User.Email != email {
		t.Fatalf("login %s: %s", email, res.body)
	}
	return out.Response.JWT
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
}

// errMessage is the message of Corteza's error envelope, "" without one.
func (r *response) errMessage(t *testing.T) string {
	t.Helper()
	var out struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	r.decode(t, &out)
	if out.Error == nil {
		return ""
	}
	return out.Error.Message
}

// do sends a request to the face; a string body goes as it is, as JSON.
func (b *bundle) do(t *testing.T, method, path, jwt string, body any) *response {
	t.Helper()
	return b.send(t, method, path, body, func(r *http.Request) {
		if jwt != "" {
			r.Header.Set("Authorization", "Bearer "+jwt)
		}
	})
}

func (b *bundle) send(t *testing.T, method, path string, body any, edit func(*http.Request)) *response {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.srv.URL+"/api/system"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	edit(req)
	res, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: raw}
}
