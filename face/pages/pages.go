// Package pages is usher's face for people: server-rendered HTML pages to
// log in, sign up, confirm an address, reset a password, look after one's
// own account and, for administrators, everyone's. The pages work without
// JavaScript; a small script file only speeds some of them up. Like every
// face it only translates: the core decides.
package pages

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"usher"
	"usher/web"
)

// files holds the built-in templates and static files.
//
//go:embed templates static
var files embed.FS

// UserService is what the pages need of the core's users.
type UserService interface {
	Get(ctx context.Context, key usher.UserKey) (*usher.User, error)
	List(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error)
	Update(ctx context.Context, key usher.UserKey, in usher.UserUpdate) (*usher.User, error)
	Delete(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Undelete(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Block(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Unblock(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Suspend(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Unsuspend(ctx context.Context, key usher.UserKey) (*usher.User, error)
}

// AuthService is what the pages need of the core's authentication.
type AuthService interface {
	Authenticate(ctx context.Context, credential string, accept ...usher.TokenKind) (*usher.Principal, error)
	Signup(ctx context.Context, in usher.Signup) (*usher.User, error)
	Confirm(ctx context.Context, code string) (*usher.User, error)
	Login(ctx context.Context, login, password string) (*usher.Session, error)
	Logout(ctx context.Context) error
	Sessions(ctx context.Context) ([]*usher.Token, error)
	EndSession(ctx context.Context, id int64) error
	EndOtherSessions(ctx context.Context) (int, error)
	EndUserSessions(ctx context.Context, key usher.UserKey) (int, error)
	UserTokens(ctx context.Context, key usher.UserKey, kinds ...usher.TokenKind) ([]*usher.Token, error)
	RequestPasswordReset(ctx context.Context, email string) error
	ExchangeResetToken(ctx context.Context, token string) (*usher.ResetTicket, error)
	CompletePasswordReset(ctx context.Context, ticket, password string) error
	ChangePassword(ctx context.Context, current, password string) error
	Tokens(ctx context.Context, kinds ...usher.TokenKind) ([]*usher.Token, error)
	CreateToken(ctx context.Context, in usher.TokenCreate) (*usher.Token, string, error)
	RevokeToken(ctx context.Context, id int64) error
	Methods(ctx context.Context) []usher.LoginMethod
	Providers() []string
	Impersonate(ctx context.Context, key usher.UserKey, ttl time.Duration) (string, *usher.JWTClaims, *usher.User, error)
	EndImpersonation(ctx context.Context, jwt string) error
	CheckReturnTo(to string) error
}

// Handler serves the pages.
type Handler struct {
	Users   UserService
	Auth    AuthService
	Avatars AvatarService
	Emails  EmailService
	Keys    KeyService
	Groups  GroupService
	// Audit and Instance serve the console's audit log and settings.
	Audit    AuditService
	Instance InstanceService
	Log      *slog.Logger
	// Mail sends the console's test mail; MailConfig is the mail
	// configuration its settings page shows.
	Mail       MailService
	MailConfig MailConfig

	// Apps, Orgs and Bulk serve the console's applications and
	// organisations, and its import and export of users.
	Apps AppService
	Orgs OrgService
	Bulk BulkService

	// SecureCookies marks cookies Secure: usher is reached over HTTPS.
	SecureCookies bool
	// PublicURL is where usher is reached from outside; a form's post must
	// come from its origin.
	PublicURL string
	// ThemeDir, when set, is a directory whose templates/*.html and
	// static/* files take the place of the built-in ones of the same name.
	ThemeDir string

	origin *web.Origin
	form   web.FormToken
	pages  map[string]*template.Template
	// bufs holds the buffers pages are rendered into (render).
	bufs sync.Pool
}

// route is one page.
type route struct {
	method, pattern string
	handle          web.Handler
}

func (h *Handler) routes() []route {
	return []route{
		{"GET", "/{$}", h.home},
		{"GET", "/login", h.loginPage},
		{"POST", "/login", h.login},
		{"GET", "/login/failed", h.loginFailed},
		{"GET", "/signup", h.signupPage},
		{"POST", "/signup", h.signup},
		{"GET", "/confirm", h.confirmPage},
		{"POST", "/confirm", h.confirm},
		{"GET", "/forgot-password", h.forgotPage},
		{"POST", "/forgot-password", h.forgot},
		{"GET", "/reset-password", h.resetPage},
		{"POST", "/reset-password", h.reset},
		{"GET", "/logout", h.logoutPage},
		{"POST", "/logout", h.logout},
		{"GET", "/device", h.device},
		{"GET", "/device/done", h.deviceDone},
		{"GET", "/u/{username}", h.profile},

		{"GET", "/account", h.accountPage},
		{"POST", "/account", h.updateAccount},
		{"POST", "/account/avatar", h.setAvatar},
		{"GET", "/account/emails", h.emailsPage},
		{"POST", "/account/emails", h.addEmail},
		{"POST", "/account/emails/{id}/delete", h.deleteEmail},
		{"POST", "/account/emails/{id}/primary", h.makePrimary},
		{"GET", "/account/keys", h.keysPage},
		{"POST", "/account/keys", h.addKey},
		{"POST", "/account/keys/{id}/delete", h.deleteKey},
		{"GET", "/account/teams", h.teamsPage},
		{"GET", "/account/password", h.passwordPage},
		{"POST", "/account/password", h.changePassword},
		{"GET", "/account/sessions", h.sessionsPage},
		{"POST", "/account/sessions/{id}/end", h.endSession},
		{"POST", "/account/sessions/end-others", h.endOtherSessions},
		{"GET", "/account/tokens", h.tokensPage},
		{"POST", "/account/tokens", h.createToken},
		{"POST", "/account/tokens/{id}/revoke", h.revokeToken},

		{"GET", "/admin", h.adminHome},
		{"GET", "/admin/users", h.adminUsers},
		{"GET", "/admin/users/{id}", h.adminUser},
		{"POST", "/admin/users/{id}/{action}", h.adminUserAction},
		{"POST", "/admin/users/{id}/impersonate", h.impersonate},
		{"POST", "/admin/users/{id}/edit", h.editUser},
		{"POST", "/impersonation/end", h.stopImpersonating},
		{"GET", "/admin/groups", h.adminGroups},
		{"POST", "/admin/groups", h.createGroup},
		{"GET", "/admin/groups/{id}", h.adminGroup},
		{"POST", "/admin/groups/{id}/delete", h.deleteGroup},
		{"POST", "/admin/groups/{id}/undelete", h.undeleteGroup},
		{"POST", "/admin/groups/{id}/members", h.setMember},
		{"POST", "/admin/groups/{id}/members/{uid}/remove", h.removeMember},
		{"POST", "/admin/groups/{id}/members/{uid}/level", h.setMemberLevel},
		{"POST", "/admin/groups/{id}/rules", h.addRule},
		{"POST", "/admin/groups/{id}/rules/remove", h.removeRule},
		{"POST", "/admin/groups/{id}/accounts", h.createAccount},
		{"GET", "/admin/groups/{id}/accounts/{uid}", h.adminAccount},
		{"POST", "/admin/groups/{id}/accounts/{uid}/tokens", h.createAccountToken},
		{"POST", "/admin/groups/{id}/accounts/{uid}/tokens/{tid}/revoke", h.revokeAccountToken},
		{"GET", "/admin/orgs", h.adminOrgs},
		{"GET", "/admin/apps", h.adminApps},
		{"POST", "/admin/apps", h.createApp},
		{"POST", "/admin/apps/{id}/{action}", h.appAction},
		{"GET", "/admin/import", h.importPage},
		{"POST", "/admin/import", h.startImport},
		{"GET", "/admin/import/{job}", h.importJob},
		{"POST", "/admin/export", h.export},
		{"GET", "/admin/settings", h.adminSettings},
		{"POST", "/admin/settings", h.saveSettings},
		{"POST", "/admin/settings/mail-test", h.testMail},
		{"GET", "/admin/audit", h.adminAudit},
	}
}

// Mount registers the pages and the static files on mux. It panics when a
// template does not parse: a theme that breaks a page is found at start.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.origin = web.NewOrigin(h.PublicURL)
	h.form = web.FormToken{}
	fsys := overlay{base: files}
	if h.ThemeDir != "" {
		fsys.top = os.DirFS(h.ThemeDir)
	}
	pages, err := parsePages(fsys)
	if err != nil {
		panic(err)
	}
	h.pages = pages
	for _, rt := range h.routes() {
		mux.Handle(rt.method+" "+rt.pattern, h.authenticate(web.Adapt(rt.handle, h.writeError)))
	}
	static, _ := fs.Sub(fsys, "static")
	mux.Handle("GET /static/", h.headers(http.StripPrefix("/static/", http.FileServerFS(static))))
}

// overlay is a file system whose top layer, when set, hides the files of
// the same name in base.
type overlay struct {
	top, base fs.FS
}

// Open opens name from the top layer, or else from base.
func (o overlay) Open(name string) (fs.File, error) {
	if o.top != nil {
		if f, err := o.top.Open(name); err == nil {
			return f, nil
		}
	}
	return o.base.Open(name)
}

// parsePages parses each page's template together with the layout.
func parsePages(fsys fs.FS) (map[string]*template.Template, error) {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"when": func(t *time.Time) string {
			if t == nil {
				return "never"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"date":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"pair":    func(v view, name string) actionRef { return actionRef{V: v, Name: name} },
		"actions": appButtons,
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template)
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(fsys, n)
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// view is what every page's template is given.
type view struct {
	Title string
	// Me is the signed-in person; nil when nobody is.
	Me *usher.User
	// Impersonator is the administrator acting as Me, when one is.
	Impersonator *usher.User
	// CSRF is the token every form carries.
	CSRF   string
	Error  string
	Notice string
	// Fields holds the problems with each form field, by name.
	Fields map[string]string
	// Data is the page's own.
	Data any
	// Refresh, when not 0, has the page reload itself after that many
	// seconds when script is off (usher.js does it otherwise).
	Refresh int
}

// actionRef is a page's view with the name of one of its actions, for a
// template that renders an action's button.
type actionRef struct {
	V    view
	Name string
}

// headers sets what every answer of the pages carries: no inline script,
// no framing, no referrer to other sites (a reset link's token stays on
// usher's pages).
func (h *Handler) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w)
		next.ServeHTTP(w, r)
	})
}

func setHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer a browser sends
	// "Origin: null" on a form's post, which the origin check refuses.
	hd.Set("Referrer-Policy", "same-origin")
}

// render answers with the page name.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) error {
	t, ok := h.pages[name]
	if !ok {
		return errors.New("pages: no template " + name)
	}
	p := usher.PrincipalFrom(r.Context())
	if !p.Anonymous() {
		if v.Me == nil {
			v.Me = p.User
		}
		// The banner is on every page an administrator sees as a user.
		v.Impersonator = p.Impersonator
	}
	v.CSRF = h.form.Issue(w, r, h.secure(r), h.formLogIn(r))
	// The page is rendered into a buffer and written at once, with its
	// length: written straight to w, the template's many small writes
	// went out in chunks of 4 KiB, a write to the socket each; and a
	// template that fails now fails before the status is sent.
	buf, _ := h.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			h.bufs.Put(buf)
		}
	}()
	if err := t.ExecuteTemplate(buf, "layout", v); err != nil {
		return err
	}
	setHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// secure reports whether cookies go out marked Secure.
