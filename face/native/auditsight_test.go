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
	tok := b.deniedAuditor(t, "user", hidden)
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
	tok := b.deniedAuditor(t, "email", hidden)
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
	tok := b.deniedAuditor(t, "ssh_key", hidden)
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
	tok := b.deniedAuditor(t, "user", hidden)
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

// TestAuditHidesDeniedAccountsAgentWhenAnonymous: past
// TestAuditHidesDeniedActorsAgent, the events a person makes before
// signing in (a password reset asked for, a failed log-in) are recorded on
// their account with no actor: the reader denied the account read the
// device and network of the person it may not see.
func TestAuditHidesDeniedAccountsAgentWhenAnonymous(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hidden, _ := b.mustPrincipal(t, "hidden", false)
	tok := b.deniedAuditor(t, "user", hidden)
	b.refused(t, req{method: "GET", path: "/v1/users/hidden", token: tok}, http.StatusForbidden, usher.CodeForbidden)
	const agent = "Hidden-Person-iPhone-of-CEO-Private/17.2"
	h := map[string]string{"User-Agent": agent}
	if res := b.api.do(t, req{method: "POST", path: "/v1/auth/password-reset", header: h,
		body: map[string]any{"email": "hidden@example.com"}}); res.status != http.StatusAccepted {
		t.Fatalf("reset request: %d %s", res.status, res.body)
	}
	if res := b.api.do(t, req{method: "POST", path: "/v1/auth/login", header: h,
		body: map[string]any{"login": "hidden", "password": "a wrong passphrase"}}); res.status == http.StatusOK {
		t.Fatalf("log-in with a wrong password: %d", res.status)
	}
	res := b.call(t, req{method: "GET", path: "/v1/audit?resource=user:" + strconv.FormatInt(hidden.ID, 10) + "&limit=100", token: tok}, http.StatusOK, nil)
	if !strings.Contains(string(res.body), "[hidden]") {
		t.Fatalf("no event on the account hidden: %.600s", res.body)
	}
	if strings.Contains(string(res.body), agent) {
		t.Errorf("the auditor denied the account reads its user agent %q in events on it: %.900s", agent, res.body)
	}
}

// TestAuditHidesDeniedImpersonatorsAgent: an event made during an
// impersonation is the impersonated account's (actor_id), but the device
// and network are the impersonator's: a reader denied the impersonator
// read its user agent there.
func TestAuditHidesDeniedImpersonatorsAgent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	boss, btok := b.mustPrincipal(t, "boss", true)
	b.mustPrincipal(t, "victim", false)
	tok := b.deniedAuditor(t, "user", boss)
	b.refused(t, req{method: "GET", path: "/v1/users/boss", token: tok}, http.StatusForbidden, usher.CodeForbidden)
	const agent = "Boss-Private-Laptop-At-Home/9.9"
	h := map[string]string{"User-Agent": agent}
	var j struct {
		JWT string `json:"jwt"`
	}
	b.call(t, req{method: "POST", path: "/v1/auth/impersonate", token: btok, header: h,
		body: map[string]any{"user": "victim", "expires_in": 600}}, http.StatusOK, &j)
	b.call(t, req{method: "PATCH", path: "/v1/users/victim", token: j.JWT, header: h,
		body: map[string]any{"bio": "changed"}}, http.StatusOK, nil)
	res := b.call(t, req{method: "GET", path: "/v1/audit?limit=100", token: tok}, http.StatusOK, nil)
	if strings.Contains(string(res.body), agent) {
		t.Errorf("the auditor denied the impersonator reads its user agent %q: %.900s", agent, res.body)
	}
}

// TestAuditHidesDeniedAccountsLockout: past
// TestAuditHidesDeniedAccountsAgentWhenAnonymous, failed log-ins on an
// account lock it out, and the auth.lockout event (resource throttle,
// "login:user:ID", no actor) kept the device and network of whoever
// failed: the reader denied the account read them there. Round 64 of
// review: from a device the account knows (its owner's phone, mistyping)
// the lock of that device's own key was recorded under a name the hiding
// did not read as the account; it is named as the login's own lock is.
func TestAuditHidesDeniedAccountsLockout(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, agent string
		signedIn    bool // from the device before: one the account knows
	}{
		{"a device the account does not know", "Hidden-Person-iPhone-of-CEO-Private/17.2", false},
		{"its owner's own device", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			hidden, _ := b.mustPrincipal(t, "hidden", false)
			tok := b.deniedAuditor(t, "user", hidden)
			b.refused(t, req{method: "GET", path: "/v1/users/hidden", token: tok}, http.StatusForbidden, usher.CodeForbidden)
			h := map[string]string{"User-Agent": tt.agent}
			if tt.signedIn {
				b.call(t, req{method: "POST", path: "/v1/auth/login", header: h,
					body: map[string]any{"login": "hidden", "password": matrixPassword}}, http.StatusOK, nil)
			}
			for i := 0; i < 30; i++ {
				res := b.api.do(t, req{method: "POST", path: "/v1/auth/login", header: h,
					body: map[string]any{"login": "hidden", "password": "a wrong passphrase"}})
				if res.status == http.StatusTooManyRequests {
					break
				}
			}
			res := b.call(t, req{method: "GET", path: "/v1/audit?limit=100", token: tok}, http.StatusOK, nil)
			var page struct {
				Items []map[string]any `json:"items"`
			}
			res.decode(t, &page)
			found := false
			for _, e := range page.Items {
				if e["action"] != "auth.lockout" {
					continue
				}
				found = true
				ua, _ := e["user_agent"].(string)
				addr, _ := e["address"].(string)
				rid, _ := e["resource_id"].(string)
				if strings.Contains(ua, "iPhone") || strings.HasPrefix(rid, "login:user:"+strconv.FormatInt(hidden.ID, 10)) && addr != "" {
					t.Errorf("the auditor denied the account reads, in its lockout, resource %v, user agent %q, address %q, meta %v", rid, ua, addr, e["meta"])
				}
			}
			if !found {
				t.Fatalf("no lockout event: %.600s", res.body)
			}
		})
	}
}

