package native_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
)

// TestAuditHidesDeniedActorsAgent: a holder of audit.read denied one
// account (user:<id> read) is refused GET /v1/users/{it}, and the log
// left out that account's actor_name and actor_email, but each event the
// account made still carried its user agent and client address, the
// device and network of a person the reader may not see.
func TestAuditHidesDeniedActorsAgent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hidden, htok := b.mustPrincipal(t, "hidden", false)
	auditor, tok := b.mustPrincipal(t, "auditor", false)
	b.mustRole(t, "auditors", []*usher.User{auditor}, allow("audit", "read"),
		deny("user:"+strconv.FormatInt(hidden.ID, 10), "read"))
	b.refused(t, req{method: "GET", path: "/v1/users/hidden", token: tok}, http.StatusForbidden, usher.CodeForbidden)
	const agent = "Hidden-Person-iPhone-of-CEO-Private/17.2"
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", hidden.ID), token: htok,
		header: map[string]string{"User-Agent": agent}, body: map[string]any{"bio": "private bio"}}, http.StatusOK, nil)
	res := b.call(t, req{method: "GET", path: "/v1/audit?limit=100", token: tok}, http.StatusOK, nil)
	if strings.Contains(string(res.body), "private bio") {
		t.Fatalf("precondition: values not hidden")
	}
	if strings.Contains(string(res.body), agent) {
		t.Errorf("the auditor denied the account reads its user agent %q in its events: %.800s", agent, res.body)
	}
}

// TestAuditHidesDeniedSecondaryAddresses: a holder of audit.read whom a
// rule denies reading one account's addresses (email:<id> read) is
// refused GET /v1/users/{it}/emails, yet read the secondary address the
// account added in the email.add event's meta. What a rule keeps a reader
// from elsewhere it keeps from the log too.
func TestAuditHidesDeniedSecondaryAddresses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hidden, htok := b.mustPrincipal(t, "hidden", false)
	auditor, tok := b.mustPrincipal(t, "auditor", false)
	b.mustRole(t, "auditors", []*usher.User{auditor}, allow("audit", "read"),
		deny("email:"+strconv.FormatInt(hidden.ID, 10), "read"))
	const private = "whistleblower-private@protonmail.example"
	b.call(t, req{method: "POST", path: "/v1/users/hidden/emails", token: htok, body: map[string]any{"email": private}}, http.StatusCreated, nil)
	res := b.api.do(t, req{method: "GET", path: "/v1/users/hidden/emails", token: tok})
	if res.status == http.StatusOK {
		t.Fatalf("precondition: the auditor reads the addresses: %s", res.body)
	}
	if strings.Contains(string(res.body), private) {
		t.Fatalf("precondition: the refusal names the address")
	}
	t.Logf("GET /v1/users/hidden/emails as the auditor → %d", res.status)
	res = b.call(t, req{method: "GET", path: "/v1/audit?action=email.&limit=100", token: tok}, http.StatusOK, nil)
	if strings.Contains(string(res.body), private) {
		t.Errorf("the auditor, denied the account's addresses (GET /v1/users/hidden/emails is refused), reads %q in the log: %.600s", private, res.body)
	}
}

// TestAuditHidesDeniedKeyTitles: as above, for SSH keys: a holder of
// audit.read denied one account's keys (ssh_key:<id> read) is refused GET
// /v1/users/{it}/keys, yet read the title the account gave its key, and
// its fingerprint, in the ssh_key.add event.
func TestAuditHidesDeniedKeyTitles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hidden, htok := b.mustPrincipal(t, "hidden", false)
	auditor, tok := b.mustPrincipal(t, "auditor", false)
	b.mustRole(t, "auditors", []*usher.User{auditor}, allow("audit", "read"),
		deny("ssh_key:"+strconv.FormatInt(hidden.ID, 10), "read"))
	const title = "laptop-at-secret-clinic"
	b.call(t, req{method: "POST", path: "/v1/users/hidden/keys", token: htok, body: map[string]any{"title": title, "key": coretest.NewSSHKey(t)}}, http.StatusCreated, nil)
	res := b.api.do(t, req{method: "GET", path: "/v1/users/hidden/keys", token: tok})
	if res.status == http.StatusOK {
		t.Fatalf("precondition: the auditor reads the keys: %s", res.body)
	}
	t.Logf("GET /v1/users/hidden/keys as the auditor → %d", res.status)
	res = b.call(t, req{method: "GET", path: "/v1/audit?action=ssh_key.&limit=100", token: tok}, http.StatusOK, nil)
	if strings.Contains(string(res.body), title) {
		t.Errorf("the auditor, denied the account's keys, reads %q in the log: %.600s", title, res.body)
	}
}

// TestAuditHidesDeniedAccountsReminderChanges: a holder of audit.read
// denied one account (user:<id> read) found that account's
// reminder.create hidden (by its assigned_to), but its later changes of
// the same reminder (reminder.update, dismiss, snooze) kept only
// "resource" in their meta, no account to decide by, and showed the text
// the account chose, old and new. Every reminder event names its creator
// and its assignee now.
func TestAuditHidesDeniedAccountsReminderChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hidden, htok := b.mustPrincipal(t, "hidden", false)
	auditor, tok := b.mustPrincipal(t, "auditor", false)
	b.mustRole(t, "auditors", []*usher.User{auditor}, allow("audit", "read"),
		deny("user:"+strconv.FormatInt(hidden.ID, 10), "read"))
	var rem struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/reminders", token: htok, body: map[string]any{"resource": "clinic:oncology-appointment-first",
		"remind_at": time.Now().Add(time.Hour)}}, http.StatusCreated, &rem)
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/reminders/%d", rem.ID), token: htok,
		body: map[string]any{"resource": "clinic:psychiatry-appointment-second"}}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/reminders/%d/dismiss", rem.ID), token: htok}, http.StatusOK, nil)
	res := b.call(t, req{method: "GET", path: "/v1/audit?resource=reminder&limit=100", token: tok}, http.StatusOK, nil)
	for _, s := range []string{"oncology-appointment", "psychiatry-appointment"} {
		if strings.Contains(string(res.body), s) {
			t.Errorf("the auditor, denied the account, reads its reminder's %q: %.900s", s, res.body)
		}
	}
}