func (h *Handler) secure(r *http.Request) bool {
	return h.SecureCookies || usher.RequestFrom(r.Context()).Secure
}

// session is the cookie of a log-in: the native API's, so that a person
// signed in on the pages is signed in to the API their pages' scripts call.
func (h *Handler) session() web.SessionCookie {
	return web.SessionCookie{Name: "usher_session", Path: "/", Secure: h.SecureCookies, Host: true}
}

// authenticate puts the principal of the session cookie, when it is a
// valid one, into the request context; an impersonation's cookie, while
// valid and made by the administrator the session cookie signs in, comes
// first. A stale cookie is ignored, and so is an impersonation beside
// anyone else's session: another person logged in since in this browser.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var session *usher.Principal
		if secret := h.session().Read(r); secret != "" {
			if p, err := h.Auth.Authenticate(r.Context(), secret, usher.TokenSession); err == nil {
				session = p
			}
		}
		if jwt := h.impersonation().Read(r); jwt != "" && session != nil {
			if p, err := h.Auth.Authenticate(r.Context(), jwt, usher.TokenJWT); err == nil && p.Impersonator != nil &&
				p.Impersonator.ID == session.UserID() {
				session = p
			}
		}
		if session != nil {
			r = r.WithContext(usher.WithPrincipal(r.Context(), session))
		}
		next.ServeHTTP(w, r)
	})
}

