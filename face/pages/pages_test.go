package pages_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/face/native"
	"usher/face/pages"
	"usher/mail"
	"usher/mail/smtptest"
	"usher/userfile"
	"usher/web"
)

const password = "correct horse battery staple"

// bundle is a server of the pages (and the native API, whose device page
// and avatars they link to) over a real core whose mail goes to an
// in-process SMTP server, with an administrator and a plain user.
type bundle struct {
	env   *coretest.Env
	srv   *httptest.Server
	smtp  *smtptest.Server
	admin *usher.User
	user  *usher.User
}

func setup(t testing.TB) *bundle {
	t.Helper()
	return setupOn(t, false)
}

// setupOn is setup on PostgreSQL when postgres is set; it skips when no
// PostgreSQL is configured.
func setupOn(t testing.TB, postgres bool) *bundle {
	t.Helper()
	return setupWith(t, coretest.Options{Postgres: postgres})
}

// setupWith is setup on a core built from opts, their transport and
// policy set by the bundle.
func setupWith(t testing.TB, opts coretest.Options) *bundle {
	t.Helper()
	return setupServer(t, opts, false)
}

// setupServer is setupWith, served over HTTPS (with Secure cookies, as
// behind an https public URL) when https is set.
func setupServer(t testing.TB, opts coretest.Options, https bool) *bundle {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	if https {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	smtp := smtptest.New(t)
	tr, err := mail.NewSMTP(smtp.URL(), "usher@example.test")
	if err != nil {
		t.Fatal(err)
	}
	opts.Transport, opts.Policy = tr, core.Policy{PublicURL: srv.URL, SignupEnabled: true}
	env := coretest.New(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		env.Core.Outbox.Run(ctx, 20*time.Millisecond)
	}()
	t.Cleanup(func() { cancel(); <-done })
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	(&native.Handler{Users: env.Core.Users, Auth: env.Core.Auth, Avatars: env.Core.Avatars, Log: log, PublicURL: srv.URL,
		SecureCookies: https}).Mount(mux)
	(&pages.Handler{Users: env.Core.Users, Auth: env.Core.Auth, Avatars: env.Core.Avatars, Emails: env.Core.Emails,
		Keys: env.Core.Keys, Groups: env.Core.Groups, Audit: env.Core.Audit, Instance: env.Core.Instance,
		Apps: env.Core.Apps, Orgs: env.Core.Orgs, Bulk: &userfile.Jobs{Users: env.Core.Users, Batch: 2}, Log: log, PublicURL: srv.URL,
		SecureCookies: https, Mail: env.Core.Outbox, MailConfig: pages.MailConfig{Transport: "smtp", Host: smtp.Addr(), URL: "smtp://usher:REDACTED@" + smtp.Addr(),
			From: "usher@example.test", Language: "en", PublicURL: srv.URL}}).Mount(mux)
	srv.Config.Handler = web.Middleware(mux, log, web.NewMetrics(prometheus.NewRegistry()), nil)
	b := &bundle{env: env, srv: srv, smtp: smtp}
	b.admin = env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com",
		Name: "Root", Password: password, Admin: true})
	b.user = env.MustCreateUser(t, usher.UserCreate{Username: "plain", Email: "plain@example.com",
		Name: "Plain User", Password: password, EmailConfirmed: true})
	return b
}

// browser is a client with its own cookies that does not follow
// redirects, so that a test sees each answer.
type browser struct {
	b      *bundle
	client *http.Client
	// csrf is the last form token a page carried.
	csrf string
}

