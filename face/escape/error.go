package escape

import (
	"net/http"

	"usher"
	"usher/web"
)

// statuses maps each error kind to the face's status code. Escape's tables
// name no 422: a body that breaks a rule is a 400, like a malformed one.
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

// codeStatuses are the codes Escape answers with a status of its own
// rather than their kind's: sign-up being off is its 500 ("Signup
// disabled."), a plan that allows no teams its 401 (and so a service
// account, which makes none), and a body that is not
// JSON its 400 ("Invalid JSON body"; Escape's tables name no 415). The
// body still names the precise reason.
var codeStatuses = map[string]int{
	usher.CodeSignupDisabled:       http.StatusInternalServerError,
	usher.CodePlanForbidsTeams:     http.StatusUnauthorized,
	usher.CodeCannotCreateTeams:    http.StatusUnauthorized,
	usher.CodeServiceAccountTeams:  http.StatusUnauthorized,
	usher.CodeUnsupportedMediaType: http.StatusBadRequest,
}

// errorJSON is the error body: a code clients can switch on, a message
// safe to show, and the fields a bad request names.
type errorJSON struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Fields  []fieldJSON `json:"fields,omitempty"`
}

// fieldJSON is one problem with one field of the request.
type fieldJSON struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
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
	if s := web.Status(e); s != 0 {
		status = s
	}
	if s, ok := codeStatuses[e.Code]; ok {
		status = s
	}
	body := errorJSON{Code: e.Code, Message: e.Message}
	for _, f := range e.Fields {
		body.Fields = append(body.Fields, fieldJSON{Field: f.Field, Code: f.Code, Message: f.Message})
	}
	if e.Kind == usher.KindRateLimited {
		w.Header().Set("Retry-After", web.RetryAfter(e.RetryAfter))
	}
	_ = web.WriteJSON(w, status, body)
}
