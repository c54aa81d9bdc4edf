// Package lenses serves the Lenses HQ users API under /api/v1:
// name-keyed users, their profile, their groups (add, remove or set), the
// caller's own account, settings and sessions, and a password log-in that
// sets the session_id cookie. Callers bring a service-account or personal
// token as Authorization: Bearer, or the session_id cookie. Like every face
// it only translates: the core decides.
package lenses

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"usher"
	"usher/web"
)

// UserService is what the face needs of the core's users.
type UserService interface {
	Create(ctx context.Context, in usher.UserCreate) (*usher.User, error)
	Get(ctx context.Context, key usher.UserKey) (*usher.User, error)
	MeOfKinds(ctx context.Context, kinds []usher.UserKind) (*usher.User, error)
	List(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error)
	Update(ctx context.Context, key usher.UserKey, in usher.UserUpdate) (*usher.User, error)
	Delete(ctx context.Context, key usher.UserKey) (*usher.User, error)
}

// AuthService is what the face needs of the core's authentication.
type AuthService interface {
	Authenticate(ctx context.Context, credential string, accept ...usher.TokenKind) (*usher.Principal, error)
	Login(ctx context.Context, login, password string) (*usher.Session, error)
	EndSessions(ctx context.Context) (int, error)
}

// GroupService is what the face needs of the core's groups.
type GroupService interface {
	UserGroups(ctx context.Context, key usher.UserKey, kinds ...usher.GroupKind) ([]*usher.Membership, error)
	SetUserGroups(ctx context.Context, key usher.UserKey, in usher.GroupChanges) ([]*usher.Membership, error)
}

// SettingService is what the face needs of the core's user settings.
type SettingService interface {
	Get(ctx context.Context, key usher.UserKey) ([]usher.Setting, error)
	Update(ctx context.Context, key usher.UserKey, values map[string]json.RawMessage) ([]usher.Setting, error)
}

// Handler serves the Lenses HQ users API.
type Handler struct {
	Users    UserService
	Auth     AuthService
	Groups   GroupService
	Settings SettingService

	Log *slog.Logger
	// SecureCookies marks the session_id cookie Secure: usher is reached
	// over HTTPS, if not directly then through a proxy.
	SecureCookies bool
	// PublicURL is where usher is reached from outside. A browser's log-in,
	// and its changes made with the session_id cookie, must come from its
	// origin.
	PublicURL string

	origin *web.Origin
}

// prefix is where the Lenses HQ API lives.
const prefix = "/api/v1"

// route is one endpoint of the face. A public route needs no credential and
// ignores one: it is where credentials are made.
type route struct {
	method, pattern string
	handle          web.Handler
	public          bool
}

func (h *Handler) routes() []route {
	return []route{
		{"GET", prefix + "/users", h.listUsers, false},
		{"POST", prefix + "/users", h.createUser, false},
		{"GET", prefix + "/users/me", h.me, false},
		{"GET", prefix + "/users/me/settings", h.settings, false},
		{"PATCH", prefix + "/users/me/settings", h.updateSettings, false},
		{"DELETE", prefix + "/users/me/sessions", h.endSessions, false},
		{"GET", prefix + "/users/{name}", h.getUser, false},
		{"PATCH", prefix + "/users/{name}", h.updateUser, false},
		{"DELETE", prefix + "/users/{name}", h.deleteUser, false},
		{"PATCH", prefix + "/users/{name}/profile", h.updateProfile, false},
		{"PUT", prefix + "/users/{name}/groups", h.setGroups, false},
		{"POST", prefix + "/login", h.login, true},
	}
}

// Routes lists the face's endpoints as "METHOD /pattern".
func (h *Handler) Routes() []string {
	var out []string
	for _, r := range h.routes() {
		out = append(out, r.method+" "+r.pattern)
	}
	return out
}

// Mount registers the face's endpoints on mux, and a fallback that answers
// every other path under /api/v1 with a 404, or a 405 naming the methods
// the path is served with.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.origin = web.NewOrigin(h.PublicURL)
	for _, r := range h.routes() {
		handler := web.Adapt(r.handle, h.writeError)
		if !r.public {
			handler = h.authenticate(handler)
		}
		mux.Handle(r.method+" "+r.pattern, handler)
	}
	mux.Handle(prefix+"/", web.Fallback(h.Routes(), h.writeError))
}