func (b *bundle) browser(t testing.TB) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{b: b, client: &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: b.srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (br *browser) do(t testing.TB, req *http.Request) page {
	t.Helper()
	res, err := br.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		br.csrf = string(m[1])
	}
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

// get fetches path.
func (br *browser) get(t testing.TB, path string) page {
	t.Helper()
	req, _ := http.NewRequest("GET", br.b.srv.URL+path, nil)
	return br.do(t, req)
}

// post posts form to path with the token of the last page, as the page's
// own form would; header adds to the request's.
func (br *browser) post(t testing.TB, path string, form url.Values, header ...string) page {
	t.Helper()
	if form.Get("csrf_token") == "" {
		form.Set("csrf_token", br.csrf)
	}
	req, _ := http.NewRequest("POST", br.b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return br.do(t, req)
}

// login signs the browser in as login and, as a browser would, loads the
// page the log-in sends it to, whose forms carry the log-in's token.
func (br *browser) login(t testing.TB, login, pw string) {
	t.Helper()
	br.get(t, "/login")
	p := br.post(t, "/login", url.Values{"login": {login}, "password": {pw}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("log-in as %s: status %d\n%s", login, p.status, p.body)
	}
	br.get(t, p.header.Get("Location"))
}

// mailTo waits for n mails and returns the last one to to.
func (b *bundle) mailTo(t testing.TB, n int, to string) smtptest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := b.smtp.Wait(ctx, n)
	if err != nil {
		t.Fatalf("mail %d never came: %v", n, err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if slices.Contains(msgs[i].To, to) {
			return msgs[i]
		}
	}
	t.Fatalf("no mail to %s", to)
	return smtptest.Message{}
}

// link finds the link to a page of usher's in a mail.
func (b *bundle) link(t testing.TB, m smtptest.Message, path string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(b.srv.URL+path) + `\?\S+`)
	l := re.FindString(m.Body)
	if l == "" {
		t.Fatalf("no link to %s in the mail:\n%s", path, m.Body)
	}
	return strings.TrimPrefix(l, b.srv.URL)
}

func mustContain(t testing.TB, p page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Fatalf("status %d: the page lacks %q:\n%s", p.status, w, p.body)
		}
	}
}

// TestAccountJourney is a person's story over HTTP: sign up, confirm by
// the mail's link, log in, change the password, end another session,
// create and revoke a token.
func TestAccountJourney(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			accountJourney(t, setupOn(t, pg))
		})
	}
}

// accountJourney is TestAccountJourney on b.
func accountJourney(t *testing.T, b *bundle) {
	t.Helper()
	br := b.browser(t)
	br.get(t, "/signup")
	p := br.post(t, "/signup", url.Values{"username": {"dana"}, "email": {"dana@example.com"}, "password": {password}, "name": {"Dana"}})
	if p.status != http.StatusOK {
		t.Fatalf("sign-up: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "Check your mail")
	link := b.link(t, b.mailTo(t, 1, "dana@example.com"), "/confirm")
	p = br.get(t, link)
	mustContain(t, p, `name="code" value="`)
	code := regexp.MustCompile(`name="code" value="([^"]+)"`).FindStringSubmatch(p.body)[1]
	p = br.post(t, "/confirm", url.Values{"code": {code}})
	mustContain(t, p, "Your e-mail address is confirmed")

	other := b.browser(t)
	other.login(t, "dana", password)
	br.login(t, "dana@example.com", password)
	mustContain(t, br.get(t, "/"), "You are signed in as <strong>dana</strong>")

	br.get(t, "/account/password")
	p = br.post(t, "/account/password", url.Values{"current_password": {"wrong wrong wrong wrong"}, "new_password": {"dana's new passphrase"}})
	if p.status < 400 {
		t.Fatalf("a wrong current password: status %d", p.status)
	}
	p = br.post(t, "/account/password", url.Values{"current_password": {password}, "new_password": {"dana's new passphrase"}})
	mustContain(t, p, "Your password is changed.")

	// The other browser's session: changing the password may have ended it
	// already; either way ending every other one leaves it signed out.
	br.get(t, "/account/sessions")
	p = br.post(t, "/account/sessions/end-others", url.Values{})
	mustContain(t, p, "Every other session is ended.", "This browser")
	if p := other.get(t, "/account"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login") {
		t.Fatalf("the ended session still works: %d %s", p.status, p.header.Get("Location"))
	}

	br.get(t, "/account/tokens")
	p = br.post(t, "/account/tokens", url.Values{"name": {"ci"}, "scopes": {"read_api"}, "expires_days": {"30"}})
	mustContain(t, p, "Copy it now", `id="secret" value="`)
	secret := regexp.MustCompile(`id="secret" value="([^"]+)"`).FindStringSubmatch(p.body)[1]
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), secret); err != nil {
		t.Fatalf("the new token does not work: %v", err)
	}
	id := regexp.MustCompile(`/account/tokens/(\d+)/revoke`).FindStringSubmatch(p.body)[1]
	p = br.post(t, "/account/tokens/"+id+"/revoke", url.Values{})
	mustContain(t, p, "The token is revoked.")
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), secret); err == nil {
		t.Fatal("the revoked token still works")
	}
}

