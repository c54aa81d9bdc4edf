package native_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
)

// reminderBody is a reminder as the native API answers it.
type reminderBody struct {
	ID          int64      `json:"id"`
	Resource    string     `json:"resource"`
	Payload     any        `json:"payload"`
	AssignedTo  int64      `json:"assigned_to"`
	RemindAt    *time.Time `json:"remind_at"`
	SnoozeCount int        `json:"snooze_count"`
	DismissedAt *time.Time `json:"dismissed_at"`
}

func TestRemindersThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var r reminderBody
	res := b.call(t, req{method: "POST", path: "/v1/reminders", token: b.userTok,
		body: map[string]any{"resource": "user:42", "payload": map[string]any{"note": "call"}, "remind_at": soon}}, 201, &r)
	if r.AssignedTo != b.user.ID || r.Resource != "user:42" || !r.RemindAt.Equal(soon) ||
		fmt.Sprint(r.Payload) != "map[note:call]" || res.header.Get("Location") != fmt.Sprintf("/v1/reminders/%d", r.ID) {
		t.Fatalf("created: %+v %v", r, res.header)
	}
	path := fmt.Sprintf("/v1/reminders/%d", r.ID)
	b.call(t, req{method: "GET", path: path, token: b.userTok}, 200, nil)
	b.call(t, req{method: "PATCH", path: path, token: b.userTok, body: map[string]any{"payload": []int{1, 2}}}, 200, &r)
	if fmt.Sprint(r.Payload) != "[1 2]" || r.Resource != "user:42" {
		t.Fatalf("patched: %+v", r)
	}
	b.call(t, req{method: "POST", path: path + "/dismiss", token: b.userTok}, 200, &r)
	if r.DismissedAt == nil {
		t.Fatalf("dismissed: %+v", r)
	}
	var list struct {
		Items []reminderBody `json:"items"`
	}
	b.call(t, req{method: "GET", path: "/v1/reminders?exclude_dismissed=true", token: b.userTok}, 200, &list)
	if len(list.Items) != 0 {
		t.Fatalf("dismissed listed: %+v", list)
	}
	b.call(t, req{method: "POST", path: path + "/snooze", token: b.userTok, body: map[string]any{"remind_at": soon.Add(time.Hour)}}, 200, &r)
	if r.SnoozeCount != 1 || r.DismissedAt != nil {
		t.Fatalf("snoozed: %+v", r)
	}
	b.call(t, req{method: "GET", path: "/v1/reminders?resource=user:42&scheduled_only=true&assigned_to=" + fmt.Sprint(b.user.ID),
		token: b.userTok}, 200, &list)
	if len(list.Items) != 1 {
		t.Fatalf("filtered list: %+v", list)
	}
	// The administrator sees every reminder.
	b.call(t, req{method: "GET", path: "/v1/reminders?limit=1", token: b.adminTok}, 200, &list)
	if len(list.Items) != 1 {
		t.Fatalf("admin list: %+v", list)
	}
	b.call(t, req{method: "DELETE", path: path, token: b.userTok}, 204, nil)
	b.call(t, req{method: "GET", path: path, token: b.userTok}, 404, nil)
}

func TestRemindersBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	past := time.Now().Add(-time.Hour)
	future := time.Now().Add(time.Hour)
	var r reminderBody
	b.call(t, req{method: "POST", path: "/v1/reminders", token: b.userTok, body: map[string]any{"resource": "user:1"}}, 201, &r)
	path := fmt.Sprintf("/v1/reminders/%d", r.ID)
	big := `"` + strings.Repeat("x", 17<<10) + `"`
	for name, tc := range map[string]struct {
		method, path string
		body         any
		status       int
		code, field  string
	}{
		"in the past":      {"POST", "/v1/reminders", map[string]any{"resource": "user:1", "remind_at": past}, 422, "validation_failed", "remind_at"},
		"unknown field":    {"POST", "/v1/reminders", map[string]any{"resource": "user:1", "colour": "red"}, 400, "unknown_field", "colour"},
		"invalid payload":  {"POST", "/v1/reminders", `{"resource": "user:1", "payload": {nope}}`, 400, "malformed_json", ""},
		"oversized":        {"POST", "/v1/reminders", `{"resource": "user:1", "payload": ` + big + `}`, 422, "validation_failed", "payload"},
		"no resource":      {"POST", "/v1/reminders", map[string]any{"payload": 1}, 422, "validation_failed", "resource"},
		"bad resource":     {"POST", "/v1/reminders", map[string]any{"resource": "user 1; drop"}, 422, "validation_failed", "resource"},
		"wrong type":       {"POST", "/v1/reminders", map[string]any{"resource": 7}, 400, "wrong_type", "resource"},
		"not an assignee":  {"POST", "/v1/reminders", map[string]any{"resource": "user:1", "assigned_to": 1 << 40}, 403, "forbidden", ""},
		"patch past":       {"PATCH", path, map[string]any{"remind_at": past}, 422, "validation_failed", "remind_at"},
		"patch unknown":    {"PATCH", path, map[string]any{"dismissed": true}, 400, "unknown_field", "dismissed"},
		"snooze no time":   {"POST", path + "/snooze", map[string]any{}, 422, "validation_failed", "remind_at"},
		"snooze past":      {"POST", path + "/snooze", map[string]any{"remind_at": past}, 422, "validation_failed", "remind_at"},
		"snooze not found": {"POST", "/v1/reminders/999999/snooze", map[string]any{"remind_at": future}, 404, "reminder_not_found", ""},
		"bad id":           {"GET", "/v1/reminders/x", nil, 400, "", ""},
		"bad assigned_to":  {"GET", "/v1/reminders?assigned_to=me", nil, 400, "", "assigned_to"},
		"bad bool":         {"GET", "/v1/reminders?scheduled_only=maybe", nil, 400, "", "scheduled_only"},
		"bad range":        {"GET", "/v1/reminders?scheduled_from=2030-01-02T00:00:00Z&scheduled_until=2030-01-01T00:00:00Z", nil, 400, "invalid_range", "scheduled_from"},
		"bad cursor":       {"GET", "/v1/reminders?cursor=nope", nil, 400, "", "cursor"},
	} {
		t.Run(name, func(t *testing.T) {
			var p problemBody
			b.call(t, req{method: tc.method, path: tc.path, token: b.userTok, body: tc.body}, tc.status, &p)
			if tc.code != "" && p.Code != tc.code {
				t.Errorf("code = %q, want %q", p.Code, tc.code)
			}
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field) {
				t.Errorf("errors = %+v, want one on %s", p.Errors, tc.field)
			}
		})
	}
}

// TestReminderCreatorLosesTheAssigneesMail replays a user who, while a
// role gave them reminder.write, assigned a reminder to a colleague, and
// after losing the role rewrote its text (a link) and moved it due, again
// and again: each change mailed the colleague. Changing the text or the
// time of a reminder another user is mailed takes what assigning it took,
// by a snooze too, which also undid the colleague's dismissal.
func TestReminderCreatorLosesTheAssigneesMail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	vic, vicTok := b.mustPrincipal(t, "vic", false)
	role := b.mustRole(t, "planner", []*usher.User{b.user}, usher.Rule{Resource: "reminder", Operation: "write", Access: usher.Allow})
	far := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	var rem struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/reminders", token: b.userTok, body: map[string]any{
		"resource": "invoice:1", "assigned_to": vic.ID, "payload": map[string]any{"note": "pay invoice 1"}, "remind_at": far}}, http.StatusCreated, &rem)
	path := fmt.Sprintf("/v1/reminders/%d", rem.ID)
	// While the role lasts, its creator changes it.
	b.call(t, req{method: "PATCH", path: path, token: b.userTok, body: map[string]any{"payload": map[string]any{"note": "pay invoice 1 today"}}}, http.StatusOK, nil)

	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/plain", role.ID), token: b.adminTok}, http.StatusNoContent, nil)
	soon := time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)
	for _, body := range []map[string]any{
		{"payload": map[string]any{"note": "Your mailbox is full, verify at https://evil.example/verify"}},
		{"remind_at": soon},
		{"resource": "invoice:2"},
	} {
		b.refused(t, req{method: "PATCH", path: path, token: b.userTok, body: body}, http.StatusForbidden, usher.CodeForbidden)
	}
	b.call(t, req{method: "POST", path: path + "/dismiss", token: vicTok}, http.StatusOK, nil)
	b.refused(t, req{method: "POST", path: path + "/snooze", token: b.userTok, body: map[string]any{"remind_at": soon}}, http.StatusForbidden, usher.CodeForbidden)
	// Its creator still sees it, and may delete it: that mails no one.
	b.call(t, req{method: "GET", path: path, token: b.userTok}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: path, token: b.userTok}, http.StatusNoContent, nil)
}

