package corteza_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"usher"
)

// columns are who calls in the authorization matrix: no one, a plain user
// and an administrator.
var columns = []string{"anonymous", "user", "admin"}

// The outcomes of a cell. Corteza answers every error with HTTP 200 and
// {"error":{"message"}}: allowed is a success; refused is the envelope's
// Unauthorized (no one signed in), the core's refusal, or "… not found"
// for what the core hides from the caller. Any other error (a bad body,
// a missing thing) proves nothing, and a row must not expect it but
// where no body can succeed.
const (
	allowed         = 'A' // 200 without an error
	unauthenticated = 'U' // "Unauthorized"
	forbidden       = 'F' // one of refusals
	hidden          = 'N' // "… not found": the core hides what the caller may not see
	failed          = 'E' // another error, no refusal: proves nothing of authorization
)

// refusals are the core's messages of a refusal.
var refusals = map[string]bool{
	"not allowed":                        true,
	"only administrators manage scripts": true,
	"a password is set by an administrator; users change their own with the current one": true,
}

func outcome(status int, msg string) byte {
	switch {
	case status != 200:
		return '?'
	case msg == "":
		return allowed
	case msg == "Unauthorized":
		return unauthenticated
	case strings.HasSuffix(msg, "not found"):
		return hidden
	case refusals[msg]:
		return forbidden
	}
	return failed
}

// matrixRow is one route: what each column's request is, and what must
// become of it.
type matrixRow struct {
	method, pattern string
	want            string // one outcome per column
	build           func(c *cell) (path string, body any)
}

func at(path string) func(*cell) (string, any) {
	return func(*cell) (string, any) { return path, nil }
}

