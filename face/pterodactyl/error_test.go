package pterodactyl

import (
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"usher"
)

// TestErrorTable covers the answers no request against today's core
// provokes: the kinds are written by the one table whatever raised them,
// and a kind the table lacks is a 500. The last owner's refusal is also
// tested through HTTP, in TestDeleteLastTeamOwner.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	h := &Handler{Log: slog.New(slog.DiscardHandler)}
	tests := []struct {
		name   string
		err    error
		status int
		body   string
		header string
	}{
		{"last owner of a team", &usher.Error{Kind: usher.KindConflict, Code: "last_team_owner", Message: "the user is the last owner of team ops"},
			400, `{"errors":[{"code":"DisplayException","status":"400","detail":"` + lastOwnerDetail + `"}]}`, ""},
		{"last administrator", &usher.Error{Kind: usher.KindConflict, Code: "last_administrator", Message: "root is the last administrator who may sign in"},
			400, `{"errors":[{"code":"DisplayException","status":"400","detail":"` + lastAdministratorDetail + `"}]}`, ""},
		{"other conflict", &usher.Error{Kind: usher.KindConflict, Code: "invalid_state", Message: "a blocked user cannot become suspended this way"},
			409, `{"errors":[{"code":"ConflictHttpException","status":"409","detail":"a blocked user cannot become suspended this way"}]}`, ""},
		{"conflict on a field", &usher.Error{Kind: usher.KindConflict, Code: "email_taken", Message: "email has already been taken",
			Fields: []usher.FieldError{{Field: "email", Code: "taken", Message: "has already been taken"}}},
			422, `{"errors":[{"code":"ValidationException","status":"422","detail":"The email has already been taken.","meta":{"source_field":"email","rule":"unique"}}]}`, ""},
		{"internal", errors.New("disk full"),
			500, `{"errors":[{"code":"HttpException","status":"500","detail":"An unexpected error was encountered while processing this request, please try again."}]}`, ""},
		{"a kind missing from the table", &usher.Error{Kind: usher.Kind(200), Code: "new_kind", Message: "a detail only the log may see"},
			500, `{"errors":[{"code":"HttpException","status":"500","detail":"An unexpected error was encountered while processing this request, please try again."}]}`, ""},
		{"rate limited", &usher.Error{Kind: usher.KindRateLimited, Code: "busy", Message: "busy", RetryAfter: 1500 * time.Millisecond},
			429, `{"errors":[{"code":"ThrottleRequestsException","status":"429","detail":"Too Many Attempts."}]}`, "2"},
		{"body too large", &usher.Error{Kind: usher.KindTooLarge, Code: "body_too_large", Message: "the request body is over 1048576 bytes"},
			413, `{"errors":[{"code":"PostTooLargeException","status":"413","detail":"the request body is over 1048576 bytes"}]}`, ""},
		{"forbidden", &usher.Error{Kind: usher.KindForbidden, Code: "forbidden", Message: "not allowed"},
			403, `{"errors":[{"code":"AccessDeniedHttpException","status":"403","detail":"not allowed"}]}`, ""},
		{"a rule with no Laravel name", usher.FieldErrors(usher.FieldError{Field: "password", Code: "too_common", Message: "is one of the most common passwords"}),
			422, `{"errors":[{"code":"ValidationException","status":"422","detail":"The password is one of the most common passwords.","meta":{"source_field":"password","rule":"p_too_common"}}]}`, ""},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.writeError(w, httptest.NewRequest("DELETE", "/api/application/users/1", nil), tt.err)
		if w.Code != tt.status || w.Body.String() != tt.body+"\n" {
			t.Errorf("%s: %d %s", tt.name, w.Code, w.Body)
		}
		if got := w.Header().Get("Retry-After"); got != tt.header {
			t.Errorf("%s: Retry-After %q", tt.name, got)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", tt.name, ct)
		}
	}
}
