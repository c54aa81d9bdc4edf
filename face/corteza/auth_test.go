package corteza_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/mail"
	"usher/mail/smtptest"
)

// mailBundle is a server whose mail goes to an in-process SMTP server.
type mailBundle struct {
	*bundle
	smtp *smtptest.Server
}

func setupMail(t *testing.T) *mailBundle {
	t.Helper()
	srv := smtptest.New(t)
	tr, err := mail.NewSMTP(srv.URL(), "usher@example.test")
	if err != nil {
		t.Fatal(err)
	}
	b := setupWith(t, coretest.Options{Policy: core.Policy{SignupEnabled: true}, Transport: tr})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.env.Core.Outbox.Run(ctx, 20*time.Millisecond)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &mailBundle{bundle: b, smtp: srv}
}

// codeRE finds a one-time code in a mail: 32 base62 characters on a line
// of their own.
var codeRE = regexp.MustCompile(`(?m)^\s+([0-9A-Za-z]{32})\s*$`)

// code waits for the n-th mail, which must go to to, and returns its code.
func (b *mailBundle) code(t *testing.T, n int, to string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := b.smtp.Wait(ctx, n)
	if err != nil {
		t.Fatalf("mail %d never came: %v", n, err)
	}
	m := msgs[n-1]
	if !slices.Contains(m.To, to) {
		t.Fatalf("mail %d went to %v, want %s", n, m.To, to)
	}
	found := codeRE.FindStringSubmatch(m.Body)
	if found == nil {
		t.Fatalf("mail %d has no code:\n%s", n, m.Body)
	}
	return found[1]
}

// authBody is the answer of a log-in or a confirmation.
type authBody struct {
	Response struct {
		JWT  string `json:"jwt"`
		User struct {
			ID    string `json:"userID"`
			Email string `json:"email"`
		} `json:"user"`
	} `json:"response"`
}

// wantErr checks an answer is Corteza's error envelope with a message
// holding want, or no error when want is "".
func wantErr(t *testing.T, res *response, want string) {
	t.Helper()
	msg := res.errMessage(t)
	switch {
	case want == "" && msg != "":
		t.Errorf("error %q: %s", msg, res.body)
	case want != "" && !strings.Contains(strings.ToLower(msg), want):
		t.Errorf("error %q, want it to mention %q: %s", msg, want, res.body)
	}
}

// TestPasswordReset: a reset asked for by address mails a token; the token
// is exchanged once for a ticket and the user, the ticket sets a password
// that keeps the policy, and the old sessions end.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	b := setupMail(t)
	const next = "a brand new passphrase for plain"
	res := b.do(t, "POST", "/auth/internal/request-password-reset", "", map[string]any{"email": "plain@example.com"})
	if string(res.body) != `{"success":{"message":"OK"}}`+"\n" {
		t.Fatalf("request: %s", res.body)
	}
	code := b.code(t, 1, "plain@example.com")
	// The same answer for an address no account has; a malformed one is
	// refused.
	wantErr(t, b.do(t, "POST", "/auth/internal/request-password-reset", "", map[string]any{"email": "nobody@example.com"}), "")
	wantErr(t, b.do(t, "POST", "/auth/internal/request-password-reset", "", map[string]any{"email": "not an address"}), "email")

	exchange := func(token string) *response {
		return b.do(t, "POST", "/auth/internal/exchange-password-reset-token", "", map[string]any{"token": token})
	}
	wantErr(t, exchange(strings.Repeat("A", 32)), "not found")
	wantErr(t, exchange(""), "token")
	var ex struct {
		Response struct {
			Token string `json:"token"`
			User  struct {
				ID    string `json:"userID"`
				Email string `json:"email"`
			} `json:"user"`
		} `json:"response"`
	}
	exchange(code).decode(t, &ex)
	if ex.Response.Token == "" || ex.Response.User.Email != "plain@example.com" || ex.Response.User.ID != strconv.FormatInt(b.user.ID, 10) {
		t.Fatalf("exchange: %+v", ex)
	}
	wantErr(t, exchange(code), "not found")

	reset := func(token, password string) *response {
		return b.do(t, "POST", "/auth/internal/reset-password", "", map[string]any{"token": token, "password": password})
	}
	wantErr(t, reset(strings.Repeat("B", 32), next), "not found")
	wantErr(t, reset(ex.Response.Token, "short"), "password")
	if res := reset(ex.Response.Token, next); string(res.body) != `{"success":{"message":"OK"}}`+"\n" {
		t.Fatalf("reset: %s", res.body)
	}
	wantErr(t, reset(ex.Response.Token, next+" again"), "not found")

	b.clock.Add(3 * time.Second)
	wantErr(t, b.do(t, "GET", "/auth/check", b.userJWT, nil), "unauthorized")
	wantErr(t, b.do(t, "POST", "/auth/internal/login", "", map[string]string{"email": "plain@example.com", "password": password}), "password")
	var in authBody
	b.do(t, "POST", "/auth/internal/login", "", map[string]string{"email": "plain@example.com", "password": next}).decode(t, &in)
	if in.Response.JWT == "" {
		t.Error("no log-in with the new password")
	}
}

