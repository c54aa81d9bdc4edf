package gitlab_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"usher"
	"usher/core/coretest"
	"usher/mail"
	"usher/mail/smtptest"
)

// setupMail is a server whose mail goes to an in-process SMTP server.
func setupMail(t *testing.T) (*bundle, *smtptest.Server) {
	t.Helper()
	smtp := smtptest.New(t)
	tr, err := mail.NewSMTP(smtp.URL(), "usher@example.test")
	if err != nil {
		t.Fatal(err)
	}
	return setupWith(t, options{core: coretest.Options{Transport: tr}}), smtp
}

// mailedCode finds a one-time code in a mail: 32 base62 characters on a
// line of their own.
var mailedCode = regexp.MustCompile(`(?m)^\s+([0-9A-Za-z]{32})\s*$`)

// TestCreateConfirm checks POST /users's confirm: absent or true, the core
// mails the address a confirmation code (sent here over SMTP) and the user
// shows active with confirmed_at null until it comes back; confirm=false,
// or today's skip_confirmation=true, confirms the address at once and
// mails nothing.
func TestCreateConfirm(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		params    map[string]any
		confirmed bool
	}{
		{"confirm absent", map[string]any{}, false},
		{"confirm=true", map[string]any{"confirm": true}, false},
		{"confirm=\"true\"", map[string]any{"confirm": "true"}, false},
		{"confirm=false", map[string]any{"confirm": false}, true},
		{"confirm=\"0\"", map[string]any{"confirm": "0"}, true},
		{"skip_confirmation=true", map[string]any{"skip_confirmation": true}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, smtp := setupMail(t)
			body := map[string]any{"email": "dana@example.com", "password": password, "username": "dana", "name": "Dana"}
			for k, v := range tt.params {
				body[k] = v
			}
			res := b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: body})
			got := res.object(t)
			if res.status != http.StatusCreated || got["state"] != "active" || (got["confirmed_at"] != nil) != tt.confirmed {
				t.Fatalf("create: %d %s", res.status, res.body)
			}
			id := int64(got["id"].(float64))
			sent, failed, err := b.env.Core.Outbox.DeliverDue(context.Background(), 10)
			if err != nil || failed != 0 {
				t.Fatalf("deliver: %d sent, %d failed, %v", sent, failed, err)
			}
			msgs := smtp.Messages()
			if tt.confirmed {
				if len(msgs) != 0 {
					t.Fatalf("%d mails for a confirmed address", len(msgs))
				}
				if u := b.stored(t, id); u.State != usher.StateActive || u.EmailConfirmedAt == nil {
					t.Fatalf("stored: %s, confirmed %v", u.State, u.EmailConfirmedAt)
				}
				return
			}
			if len(msgs) != 1 || !slices.Contains(msgs[0].To, "dana@example.com") {
				t.Fatalf("mails: %+v", msgs)
			}
			// The account waits for its address, as after a sign-up.
			if u := b.stored(t, id); u.State != usher.StatePending || u.EmailConfirmedAt != nil {
				t.Fatalf("stored before confirming: %s, confirmed %v", u.State, u.EmailConfirmedAt)
			}
			code := mailedCode.FindStringSubmatch(msgs[0].Body)
			if code == nil {
				t.Fatalf("the mail has no code:\n%s", msgs[0].Body)
			}
			if _, err := b.env.Core.Auth.Confirm(context.Background(), code[1]); err != nil {
				t.Fatal(err)
			}
			after := b.do(t, call{method: "GET", path: fmt.Sprintf("/api/v4/users/%d", id), token: b.adminTok}).object(t)
			if after["confirmed_at"] == nil || after["state"] != "active" || b.stored(t, id).State != usher.StateActive {
				t.Fatalf("after confirming: %v", after)
			}
		})
	}
}

