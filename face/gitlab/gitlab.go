// Package gitlab serves GitLab's users API (its Users API documentation) under /api/v4 and,
// identically, under /api/v3: GitLab's credentials (PRIVATE-TOKEN, the
// private_token parameter, Authorization: Bearer, Sudo), its parameters as
// JSON, form or query, its user representations, its page-numbered lists
// with X-Total/X-Next-Page/Link headers and its error bodies. Like every
// face it only translates: the core decides.
package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"usher"
	"usher/web"
)

// UserService is what the face needs of the core's users.
type UserService interface {
	Create(ctx context.Context, in usher.UserCreate) (*usher.User, error)
	Get(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Me(ctx context.Context) (*usher.User, error)
	List(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error)
	Update(ctx context.Context, key usher.UserKey, in usher.UserUpdate) (*usher.User, error)
	DeleteWith(ctx context.Context, key usher.UserKey, in usher.UserDelete) (*usher.User, error)
	Block(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Unblock(ctx context.Context, key usher.UserKey) (*usher.User, error)
	// View says how much of a user the caller may see, which picks
	// GitLab's representation.
	View(ctx context.Context, u *usher.User) usher.UserView
}

// AuthService is what the face needs of the core's authentication.
type AuthService interface {
	Authenticate(ctx context.Context, credential string, accept ...usher.TokenKind) (*usher.Principal, error)
	Sudo(ctx context.Context, key usher.UserKey) (*usher.Principal, error)
}

// KeyService is what the face needs of the core's SSH keys.
type KeyService interface {
	Add(ctx context.Context, key usher.UserKey, title, text string, expires *time.Time) (*usher.SSHKey, error)
	List(ctx context.Context, key usher.UserKey) ([]*usher.SSHKey, error)
	Get(ctx context.Context, key usher.UserKey, id int64) (*usher.SSHKey, error)
	Delete(ctx context.Context, key usher.UserKey, id int64) error
}

// EmailService is what the face needs of the core's secondary addresses.
type EmailService interface {
	Add(ctx context.Context, key usher.UserKey, addr string, skipConfirmation bool) (*usher.Email, error)
	List(ctx context.Context, key usher.UserKey) ([]*usher.Email, error)
	Get(ctx context.Context, key usher.UserKey, id int64) (*usher.Email, error)
	Delete(ctx context.Context, key usher.UserKey, id int64) error
}

// Handler serves GitLab's users API.
type Handler struct {
	Users  UserService
	Auth   AuthService
	Keys   KeyService
	Emails EmailService
	// BaseURL is where usher is reached from outside (the policy's public
	// URL), for avatar_url, web_url and the Link header. Empty means the
	// scheme and host of each request.
	BaseURL string
	Log     *slog.Logger
}

// versions are the API prefixes served; both answer alike.
var versions = []string{"/api/v4", "/api/v3"}

// handler is an endpoint of the face: it gets the request's parameters,
// already read from the query and the body.
type handler func(w http.ResponseWriter, r *http.Request, in *params) error

// route is one endpoint of the face. taken says how a Conflict is answered:
// GitLab answers a taken username or e-mail of a user with 409 and a
// sentence, but a taken SSH key or secondary address with 400 and the
// per-field message hash.
type route struct {
	method, pattern string
	handle          handler
	taken           conflictStyle
}

// conflictStyle is how a route answers a Conflict.
type conflictStyle uint8

const (
	takenSentence conflictStyle = iota // 409 {"message":"Email has already been taken"}
	takenFields                        // 400 {"message":{"email":["has already been taken"]}}
)

func (h *Handler) routes() []route {
	return []route{
		{"GET", "/users", h.listUsers, takenSentence},
		{"POST", "/users", h.createUser, takenSentence},
		{"GET", "/users/{id}", h.getUser, takenSentence},
		{"PUT", "/users/{id}", h.updateUser, takenSentence},
		{"DELETE", "/users/{id}", h.deleteUser, takenSentence},
		{"PUT", "/users/{id}/block", h.stateAction((UserService).Block, http.StatusOK), takenSentence},
		{"POST", "/users/{id}/block", h.stateAction((UserService).Block, http.StatusCreated), takenSentence},
		{"PUT", "/users/{id}/unblock", h.stateAction((UserService).Unblock, http.StatusOK), takenSentence},
		{"POST", "/users/{id}/unblock", h.stateAction((UserService).Unblock, http.StatusCreated), takenSentence},
		{"GET", "/user", h.currentUser, takenSentence},

		{"GET", "/user/keys", h.listKeys(self), takenFields},
		{"POST", "/user/keys", h.addKey(self), takenFields},
		{"GET", "/user/keys/{key}", getOne(&h.Keys, toKeyJSON, self, "key", "key_id"), takenFields},
		{"DELETE", "/user/keys/{key}", deleteOne(&h.Keys, self, "key", "key_id", true), takenFields},
		{"GET", "/users/{id}/keys", h.listKeys(pathUser), takenFields},
		{"POST", "/users/{id}/keys", h.addKey(pathUser), takenFields},
		{"GET", "/users/{id}/keys/{key}", getOne(&h.Keys, toKeyJSON, pathUser, "key", "key_id"), takenFields},
		{"DELETE", "/users/{id}/keys/{key}", deleteOne(&h.Keys, pathUser, "key", "key_id", false), takenFields},

		{"GET", "/user/emails", h.listEmails(self), takenFields},
		{"POST", "/user/emails", h.addEmail(self), takenFields},
		{"GET", "/user/emails/{email}", getOne(&h.Emails, toEmailJSON, self, "email", "email_id"), takenFields},
		{"DELETE", "/user/emails/{email}", deleteOne(&h.Emails, self, "email", "email_id", true), takenFields},
		{"GET", "/users/{id}/emails", h.listEmails(userID), takenFields},
		{"POST", "/users/{id}/emails", h.addEmail(userID), takenFields},
		{"DELETE", "/users/{id}/emails/{email}", deleteOne(&h.Emails, userID, "email", "email_id", false), takenFields},
	}
}

// Routes lists the face's endpoints as "METHOD /pattern", for every API
// version.
func (h *Handler) Routes() []string {
	var out []string
	for _, v := range versions {
		for _, r := range h.routes() {
			out = append(out, r.method+" "+v+r.pattern)
		}
	}
	return out
}

// Mount registers the face's endpoints on mux, under /api/v4 and /api/v3,
// and a fallback under each that answers other paths with GitLab's 404 and
// other methods with its 405.
func (h *Handler) Mount(mux *http.ServeMux) {
	for _, v := range versions {
		for _, rt := range h.routes() {
			mux.Handle(rt.method+" "+v+rt.pattern, web.Adapt(h.serve(rt.handle), h.errorWriter(rt.taken)))
		}
		mux.Handle(v+"/", web.Fallback(h.Routes(), h.errorWriter(takenSentence)))
	}
}

// serve reads a request's parameters, finds its principal and calls next.
func (h *Handler) serve(next handler) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		in, err := readParams(w, r)
		if err != nil {
			return err
		}
		ctx, err := h.principal(r, in)
		if err != nil {
			return err
		}
		return next(w, r.WithContext(ctx), in)
	}
}