func matrixRows() []matrixRow {
	return []matrixRow{
		{"GET", "/actionlog/{$}", "UFA", at("/actionlog/")},

		{"GET", "/application/{$}", "UAA", at("/application/")},
		{"POST", "/application/{$}", "UFA", func(c *cell) (string, any) { return "/application/", map[string]any{"name": "New " + c.who} }},
		{"PUT", "/application/{applicationID}", "UFA", func(c *cell) (string, any) {
			return "/application/" + c.app(), map[string]any{"name": "Renamed"}
		}},
		{"GET", "/application/{applicationID}", "UAA", func(c *cell) (string, any) { return "/application/" + c.app(), nil }},
		{"DELETE", "/application/{applicationID}", "UFA", func(c *cell) (string, any) { return "/application/" + c.app(), nil }},
		// A deleted application is hidden from all but its owner.
		{"POST", "/application/{applicationID}/undelete", "UNA", func(c *cell) (string, any) {
			id := c.app()
			c.b.do(c.t, "DELETE", "/application/"+id, c.b.adminJWT, nil)
			return "/application/" + id + "/undelete", nil
		}},
		{"POST", "/application/{applicationID}/trigger", "UFA", func(c *cell) (string, any) {
			return "/application/" + c.app() + "/trigger", map[string]any{"script": c.script()}
		}},

		// A setting's file is read by whoever may read the instance
		// settings: not a plain user, who is told it does not exist. Its
		// owner reads and deletes a file of its own.
		{"GET", "/attachment/{kind}/{attachmentID}", "UNA", func(c *cell) (string, any) { return "/attachment/settings/" + c.attachment(), nil }},
		{"DELETE", "/attachment/{kind}/{attachmentID}", "UNA", func(c *cell) (string, any) { return "/attachment/general/" + c.file(), nil }},
		{"GET", "/attachment/{kind}/{attachmentID}/original/{name}", "UNA", func(c *cell) (string, any) {
			return "/attachment/settings/" + c.attachment() + "/original/logo.png", nil
		}},
		{"GET", "/attachment/{kind}/{attachmentID}/{file}", "UNA", func(c *cell) (string, any) {
			return "/attachment/settings/" + c.attachment() + "/preview.png", nil
		}},

		{"GET", "/auth/{$}", "AAA", at("/auth/")},
		{"GET", "/auth/check", "UAA", at("/auth/check")},
		{"POST", "/auth/exchange", "AAA", func(c *cell) (string, any) {
			return "/auth/exchange", map[string]any{"token": c.code(usher.CodeRedeem)}
		}},
		{"POST", "/auth/impersonate", "UFA", func(c *cell) (string, any) {
			return "/auth/impersonate", map[string]any{"userID": strconv.FormatInt(c.b.user.ID, 10)}
		}},
		{"GET", "/auth/logout", "UAA", at("/auth/logout")},
		{"POST", "/auth/internal/login", "AAA", func(c *cell) (string, any) {
			return "/auth/internal/login", map[string]any{"email": "plain@example.com", "password": password}
		}},
		{"POST", "/auth/internal/signup", "AAA", func(c *cell) (string, any) {
			return "/auth/internal/signup", map[string]any{"email": "new-" + c.who + "@example.com", "username": "new-" + c.who, "password": password}
		}},
		{"POST", "/auth/internal/request-password-reset", "AAA", func(c *cell) (string, any) {
			return "/auth/internal/request-password-reset", map[string]any{"email": "plain@example.com"}
		}},
		{"POST", "/auth/internal/exchange-password-reset-token", "AAA", func(c *cell) (string, any) {
			return "/auth/internal/exchange-password-reset-token", map[string]any{"token": c.code(usher.CodeReset)}
		}},
		{"POST", "/auth/internal/reset-password", "AAA", func(c *cell) (string, any) {
			return "/auth/internal/reset-password", map[string]any{"token": c.code(usher.CodeResetTicket), "password": password + " " + c.who}
		}},
		{"POST", "/auth/internal/confirm-email", "AAA", func(c *cell) (string, any) {
			return "/auth/internal/confirm-email", map[string]any{"token": c.code(usher.CodeConfirm)}
		}},
		{"POST", "/auth/internal/change-password", "UAA", func(c *cell) (string, any) {
			return "/auth/internal/change-password", map[string]any{"oldPassword": password, "newPassword": password + " two"}
		}},

		{"GET", "/automation/{$}", "UFA", at("/automation/")},
		{"GET", "/automation/{file}", "UAA", func(c *cell) (string, any) {
			c.script()
			return "/automation/default-client-scripts.js", nil
		}},
		{"POST", "/automation/trigger", "UFA", func(c *cell) (string, any) { return "/automation/trigger", map[string]any{"script": c.script()} }},

		{"GET", "/organisations/{$}", "UAA", at("/organisations/")},
		{"POST", "/organisations/{$}", "UFA", func(c *cell) (string, any) {
			return "/organisations/", map[string]any{"name": "New " + c.who, "handle": "new-" + c.who}
		}},
		{"PUT", "/organisations/{id}", "UFA", func(c *cell) (string, any) { return "/organisations/" + c.org(), map[string]any{"name": "Renamed"} }},
		{"DELETE", "/organisations/{id}", "UFA", func(c *cell) (string, any) { return "/organisations/" + c.org(), nil }},
		{"POST", "/organisations/{id}/archive", "UFA", func(c *cell) (string, any) { return "/organisations/" + c.org() + "/archive", nil }},
		{"GET", "/organisations/{id}", "UAA", func(c *cell) (string, any) { return "/organisations/" + c.org(), nil }},

		{"GET", "/permissions/{$}", "UAA", at("/permissions/")},
		{"GET", "/permissions/effective", "UAA", at("/permissions/effective")},
		{"GET", "/permissions/{roleID}/rules", "UAA", func(c *cell) (string, any) { return "/permissions/" + c.role() + "/rules", nil }},
		{"DELETE", "/permissions/{roleID}/rules", "UFA", func(c *cell) (string, any) { return "/permissions/" + c.role() + "/rules", nil }},
		{"PATCH", "/permissions/{roleID}/rules", "UFA", func(c *cell) (string, any) {
			return "/permissions/" + c.role() + "/rules", map[string]any{"rules": []map[string]string{
				{"resource": "system:user:*", "operation": "update", "access": "allow"}}}
		}},

		// A plain user lists, reads and changes its own reminders only.
		{"GET", "/reminder/{$}", "UAA", at("/reminder/")},
		{"POST", "/reminder/{$}", "UAA", func(c *cell) (string, any) {
			return "/reminder/", map[string]any{"resource": "system:user:1", "payload": map[string]any{"note": "x"}}
		}},
		{"PUT", "/reminder/{reminderID}", "UAA", func(c *cell) (string, any) {
			return "/reminder/" + c.reminder(), map[string]any{"resource": "system:user:2", "payload": map[string]any{"note": "y"}}
		}},
		{"GET", "/reminder/{reminderID}", "UAA", func(c *cell) (string, any) { return "/reminder/" + c.reminder(), nil }},
		{"DELETE", "/reminder/{reminderID}", "UAA", func(c *cell) (string, any) { return "/reminder/" + c.reminder(), nil }},
		{"PATCH", "/reminder/{reminderID}/dismiss", "UAA", func(c *cell) (string, any) { return "/reminder/" + c.reminder() + "/dismiss", nil }},
		{"PATCH", "/reminder/{reminderID}/snooze", "UAA", func(c *cell) (string, any) {
			return "/reminder/" + c.reminder() + "/snooze", map[string]any{"remindAt": "2099-01-01T00:00:00Z"}
		}},

		{"GET", "/roles/{$}", "UAA", at("/roles/")},
		{"POST", "/roles/{$}", "UFA", func(c *cell) (string, any) {
			return "/roles/", map[string]any{"name": "New " + c.who, "handle": "new-" + c.who}
		}},
		{"PUT", "/roles/{roleID}", "UFA", func(c *cell) (string, any) { return "/roles/" + c.role(), map[string]any{"name": "Renamed"} }},
		{"GET", "/roles/{roleID}", "UAA", func(c *cell) (string, any) { return "/roles/" + c.role(), nil }},
		{"DELETE", "/roles/{roleID}", "UFA", func(c *cell) (string, any) { return "/roles/" + c.role(), nil }},
		{"POST", "/roles/{roleID}/archive", "UFA", func(c *cell) (string, any) { return "/roles/" + c.role() + "/archive", nil }},
		{"POST", "/roles/{roleID}/unarchive", "UFA", func(c *cell) (string, any) {
			id := c.role()
			c.b.do(c.t, "POST", "/roles/"+id+"/archive", c.b.adminJWT, nil)
			return "/roles/" + id + "/unarchive", nil
		}},
		// A deleted role is hidden from a plain user.
		{"POST", "/roles/{roleID}/undelete", "UNA", func(c *cell) (string, any) {
			id := c.role()
			c.b.do(c.t, "DELETE", "/roles/"+id, c.b.adminJWT, nil)
			return "/roles/" + id + "/undelete", nil
		}},
		{"POST", "/roles/{roleID}/move", "UFA", func(c *cell) (string, any) {
			return "/roles/" + c.role() + "/move", map[string]any{"organisationID": c.org()}
		}},
		{"POST", "/roles/{roleID}/merge", "UFA", func(c *cell) (string, any) {
			from := c.role()
			into := c.create("/roles/", "roleID", map[string]any{"name": "Into " + c.who, "handle": "into-" + c.who})
			return "/roles/" + from + "/merge", map[string]any{"destination": into}
		}},
		{"GET", "/roles/{roleID}/members", "UAA", func(c *cell) (string, any) { return "/roles/" + c.role() + "/members", nil }},
		{"POST", "/roles/{roleID}/member/{userID}", "UFA", func(c *cell) (string, any) {
			return "/roles/" + c.role() + "/member/" + c.victim(), nil
		}},
		{"DELETE", "/roles/{roleID}/member/{userID}", "UFA", func(c *cell) (string, any) {
			rid, uid := c.role(), c.victim()
			c.b.do(c.t, "POST", "/roles/"+rid+"/member/"+uid, c.b.adminJWT, nil)
			return "/roles/" + rid + "/member/" + uid, nil
		}},
		{"POST", "/roles/{roleID}/trigger", "UFA", func(c *cell) (string, any) {
			return "/roles/" + c.role() + "/trigger", map[string]any{"script": c.script()}
		}},

		{"GET", "/settings/{$}", "UFA", at("/settings/")},
		{"PATCH", "/settings/{$}", "UFA", func(c *cell) (string, any) {
			return "/settings/", map[string]any{"values": []map[string]any{{"name": "ui.x", "value": 1}}}
		}},
		{"GET", "/settings/{key}", "UFA", func(c *cell) (string, any) {
			c.b.do(c.t, "PATCH", "/settings/", c.b.adminJWT, map[string]any{"values": []map[string]any{{"name": "ui.y", "value": 1}}})
			return "/settings/ui.y", nil
		}},
		{"POST", "/settings/{key}", "UFA", func(c *cell) (string, any) { return "/settings/ui.logo", c.newUpload("logo.png") }},
		{"GET", "/settings/current", "UAA", at("/settings/current")},

		{"GET", "/stats/{$}", "UFA", at("/stats/")},
		// usher has no subscription: it answers every signed-in caller that
		// none is configured; no body can make it succeed.
		{"GET", "/subscription/{$}", "UEE", at("/subscription/")},

		// A plain user reads every user and changes only its own record.
		{"GET", "/users/{$}", "UAA", at("/users/")},
		{"POST", "/users/{$}", "UFA", func(c *cell) (string, any) { return "/users/", map[string]any{"email": "m-" + c.who + "@example.com"} }},
		{"PUT", "/users/{userID}", "UFA", func(c *cell) (string, any) { return "/users/" + c.victim(), map[string]any{"name": "Changed"} }},
		{"GET", "/users/{userID}", "UAA", func(c *cell) (string, any) { return "/users/" + c.victim(), nil }},
		{"DELETE", "/users/{userID}", "UFA", func(c *cell) (string, any) { return "/users/" + c.victim(), nil }},
		{"POST", "/users/{userID}/suspend", "UFA", func(c *cell) (string, any) { return "/users/" + c.victim() + "/suspend", nil }},
		{"POST", "/users/{userID}/unsuspend", "UFA", func(c *cell) (string, any) {
			id := c.victim()
			c.b.do(c.t, "POST", "/users/"+id+"/suspend", c.b.adminJWT, nil)
			return "/users/" + id + "/unsuspend", nil
		}},
		{"POST", "/users/{userID}/undelete", "UFA", func(c *cell) (string, any) {
			id := c.victim()
			c.b.do(c.t, "DELETE", "/users/"+id, c.b.adminJWT, nil)
			return "/users/" + id + "/undelete", nil
		}},
		{"POST", "/users/{userID}/password", "UFA", func(c *cell) (string, any) {
			return "/users/" + c.victim() + "/password", map[string]any{"password": "a new long passphrase"}
		}},
		{"GET", "/users/{userID}/membership", "UAA", func(c *cell) (string, any) { return "/users/" + c.victim() + "/membership", nil }},
		{"POST", "/users/{userID}/membership/{roleID}", "UFA", func(c *cell) (string, any) {
			return "/users/" + c.victim() + "/membership/" + c.role(), nil
		}},
		{"DELETE", "/users/{userID}/membership/{roleID}", "UFA", func(c *cell) (string, any) {
			uid, rid := c.victim(), c.role()
			c.b.do(c.t, "POST", "/users/"+uid+"/membership/"+rid, c.b.adminJWT, nil)
			return "/users/" + uid + "/membership/" + rid, nil
		}},
		{"POST", "/users/{userID}/trigger", "UFA", func(c *cell) (string, any) {
			return "/users/" + c.victim() + "/trigger", map[string]any{"script": c.script()}
		}},
	}
}