// session is the session_id cookie, in which Lenses keeps its session; it
// is sent to the API only.
func (h *Handler) session() web.SessionCookie {
	return web.SessionCookie{Name: "session_id", Path: prefix, Secure: h.SecureCookies}
}

// authenticate puts the caller's principal into the request context. The
// credential is an Authorization: Bearer token — a service-account token,
// as Lenses documents, or a personal token — or else the session_id
// cookie, which must hold a session. Other credentials usher knows
// (application keys, JWTs, a session sent as a bearer token) are no Lenses
// credential and are refused like unknown ones. Lenses requires a
// credential on every endpoint but the log-in, and the core refuses an
// anonymous caller every one of them: a request without one is refused
// here, before its body is read, so that the answer is 401 whatever the
// body holds.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r)
		if err == nil && p == nil {
			err = errUnauthenticated()
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(usher.WithPrincipal(r.Context(), p)))
	})
}

// errUnauthenticated is the core's refusal of an anonymous caller.
func errUnauthenticated() error {
	return &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeUnauthenticated, Message: "authentication required"}
}

// principal returns who r comes from, or nil for nobody.
func (h *Handler) principal(r *http.Request) (*usher.Principal, error) {
	if token := web.BearerToken(r); token != "" {
		return h.Auth.Authenticate(r.Context(), token, usher.TokenServiceAccount, usher.TokenPersonal)
	}
	secret := h.session().Read(r)
	if secret == "" {
		return nil, nil
	}
	// A browser sends the cookie with requests other sites make it send:
	// changes by cookie must come from usher's own origin.
	if err := h.origin.Check(r); err != nil {
		return nil, err
	}
	return h.Auth.Authenticate(r.Context(), secret, usher.TokenSession)
}

// statuses maps each error kind to the face's status code. Lenses names no
// 422: a body that breaks a rule is a 400, like a malformed one.
var statuses = map[usher.Kind]int{
	usher.KindInternal:        http.StatusInternalServerError,
	usher.KindInvalid:         http.StatusBadRequest,
	usher.KindUnauthenticated: http.StatusUnauthorized,
	usher.KindForbidden:       http.StatusForbidden,
	usher.KindNotFound:        http.StatusNotFound,
	usher.KindConflict:        http.StatusConflict,
	usher.KindPrecondition:    http.StatusPreconditionFailed,
	usher.KindTooLarge:        http.StatusRequestEntityTooLarge,
	usher.KindUnprocessable:   http.StatusBadRequest,
	usher.KindRateLimited:     http.StatusTooManyRequests,
}

// errorJSON is the error body: code and message, which clients of usher
// read, with the fields of Lenses' own error object (hq_Error: type, title,
// status, invalid_fields, request_id) beside them.
type errorJSON struct {
	Code          string      `json:"code"`
	Message       string      `json:"message"`
	Type          string      `json:"type"`
	Title         string      `json:"title"`
	Status        int         `json:"status"`
	InvalidFields []fieldJSON `json:"invalid_fields,omitempty"`
	RequestID     string      `json:"request_id,omitempty"`
}

// fieldJSON is one entry of invalid_fields.
type fieldJSON struct {
	Name  string `json:"name"`
	Error string `json:"error"`
	Title string `json:"title"`
}

// writeError writes err as the face's error body. It is the one place the
// face turns error kinds into statuses.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	web.LogError(h.log(), r, err)
	e := usher.AsError(err)
	status, ok := statuses[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	body := errorJSON{Type: e.Kind.String(), Code: e.Code, Message: e.Message}
	if s := web.Status(e); s != 0 {
		// A refusal of the HTTP exchange is typed by its code, as no
		// kind describes it.
		status, body.Type = s, e.Code
	}
	for _, f := range e.Fields {
		body.InvalidFields = append(body.InvalidFields, fieldJSON{Name: f.Field, Error: f.Code, Title: f.Message})
	}
	switch e.Kind {
	case usher.KindUnauthenticated:
		w.Header().Set("WWW-Authenticate", `Bearer realm="lenses"`)
	case usher.KindRateLimited:
		w.Header().Set("Retry-After", web.RetryAfter(e.RetryAfter))
	}
	body.Status = status
	body.Title = body.Message
	body.RequestID = usher.RequestFrom(r.Context()).ID
	_ = web.WriteJSON(w, status, body)
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}