// TestDeletedReminderKeepsNoPayload replays a slow fill: create a reminder
// with a 16 KB payload and delete it, in a loop. The cap counts live
// reminders only, and a deleted one kept its payload for good (1,100
// turns left 17.6 MB). A deletion now drops the payload at once, and
// housekeeping deletes the row after --keep-ended (TestConformance/PruneEnded).
func TestDeletedReminderKeepsNoPayload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var r reminderBody
	b.call(t, req{method: "POST", path: "/v1/reminders", token: b.userTok, body: map[string]any{
		"resource": "user:42", "payload": map[string]any{"note": strings.Repeat("x", 16000)}}}, 201, &r)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/reminders/%d", r.ID), token: b.userTok}, 204, nil)
	kept, err := b.env.Store.ReminderGet(t.Context(), r.ID)
	if err != nil || kept.DeletedAt == nil || string(kept.Payload) != "null" {
		t.Fatalf("the deleted reminder's row: %d bytes of payload, deleted %v, %v", len(kept.Payload), kept.DeletedAt, err)
	}
}

// TestReminderReadRuleHidesItFromLists: a rule denying "reminder:<id>"
// read hid the reminder from Get (404) but not from the list, which
// decided on the type alone: a holder of the type-wide allow read it
// there. The list now leaves it out, and so does its total.
func TestReminderReadRuleHidesItFromLists(t *testing.T) {
	t.Parallel()
	b := setup(t)
	soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var hidden, open reminderBody
	for _, r := range []*reminderBody{&hidden, &open} {
		b.call(t, req{method: "POST", path: "/v1/reminders", token: b.adminTok,
			body: map[string]any{"resource": "user:1", "payload": map[string]any{"note": "board"}, "remind_at": soon}}, 201, r)
	}
	reader, tok := b.mustPrincipal(t, "reader", false)
	b.mustRole(t, "reminder-readers", []*usher.User{reader}, allow("reminder", "read"),
		deny("reminder:"+fmt.Sprint(hidden.ID), "read"))
	b.refused(t, req{method: "GET", path: fmt.Sprintf("/v1/reminders/%d", hidden.ID), token: tok}, http.StatusNotFound, "reminder_not_found")
	var list struct {
		Items []reminderBody `json:"items"`
		Total int            `json:"total"`
	}
	b.call(t, req{method: "GET", path: "/v1/reminders?total=true", token: tok}, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != open.ID || list.Total != 1 {
		t.Fatalf("the reader's list: %+v", list)
	}
}

// TestReminderSnoozeLoopMailsBounded replays a user snoozing one reminder
// of a 16 KB payload to a moment ahead, again and again: each snooze made
// it due again and each delivery mailed it, without bound (30 mails in
// under a second). An assignee is mailed at most 30 reminders a failure
// window; the rest are delivered unmailed, recorded as mail_limited, and
// the next window mails again.
func TestReminderSnoozeLoopMailsBounded(t *testing.T) {
	t.Parallel()
	clock := &lockClock{t: time.Now()}
	b := setupWith(t, coretest.Options{Now: clock.Now})
	u := b.env.MustCreateUser(t, usher.UserCreate{Username: "planner", Email: "planner@example.com", EmailConfirmed: true})
	tok := b.env.MustToken(t, u.ID, usher.TokenPersonal)
	var rem reminderBody
	b.call(t, req{method: "POST", path: "/v1/reminders", token: tok, body: map[string]any{"resource": "user:1",
		"payload": map[string]any{"x": strings.Repeat("y", 16000)}, "remind_at": clock.Now().Add(time.Second)}}, http.StatusCreated, &rem)
	deliver := func() int {
		clock.Add(2 * time.Second)
		n, err := b.env.Core.Reminders.DeliverDue(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	mailed := 0
	for range 40 {
		mailed += deliver()
		b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/reminders/%d/snooze", rem.ID), token: tok,
			body: map[string]any{"remind_at": clock.Now().Add(time.Second)}}, http.StatusOK, nil)
	}
	if mailed != 30 {
		t.Fatalf("40 deliveries within a window mailed %d times, want 30", mailed)
	}
	page, err := b.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "reminder.deliver"})
	if err != nil {
		t.Fatal(err)
	}
	limited := 0
	for _, e := range page.Items {
		if e.Meta["outcome"] == "mail_limited" {
			limited++
		}
	}
	if limited != 10 {
		t.Fatalf("%d deliveries recorded mail_limited, want 10", limited)
	}
	clock.Add(16 * time.Minute)
	if n := deliver(); n != 1 {
		t.Fatalf("the next window's delivery mailed %d, want 1", n)
	}
}