// TestAuthorizationMatrix sends every route of Corteza's face as no one, a
// plain user and an administrator: the core decides, and the face answers
// a refusal in Corteza's envelope (HTTP 200, an error message).
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	rows := matrixRows()
	routes := map[string]bool{}
	b := setup(t)
	for _, r := range b.handler.Routes() {
		routes[r] = true
	}
	for _, r := range rows {
		key := r.method + " /api/system" + r.pattern
		if !routes[key] {
			t.Errorf("row %s is not a route", key)
		}
		delete(routes, key)
		if len(r.want) != len(columns) {
			t.Errorf("row %s has %d outcomes for %d columns", key, len(r.want), len(columns))
		}
	}
	for r := range routes {
		t.Errorf("route %s has no row in the authorization matrix", r)
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, r := range rows {
		t.Run(r.method+" "+r.pattern, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			jwt := map[string]string{"user": b.userJWT, "admin": b.adminJWT}
			got := make([]byte, len(columns))
			var detail []string
			for i, col := range columns {
				path, body := r.build(&cell{t: t, b: b, who: col})
				res := b.call(t, r.method, path, jwt[col], body)
				msg := res.message()
				got[i] = outcome(res.status, msg)
				if got[i] != r.want[i] {
					detail = append(detail, fmt.Sprintf("%s: %d %s", col, res.status, res.body))
				}
			}
			if string(got) != r.want {
				t.Errorf("got %s, want %s\n%s", got, r.want, strings.Join(detail, "\n"))
			}
		})
	}
	t.Logf("%d routes × %d callers = %d cells", len(rows), len(columns), len(rows)*len(columns))
}

