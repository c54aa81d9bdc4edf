// Package native is usher's own HTTP API under /v1: JSON in and out, errors
// as RFC 9457 problem details, cursor pagination. Like every face it only
// translates: the core decides.
package native

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"usher"
	"usher/web"
)

// UserService is what the face needs of the core's users.
type UserService interface {
	Create(ctx context.Context, in usher.UserCreate) (*usher.User, error)
	Get(ctx context.Context, key usher.UserKey) (*usher.User, error)
	List(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error)
	Update(ctx context.Context, key usher.UserKey, in usher.UserUpdate) (*usher.User, error)
	Delete(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Undelete(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Purge(ctx context.Context, key usher.UserKey) error
	Block(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Unblock(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Suspend(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Unsuspend(ctx context.Context, key usher.UserKey) (*usher.User, error)
}

// AuthService is what the face needs of the core's authentication.
type AuthService interface {
	Authenticate(ctx context.Context, token string) (*usher.Principal, error)
}

// AuditService is what the face needs of the core's audit log.
type AuditService interface {
	List(ctx context.Context, f usher.AuditFilter) (*usher.AuditPage, error)
}

// Handler serves the native API.
type Handler struct {
	Users UserService
	Auth  AuthService
	Audit AuditService
	Log   *slog.Logger

	docOnce sync.Once
	doc     []byte
	docErr  error
}

// route is one endpoint of the face.
type route struct {
	method, pattern string
	handle          web.Handler
}

func (h *Handler) routes() []route {
	return []route{
		{"POST", "/v1/users", h.createUser},
		{"GET", "/v1/users", h.listUsers},
		{"GET", "/v1/users/{user}", h.getUser},
		{"PATCH", "/v1/users/{user}", h.updateUser},
		{"DELETE", "/v1/users/{user}", h.userAction((UserService).Delete)},
		{"POST", "/v1/users/{user}/undelete", h.userAction((UserService).Undelete)},
		{"POST", "/v1/users/{user}/block", h.userAction((UserService).Block)},
		{"POST", "/v1/users/{user}/unblock", h.userAction((UserService).Unblock)},
		{"POST", "/v1/users/{user}/suspend", h.userAction((UserService).Suspend)},
		{"POST", "/v1/users/{user}/unsuspend", h.userAction((UserService).Unsuspend)},
		{"POST", "/v1/users/{user}/purge", h.purgeUser},
		{"GET", "/v1/audit", h.listAudit},
		{"GET", "/openapi.json", h.serveOpenAPI},
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

// Mount registers the face's endpoints on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	for _, r := range h.routes() {
		mux.Handle(r.method+" "+r.pattern, h.authenticate(web.Adapt(r.handle, h.writeError)))
	}
}

// authenticate puts the caller's principal into the request context. A
// request without a credential is anonymous and the core decides what it may
// do; a credential that is not valid is refused at once.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := web.BearerToken(r)
		if token == "" {
			next.ServeHTTP(w, r)
			return
		}
		p, err := h.Auth.Authenticate(r.Context(), token)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(usher.WithPrincipal(r.Context(), p)))
	})
}

// statuses maps each error kind to the face's status code.
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

// problem is an RFC 9457 problem detail with usher's extensions.
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail"`
	Code      string         `json:"code"`
	Errors    []problemField `json:"errors,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
}

type problemField struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError writes err as application/problem+json.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	web.LogError(h.Log, r, err)
	e := usher.AsError(err)
	status := statuses[e.Kind]
	p := problem{
		Type: "urn:usher:error:" + e.Code, Title: http.StatusText(status), Status: status,
		Detail: e.Message, Code: e.Code, RequestID: usher.RequestFrom(r.Context()).ID,
	}
	for _, f := range e.Fields {
		p.Errors = append(p.Errors, problemField(f))
	}
	switch e.Kind {
	case usher.KindUnauthenticated:
		w.Header().Set("WWW-Authenticate", `Bearer realm="usher"`)
	case usher.KindRateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((e.RetryAfter+time.Second-1)/time.Second))))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	_ = web.WriteJSON(w, status, p)
}

// userRef resolves the {user} path segment: digits are an id, anything else
// a username.
func (h *Handler) userRef(r *http.Request) (usher.UserKey, error) {
	ref := r.PathValue("user")
	if ref != "" && strings.Trim(ref, "0123456789") == "" {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil || id <= 0 {
			return usher.UserKey{}, web.Invalid("user", "invalid_id", "is not a valid user id")
		}
		return usher.UserKey{ID: id}, nil
	}
	return usher.UserKey{Username: ref}, nil
}