// TestCreateInvitation checks POST /users's reset_password=true: no
// password needed, none taken, and the address gets an invitation whose
// link opens the hosted page that sets the password.
func TestCreateInvitation(t *testing.T) {
	t.Parallel()
	b, smtp := setupMail(t)
	for _, tt := range []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"a password as well", map[string]any{"email": "x@example.com", "username": "x", "name": "X", "password": password,
			"reset_password": true}, http.StatusBadRequest},
		{"no password, no reset_password", map[string]any{"email": "y@example.com", "username": "y", "name": "Y"}, http.StatusBadRequest},
		{"no email", map[string]any{"username": "z", "name": "Z", "reset_password": true}, http.StatusBadRequest},
		{"invited", map[string]any{"email": "dana@example.com", "username": "dana", "name": "Dana", "reset_password": true}, http.StatusCreated},
	} {
		res := b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: tt.body})
		if res.status != tt.status {
			t.Fatalf("%s: %d %s", tt.name, res.status, res.body)
		}
	}
	if _, failed, err := b.env.Core.Outbox.DeliverDue(context.Background(), 10); err != nil || failed != 0 {
		t.Fatalf("deliver: %d failed, %v", failed, err)
	}
	msgs := smtp.Messages()
	if len(msgs) != 1 || !slices.Contains(msgs[0].To, "dana@example.com") || msgs[0].Subject != "You have been invited to usher" ||
		!strings.Contains(msgs[0].Body, "/reset-password?token=") || msgs[0].HTML == "" {
		t.Fatalf("mails: %+v", msgs)
	}
}

// TestDeleteSoleOwner checks GitLab's answer for a user who alone owns a
// team: 409 with GitLab's message, unless hard_delete, which deletes the
// team with the user (GitLab deletes the groups the user solely owns).
func TestDeleteSoleOwner(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tm, err := b.env.Core.Groups.Create(usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: b.user}),
		usher.GroupCreate{Kind: usher.GroupTeam, Handle: "plain-team"})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/users/%d", b.user.ID)
	for _, tt := range []struct {
		name, path string
		status     int
		body       string
	}{
		{"v4", "/api/v4" + path, 409, `{"message":"User cannot be removed while is the sole-owner of a group"}`},
		{"v3", "/api/v3" + path, 409, `{"message":"User cannot be removed while is the sole-owner of a group"}`},
		{"hard_delete=false", "/api/v4" + path + "?hard_delete=false", 409, `{"message":"User cannot be removed while is the sole-owner of a group"}`},
		{"hard_delete not a boolean", "/api/v4" + path + "?hard_delete=maybe", 400, `{"error":"hard_delete is invalid"}`},
	} {
		b.do(t, call{method: "DELETE", path: tt.path, token: b.adminTok}).want(t, tt.name, tt.status, tt.body)
	}
	if u := b.stored(t, b.user.ID); u.Deleted() {
		t.Fatal("a refused delete deleted the user")
	}
	res := b.do(t, call{method: "DELETE", path: "/api/v4" + path + "?hard_delete=true", token: b.adminTok})
	if got := res.object(t); res.status != http.StatusOK || got["username"] != "plain" || got["email"] != "plain@example.com" {
		t.Fatalf("hard delete: %d %s", res.status, res.body)
	}
	if _, err := b.env.Core.Users.Get(system(), usher.UserKey{ID: b.user.ID}); usher.ErrorKind(err) != usher.KindNotFound {
		t.Fatalf("the user is still there: %v", err)
	}
	if gr, _, err := b.env.Core.Groups.Get(system(), usher.GroupRef{ID: tm.ID}); err != nil || !gr.Deleted() {
		t.Fatalf("the team the user alone owned: %+v, %v", gr, err)
	}
}

// TestWebURL checks that web_url leads to the user at this face, under
// either version, and that what it serves is that user.
func TestWebURL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, v := range []string{"/api/v4", "/api/v3"} {
		for _, tok := range []string{b.adminTok, b.userTok} {
			got := b.do(t, call{method: "GET", path: fmt.Sprintf("%s/users/%d", v, b.user.ID), token: tok}).object(t)
			want := fmt.Sprintf("%s/api/v4/users/%d", baseURL, b.user.ID)
			if got["web_url"] != want {
				t.Fatalf("%s: web_url %v, want %s", v, got["web_url"], want)
			}
			// The URL is on the public URL; its path is served here.
			res := b.do(t, call{method: "GET", path: strings.TrimPrefix(want, baseURL), token: tok})
			if res.status != http.StatusOK || res.object(t)["username"] != "plain" {
				t.Fatalf("following web_url: %d %s", res.status, res.body)
			}
		}
	}
}

// TestCurrentUserFields checks GET /user's differences from the document
// under both versions: no private_token (usher keeps tokens hashed), and
// two_factor_enabled false (usher has no second factor yet).
func TestCurrentUserFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, v := range []string{"/api/v4", "/api/v3"} {
		for _, tok := range []string{b.adminTok, b.userTok} {
			res := b.do(t, call{method: "GET", path: v + "/user", token: tok})
			got := res.object(t)
			if _, ok := got["private_token"]; ok || res.status != http.StatusOK {
				t.Fatalf("%s: %d %s", v, res.status, res.body)
			}
			if tf, ok := got["two_factor_enabled"]; !ok || tf != false {
				t.Fatalf("%s: two_factor_enabled %v", v, tf)
			}
		}
	}
}