// principal returns the request's context with the caller in it, found as
// GitLab finds a token: the private_token parameter, the PRIVATE-TOKEN
// header, the access_token parameter, an Authorization: Bearer header,
// the bearer_token parameter — the first one present (Ruby's presence: not
// nil, false, empty or white space alone) — its parameters read from the
// query over the body (findToken). Without a credential the caller is
// anonymous and the core refuses it. An administrator may then act as
// another user with the sudo parameter or the Sudo header (an id or a
// username; the parameter first, as GitLab reads them); the core decides
// and audits.
func (h *Handler) principal(r *http.Request, in *params) (context.Context, error) {
	ctx := r.Context()
	// A token spelled so that Rack reads it and Go does not is refused,
	// never dropped: the request would run as another user, or none.
	for _, name := range tokenParams {
		if in.odd[name] {
			in.fail(name, "is invalid")
			return nil, in.err()
		}
	}
	token, err := findToken(r, in)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return ctx, nil
	}
	p, err := h.Auth.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	ctx = usher.WithPrincipal(ctx, p)
	// GitLab reads the parameter first, then the header
	// (params[SUDO_PARAM] || env[SUDO_HEADER]). A sudo given but not
	// readable (an array, an object) is refused, never dropped: the
	// request would run as the administrator.
	// So is one spelled so that Rack reads it and Go does not (odd).
	// JSON's false and null are Ruby's falsy values: the header then.
	// Any other value, the empty text too, is a sudo: "" names no user.
	sudo, readable := in.text("sudo")
	v, given := in.values["sudo"]
	// Ruby's true =~ /^\d+$/ raises: GitLab answers 500, and acts as no
	// one. A number is an id to GitLab (find_by_id casts 2.0 to 2); one
	// that is no whole number in digits is refused, not guessed at.
	if n, ok := v.(json.Number); v == true || ok && !digits(n.String()) {
		in.fail("sudo", "is invalid")
		readable = false
	}
	// An empty header is a sudo too, and one sent twice is refused: Go
	// would read the first, Rack the two joined.
	if given && !readable {
		return nil, in.err()
	}
	header := r.Header.Values("Sudo")
	if in.odd["sudo"] || len(header) > 1 {
		in.fail("sudo", "is invalid")
		return nil, in.err()
	}
	if !given || v == false || v == nil {
		if len(header) == 0 {
			return ctx, nil
		}
		sudo = header[0]
	}
	if sudo == "" {
		return nil, sudoNotFound(sudo)
	}
	key := usher.UserKey{Username: sudo}
	if digits(sudo) {
		// GitLab's UserFinder takes /^\d+$/ for an id: "+2" is a name.
		id, err := strconv.ParseInt(sudo, 10, 64)
		if err != nil {
			return nil, sudoNotFound(sudo)
		}
		key = usher.UserKey{ID: id}
	}
	as, err := h.Auth.Sudo(ctx, key)
	if err != nil {
		return nil, err
	}
	return usher.WithPrincipal(ctx, as), nil
}