// TestChangePassword: the signed-in user changes their password with the
// current one, and stays signed in (before, the change ended the session
// behind the JWT it was made with); a wrong current one, a weak new one
// and no JWT are refused.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const next = "plain's second passphrase"
	change := func(jwt, old, new string) *response {
		return b.do(t, "POST", "/auth/internal/change-password", jwt, map[string]any{"oldPassword": old, "newPassword": new})
	}
	tests := []struct {
		name, jwt, old, new string
		want                string
	}{
		{"no JWT", "", password, next, "unauthorized"},
		{"wrong old password", b.userJWT, "not the password", next, "password"},
		{"weak new password", b.userJWT, password, "short", "password"},
		{"no new password", b.userJWT, password, "", "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, change(tt.jwt, tt.old, tt.new), tt.want)
		})
	}
	if res := change(b.userJWT, password, next); string(res.body) != `{"success":{"message":"OK"}}`+"\n" {
		t.Fatalf("change: %s", res.body)
	}
	// The session the JWT was made with stays, as the native API keeps the
	// session a change is made with; the user's other sessions end.
	if msg := b.do(t, "GET", "/auth/check", b.userJWT, nil).errMessage(t); msg != "" {
		t.Fatalf("the JWT the change was made with: %q", msg)
	}
	wantErr(t, b.do(t, "POST", "/auth/internal/login", "", map[string]string{"email": "plain@example.com", "password": password}), "password")
	var in authBody
	b.do(t, "POST", "/auth/internal/login", "", map[string]string{"email": "plain@example.com", "password": next}).decode(t, &in)
	if in.Response.JWT == "" {
		t.Error("no log-in with the new password")
	}
}

// TestConfirmEmail: a sign-up mails a code; confirming with it answers the
// user with an empty jwt, once; the account then logs in.
func TestConfirmEmail(t *testing.T) {
	t.Parallel()
	b := setupMail(t)
	const email, pass = "erin@example.com", "erin's own long passphrase"
	var up authBody
	res := b.do(t, "POST", "/auth/internal/signup", "", map[string]any{"email": email, "username": "erin", "password": pass, "name": "Erin"})
	res.decode(t, &up)
	if up.Response.User.Email != email || up.Response.JWT != "" {
		t.Fatalf("sign-up: %s", res.body)
	}
	code := b.code(t, 1, email)
	wantErr(t, b.do(t, "POST", "/auth/internal/login", "", map[string]string{"email": email, "password": pass}), "confirm your e-mail")
	confirm := func(token string) *response {
		return b.do(t, "POST", "/auth/internal/confirm-email", "", map[string]any{"token": token})
	}
	wantErr(t, confirm(strings.Repeat("C", 32)), "not found")
	wantErr(t, confirm(""), "required")
	res = confirm(code)
	var c authBody
	res.decode(t, &c)
	if c.Response.User.Email != email || c.Response.User.ID != up.Response.User.ID ||
		!strings.Contains(string(res.body), `"jwt":""`) {
		t.Fatalf("confirm: %s", res.body)
	}
	wantErr(t, confirm(code), "not found")
	var in authBody
	b.do(t, "POST", "/auth/internal/login", "", map[string]string{"email": email, "password": pass}).decode(t, &in)
	if in.Response.JWT == "" {
		t.Error("no log-in after the confirmation")
	}
}