// TestReminderOfAGoneCreatorNotMailed: a user who may assign reminders
// set one for a colleague with a link of theirs, and an administrator
// deleted (or blocked) the account: its text was still mailed to the
// colleague when it fell due. Another's reminder is mailed only while its
// creator may sign in. A review found a purge bringing them back: the
// purged creator's id went from its reminders, which then read as usher's
// own; a purge ends them.
func TestReminderOfAGoneCreatorNotMailed(t *testing.T) {
	t.Parallel()
	for name, ends := range map[string][]string{"deleted": {"DELETE /v1/users/%d"}, "blocked": {"POST /v1/users/%d/block"},
		"purged": {"DELETE /v1/users/%d", "POST /v1/users/%d/purge"}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := &lockClock{t: time.Now()}
			b := setupWith(t, coretest.Options{Now: clock.Now})
			vic, _ := b.mustPrincipal(t, "vic", false)
			bad, tok := b.mustPrincipal(t, "bad", false)
			b.mustRole(t, "planner", []*usher.User{bad}, allow("reminder", "write"))
			for _, to := range []int64{vic.ID, bad.ID} {
				b.call(t, req{method: "POST", path: "/v1/reminders", token: tok, body: map[string]any{
					"resource": "invoice:1", "assigned_to": to, "payload": map[string]any{"note": "verify at https://evil.example"},
					"remind_at": clock.Now().Add(time.Minute)}}, http.StatusCreated, nil)
			}
			for _, end := range ends {
				method, path, _ := strings.Cut(end, " ")
				if res := b.api.do(t, req{method: method, path: fmt.Sprintf(path, bad.ID), token: b.adminTok}); res.status/100 != 2 {
					t.Fatalf("%s: %d %s", end, res.status, res.body)
				}
			}
			clock.Add(2 * time.Minute)
			if n, err := b.env.Core.Reminders.DeliverDue(context.Background(), 100); err != nil || n != 0 {
				t.Fatalf("a gone creator's reminders: %d mailed, %v", n, err)
			}
		})
	}
}

// TestRemindersAssignedAcrossAtOnce replays on PostgreSQL two
// administrators assigning each other reminders at the same moment: each
// creation held its creator's row (the count of their reminders) and then
// wrote a row naming the other as assignee, which takes a share lock on
// the other's row, so each waited for the other: "deadlock detected", a
// 500. Both rows are held first, in id order, now.
func TestRemindersAssignedAcrossAtOnce(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		b := setupWith(t, coretest.Options{Postgres: postgres})
		other := b.env.MustCreateUser(t, usher.UserCreate{Username: "root2", Email: "root2@example.com", Name: "Root Two", Admin: true})
		otherTok := b.env.MustToken(t, other.ID, usher.TokenPersonal)
		for range 3 {
			atOnce(t, 12, http.StatusCreated, func(i int) *response {
				tok, to := b.adminTok, other.ID
				if i%2 == 1 {
					tok, to = otherTok, b.admin.ID
				}
				return b.api.do(t, req{method: "POST", path: "/v1/reminders", token: tok,
					body: map[string]any{"resource": fmt.Sprintf("user:%d", to), "assigned_to": to}})
			})
		}
	})
}