// sudoNotFound is GitLab's answer to a sudo that names no user.
func sudoNotFound(sudo string) error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeUserNotFound,
		Message: "no user has the id or username " + strconv.Quote(sudo)}
}

// findToken returns the request's token in the order GitLab reads it
// (see principal), as it stands: GitLab trims none. A parameter is present
// unless it is white space alone (Ruby's blank?, on text); a header unless
// it is ASCII white space alone (Puma's values are bytes), Bearer's after
// Doorkeeper's "Bearer " and nothing else. A header sent twice is no
// token (Puma joins the two with a comma); a token parameter present but
// no text (an array, a number) is none either: both are refused, as
// GitLab refuses them, 401.
func findToken(r *http.Request, in *params) (string, error) {
	invalid := &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeUnauthenticated, Message: "the token is invalid"}
	param := func(name string) (string, error) {
		switch v := in.tokens[name].(type) {
		case nil, bool: // false is blank; true is a token of no user
			if v == true {
				return "", invalid
			}
			return "", nil
		case string:
			if strings.TrimFunc(v, unicode.IsSpace) == "" {
				return "", nil
			}
			return v, nil
		case []any:
			if len(v) == 0 {
				return "", nil
			}
		case map[string]any:
			if len(v) == 0 {
				return "", nil
			}
		}
		return "", invalid
	}
	header := func(name string, value func(string) string) (string, error) {
		vs := r.Header.Values(name)
		switch {
		case len(vs) > 1:
			return "", invalid
		case len(vs) == 0:
			return "", nil
		}
		v := value(vs[0])
		if strings.Trim(v, " \t\n\v\f\r") == "" {
			return "", nil
		}
		return v, nil
	}
	for _, source := range []func() (string, error){
		func() (string, error) { return param("private_token") },
		func() (string, error) { return header("Private-Token", func(v string) string { return v }) },
		func() (string, error) { return param("access_token") },
		func() (string, error) { return header("Authorization", doorkeeperBearer) },
		func() (string, error) { return param("bearer_token") },
	} {
		if token, err := source(); err != nil || token != "" {
			return token, err
		}
	}
	return "", nil
}