// checkForm refuses a post that did not come from one of usher's own
// pages: its Origin must be the public URL's and its CSRF token the one
// its cookie holds. It parses the form.
func (h *Handler) checkForm(r *http.Request) error {
	if err := h.origin.Check(r); err != nil {
		return err
	}
	if err := r.ParseMultipartForm(8 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return web.Invalid("", usher.CodeMalformedForm, "the form could not be read")
	}
	if !h.form.Verify(r, h.secure(r), h.formLogIn(r), r.PostForm.Get("csrf_token")) {
		return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeCrossOrigin,
			Message: "this form has expired or did not come from this site; reload the page and try again"}
	}
	return nil
}

// formLogIn is what a form's token is made from (web.FormToken): the
// session cookie's secret, whether or not it still signs anyone in (a
// log-out after the session ended elsewhere still clears the cookies;
// whatever else such a post asks is asked of no one), and, while an
// impersonation acts, the impersonation's cookie beside it: a page shown
// as the user and posted once the impersonation has ended would act as the
// administrator, and one shown as the administrator would act as the user.
func (h *Handler) formLogIn(r *http.Request) string {
	session := h.session().Read(r)
	if session == "" {
		return ""
	}
	if usher.PrincipalFrom(r.Context()).Impersonator != nil {
		return session + "\x00" + h.impersonation().Read(r)
	}
	return session
}