// TestAuthExchange: usher's one-time redeem token of a finished external
// log-in is exchanged for a JWT, once.
func TestAuthExchange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const token = "rEdEeMtOkEn0123456789abcdefghijk"
	sum := sha256.Sum256([]byte(token))
	now := b.clock.Now()
	if err := b.env.Store.CodeCreate(context.Background(), &usher.Code{Kind: usher.CodeRedeem, Hash: sum[:], UserID: b.user.ID,
		ExpiresAt: now.Add(time.Minute), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	exchange := func(token string) *response {
		return b.do(t, "POST", "/auth/exchange", "", map[string]any{"token": token})
	}
	wantErr(t, exchange("unknown-token"), "not found")
	wantErr(t, exchange(""), "token")
	var ex authBody
	exchange(token).decode(t, &ex)
	if len(ex.Response.JWT) <= 100 || ex.Response.User.Email != "plain@example.com" {
		t.Fatalf("exchange: %+v", ex)
	}
	wantErr(t, b.do(t, "GET", "/auth/check", ex.Response.JWT, nil), "")
	wantErr(t, exchange(token), "not found")
}

// TestRoleMove: a role moves into an organisation; an unknown organisation
// or role, an id that is no number and a plain user are refused.
func TestRoleMove(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var org struct {
		Response struct {
			ID string `json:"organisationID"`
		} `json:"response"`
	}
	b.do(t, "POST", "/organisations/", b.adminJWT, map[string]any{"name": "Acme"}).decode(t, &org)
	var role struct {
		Response struct {
			RoleID string `json:"roleID"`
		} `json:"response"`
	}
	b.do(t, "POST", "/roles/", b.adminJWT, map[string]any{"name": "Editors", "handle": "editors"}).decode(t, &role)
	if org.Response.ID == "" || role.Response.RoleID == "" {
		t.Fatalf("organisation %+v, role %+v", org, role)
	}
	move := func(jwt, roleID string, body any) *response {
		return b.do(t, "POST", "/roles/"+roleID+"/move", jwt, body)
	}
	tests := []struct {
		name, jwt, role string
		body            any
		want            string
	}{
		{"unknown organisation", b.adminJWT, role.Response.RoleID, map[string]any{"organisationID": "987654321"}, "not found"},
		{"organisation no number", b.adminJWT, role.Response.RoleID, map[string]any{"organisationID": "acme"}, "organisationid"},
		{"unknown role", b.adminJWT, "987654321", map[string]any{"organisationID": org.Response.ID}, "not found"},
		{"a plain user", b.userJWT, role.Response.RoleID, map[string]any{"organisationID": org.Response.ID}, "not allowed"},
		{"no JWT", "", role.Response.RoleID, map[string]any{"organisationID": org.Response.ID}, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, move(tt.jwt, tt.role, tt.body), tt.want)
		})
	}
	if res := move(b.adminJWT, role.Response.RoleID, map[string]any{"organisationID": org.Response.ID}); string(res.body) != `{"success":{"message":"OK"}}`+"\n" {
		t.Fatalf("move: %s", res.body)
	}
	id, _ := strconv.ParseInt(role.Response.RoleID, 10, 64)
	g, err := b.env.Store.GroupGet(context.Background(), id, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if strconv.FormatInt(g.OrganisationID, 10) != org.Response.ID {
		t.Errorf("the role's organisation is %d, want %s", g.OrganisationID, org.Response.ID)
	}
}