// doorkeeperBearer is the token of an Authorization header's value as
// Doorkeeper reads it: what follows "Bearer " (in any case), untrimmed;
// "" for another scheme.
func doorkeeperBearer(value string) string {
	const prefix = "Bearer "
	if len(value) < len(prefix) || !strings.EqualFold(value[:len(prefix)], prefix) {
		return ""
	}
	return value[len(prefix):]
}

// digits reports whether s is one or more ASCII digits.
func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// paramError is an answer of the face's own, about the request's shape
// rather than a rule of the core: a required parameter missing, a value
// that is not of the parameter's type or range. GitLab (Grape) answers
// those 400 {"error":"email is missing"}.
type paramError []string

func (e paramError) Error() string { return strings.Join(e, ", ") }

// statuses maps each error kind to GitLab's status code.
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

// gitlabWords is what GitLab says for one of the core's codes.
type gitlabWords struct {
	// bare marks a refusal GitLab answers without the core's reason, as its
	// forbidden! does.
	bare bool
	// resource names a NotFound code's resource: "404 User Not Found".
	resource string
	// conflict is GitLab's whole message for a conflict it refuses too.
	conflict string
	// forbidden is GitLab's reason for a conflict it answers 403, after
	// "403 Forbidden - ".
	forbidden string
	// field is the Rails validation message for a field problem's code.
	field string
}

// codeWords is the face's one table of the core's codes: the words GitLab says
// for each it answers in its own way. A NotFound code not here answers "404
// Not Found", a refusal or a conflict keeps the core's message, and a field
// problem its own.
var codeWords = map[string]gitlabWords{
	usher.CodeForbidden:      {bare: true},
	usher.CodeUserNotFound:   {resource: "User"},
	usher.CodeSSHKeyNotFound: {resource: "Key"},
	usher.CodeEmailNotFound:  {resource: "Email"},
	usher.CodeLastTeamOwner:  {conflict: "User cannot be removed while is the sole-owner of a group"},
	// A suspended user, GitLab's deactivated, is not unblocked.
	usher.CodeInvalidState: {forbidden: "Deactivated users cannot be unblocked by the API"},
	usher.CodeRequired:     {field: "can't be blank"},
	usher.CodeInvalid:      {field: "is invalid"},
	usher.CodeTaken:        {field: "has already been taken"},
	usher.CodeNegative:     {field: "must be greater than or equal to 0"},
}

// errorWriter returns the face's one error writer, with the route's way of
// answering conflicts.
func (h *Handler) errorWriter(taken conflictStyle) web.ErrorWriter {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		h.writeError(w, r, err, taken)
	}
}