// signedIn returns the signed-in principal, or sends the browser to log in
// and returns nil.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) *usher.Principal {
	p := usher.PrincipalFrom(r.Context())
	if p.Anonymous() {
		http.Redirect(w, r, "/login?return_to="+urlQuery(r.URL.RequestURI()), http.StatusSeeOther)
		return nil
	}
	return p
}

// statuses maps each error kind to the pages' status code.
var statuses = map[usher.Kind]int{
	usher.KindInternal:        http.StatusInternalServerError,
	usher.KindInvalid:         http.StatusBadRequest,
	usher.KindUnauthenticated: http.StatusUnauthorized,
	usher.KindForbidden:       http.StatusForbidden,
	usher.KindNotFound:        http.StatusNotFound,
	usher.KindConflict:        http.StatusConflict,
	usher.KindPrecondition:    http.StatusPreconditionFailed,
	usher.KindTooLarge:        http.StatusRequestEntityTooLarge,
	usher.KindUnprocessable:   http.StatusUnprocessableEntity,
	usher.KindRateLimited:     http.StatusTooManyRequests,
}

// writeError answers with the error page: the error's message, safe to
// show, never its cause.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := usher.AsError(err)
	if e.Kind == usher.KindUnauthenticated && r.Method == http.MethodGet && usher.PrincipalFrom(r.Context()).Anonymous() {
		// What the core shows only to someone signed in: sign in first.
		h.signedIn(w, r)
		return
	}
	web.LogError(h.Log, r, err)
	status := statuses[e.Kind]
	if s := web.Status(e); s != 0 {
		status = s
	}
	if e.Kind == usher.KindRateLimited {
		w.Header().Set("Retry-After", web.RetryAfter(e.RetryAfter))
	}
	if err := h.render(w, r, status, "error", view{Title: http.StatusText(status), Error: e.Message}); err != nil {
		web.LogError(h.Log, r, err)
	}
}

// formError renders the page name again with err's message and its field
// problems, for a form the core refused; other errors go to the error page.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, name string, v view, err error) error {
	if v.Error, v.Fields = fieldErrors(err); v.Error == "" {
		return err
	}
	e := usher.AsError(err)
	status := statuses[e.Kind]
	if e.Kind == usher.KindRateLimited {
		w.Header().Set("Retry-After", web.RetryAfter(e.RetryAfter))
	}
	return h.render(w, r, status, name, v)
}