// TestForgotPassword: the same answer for any address; the mail's link
// sets a new password, and a refused password does not use the link up.
func TestForgotPassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	br.get(t, "/forgot-password")
	unknown := br.post(t, "/forgot-password", url.Values{"email": {"nobody@example.com"}})
	known := br.post(t, "/forgot-password", url.Values{"email": {"plain@example.com"}})
	if unknown.status != http.StatusOK || unknown.body != known.body {
		t.Fatalf("the answers differ: %d %d\n%s\n%s", unknown.status, known.status, unknown.body, known.body)
	}
	link := b.link(t, b.mailTo(t, 1, "plain@example.com"), "/reset-password")
	p := br.get(t, link)
	token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(p.body)[1]
	p = br.post(t, "/reset-password", url.Values{"token": {token}, "password": {"x"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("a short password: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, `name="ticket"`)
	ticket := regexp.MustCompile(`name="ticket" value="([^"]+)"`).FindStringSubmatch(p.body)[1]
	p = br.post(t, "/reset-password", url.Values{"ticket": {ticket}, "password": {"plain's new passphrase"}})
	mustContain(t, p, "Your password is changed.")
	br.login(t, "plain", "plain's new passphrase")
}

// TestFormsRefuseOtherSites: a post from another site's page, or without
// the form's token, changes nothing.
func TestFormsRefuseOtherSites(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"other origin", url.Values{}, []string{"Origin", "https://evil.example"}},
		{"cross-site fetch", url.Values{}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"no token", url.Values{"csrf_token": {"-"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := b.browser(t)
			br.get(t, "/login")
			tt.form.Set("login", "plain")
			tt.form.Set("password", password)
			p := br.post(t, "/login", tt.form, tt.header...)
			if p.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403\n%s", p.status, p.body)
			}
			mustContain(t, p, "did not come from this site")
		})
	}
}

// TestReturnTo: a log-in returns only to usher's own pages.
func TestReturnTo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct{ returnTo, want string }{
		{"/account/tokens", "/account/tokens"},
		{"https://evil.example/x", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"", "/"},
		{"/v1/auth/oauth/corp/start", "/"},
		{"/v1/me", "/"},
		{"/account/../v1/me", "/"},
		{"/%761/me", "/"},
		{"/v1", "/"},
		{"/v1x", "/v1x"},
	}
	for _, tt := range tests {
		br := b.browser(t)
		br.get(t, "/login")
		p := br.post(t, "/login", url.Values{"login": {"plain"}, "password": {password}, "return_to": {tt.returnTo}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != tt.want {
			t.Errorf("return_to %q: %d to %q, want %q", tt.returnTo, p.status, p.header.Get("Location"), tt.want)
		}
	}
}

// TestLoginFailureSaysNothing: a wrong password and an unknown account
// get the same page.
func TestLoginFailureSaysNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	br.get(t, "/login")
	wrong := br.post(t, "/login", url.Values{"login": {"plain"}, "password": {"not the password at all"}})
	unknown := br.post(t, "/login", url.Values{"login": {"nobody"}, "password": {"not the password at all"}})
	if wrong.status != http.StatusUnauthorized || wrong.status != unknown.status {
		t.Fatalf("statuses %d and %d", wrong.status, unknown.status)
	}
	if strings.ReplaceAll(wrong.body, "plain", "nobody") != unknown.body {
		t.Fatalf("the pages differ:\n%s\n%s", wrong.body, unknown.body)
	}
}

// TestDisplayNameIsText: markup in a name is shown, never run.
func TestDisplayNameIsText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "mallory", Email: "m@example.com",
		Name: `<script>alert(1)</script>`, Password: password})
	br := b.browser(t)
	br.login(t, "plain", password)
	p := br.get(t, "/u/mallory")
	if p.status != http.StatusOK || strings.Contains(p.body, "<script>alert") {
		t.Fatalf("status %d:\n%s", p.status, p.body)
	}
	mustContain(t, p, "&lt;script&gt;alert(1)&lt;/script&gt;")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTheme: a theme directory's files replace the built-in ones of the