// writeError writes err as GitLab does: {"message": …} with the status in
// words, the per-field hash for validation failures, and Grape's
// {"error": …} for malformed parameters. It is the one place the face turns
// errors into statuses.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error, taken conflictStyle) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	web.LogError(log, r, err)
	var pe paramError
	if errors.As(err, &pe) {
		_ = web.WriteJSON(w, http.StatusBadRequest, grapeError(pe.Error()))
		return
	}
	e := usher.AsError(err)
	// Grape answers what no endpoint takes, before GitLab's code runs, in
	// its own words.
	switch {
	case e.Code == usher.CodeRouteNotFound:
		_ = web.WriteJSON(w, http.StatusNotFound, grapeError("404 Not Found"))
		return
	case web.Status(e) == http.StatusMethodNotAllowed:
		_ = web.WriteJSON(w, http.StatusMethodNotAllowed, grapeError("405 Not Allowed"))
		return
	case web.Status(e) == http.StatusUnsupportedMediaType:
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		_ = web.WriteJSON(w, http.StatusUnsupportedMediaType,
			grapeError("The provided content-type '"+mt+"' is not supported."))
		return
	}
	if reason := codeWords[e.Code].forbidden; reason != "" {
		_ = web.WriteJSON(w, http.StatusForbidden, message("403 Forbidden - "+reason))
		return
	}
	status, ok := statuses[e.Kind]
	if !ok {
		// A kind this table has not learnt yet is usher's fault, not the
		// caller's: answer as for an internal error, and say so in the log.
		log.ErrorContext(r.Context(), "error kind missing from the GitLab status table",
			"kind", e.Kind, "method", r.Method, "path", r.URL.Path,
			"request_id", usher.RequestFrom(r.Context()).ID, "err", err)
		e = &usher.Error{Kind: usher.KindInternal}
		status = http.StatusInternalServerError
	}
	var body any
	switch e.Kind {
	case usher.KindInternal:
		body = message("500 Internal Server Error")
	case usher.KindInvalid:
		body = grapeError(invalidText(e))
	case usher.KindUnauthenticated:
		body = message("401 Unauthorized")
	case usher.KindForbidden:
		// The plain refusal is bare, as GitLab's forbidden! is; a refusal
		// with a reason of its own (an externally blocked user) says it.
		text := "403 Forbidden"
		if !codeWords[e.Code].bare && e.Message != "" {
			text += " - " + e.Message
		}
		body = message(text)
	case usher.KindNotFound:
		text := "404 Not Found"
		if what := codeWords[e.Code].resource; what != "" {
			text = "404 " + what + " Not Found"
		}
		body = message(text)
	case usher.KindConflict:
		switch {
		case codeWords[e.Code].conflict != "":
			body = message(codeWords[e.Code].conflict)
		case len(e.Fields) > 0 && taken == takenFields:
			status = http.StatusBadRequest
			body = fieldHash(e.Fields)
		case len(e.Fields) > 0:
			body = message(humanize(e.Fields[0].Field) + " " + fieldMessage(e.Fields[0]))
		default:
			body = message(e.Message)
		}
	case usher.KindPrecondition:
		body = message("412 Precondition Failed")
	case usher.KindTooLarge:
		body = message("413 Request Entity Too Large")
	case usher.KindUnprocessable:
		if len(e.Fields) > 0 {
			body = fieldHash(e.Fields)
		} else {
			body = message(e.Message)
		}
	case usher.KindRateLimited:
		w.Header().Set("Retry-After", web.RetryAfter(e.RetryAfter))
		body = message("429 Too Many Requests")
	}
	_ = web.WriteJSON(w, status, body)
}

// grapeError is Grape's error body, for a request Grape refuses before
// GitLab's code runs: malformed parameters, an unknown path or method, a
// body of a type it does not parse.
func grapeError(text string) map[string]string { return map[string]string{"error": text} }

// message is GitLab's error body with a string message.
func message(text string) map[string]any { return map[string]any{"message": text} }

// fieldHash is GitLab's validation error body: each field's messages.
func fieldHash(fields []usher.FieldError) map[string]any {
	m := map[string][]string{}
	for _, f := range fields {
		m[f.Field] = append(m[f.Field], fieldMessage(f))
	}
	return map[string]any{"message": m}
}

func fieldMessage(f usher.FieldError) string {
	if m := codeWords[f.Code].field; m != "" {
		return m
	}
	return f.Message
}

// invalidText is Grape's message for a malformed request: each field and
// its problem, "search is longer than 255 bytes".
func invalidText(e *usher.Error) string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	var parts []string
	for _, f := range e.Fields {
		name := f.Field
		if name == "q" {
			// The core calls the search text q; GitLab calls it search.
			name = "search"
		}
		parts = append(parts, name+" "+f.Message)
	}
	return strings.Join(parts, ", ")
}

// humanize spells a field name as Rails' full messages do: "Email",
// "Extern uid".
func humanize(field string) string {
	s := strings.ReplaceAll(field, "_", " ")
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