// TestReminderMailOfAGoneCreatorNotRetried: past
// TestReminderOfAGoneCreatorNotMailed (a reviewer's find): a reminder for a
// colleague fell due while its creator could sign in, and its mail was
// queued; the colleague's server said "try later", an administrator then
// blocked (or deleted) the creator, and the outbox's next try delivered the
// creator's text all the same. A mail that carries another's text is sent
// only while its author may sign in. A review of the fix found the author
// taken for the reminder's creator alone: a planner who rewrote the text
// of a colleague's own reminder, then was blocked, still had it mailed,
// before it fell due or on a retry. Its writer is who last set its text,
// resource or assignee.
func TestReminderMailOfAGoneCreatorNotRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, end string
		rewritten bool // the assignee's own reminder, rewritten by the planner
		early     bool // the planner ended before it falls due
		echoed    bool // the assignee sent its text back unchanged, with a new time
		moved     bool // an administrator gave it another assignee and resource
	}{
		{"blocked", "POST /v1/users/%d/block", false, false, false, false},
		{"deleted", "DELETE /v1/users/%d", false, false, false, false},
		{"rewritten, then blocked", "POST /v1/users/%d/block", true, false, false, false},
		{"rewritten, blocked before due", "POST /v1/users/%d/block", true, true, false, false},
		{"its text sent back by the assignee, blocked before due", "POST /v1/users/%d/block", false, true, true, false},
		{"moved by an administrator, blocked before due", "POST /v1/users/%d/block", false, true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := &lockClock{t: time.Now()}
			tr := &switchTransport{mode: "later"}
			b := setupWith(t, coretest.Options{Now: clock.Now, Transport: tr})
			vic, vicTok := b.mustPrincipal(t, "vic", false)
			bad, tok := b.mustPrincipal(t, "bad", false)
			b.mustRole(t, "planner", []*usher.User{bad}, allow("reminder", "read"), allow("reminder", "write"))
			evil := map[string]any{"note": "verify at https://evil.example"}
			var rem struct {
				ID int64 `json:"id"`
			}
			if tc.rewritten {
				b.call(t, req{method: "POST", path: "/v1/reminders", token: vicTok, body: map[string]any{
					"resource": "invoice:1", "payload": map[string]any{"note": "pay the invoice"},
					"remind_at": clock.Now().Add(time.Minute)}}, http.StatusCreated, &rem)
				b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/reminders/%d", rem.ID), token: tok,
					body: map[string]any{"payload": evil}}, http.StatusOK, nil)
			} else {
				b.call(t, req{method: "POST", path: "/v1/reminders", token: tok, body: map[string]any{
					"resource": "invoice:1", "assigned_to": vic.ID, "payload": evil,
					"remind_at": clock.Now().Add(time.Minute)}}, http.StatusCreated, &rem)
			}
			if tc.echoed {
				// As Corteza's client moves a reminder: the whole of it
				// sent back (a review found the assignee taken for the
				// writer of the planner's text).
				b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/reminders/%d", rem.ID), token: vicTok,
					body: map[string]any{"payload": evil, "remind_at": clock.Now().Add(90 * time.Second)}}, http.StatusOK, nil)
			}
			if tc.moved {
				// Round 31: the administrator who moved it was taken for
				// the writer of the planner's text, which went on.
				wes, _ := b.mustPrincipal(t, "wes", false)
				b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/reminders/%d", rem.ID), token: b.adminTok,
					body: map[string]any{"assigned_to": wes.ID, "resource": "invoice:2"}}, http.StatusOK, nil)
			}
			end := func() {
				method, path, _ := strings.Cut(tc.end, " ")
				if res := b.api.do(t, req{method: method, path: fmt.Sprintf(path, bad.ID), token: b.adminTok}); res.status/100 != 2 {
					t.Fatalf("%s: %d %s", tc.end, res.status, res.body)
				}
			}
			ctx := context.Background()
			if tc.early {
				end()
				clock.Add(2 * time.Minute)
				if n, err := b.env.Core.Reminders.DeliverDue(ctx, 100); err != nil || n != 0 {
					t.Errorf("the reminder its writer, blocked, rewrote: %d mailed, %v", n, err)
				}
				return
			}
			clock.Add(2 * time.Minute)
			// By this call, or by the outbox's own run, which delivers due
			// reminders too: the mail is waited for below.
			if n, err := b.env.Core.Reminders.DeliverDue(ctx, 100); err != nil || n > 1 {
				t.Fatalf("the reminder due while its writer may sign in: %d mailed, %v", n, err)
			}
			// The first try, by this call or by the outbox's own sender.
			if _, _, err := b.env.Core.Outbox.DeliverDue(ctx, 10); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return len(tr.mails()) > 0 })
			end()
			tr.set("accept")
			clock.Add(time.Hour)
			var audit struct {
				Items []struct {
					Meta map[string]string `json:"meta"`
				} `json:"items"`
			}
			waitFor(t, func() bool {
				if _, _, err := b.env.Core.Outbox.DeliverDue(ctx, 10); err != nil {
					t.Fatal(err)
				}
				b.call(t, req{method: "GET", path: "/v1/audit?action=mail.given_up", token: b.adminTok}, http.StatusOK, &audit)
				return tr.sent("reminder", vic.Email) || len(audit.Items) > 0
			})
			if tr.sent("reminder", vic.Email) {
				t.Errorf("the reminder of a writer %s since it was queued was delivered on the outbox's retry", tc.name)
			} else if reason := audit.Items[0].Meta["reason"]; reason != "author_gone" {
				t.Errorf("the reminder's mail given up: %q, want author_gone", reason)
			}
		})
	}
}