// same name, and the others stay.
func TestTheme(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"static/style.css":     "body { background: black; }",
		"templates/login.html": `{{define "content"}}<p>Welcome to Example Corp.</p>{{end}}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := coretest.New(t, coretest.Options{})
	mux := http.NewServeMux()
	(&pages.Handler{Users: env.Core.Users, Auth: env.Core.Auth, Log: slog.New(slog.DiscardHandler), ThemeDir: dir}).Mount(mux)
	srv := httptest.NewServer(web.Middleware(mux, slog.New(slog.DiscardHandler), web.NewMetrics(prometheus.NewRegistry()), nil))
	t.Cleanup(srv.Close)
	b := &bundle{srv: srv}
	br := b.browser(t)
	mustContain(t, br.get(t, "/login"), "Welcome to Example Corp.", "<h1>Log in</h1>")
	mustContain(t, br.get(t, "/static/style.css"), "background: black")
	mustContain(t, br.get(t, "/static/usher.js"), "DOMContentLoaded")
	mustContain(t, br.get(t, "/forgot-password"), `name="email"`)
}

// TestSessionCookieNotShadowed: over HTTPS the session cookie is a
// __Host- cookie, which a browser takes only from usher's own host. A
// cookie of the plain name that a sibling host sets for the parent domain
// (which a browser sends first, for a longer path) neither stands in for
// it nor, alone, signs the browser in: before, the pages read the first
// usher_session sent, and an attacker signed a victim's browser in to
// the attacker's account, where what the victim then typed went.
func TestSessionCookieNotShadowed(t *testing.T) {
	t.Parallel()
	b := setupServer(t, coretest.Options{}, true)
	site, err := url.Parse(b.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var name string // the session cookie's
	session := func(login string) string {
		br := b.browser(t)
		br.login(t, login, password)
		for _, c := range br.client.Jar.Cookies(site) {
			if strings.HasSuffix(c.Name, "usher_session") {
				name = c.Name
				return c.Value
			}
		}
		t.Fatalf("no session cookie after %s's log-in", login)
		return ""
	}
	attacker, victim := session("plain"), session("root")
	tests := []struct {
		name   string
		cookie string
		status int
		as     string
	}{
		{"the victim's own", name + "=" + victim, http.StatusOK, "root"},
		{"a planted one sent first", "usher_session=" + attacker + "; " + name + "=" + victim, http.StatusOK, "root"},
		{"a planted one alone", "usher_session=" + attacker, http.StatusSeeOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", b.srv.URL+"/account", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Cookie", tt.cookie)
			p := b.browser(t).do(t, req) // a browser with no cookie of its own
			if p.status != tt.status || strings.Contains(p.body, `href="/account">plain<`) ||
				(tt.as != "" && !strings.Contains(p.body, `href="/account">`+tt.as+`<`)) {
				t.Fatalf("status %d, want %d signed in as %q\n%.600s", p.status, tt.status, tt.as, p.body)
			}
		})
	}
	if name != "__Host-usher_session" {
		t.Fatalf("over HTTPS the session cookie is %s", name)
	}
}

// TestPlantedFormTokenAloneRefused replays over plain HTTP a form token a
// sibling host planted for the parent domain: usher's own token cookie
// ends with the browser while the log-in's cookie is kept, so after a
// restart a signed-in administrator's browser sent the planted one alone,
// and another site's page posting it (from a browser that sends no
// Origin, which the token is there for) blocked a user. A signed-in
// browser's forms carry a token made from its log-in now, which changes
// with each log-in.
func TestPlantedFormTokenAloneRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	site, err := url.Parse(b.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	admin := b.browser(t)
	admin.get(t, "/login")
	anonymous := admin.csrf
	admin.login(t, "root", password)
	var session *http.Cookie
	for _, c := range admin.client.Jar.Cookies(site) {
		if c.Name == "usher_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie after the log-in")
	}
	planted := strings.Repeat("A", 43)
	req, _ := http.NewRequest("POST", b.srv.URL+"/admin/users/"+itoa(b.user.ID)+"/block",
		strings.NewReader(url.Values{"csrf_token": {planted}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "usher_session="+session.Value+"; usher_form="+planted)
	req.Header.Set("Referer", "http://evil.example.test/page")
	p := b.browser(t).do(t, req) // the restarted browser: the log-in's cookie and the planted one
	u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: b.user.ID})
	if err != nil {
		t.Fatal(err)
	}
	if p.status != http.StatusForbidden || u.State == usher.StateBlocked {
		t.Fatalf("a post with a planted form token alone: status %d, the user %s", p.status, u.State)
	}
	// The administrator's own page's form still acts, and its token is
	// not the anonymous log-in form's.
	admin.get(t, "/admin/users/"+itoa(b.user.ID))
	if admin.csrf == anonymous {
		t.Errorf("the signed-in page's token is the log-in form's: %q", admin.csrf)
	}
	mustContain(t, admin.post(t, "/admin/users/"+itoa(b.user.ID)+"/block", url.Values{}), "The user is blocked")
	// The next log-in in the same browser has a token of its own.
	mine := admin.csrf
	admin.post(t, "/logout", url.Values{})
	admin.login(t, "root", password)
	admin.get(t, "/account")
	if admin.csrf == mine {
		t.Errorf("a new log-in's pages carry the last one's token %q", mine)
	}
}

// TestLogoutAfterSessionEndedElsewhere: a log-out page shown while
// signed in, posted after the person ended that session from another
// browser, still clears the cookies (a review of the form token made from
// the log-in found it refused: the token was the log-in's, the check the
// cookie's once the session signed no one in).
func TestLogoutAfterSessionEndedElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.browser(t)
	first.login(t, "plain", password)
	first.get(t, "/logout")
	second := b.browser(t)
	second.login(t, "plain", password)
	second.get(t, "/account/sessions")
	if p := second.post(t, "/account/sessions/end-others", url.Values{}); p.status != http.StatusOK {
		t.Fatalf("ending the other sessions: %d", p.status)
	}
	p := first.post(t, "/logout", url.Values{})
	cleared := slices.ContainsFunc(p.header.Values("Set-Cookie"), func(c string) bool { return strings.HasPrefix(c, "usher_session=;") })
	if p.status != http.StatusSeeOther || !cleared {
		t.Errorf("log-out after the session ended elsewhere: status %d, session cookie cleared %v\n%.300s", p.status, cleared, p.body)
	}
}

// TestImpersonatedPageNotPostedAsAnother replays a page an administrator
// saw while impersonating a user, posted once the impersonation had ended
// in another tab: its form token was the administrator's log-in's, so the
// user's "end every other session" ended the administrator's own. The
// token of a page shown during an impersonation is the impersonation's,
// and the other way round.
func TestImpersonatedPageNotPostedAsAnother(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.browser(t)
	other.login(t, "root", password)
	admin := b.browser(t)
	admin.login(t, "root", password)
	admin.get(t, "/account/sessions")
	adminsPage := admin.csrf
	admin.get(t, "/admin/users/"+itoa(b.user.ID))
	if p := admin.post(t, "/admin/users/"+itoa(b.user.ID)+"/impersonate", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("impersonate: %d", p.status)
	}
	mustContain(t, admin.get(t, "/account/sessions"), "plain")
	usersPage := admin.csrf
	// The administrator's page, still open from before, posted during the
	// impersonation.
	if p := admin.post(t, "/account/sessions/end-others", url.Values{"csrf_token": {adminsPage}}); p.status != http.StatusForbidden {
		t.Errorf("the administrator's page posted during the impersonation: %d", p.status)
	}
	admin.get(t, "/")
	if p := admin.post(t, "/impersonation/end", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("end impersonation: %d", p.status)
	}
	if p := admin.post(t, "/account/sessions/end-others", url.Values{"csrf_token": {usersPage}}); p.status != http.StatusForbidden {
		t.Errorf("the user's page posted after the impersonation ended: %d", p.status)
	}
	if p := other.get(t, "/admin/users"); p.status != http.StatusOK {
		t.Errorf("the administrator's other session after the user's page was posted: GET /admin/users %d", p.status)
	}
}

// TestTokenDaysPastTheYear10000: a token's lifetime in days that ends
// past the year 10000 is refused, and no token is made. 110,000,000 days
// made one expiring in the year 301,000, which the store wrapped round
// into the past: the page showed its secret, and it never worked.
func TestTokenDaysPastTheYear10000(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	br.login(t, "plain", password)
	for _, days := range []string{"110000000", "9223372036854775807"} {
		br.get(t, "/account/tokens")
		p := br.post(t, "/account/tokens", url.Values{"name": {"ci"}, "scopes": {"read_api"}, "expires_days": {days}})
		if strings.Contains(p.body, `id="secret"`) {
			t.Fatalf("%s days: a token's secret shown (status %d)", days, p.status)
		}
		mustContain(t, p, "must be before the year 10000")
	}
	if p := br.get(t, "/account/tokens"); regexp.MustCompile(`/account/tokens/\d+/revoke`).MatchString(p.body) {
		t.Fatalf("a token was made:\n%s", p.body)
	}
}
