// Package pterodactyl serves Pterodactyl's application API for users under
// /api/application: its request shapes, its Fractal representations
// ({"object":…,"attributes":…}), its page-numbered lists and its error
// bodies ({"errors":[{"code","status","detail","meta"}]}). Like every face it
// only translates: the core decides.
package pterodactyl

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"usher"
	"usher/web"
)

// UserService is what the face needs of the core's users.
type UserService interface {
	// MayCreate and MayUpdate say whether the caller may write users at
	// all, asked before a write's body is validated, as Pterodactyl
	// authorizes a form request before it validates it.
	MayCreate(ctx context.Context) error
	MayUpdate(ctx context.Context) error
	Create(ctx context.Context, in usher.UserCreate) (*usher.User, error)
	Get(ctx context.Context, key usher.UserKey) (*usher.User, error)
	List(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error)
	Update(ctx context.Context, key usher.UserKey, in usher.UserUpdate) (*usher.User, error)
	Delete(ctx context.Context, key usher.UserKey) (*usher.User, error)
}

// AuthService is what the face needs of the core's authentication.
type AuthService interface {
	Authenticate(ctx context.Context, credential string, accept ...usher.TokenKind) (*usher.Principal, error)
}

// Handler serves the Pterodactyl application API.
type Handler struct {
	Users UserService
	Auth  AuthService
	// BaseURL is where usher is reached from outside (the server's public
	// URL), for the absolute links in meta.resource and pagination. Empty,
	// links follow the scheme and Host header of each request.
	BaseURL string
	Log     *slog.Logger
}

// prefix is where the application API lives.
const prefix = "/api/application"

// route is one endpoint of the face.
type route struct {
	method, pattern string
	handle          web.Handler
}

func (h *Handler) routes() []route {
	return []route{
		{"GET", prefix + "/users", h.listUsers},
		{"GET", prefix + "/users/{id}", h.getUser},
		{"GET", prefix + "/users/external/{external_id}", h.getExternalUser},
		{"POST", prefix + "/users", h.createUser},
		{"PATCH", prefix + "/users/{id}", h.updateUser},
		{"DELETE", prefix + "/users/{id}", h.deleteUser},
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
// every other path under /api/application with Pterodactyl's 404 or 405.
func (h *Handler) Mount(mux *http.ServeMux) {
	for _, r := range h.routes() {
		mux.Handle(r.method+" "+r.pattern, h.authenticate(web.Adapt(r.handle, h.writeError)))
	}
	mux.Handle(prefix+"/", web.Fallback(h.Routes(), h.writeError))
}

// authenticate lets a request through only with an application key:
// "Authorization: Bearer ptla_…". Every other credential usher knows —
// personal tokens, sessions, JWTs, even one made with an application key —
// is no Pterodactyl credential, and the core answers it like an unknown
// key. A key whose owner is no longer an administrator is refused by the
// core (403).
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := web.BearerToken(r)
		if token == "" {
			h.writeError(w, r, errUnauthenticated())
			return
		}
		p, err := h.Auth.Authenticate(r.Context(), token, usher.TokenApplication)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(usher.WithPrincipal(r.Context(), p)))
	})
}

func errUnauthenticated() error {
	return &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeUnauthenticated, Message: "Unauthenticated."}
}

func errNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeNotFound, Message: "not found"}
}

// httpError is an answer of the face's own: one Pterodactyl error entry
// with its status, for refusals that are about this API's request shape
// rather than a rule of the core (an unknown filter, sort or include).
type httpError struct {
	status       int
	code, detail string
}

func (e *httpError) Error() string { return e.code + ": " + e.detail }

// badRequest returns a 400 answer with Pterodactyl's exception name code.
func badRequest(code, detail string) error {
	return &httpError{status: http.StatusBadRequest, code: code, detail: detail}
}

// violation is one failed validation rule, as Laravel reports it.
type violation struct {
	field, rule, detail string
}

// validationError is a 422 of the face's own: the request body or query
// does not have Pterodactyl's shape (a required field missing, a value of
// the wrong type, a bad page number).
type validationError []violation

func (e validationError) Error() string {
	var parts []string
	for _, v := range e {
		parts = append(parts, v.field+": "+v.rule)
	}
	return "validation failed: " + strings.Join(parts, ", ")
}