// TestReminderPayloadNumbersComparedAsWritten: a payload whose one change
// was an integer past 2⁵³ (an order number) to another that rounds to the
// same float64 was taken for the one stored, answered 200 and dropped
// (round 31).
func TestReminderPayloadNumbersComparedAsWritten(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var rem struct {
		ID      int64           `json:"id"`
		Payload json.RawMessage `json:"payload"`
	}
	b.call(t, req{method: "POST", path: "/v1/reminders", token: b.userTok, body: map[string]any{
		"resource": "invoice:1", "payload": json.RawMessage(`{"order":9007199254740993}`),
		"remind_at": time.Now().Add(time.Hour)}}, http.StatusCreated, &rem)
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/reminders/%d", rem.ID), token: b.userTok,
		body: map[string]any{"payload": json.RawMessage(`{"order":9007199254740992}`)}}, http.StatusOK, &rem)
	if !strings.Contains(string(rem.Payload), "9007199254740992") {
		t.Errorf("a payload's order changed to 9007199254740992: answered %s, want the change kept", rem.Payload)
	}
	// The same value sent back, its keys and spacing as another writes
	// them, is still no change.
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/reminders/%d", rem.ID), token: b.userTok,
		body: map[string]any{"payload": json.RawMessage(`{ "order" : 9007199254740992 }`)}}, http.StatusOK, &rem)
	if string(rem.Payload) != `{"order":9007199254740992}` && string(rem.Payload) != `{"order": 9007199254740992}` {
		t.Errorf("the same payload sent back: answered %s", rem.Payload)
	}
}