// TestCreateDeleteLoopMailsAnAddressFewTimes replays a holder of
// user.create and user.delete rules making an account with someone's
// address and deleting it, in a loop, alternating invitations and
// confirmations: each account mailed the address, without limit. A code
// mailed at creation counts as a resend does: three an address within the
// failure window, then 429.
func TestCreateDeleteLoopMailsAnAddressFewTimes(t *testing.T) {
	t.Parallel()
	b, smtp := setupMail(t)
	helpdesk := b.env.MustCreateUser(t, usher.UserCreate{Username: "helpdesk", Email: "helpdesk@example.com"})
	tok := b.env.MustToken(t, helpdesk.ID, usher.TokenPersonal)
	role, err := b.env.Core.Groups.Create(system(), usher.GroupCreate{Kind: usher.GroupRole, Handle: "helpdesk"})
	if err != nil {
		t.Fatal(err)
	}
	rules := []usher.Rule{{Resource: "user", Operation: "create", Access: usher.Allow}, {Resource: "user", Operation: "delete", Access: usher.Allow}}
	if _, err := b.env.Core.Groups.SetRules(system(), usher.GroupRef{ID: role.ID}, rules, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.AddMember(system(), usher.GroupRef{ID: role.ID}, usher.UserKey{ID: helpdesk.ID}, ""); err != nil {
		t.Fatal(err)
	}
	const victim = "victim@corp.example"
	for i := range 5 {
		body := map[string]any{"email": victim, "username": "newhire", "name": "New Hire"}
		if i%2 == 0 {
			body["reset_password"] = true
		} else {
			body["password"] = password
		}
		res := b.do(t, call{method: "POST", path: "/api/v4/users", token: tok, body: body})
		if i >= 3 {
			if res.status != http.StatusTooManyRequests {
				t.Fatalf("account %d with the address: %d %s, want 429", i+1, res.status, res.body)
			}
			continue
		}
		if res.status != http.StatusCreated {
			t.Fatalf("create %d: %d %s", i, res.status, res.body)
		}
		id := int64(res.object(t)["id"].(float64))
		if res := b.do(t, call{method: "DELETE", path: fmt.Sprintf("/api/v4/users/%d", id), token: tok}); res.status/100 != 2 {
			t.Fatalf("delete: %d %s", res.status, res.body)
		}
	}
	if _, failed, err := b.env.Core.Outbox.DeliverDue(context.Background(), 100); err != nil || failed != 0 {
		t.Fatalf("deliver: %d failed, %v", failed, err)
	}
	// Each mail is about an account deleted since: the outbox holds it
	// (an undeletion would send it) rather than write to the address.
	got := 0
	for _, m := range smtp.Messages() {
		if slices.Contains(m.To, victim) {
			got++
		}
	}
	held := 0
	for id := int64(1); id <= 20; id++ {
		if m, err := b.env.Store.OutboxGet(context.Background(), id); err == nil && m.To == victim && m.SentAt == nil {
			held++
		}
	}
	if got != 0 || held != 3 {
		t.Errorf("%d mails sent to the address and %d held, want 0 and 3", got, held)
	}
}

// TestCreateRandomPassword checks POST /users's force_random_password=true:
// GitLab makes the user with a password no one is told, replacing one
// given beside it, and mails no invitation. usher makes it without a
// password: no password signs it in, the one given beside the flag
// neither, and none is needed.
func TestCreateRandomPassword(t *testing.T) {
	t.Parallel()
	b, smtp := setupMail(t)
	user := func(name string) map[string]any {
		return map[string]any{"email": name + "@example.com", "username": name, "name": name, "skip_confirmation": true}
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	for _, tt := range []struct {
		name, body string
		in         map[string]any
		status     int
	}{
		{"alone", "", with(user("rand-a"), "force_random_password", true), http.StatusCreated},
		{"beside a password", "", with(user("rand-b"), "force_random_password", true, "password", password), http.StatusCreated},
		{"as a string", "", with(user("rand-c"), "force_random_password", "true"), http.StatusCreated},
		{"false, no password", `{"error":"password is missing"}`, with(user("rand-d"), "force_random_password", false), http.StatusBadRequest},
		{"not a boolean", `{"error":"force_random_password is invalid"}`, with(user("rand-e"), "force_random_password", "maybe", "password", password), http.StatusBadRequest},
	} {
		res := b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: tt.in})
		res.want(t, tt.name, tt.status, tt.body)
		if got := res.object(t); tt.status == http.StatusCreated && (got["username"] != tt.in["username"] || got["email"] != tt.in["email"]) {
			t.Errorf("%s: answered %s", tt.name, res.body)
		}
	}
	for _, name := range []string{"rand-a", "rand-b", "rand-c"} {
		if _, err := b.env.Core.Auth.Login(context.Background(), name, password); usher.ErrorKind(err) != usher.KindUnauthenticated {
			t.Errorf("%s signs in with a password: %v", name, err)
		}
	}
	if _, _, err := b.env.Core.Outbox.DeliverDue(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	if msgs := smtp.Messages(); len(msgs) != 0 {
		t.Errorf("mailed %d messages, want none: %+v", len(msgs), msgs)
	}
}

// TestUpdateSkipReconfirmation checks PUT /users/:id's skip_reconfirmation:
// an administrator's new address is confirmed with it and unconfirmed
// without it; it does nothing without a new address; and a user changing
// their own address may not vouch for it, which was answered 200 and
// ignored before.
func TestUpdateSkipReconfirmation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := fmt.Sprintf("/api/v4/users/%d", b.user.ID)
	for _, tt := range []struct {
		name      string
		token     string
		body      map[string]any
		status    int
		answer    string // the refusal's exact body, or "" for the user
		email     string
		confirmed bool
	}{
		{"an administrator's change", b.adminTok, map[string]any{"email": "one@example.com"}, 200, "", "one@example.com", false},
		{"with skip_reconfirmation", b.adminTok, map[string]any{"email": "two@example.com", "skip_reconfirmation": true}, 200, "", "two@example.com", true},
		{"again, without it", b.adminTok, map[string]any{"email": "three@example.com"}, 200, "", "three@example.com", false},
		{"skip_reconfirmation alone", b.adminTok, map[string]any{"skip_reconfirmation": true}, 200, "", "three@example.com", false},
		{"not a boolean", b.adminTok, map[string]any{"email": "four@example.com", "skip_reconfirmation": "maybe"}, 400,
			`{"error":"skip_reconfirmation is invalid"}`, "three@example.com", false},
		{"the user's own", b.userTok, map[string]any{"email": "mine@example.com", "skip_reconfirmation": true}, 403,
			`{"message":"403 Forbidden"}`, "three@example.com", false},
	} {
		res := b.do(t, call{method: "PUT", path: path, token: tt.token, body: tt.body})
		res.want(t, tt.name, tt.status, tt.answer)
		if tt.status == http.StatusOK {
			if got := res.object(t); got["email"] != tt.email {
				t.Errorf("%s: answered email %v, want %s", tt.name, got["email"], tt.email)
			}
		}
		u := b.stored(t, b.user.ID)
		if u.Email != tt.email || (u.EmailConfirmedAt != nil) != tt.confirmed || u.UnconfirmedEmail != "" {
			t.Errorf("%s: the address %q (confirmed %v, waiting %q), want %q (confirmed %v)", tt.name,
				u.Email, u.EmailConfirmedAt != nil, u.UnconfirmedEmail, tt.email, tt.confirmed)
		}
	}
}

// TestSkipReconfirmationActivatesPending: an account made pending its
// confirmation, whose new address an administrator then vouches for with
// skip_reconfirmation, could not sign in: its address was confirmed but
// it stayed pending, and no code could confirm it any more. It is active,
// as after a confirmation.
func TestSkipReconfirmationActivatesPending(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok,
		body: map[string]any{"email": "p1@example.com", "username": "pending", "name": "P", "password": password}})
	id := int64(res.object(t)["id"].(float64))
	if u := b.stored(t, id); u.State != usher.StatePending {
		t.Fatalf("made %s, want pending", u.State)
	}
	b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", id), token: b.adminTok,
		body: map[string]any{"email": "p2@example.com", "skip_reconfirmation": true}}).want(t, "vouched", http.StatusOK, "")
	if u := b.stored(t, id); u.State != usher.StateActive || u.EmailConfirmedAt == nil {
		t.Errorf("after the vouched change: %s, confirmed %v; want active, confirmed", u.State, u.EmailConfirmedAt != nil)
	}
	if _, err := b.env.Core.Auth.Login(context.Background(), "pending", password); err != nil {
		t.Errorf("log-in: %v", err)
	}
}