// errorEntry is one element of Pterodactyl's {"errors":[…]} body.
type errorEntry struct {
	Code   string     `json:"code"`
	Status string     `json:"status"`
	Detail string     `json:"detail"`
	Meta   *errorMeta `json:"meta,omitempty"`
}

type errorMeta struct {
	SourceField string `json:"source_field"`
	Rule        string `json:"rule"`
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

// kindAnswer is how one error kind is answered: the status, the Laravel or
// Symfony exception Pterodactyl would name, and the detail to show instead
// of the core's message ("" keeps the core's message).
type kindAnswer struct {
	status int
	code   string
	detail string
}

// answers maps each error kind to Pterodactyl's answer; a kind missing
// from it is answered as KindInternal. A conflict on a unique field is
// answered otherwise, in writeError: a 422 "unique" failure, as Laravel's
// validator reports it; and the codes in codeAnswers are answered as that
// table says.
var answers = map[usher.Kind]kindAnswer{
	usher.KindInternal: {http.StatusInternalServerError, "HttpException",
		"An unexpected error was encountered while processing this request, please try again."},
	usher.KindInvalid:         {http.StatusBadRequest, "BadRequestHttpException", ""},
	usher.KindUnauthenticated: {http.StatusUnauthorized, "AuthenticationException", "Unauthenticated."},
	usher.KindForbidden:       {http.StatusForbidden, "AccessDeniedHttpException", ""},
	usher.KindNotFound: {http.StatusNotFound, "NotFoundHttpException",
		"The requested resource could not be found on the server."},
	usher.KindConflict:      {http.StatusConflict, "ConflictHttpException", ""},
	usher.KindPrecondition:  {http.StatusPreconditionFailed, "PreconditionFailedHttpException", ""},
	usher.KindTooLarge:      {http.StatusRequestEntityTooLarge, "PostTooLargeException", ""},
	usher.KindUnprocessable: {http.StatusUnprocessableEntity, "ValidationException", ""},
	usher.KindRateLimited:   {http.StatusTooManyRequests, "ThrottleRequestsException", "Too Many Attempts."},
}

// lastOwnerDetail is the DisplayException message for a user the core will
// not delete because a team would be left without an owner.
const lastOwnerDetail = "Cannot delete a user who is the last owner of a team. Transfer ownership of " +
	"their teams or delete those teams before continuing."

// lastAdministratorDetail is the DisplayException message for a change the
// core refuses because no administrator would be left who may sign in.
const lastAdministratorDetail = "Cannot delete, suspend or demote the last administrator. Make another user an " +
	"administrator before continuing."

// laravelRule is the Laravel rule Pterodactyl names for a field problem,
// and its message after "The <attribute>" ("" keeps the core's message).
type laravelRule struct {
	rule, detail string
}

// codeAnswer is how Pterodactyl answers one of the core's codes.
type codeAnswer struct {
	// conflict replaces the kind's answer to a conflict with the code.
	conflict *kindAnswer
	// laravelRule is the rule a field problem with the code breaks ("" keeps
	// the core's code with Pterodactyl's "p_" prefix for its own rules).
	laravelRule
	// fields are the rules of the fields whose rule differs.
	fields map[string]laravelRule
}

// codeAnswers is the face's one table of the core's codes: those it answers
// in Pterodactyl's words. Other codes are answered by their kind, or, of a
// field, as a rule of Pterodactyl's own.
var codeAnswers = map[string]codeAnswer{
	// The user is not deleted: Pterodactyl's DisplayException.
	usher.CodeLastTeamOwner: {conflict: &kindAnswer{http.StatusBadRequest, "DisplayException", lastOwnerDetail}},
	// The last administrator is kept: as a refused deletion is answered.
	usher.CodeLastAdministrator: {conflict: &kindAnswer{http.StatusBadRequest, "DisplayException", lastAdministratorDetail}},

	usher.CodeRequired: {laravelRule: laravelRule{"required", " field is required."}},
	usher.CodeTaken:    {laravelRule: laravelRule{"unique", " has already been taken."}},
	// Pterodactyl validates these fields with between:1,191, so a value too
	// long breaks "between"; other lengths are "max".
	usher.CodeTooLong: {laravelRule: laravelRule{rule: "max"}, fields: map[string]laravelRule{
		"email": {rule: "between"}, "username": {rule: "between"},
		"first_name": {rule: "between"}, "last_name": {rule: "between"},
	}},
	usher.CodeTooShort:    {laravelRule: laravelRule{rule: "min"}},
	usher.CodeInvalidUTF8: {laravelRule: laravelRule{"string", " must be a string."}},
	usher.CodeInvalid: {fields: map[string]laravelRule{
		"email":    {"email", " must be a valid email address."},
		"username": {rule: "p_username"},
		"language": {rule: "in"},
	}},
}

// writeError writes err as Pterodactyl's error body. It is the one place
// the face turns errors into statuses.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	web.LogError(log, r, err)
	var he *httpError
	var ve validationError
	status, body := 0, errorBody{}
	switch {
	case errors.As(err, &he):
		status = he.status
		body.Errors = []errorEntry{{Code: he.code, Detail: he.detail}}
	case errors.As(err, &ve):
		status = http.StatusUnprocessableEntity
		body.Errors = validationEntries(ve)
	default:
		e := usher.AsError(err)
		a, ok := answers[e.Kind]
		if !ok {
			a = answers[usher.KindInternal]
		}
		switch {
		case web.Status(e) == http.StatusMethodNotAllowed:
			// Laravel's router words it with the methods the route takes,
			// which the fallback has put in Allow.
			a = kindAnswer{http.StatusMethodNotAllowed, "MethodNotAllowedHttpException",
				"The " + r.Method + " method is not supported for this route. Supported methods: " +
					w.Header().Get("Allow") + "."}
		case web.Status(e) == http.StatusUnsupportedMediaType:
			a = kindAnswer{http.StatusUnsupportedMediaType, "UnsupportedMediaTypeHttpException", ""}
		case e.Kind == usher.KindConflict && codeAnswers[e.Code].conflict != nil:
			a = *codeAnswers[e.Code].conflict
		case (e.Kind == usher.KindConflict || e.Kind == usher.KindUnprocessable) && len(e.Fields) > 0:
			a = answers[usher.KindUnprocessable]
			body.Errors = validationEntries(coreViolations(e.Fields))
		}
		status = a.status
		if body.Errors == nil {
			detail := a.detail
			if detail == "" {
				detail = e.Message
			}
			body.Errors = []errorEntry{{Code: a.code, Detail: detail}}
		}
		switch e.Kind {
		case usher.KindUnauthenticated:
			w.Header().Set("WWW-Authenticate", `Bearer realm="pterodactyl"`)
		case usher.KindRateLimited:
			w.Header().Set("Retry-After", web.RetryAfter(e.RetryAfter))
		}
	}
	for i := range body.Errors {
		body.Errors[i].Status = strconv.Itoa(status)
	}
	_ = web.WriteJSON(w, status, body)
}