// TestReminderEchoedByJavaScriptKeepsWriter: past
// TestReminderPayloadNumbersComparedAsWritten (a review of it): the
// planner wrote a number as 1.0 (or 1e2, an integer past 2⁵³, 1e400), the
// assignee's client — JavaScript, JSON.parse then JSON.stringify — sent
// the reminder back whole with a new time, the number written 1, and the
// assignee became the writer of the planner's text, whose block no longer
// stopped it. What a float64 reads alike is still the writer's text; on
// PostgreSQL too, whose jsonb keeps the 1.0.
func TestReminderEchoedByJavaScriptKeepsWriter(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		// Each number as the planner writes it, and as JSON.stringify
		// writes what JSON.parse read of it: past a float64's range,
		// Infinity written null (a later review).
		for _, n := range []struct{ written, echoed string }{
			{"1.0", "1"}, {"1e2", "100"}, {"9007199254740993", "9007199254740992"}, {"1e400", "null"},
		} {
			t.Run(fmt.Sprintf("postgres=%v,amount=%s", pg, n.written), func(t *testing.T) {
				t.Parallel()
				clock := &lockClock{t: time.Now()}
				b := setupWith(t, coretest.Options{Now: clock.Now, Transport: &switchTransport{mode: "accept"}, Postgres: pg})
				vic, vicTok := b.mustPrincipal(t, "vic", false)
				bad, tok := b.mustPrincipal(t, "bad", false)
				b.mustRole(t, "planner", []*usher.User{bad}, allow("reminder", "read"), allow("reminder", "write"))
				var rem struct {
					ID int64 `json:"id"`
				}
				b.call(t, req{method: "POST", path: "/v1/reminders", token: tok, body: map[string]any{
					"resource": "invoice:1", "assigned_to": vic.ID,
					"payload":   json.RawMessage(`{"note":"verify at https://evil.example","amount":` + n.written + `}`),
					"remind_at": clock.Now().Add(time.Minute)}}, http.StatusCreated, &rem)
				echoed := `{"amount":` + n.echoed + `,"note":"verify at https://evil.example"}`
				b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/reminders/%d", rem.ID), token: vicTok,
					body: map[string]any{"payload": json.RawMessage(echoed), "remind_at": clock.Now().Add(90 * time.Second)}}, http.StatusOK, nil)
				b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/block", bad.ID), token: b.adminTok}, http.StatusOK, nil)
				clock.Add(2 * time.Minute)
				if n, err := b.env.Core.Reminders.DeliverDue(context.Background(), 100); err != nil || n != 0 {
					t.Errorf("the blocked planner's text, sent back as %s by the assignee: %d mailed, %v; want none", echoed, n, err)
				}
			})
		}
	}
}

// TestReminderRewriteAFloat64ReadsAlikeKeptFromOthers: a planner holding
// reminder.write rewrites a colleague's own reminder, changing a number
// (an account number past 2⁵³) to one a float64 reads alike but that is
// written, stored and mailed otherwise. The payload was stored (its exact
// value changed) but its writer stayed the assignee, so once the planner
// was blocked the planner's digits were still mailed, as the assignee's
// own (round 33). Such a change by one who is not the writer — an echo,
// or this — is not stored: the assignee's reminder is mailed as she wrote
// it.
func TestReminderRewriteAFloat64ReadsAlikeKeptFromOthers(t *testing.T) {
	t.Parallel()
	clock := &lockClock{t: time.Now()}
	tr := &switchTransport{mode: "accept"}
	b := setupWith(t, coretest.Options{Now: clock.Now, Transport: tr})
	_, vicTok := b.mustPrincipal(t, "vic", false)
	bad, tok := b.mustPrincipal(t, "bad", false)
	b.mustRole(t, "planner", []*usher.User{bad}, allow("reminder", "read"), allow("reminder", "write"))
	var rem struct {
		ID int64 `json:"id"`
	}
	b.call(t, req{method: "POST", path: "/v1/reminders", token: vicTok, body: map[string]any{
		"resource":  "invoice:1",
		"payload":   json.RawMessage(`{"note":"pay the invoice to account","account":40123456789012345678}`),
		"remind_at": clock.Now().Add(time.Minute)}}, http.StatusCreated, &rem)
	var changed struct {
		Payload json.RawMessage `json:"payload"`
	}
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/reminders/%d", rem.ID), token: tok,
		body: map[string]any{"payload": json.RawMessage(`{"note":"pay the invoice to account","account":40123456789012346999}`)}}, http.StatusOK, &changed)
	if !strings.Contains(string(changed.Payload), "40123456789012345678") {
		t.Errorf("the planner's change answered %s, want the assignee's payload kept", changed.Payload)
	}
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/block", bad.ID), token: b.adminTok}, http.StatusOK, nil)
	clock.Add(2 * time.Minute)
	ctx := context.Background()
	// The reminder's mail, by these calls or by the outbox's own run,
	// which delivers due reminders too.
	if _, err := b.env.Core.Reminders.DeliverDue(ctx, 100); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		if _, _, err := b.env.Core.Outbox.DeliverDue(ctx, 10); err != nil {
			t.Fatal(err)
		}
		return tr.sent("reminder", "vic@example.com")
	})
	for _, m := range tr.mails() {
		if m.Kind == "reminder" && strings.Contains(fmt.Sprintf("%+v", m), "40123456789012346999") {
			t.Errorf("the blocked planner's account number was mailed as the assignee's text (author_id %d): %s", m.AuthorID, m.To)
		}
	}
}