// deniedAuditor makes a user who holds audit.read and whom a rule denies
// reading resource (user, email, ssh_key) of the account, and returns its
// token.
func (b *bundle) deniedAuditor(t *testing.T, resource string, account *usher.User) string {
	t.Helper()
	auditor, tok := b.mustPrincipal(t, "auditor", false)
	b.mustRole(t, "auditors", []*usher.User{auditor}, allow("audit", "read"),
		deny(resource+":"+strconv.FormatInt(account.ID, 10), "read"))
	return tok
}

// TestAuditNamesNoAddressInALockout: past
// TestAuditHidesDeniedAccountsLockout, a lock of an address's password
// resets was logged under the address (reset:hidden@example.com), which
// anyone may type whether an account has it or not, and which a rule may
// keep from the log's reader. Such a lock names the domain alone, as a
// reset asked for an address no account has does.
func TestAuditNamesNoAddressInALockout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hidden, _ := b.mustPrincipal(t, "hidden", false)
	tok := b.deniedAuditor(t, "user", hidden)
	locked := false
	for range 30 {
		if res := b.api.do(t, req{method: "POST", path: "/v1/auth/password-reset", body: map[string]any{"email": hidden.Email}}); res.status == http.StatusTooManyRequests {
			locked = true
			break
		}
	}
	if !locked {
		t.Fatal("the resets were never refused")
	}
	for _, token := range []string{tok, b.adminTok} {
		res := b.call(t, req{method: "GET", path: "/v1/audit?action=auth.lockout&limit=100", token: token}, http.StatusOK, nil)
		if !strings.Contains(string(res.body), `"resource_id":"reset:@`) || strings.Contains(string(res.body), hidden.Email) {
			t.Errorf("the lockout of the address's resets: %.600s", res.body)
		}
	}
}

// TestAuditHidesDeniedReminderAndFile replays a reader of the log allowed
// every reminder and every file but one (reminder:<id> or attachment:<id>
// read denied): GET answered 404 for it and lists left it out, but its
// events showed the reminder's resource, or the file's name, checksum and
// size (round 44). And a reader who may not read the instance settings,
// to whom setting.set's values are hidden, read the name and checksum of
// the file a setting was set from in the attachment.create written beside
// it. Each is hidden now.
func TestAuditHidesDeniedReminderAndFile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	const resource, file, settingFile = "merger:acme-takeover-2027", "layoffs-list-q3.png", "saml-signing-key-prod.png"
	var r reminderBody
	b.call(t, req{method: "POST", path: "/v1/reminders", token: b.userTok,
		body: map[string]any{"resource": resource, "remind_at": soon}}, http.StatusCreated, &r)
	a := b.mustUpload(t, file, pngImage(t))
	body, ctype := multipartFile(t, "upload", settingFile, pngImage(t), nil)
	b.call(t, req{method: "PUT", path: "/v1/settings/auth.saml_key", token: b.adminTok, body: body,
		header: map[string]string{"Content-Type": ctype}}, http.StatusOK, nil)
	auditor, tok := b.mustPrincipal(t, "auditor", false)
	b.mustRole(t, "aud", []*usher.User{auditor}, allow("audit", "read"),
		allow("reminder", "read"), deny(fmt.Sprintf("reminder:%d", r.ID), "read"),
		allow("attachment", "read"), deny(fmt.Sprintf("attachment:%d", a.ID), "read"))
	b.refused(t, req{method: "GET", path: fmt.Sprintf("/v1/reminders/%d", r.ID), token: tok}, http.StatusNotFound, "reminder_not_found")
	b.refused(t, req{method: "GET", path: fmt.Sprintf("/v1/attachments/%d", a.ID), token: tok}, http.StatusNotFound, "attachment_not_found")
	b.refused(t, req{method: "GET", path: "/v1/settings/auth.saml_key", token: tok}, http.StatusForbidden, "forbidden")
	res := b.call(t, req{method: "GET", path: "/v1/audit?limit=100", token: tok}, http.StatusOK, nil)
	for _, secret := range []string{resource, file, settingFile, a.Checksum} {
		if strings.Contains(string(res.body), secret) {
			t.Errorf("the log shows %q to a reader kept from it: %.900s", secret, res.body)
		}
	}
	// An administrator reads them all.
	res = b.call(t, req{method: "GET", path: "/v1/audit?limit=100", token: b.adminTok}, http.StatusOK, nil)
	for _, shown := range []string{resource, file, settingFile} {
		if !strings.Contains(string(res.body), shown) {
			t.Errorf("the administrator's log lacks %q", shown)
		}
	}
}