// TestConfirmAnswersOnlyTheCallersRoles: a confirmation or a reset's
// exchange made with another account's JWT attached (a browser signed in
// as someone else) answers the account it acted on without its roles,
// which are the caller's to read only when the account is the caller's:
// it used to list them to a caller who may read them, and to fail with
// 403 — after the code was spent and the address confirmed — for one a
// rule keeps from reading that account.
func TestConfirmAnswersOnlyTheCallersRoles(t *testing.T) {
	t.Parallel()
	b := setupMail(t)
	sys := coretest.System()
	role := func(handle string, members []int64, rules ...usher.Rule) {
		t.Helper()
		g, err := b.env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: handle, Members: members})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.env.Core.Groups.SetRules(sys, usher.GroupRef{ID: g.ID}, rules, true); err != nil {
			t.Fatal(err)
		}
	}
	var up authBody
	b.do(t, "POST", "/auth/internal/signup", "", map[string]any{"email": "erin@example.com", "username": "erin",
		"password": "erin's own long passphrase", "name": "Erin"}).decode(t, &up)
	erin, err := strconv.ParseInt(up.Response.User.ID, 10, 64)
	if err != nil {
		t.Fatalf("sign-up: %+v", up)
	}
	role("staff", []int64{erin})
	role("walled", []int64{b.user.ID}, usher.Rule{Resource: "user:" + up.Response.User.ID, Operation: "read", Access: usher.Deny})
	walled := b.login(t, "plain@example.com")
	check := func(name, path, code, jwt string) {
		t.Helper()
		res := b.do(t, "POST", path, jwt, map[string]any{"token": code})
		var out struct {
			Response struct {
				User *struct {
					ID    string   `json:"userID"`
					Roles []string `json:"roles"`
				} `json:"user"`
			} `json:"response"`
		}
		res.decode(t, &out)
		if res.status != http.StatusOK || out.Response.User == nil || out.Response.User.ID != up.Response.User.ID ||
			out.Response.User.Roles == nil || len(out.Response.User.Roles) != 0 {
			t.Errorf("%s: %d %s, want 200 with Erin and no roles", name, res.status, res.body)
		}
	}
	check("confirm with a walled caller's JWT", "/auth/internal/confirm-email", b.code(t, 1, "erin@example.com"), walled)
	b.do(t, "POST", "/auth/internal/request-password-reset", "", map[string]any{"email": "erin@example.com"})
	check("exchange with an administrator's JWT", "/auth/internal/exchange-password-reset-token",
		b.code(t, 2, "erin@example.com"), b.adminJWT)
}

// TestJWTAnswersNotStored: Corteza's answers that carry a fresh JWT (a
// log-in, auth/check, an impersonation) were "max-age=0, private,
// must-revalidate", which a browser keeps in its cache on disk, where the
// other faces' log-ins and tokens are no-store.
func TestJWTAnswersNotStored(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []struct {
		name         string
		method, path string
		jwt          string
		body         any
	}{
		{"login", "POST", "/auth/internal/login", "", map[string]string{"email": "plain@example.com", "password": password}},
		{"check", "GET", "/auth/check", b.userJWT, nil},
		{"impersonate", "POST", "/auth/impersonate", b.adminJWT, map[string]string{"userID": strconv.FormatInt(b.user.ID, 10)}},
	} {
		res := b.do(t, c.method, c.path, c.jwt, c.body)
		if res.status != 200 || !strings.Contains(string(res.body), `"jwt":"ey`) {
			t.Errorf("%s %s: %d %s", c.method, c.path, res.status, res.body)
			continue
		}
		if cc := res.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("%s %s answers a JWT with Cache-Control %q, not no-store", c.method, c.path, cc)
		}
	}
}

// TestResetTicketNotStored: past TestJWTAnswersNotStored, the
// exchange of a password-reset code answers with a ticket that sets the
// account's password (reset-password takes it): a credential, kept by a
// browser's cache as the JWT answers were.
func TestResetTicketNotStored(t *testing.T) {
	t.Parallel()
	b := setupMail(t)
	b.do(t, "POST", "/auth/internal/request-password-reset", "", map[string]any{"email": "plain@example.com"})
	code := b.code(t, 1, "plain@example.com")
	res := b.do(t, "POST", "/auth/internal/exchange-password-reset-token", "", map[string]any{"token": code})
	if res.status != 200 || !strings.Contains(string(res.body), `"token":"`) {
		t.Fatalf("exchange: %d %s", res.status, res.body)
	}
	if cc := res.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("POST /auth/internal/exchange-password-reset-token answers a reset ticket with Cache-Control %q, not no-store", cc)
	}
}