// TestAuthorizationOwnership is the matrix's other half for the routes
// whose answer to a plain user depends on what it owns: another's
// reminders, and its own user record.
func TestAuthorizationOwnership(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		want         byte
		build        func(c *cell) (string, any)
	}{
		{"GET", "/reminder/{reminderID}", hidden, func(c *cell) (string, any) { return "/reminder/" + c.reminder(), nil }},
		{"PUT", "/reminder/{reminderID}", hidden, func(c *cell) (string, any) {
			return "/reminder/" + c.reminder(), map[string]any{"resource": "system:user:2", "payload": map[string]any{"note": "y"}}
		}},
		{"DELETE", "/reminder/{reminderID}", hidden, func(c *cell) (string, any) { return "/reminder/" + c.reminder(), nil }},
		{"PATCH", "/reminder/{reminderID}/dismiss", hidden, func(c *cell) (string, any) { return "/reminder/" + c.reminder() + "/dismiss", nil }},
		{"PATCH", "/reminder/{reminderID}/snooze", hidden, func(c *cell) (string, any) {
			return "/reminder/" + c.reminder() + "/snooze", map[string]any{"remindAt": "2099-01-01T00:00:00Z"}
		}},
		// A plain user assigns reminders to itself only, and lists only its
		// own: asked for another's, it gets none.
		{"POST", "/reminder/{$}", forbidden, func(c *cell) (string, any) {
			return "/reminder/", map[string]any{"resource": "system:user:1", "assignedTo": strconv.FormatInt(c.b.admin.ID, 10),
				"payload": map[string]any{"note": "x"}}
		}},
		{"GET", "/reminder/{$}", allowed, func(c *cell) (string, any) {
			c.reminder()
			return "/reminder/?assignedTo=" + strconv.FormatInt(c.b.admin.ID, 10), nil
		}},
		{"PUT", "/users/{userID}", allowed, func(c *cell) (string, any) {
			return "/users/" + strconv.FormatInt(c.b.user.ID, 10), map[string]any{"name": "Plain Changed"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			// who "admin": the reminder is the administrator's.
			path, body := tt.build(&cell{t: t, b: b, who: "admin"})
			res := b.call(t, tt.method, path, b.userJWT, body)
			if got := outcome(res.status, res.message()); got != tt.want {
				t.Errorf("got %c, want %c: %d %s", got, tt.want, res.status, res.body)
			}
			if tt.method == "GET" && strings.Contains(string(res.body), `"reminderID":"`) {
				t.Errorf("another's reminder shown: %s", res.body)
			}
		})
	}
}