// validationEntries turns violations into ValidationException entries, one
// per failed rule.
func validationEntries(vs []violation) []errorEntry {
	out := make([]errorEntry, 0, len(vs))
	for _, v := range vs {
		out = append(out, errorEntry{Code: "ValidationException", Detail: v.detail,
			Meta: &errorMeta{SourceField: v.field, Rule: v.rule}})
	}
	return out
}

// attributeNames are the names Pterodactyl's StoreUserRequest (and
// UpdateUserRequest, which extends it) gives fields in its messages
// (attributes()); its names for name_first and name_last match no field of
// the request, so first_name and last_name keep Laravel's own.
var attributeNames = map[string]string{
	"external_id": "Third Party Identifier",
	"root_admin":  "Root Administrator Status",
}

// attribute is a field's name as Laravel's messages spell it: the request's
// name for it, or else the field with spaces for underscores.
func attribute(field string) string {
	if name, ok := attributeNames[field]; ok {
		return name
	}
	return strings.ReplaceAll(field, "_", " ")
}

// coreViolations translates the core's field problems into Laravel rule
// names. A problem no Laravel rule describes keeps the core's code with
// Pterodactyl's "p_" prefix for its own rules.
func coreViolations(fields []usher.FieldError) []violation {
	out := make([]violation, 0, len(fields))
	for _, f := range fields {
		attr := attribute(f.Field)
		v := violation{field: f.Field, rule: "p_" + f.Code, detail: "The " + attr + " " + f.Message + "."}
		c := codeAnswers[f.Code]
		r, ok := c.fields[f.Field]
		if !ok {
			r = c.laravelRule
		}
		if r.rule != "" {
			v.rule = r.rule
		}
		if r.detail != "" {
			v.detail = "The " + attr + r.detail
		}
		out = append(out, v)
	}
	return out
}
