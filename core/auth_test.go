package core_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// from returns a context for a request from the address.
func from(addr string) context.Context {
	return usher.WithRequest(context.Background(), usher.Request{ID: "t", Address: addr, UserAgent: "test"})
}

type authBundle struct {
	env   *coretest.Env
	auth  *core.Auth
	clock *clock
	admin *usher.User
	alice *usher.User
}

const alicePassword = "a long passphrase of alice"

func setupAuth(t *testing.T, p core.Policy) *authBundle {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	env := coretest.New(t, coretest.Options{Policy: p, Now: c.Now})
	b := &authBundle{env: env, auth: env.Core.Auth, clock: c}
	b.admin = env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true, Password: "root's long passphrase"})
	b.alice = env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", Password: alicePassword})
	return b
}

func TestLogin(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := from("192.0.2.1")
	for _, login := range []string{"alice", "ALICE", "alice@example.com", "Alice@Example.com"} {
		s, err := b.auth.Login(ctx, login, alicePassword)
		if err != nil {
			t.Fatalf("login %q: %v", login, err)
		}
		if s.User.ID != b.alice.ID || s.Token.Kind != usher.TokenSession || !strings.HasPrefix(s.Secret, "uss_") ||
			s.Token.Address != "192.0.2.1" || s.User.CurrentSignInAt == nil {
			t.Fatalf("session: %+v", s)
		}
		p, err := b.auth.Authenticate(ctx, s.Secret)
		if err != nil || p.User.ID != b.alice.ID || p.Token.ID != s.Token.ID {
			t.Fatalf("the session does not authenticate: %v", err)
		}
	}
	// Wrong password and unknown account: one answer.
	_, err := b.auth.Login(ctx, "alice", "not her password")
	wantKind(t, err, usher.KindUnauthenticated, "invalid_credentials")
	_, err = b.auth.Login(ctx, "nobody", "not her password")
	wantKind(t, err, usher.KindUnauthenticated, "invalid_credentials")
	_, err = b.auth.Login(ctx, "", "x")
	wantKind(t, err, usher.KindInvalid, "missing_credentials")
	// Log-out ends the session.
	s, _ := b.auth.Login(ctx, "alice", alicePassword)
	p, _ := b.auth.Authenticate(ctx, s.Secret)
	if err := b.auth.Logout(usher.WithPrincipal(ctx, p)); err != nil {
		t.Fatal(err)
	}
	_, err = b.auth.Authenticate(ctx, s.Secret)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
	// Sign-in times move.
	u, _ := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: b.alice.ID})
	if u.LastSignInAt == nil || u.CurrentSignInAt == nil {
		t.Fatalf("sign-in times: %v %v", u.LastSignInAt, u.CurrentSignInAt)
	}
}

func TestLoginRefusesInactiveAccounts(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := from("192.0.2.2")
	if _, err := b.env.Core.Users.Block(coretest.System(), usher.UserKey{ID: b.alice.ID}); err != nil {
		t.Fatal(err)
	}
	_, err := b.auth.Login(ctx, "alice", alicePassword)
	wantKind(t, err, usher.KindForbidden, "account_inactive")
	// The wrong password still gets the generic answer: the state is told
	// only to who knows the password.
	_, err = b.auth.Login(ctx, "alice", "wrong password here")
	wantKind(t, err, usher.KindUnauthenticated, "invalid_credentials")
	pending := b.env.MustCreateUser(t, usher.UserCreate{Username: "newbie", Email: "new@example.com", Password: "newbie's passphrase", State: usher.StatePending})
	_, err = b.auth.Login(ctx, "newbie", "newbie's passphrase")
	wantKind(t, err, usher.KindForbidden, "email_not_confirmed")
	tok := b.env.MustToken(t, pending.ID, usher.TokenPersonal)
	_, err = b.auth.Authenticate(ctx, tok)
	wantKind(t, err, usher.KindUnauthenticated, "account_inactive")
	// With the policy allowing unconfirmed sign-in, pending accounts log in.
	open := setupAuth(t, core.Policy{AllowUnconfirmedSignIn: true})
	open.env.MustCreateUser(t, usher.UserCreate{Username: "newbie", Email: "new@example.com", Password: "newbie's passphrase", State: usher.StatePending})
	if _, err := open.auth.Login(ctx, "newbie", "newbie's passphrase"); err != nil {
		t.Fatalf("pending log-in allowed by policy: %v", err)
	}
}

func TestLoginLockout(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{MaxFailuresPerKey: 3, MaxFailuresPerIP: 5, LockBase: time.Minute, LockMax: 10 * time.Minute})
	ctx := from("198.51.100.7")
	for i := 1; i <= 2; i++ {
		_, err := b.auth.Login(ctx, "alice", "wrong password here")
		wantKind(t, err, usher.KindUnauthenticated, "invalid_credentials")
	}
	_, err := b.auth.Login(ctx, "alice", "wrong password here")
	wantKind(t, err, usher.KindRateLimited, "too_many_attempts")
	if e := usher.AsError(err); e.RetryAfter != time.Minute {
		t.Fatalf("RetryAfter = %v, want 1m", e.RetryAfter)
	}
	// Even the right password waits out the lock.
	_, err = b.auth.Login(ctx, "alice", alicePassword)
	wantKind(t, err, usher.KindRateLimited, "too_many_attempts")
	// Another login from elsewhere is not held up.
	if _, err := b.auth.Login(from("203.0.113.9"), "root", "root's long passphrase"); err != nil {
		t.Fatalf("root from elsewhere: %v", err)
	}
	b.clock.Add(time.Minute + time.Second)
	if _, err := b.auth.Login(ctx, "alice", alicePassword); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	// The address limit: different logins from one address.
	for i := range 5 {
		_, err = b.auth.Login(ctx, "ghost"+string(rune('a'+i)), "wrong password here")
	}
	wantKind(t, err, usher.KindRateLimited, "too_many_attempts")
	_, err = b.auth.Login(ctx, "root", "root's long passphrase")
	wantKind(t, err, usher.KindRateLimited, "too_many_attempts")
	page, err := b.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "auth.lockout"})
	if err != nil || len(page.Items) < 2 {
		t.Fatalf("lockouts audited: %v, %v", page, err)
	}
}

func TestRehashImportedPassword(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	hash, _ := bcrypt.GenerateFromPassword([]byte("imported passphrase"), bcrypt.MinCost)
	u := b.env.MustCreateUser(t, usher.UserCreate{Username: "imported", PasswordHash: string(hash)})
	if _, err := b.auth.Login(from("192.0.2.3"), "imported", "imported passphrase"); err != nil {
		t.Fatal(err)
	}
	stored, err := b.env.Store.PasswordGet(context.Background(), u.ID)
	if err != nil || !strings.HasPrefix(stored, "$argon2id$") {
		t.Fatalf("after log-in the hash is %q, %v; want argon2id", stored, err)
	}
	if _, err := b.auth.Login(from("192.0.2.3"), "imported", "imported passphrase"); err != nil {
		t.Fatalf("log-in with the new hash: %v", err)
	}
}

func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	tests := []struct {
		pw, username, email, code string
	}{
		{"password", "", "", "too_common"},
		{"Password1", "", "", "too_common"},
		{"short", "", "", "too_short"},
		{strings.Repeat("x", 257), "", "", "too_long"},
		{"bobby-tables", "bobby-tables", "", "same_as_username"},
		{"bobby@example.com", "", "bobby@example.com", "same_as_email"},
		{"correct horse battery staple", "", "", ""},
	}
	for _, tt := range tests {
		q, err := b.auth.PasswordCheck(context.Background(), tt.pw, tt.username, tt.email)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(q.Problems) > 0 {
			got = q.Problems[0].Code
		}
		if got != tt.code || q.Acceptable != (tt.code == "") {
			t.Errorf("%q: problem %q acceptable %v, want %q", tt.pw, got, q.Acceptable, tt.code)
		}
	}
	weak, _ := b.auth.PasswordCheck(context.Background(), "abcabcabc1", "", "")
	strong, _ := b.auth.PasswordCheck(context.Background(), "Tr0ub4dor&3 correct horse battery", "", "")
	if weak.Score >= strong.Score || weak.Warning == "" || len(weak.Suggestions) == 0 || strong.Score < 3 {
		t.Fatalf("weak %+v, strong %+v", weak, strong)
	}
	// The same rules apply when a password is set.
	_, err := b.env.Core.Users.Create(coretest.System(), usher.UserCreate{Username: "bob", Password: "password"})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	_, err = b.env.Core.Users.Update(coretest.System(), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Password: ptr("alice@example.com")})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	strict := setupAuth(t, core.Policy{PasswordMinScore: 4})
	_, err = strict.env.Core.Users.Create(coretest.System(), usher.UserCreate{Username: "bob", Password: "abcabcabc1"})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
}

func TestChangeAndSetPassword(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := from("192.0.2.4")
	s1, _ := b.auth.Login(ctx, "alice", alicePassword)
	s2, _ := b.auth.Login(ctx, "alice", alicePassword)
	p, _ := b.auth.Authenticate(ctx, s1.Secret)
	actx := usher.WithPrincipal(ctx, p)
	err := b.auth.ChangePassword(actx, "wrong current one", "a brand new passphrase")
	wantKind(t, err, usher.KindForbidden, "wrong_password")
	if err := b.auth.ChangePassword(actx, alicePassword, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.auth.Authenticate(ctx, s1.Secret); err != nil {
		t.Fatalf("the session that changed the password ended: %v", err)
	}
	_, err = b.auth.Authenticate(ctx, s2.Secret)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
	_, err = b.auth.Login(ctx, "alice", alicePassword)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_credentials")
	// An administrator sets it; every session ends.
	if err := b.auth.SetPassword(as(b.admin), usher.UserKey{ID: b.alice.ID}, "set by the admin today"); err != nil {
		t.Fatal(err)
	}
	_, err = b.auth.Authenticate(ctx, s1.Secret)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
	if _, err := b.auth.Login(ctx, "alice", "set by the admin today"); err != nil {
		t.Fatal(err)
	}
	err = b.auth.SetPassword(as(b.alice), usher.UserKey{ID: b.admin.ID}, "alice sets root's one")
	wantKind(t, err, usher.KindForbidden, "")
}

func TestSessionsAndTokens(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := from("192.0.2.5")
	s1, _ := b.auth.Login(ctx, "alice", alicePassword)
	s2, _ := b.auth.Login(ctx, "alice", alicePassword)
	p, _ := b.auth.Authenticate(ctx, s1.Secret)
	actx := usher.WithPrincipal(ctx, p)
	sessions, err := b.auth.Sessions(actx)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("sessions: %v, %v", sessions, err)
	}
	if err := b.auth.EndSession(actx, s2.Token.ID); err != nil {
		t.Fatal(err)
	}
	// Another's session is not found.
	rs, _ := b.auth.Login(ctx, "root", "root's long passphrase")
	err = b.auth.EndSession(actx, rs.Token.ID)
	wantKind(t, err, usher.KindNotFound, "")
	// Tokens: mint, list, rotate, revoke.
	tok, text, err := b.auth.CreateToken(actx, usher.TokenCreate{UserID: b.alice.ID, Kind: usher.TokenPersonal, Name: "ci", Scopes: []string{"read_api"}})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := b.auth.Tokens(actx)
	if len(list) != 1 || list[0].ID != tok.ID {
		t.Fatalf("tokens: %v", list)
	}
	rot, newText, err := b.auth.RotateToken(actx, tok.ID)
	if err != nil || rot.Name != "ci" || rot.Scopes[0] != "read_api" || newText == text {
		t.Fatalf("rotate: %+v, %v", rot, err)
	}
	_, err = b.auth.Authenticate(ctx, text)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
	if _, err := b.auth.Authenticate(ctx, newText); err != nil {
		t.Fatal(err)
	}
	_, _, err = b.auth.RotateToken(actx, s1.Token.ID)
	wantKind(t, err, usher.KindInvalid, "")
	if err := b.auth.RevokeToken(actx, rot.ID); err != nil {
		t.Fatal(err)
	}
	_, err = b.auth.Authenticate(ctx, newText)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
	err = b.auth.RevokeToken(actx, rot.ID)
	wantKind(t, err, usher.KindNotFound, "token_not_found")
	n, err := b.auth.EndSessions(actx)
	if err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v", n, err)
	}
	_, err = b.auth.Authenticate(ctx, s1.Secret)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
}

// TestEndOtherSessions: "sign out everywhere else" ends every session of
// the caller but the one it calls with.
func TestEndOtherSessions(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := context.Background()
	here, err := b.auth.Login(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := b.auth.Login(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.auth.Authenticate(ctx, here.Secret)
	if err != nil {
		t.Fatal(err)
	}
	n, err := b.auth.EndOtherSessions(usher.WithPrincipal(ctx, p))
	if err != nil || n != 1 {
		t.Fatalf("EndOtherSessions = %d, %v; want 1", n, err)
	}
	if _, err := b.auth.Authenticate(ctx, here.Secret); err != nil {
		t.Fatalf("the calling session ended: %v", err)
	}
	_, err = b.auth.Authenticate(ctx, elsewhere.Secret)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
}

func TestJWT(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{JWTTTL: 10 * time.Minute})
	ctx := context.Background()
	pat := b.env.MustToken(t, b.alice.ID, usher.TokenPersonal, "read_api")
	p, _ := b.auth.Authenticate(ctx, pat)
	raw, c, err := b.auth.IssueJWT(usher.WithPrincipal(ctx, p))
	if err != nil || c.Subject != b.alice.ID || !c.ExpiresAt.Equal(b.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("IssueJWT: %+v, %v", c, err)
	}
	jp, err := b.auth.Authenticate(ctx, raw)
	if err != nil || jp.User.ID != b.alice.ID || jp.Token != nil || len(jp.Scopes) != 1 || jp.Scopes[0] != "read_api" {
		t.Fatalf("the JWT authenticates as %+v, %v", jp, err)
	}
	// A JWT is not exchanged for another.
	_, _, err = b.auth.IssueJWT(usher.WithPrincipal(ctx, jp))
	wantKind(t, err, usher.KindForbidden, "")
	// Forgeries fail: another algorithm, no signature, a changed payload.
	parts := strings.Split(raw, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	hs := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]
	var claims map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(payload, &claims)
	claims["sub"] = "1"
	forged, _ := json.Marshal(claims)
	changed := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
	for name, bad := range map[string]string{"alg none": none, "HS256": hs, "changed payload": changed, "truncated": raw[:len(raw)-4], "garbage": "a.b.c"} {
		if _, err := b.auth.Authenticate(ctx, bad); usher.ErrorKind(err) != usher.KindUnauthenticated {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Expired.
	b.clock.Add(11 * time.Minute)
	_, err = b.auth.Authenticate(ctx, raw)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
	// A rotation keeps the older JWTs valid until they expire.
	raw, _, _ = b.auth.IssueJWT(usher.WithPrincipal(ctx, p))
	if err := b.auth.RotateSigningKey(coretest.System()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.auth.Authenticate(ctx, raw); err != nil {
		t.Fatalf("a JWT of the retired key: %v", err)
	}
	newer, _, _ := b.auth.IssueJWT(usher.WithPrincipal(ctx, p))
	var set struct {
		Keys []struct{ Kid, Alg, Kty, Crv string }
	}
	data, _ := b.auth.JWKS(ctx)
	_ = json.Unmarshal(data, &set)
	if len(set.Keys) != 2 || set.Keys[0].Alg != "EdDSA" || set.Keys[0].Crv != "Ed25519" || set.Keys[0].Kty != "OKP" {
		t.Fatalf("JWKS: %s", data)
	}
	if kidOf(newer) == kidOf(raw) {
		t.Fatal("the rotation did not change the signing key")
	}
	// A blocked account's JWT stops working at once.
	if _, err := b.env.Core.Users.Block(coretest.System(), usher.UserKey{ID: b.alice.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = b.auth.Authenticate(ctx, newer)
	wantKind(t, err, usher.KindUnauthenticated, "account_inactive")
}

func kidOf(raw string) string {
	head, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	var h struct{ Kid string }
	_ = json.Unmarshal(head, &h)
	return h.Kid
}

// rootSession logs root in and returns the session and its principal.
func (b *authBundle) rootSession(t *testing.T) (*usher.Session, *usher.Principal) {
	t.Helper()
	s, err := b.auth.Login(context.Background(), "root", "root's long passphrase")
	if err != nil {
		t.Fatal(err)
	}
	ap, err := b.auth.Authenticate(context.Background(), s.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return s, ap
}

func TestImpersonate(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	// An impersonation is made with the administrator's session, and ends
	// with it.
	_, ap := b.rootSession(t)
	ctx := usher.WithPrincipal(context.Background(), ap)
	raw, c, u, err := b.auth.Impersonate(ctx, usher.UserKey{Username: "alice"}, 30*time.Minute)
	if err != nil || u.ID != b.alice.ID || c.ImpersonatorID != b.admin.ID {
		t.Fatalf("Impersonate: %+v %v", c, err)
	}
	p, err := b.auth.Authenticate(context.Background(), raw)
	if err != nil || p.User.ID != b.alice.ID || p.Impersonator == nil || p.Impersonator.ID != b.admin.ID {
		t.Fatalf("the impersonation authenticates as %+v, %v", p, err)
	}
	// What is done with it is audited under both.
	if _, err := b.env.Core.Users.Update(usher.WithPrincipal(context.Background(), p), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Bio: ptr("x")}); err != nil {
		t.Fatal(err)
	}
	updates, _ := b.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "user.update"})
	if len(updates.Items) != 1 || updates.Items[0].ActorID != b.alice.ID || updates.Items[0].ImpersonatorID != b.admin.ID {
		t.Fatalf("the update under impersonation is audited as %+v", updates.Items)
	}
	page, _ := b.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "auth.impersonate"})
	if len(page.Items) != 1 || page.Items[0].ActorID != b.admin.ID || page.Items[0].ResourceID != "2" {
		t.Fatalf("impersonation audit: %+v", page.Items)
	}
	_, _, err = b.auth.CreateToken(usher.WithPrincipal(context.Background(), p), usher.TokenCreate{UserID: b.alice.ID, Kind: usher.TokenPersonal})
	wantKind(t, err, usher.KindForbidden, "")
	for name, tt := range map[string]struct {
		ctx context.Context
		ttl time.Duration
		key usher.UserKey
	}{
		"not an admin":                 {as(b.alice), time.Minute, usher.UserKey{Username: "root"}},
		"24 hours":                     {ctx, 24 * time.Hour, usher.UserKey{Username: "alice"}},
		"oneself":                      {ctx, time.Minute, usher.UserKey{Username: "root"}},
		"an impersonation":             {usher.WithPrincipal(context.Background(), p), time.Minute, usher.UserKey{Username: "root"}},
		"nobody":                       {ctx, time.Minute, usher.UserKey{Username: "nobody"}},
		"anonymous":                    {context.Background(), time.Minute, usher.UserKey{Username: "alice"}},
		"too short a while":            {ctx, time.Second, usher.UserKey{Username: "alice"}},
		"without a session or a token": {as(b.admin), time.Minute, usher.UserKey{Username: "alice"}},
	} {
		if _, _, _, err := b.auth.Impersonate(tt.ctx, tt.key, tt.ttl); err == nil {
			t.Errorf("%s: allowed", name)
		}
	}
}

func TestSignupPolicy(t *testing.T) {
	t.Parallel()
	off := setupAuth(t, core.Policy{})
	_, err := off.auth.Signup(context.Background(), usher.Signup{Username: "eve", Email: "eve@example.com", Password: "eve's long passphrase"})
	wantKind(t, err, usher.KindForbidden, "signup_disabled")
	on := setupAuth(t, core.Policy{SignupEnabled: true, SignupDomains: []string{"example.com"}})
	_, err = on.auth.Signup(context.Background(), usher.Signup{Username: "eve", Email: "eve@elsewhere.test", Password: "eve's long passphrase"})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	u, err := on.auth.Signup(context.Background(), usher.Signup{Username: "eve", Email: "eve@example.com", Password: "eve's long passphrase"})
	if err != nil || u.State != usher.StatePending || u.EmailConfirmedAt != nil {
		t.Fatalf("sign-up: %+v, %v", u, err)
	}
	_, err = on.auth.Signup(context.Background(), usher.Signup{Username: "EVE", Email: "eve2@example.com", Password: "eve's long passphrase"})
	wantKind(t, err, usher.KindConflict, "username_taken")
	_, err = on.auth.Signup(context.Background(), usher.Signup{Username: "mallory", Email: "mallory@example.com", Password: "password"})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	_, err = on.auth.Confirm(context.Background(), "not-a-code")
	wantKind(t, err, usher.KindNotFound, "confirm_not_found")
}

func TestSudo(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	p, err := b.auth.Sudo(as(b.admin), usher.UserKey{Username: "alice"})
	if err != nil || p.User.ID != b.alice.ID || p.Impersonator.ID != b.admin.ID {
		t.Fatalf("Sudo: %+v, %v", p, err)
	}
	// What is done as alice is audited with the admin beside her.
	ctx := usher.WithPrincipal(context.Background(), p)
	if _, err := b.env.Core.Settings.Update(ctx, usher.UserKey{ID: b.alice.ID}, map[string]json.RawMessage{"k": json.RawMessage(`1`)}); err != nil {
		t.Fatal(err)
	}
	page, _ := b.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "settings.update"})
	if len(page.Items) != 1 || page.Items[0].ActorID != b.alice.ID || page.Items[0].ImpersonatorID != b.admin.ID {
		t.Fatalf("audit under sudo: %+v", page.Items)
	}
	for name, ctx := range map[string]context.Context{
		"a plain user":     as(b.alice),
		"no sudo scope":    as(b.admin, "api"),
		"an impersonation": ctx,
		"anonymous":        context.Background(),
	} {
		if _, err := b.auth.Sudo(ctx, usher.UserKey{Username: "root"}); err == nil {
			t.Errorf("%s: sudo allowed", name)
		}
	}
	if _, err := b.auth.Sudo(as(b.admin, "api", "sudo"), usher.UserKey{Username: "alice"}); err != nil {
		t.Fatalf("with the sudo scope: %v", err)
	}
	_, err = b.auth.Sudo(as(b.admin), usher.UserKey{Username: "nobody"})
	wantKind(t, err, usher.KindNotFound, "user_not_found")
}

// TestLoginBurst: guesses sent at once cannot all slip under the limit of
// each login. An account's username and address count apart, as logins
// nobody has do (see TestLockoutTellsNoAliases in face/native), so half
// the guesses with each verify at most 5 apiece.
func TestLoginBurst(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{MaxFailuresPerKey: 5, MaxFailuresPerIP: 1000})
	var wg sync.WaitGroup
	var verified, refused atomic.Int32
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			login := "alice"
			if i%2 == 0 {
				login = "ALICE@example.com"
			}
			_, err := b.auth.Login(from(fmt.Sprintf("192.0.2.%d", i)), login, "a wrong guess at it")
			switch usher.AsError(err).Code {
			case "invalid_credentials":
				verified.Add(1)
			case "too_many_attempts":
				refused.Add(1)
			default:
				t.Errorf("login: %v", err)
			}
		}()
	}
	wg.Wait()
	if verified.Load() > 10 || refused.Load() < 30 {
		t.Fatalf("%d guesses were verified and %d refused; at most 5 a login may be verified", verified.Load(), refused.Load())
	}
}

func TestAddressKeys(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{MaxFailuresPerKey: 1000, MaxFailuresPerIP: 3})
	// Addresses of one IPv6 /64 count as one client.
	for i := range 3 {
		_, _ = b.auth.Login(from(fmt.Sprintf("2001:db8:1:2::%x", i+1)), fmt.Sprintf("ghost%d", i), "wrong")
	}
	_, err := b.auth.Login(from("2001:db8:1:2:ffff::9"), "root", "root's long passphrase")
	wantKind(t, err, usher.KindRateLimited, "too_many_attempts")
	if _, err := b.auth.Login(from("2001:db8:1:3::1"), "root", "root's long passphrase"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
}

// TestTokenChecksCached: a token's check is kept for a moment, yet a
// revocation, a block or a deletion made by this process ends it at once;
// one made by another process on the same database is seen within two
// seconds.
func TestTokenChecksCached(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := from("192.0.2.7")
	check := func(token string) error {
		_, err := b.auth.Authenticate(ctx, token)
		return err
	}
	mint := func(u *usher.User) (*usher.Token, string) {
		tok, text, err := b.auth.CreateToken(coretest.System(), usher.TokenCreate{UserID: u.ID, Name: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if err := check(text); err != nil {
			t.Fatalf("a fresh token: %v", err)
		}
		return tok, text
	}

	tok, text := mint(b.alice)
	if err := b.auth.RevokeToken(coretest.System(), tok.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, check(text), usher.KindUnauthenticated, "invalid_token")

	_, text = mint(b.alice)
	if _, err := b.env.Core.Users.Block(coretest.System(), usher.UserKey{ID: b.alice.ID}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, check(text), usher.KindUnauthenticated, "account_inactive")

	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
	_, text = mint(bob)
	if _, err := b.env.Core.Users.Delete(coretest.System(), usher.UserKey{ID: bob.ID}); err != nil {
		t.Fatal(err)
	}
	if check(text) == nil {
		t.Fatal("a deleted user's token still works")
	}

	// Another process revokes: this one goes on trusting its check until
	// it is two seconds old.
	carol := b.env.MustCreateUser(t, usher.UserCreate{Username: "carol"})
	tok, text = mint(carol)
	replica := b.env.Replica(t)
	if _, err := replica.TokenRevoke(context.Background(), store.TokenFilter{ID: tok.ID}, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := check(text); err != nil {
		t.Fatalf("within the cache's time: %v", err)
	}
	b.clock.Add(2 * time.Second)
	wantKind(t, check(text), usher.KindUnauthenticated, "invalid_token")
}

// TestServiceAccountLogin: a service account logs in with its name and
// one of its tokens; any other pair is a wrong password.
func TestServiceAccountLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sa := b.env.MustCreateUser(t, usher.UserCreate{Username: "ci-bot", Kind: usher.KindServiceAccount})
	token := b.env.MustToken(t, sa.ID, usher.TokenServiceAccount)
	personal := b.env.MustToken(t, b.alice.ID, usher.TokenPersonal)
	auth := b.env.Core.Auth
	if p, err := auth.ServiceAccountLogin(context.Background(), "CI-Bot", token); err != nil || p.User.ID != sa.ID {
		t.Fatalf("log-in: %+v, %v", p, err)
	}
	for _, tt := range []struct{ name, username, token string }{
		{"another name", "alice", token},
		{"a personal token", "alice", personal},
		{"no token", "ci-bot", ""},
		{"a made-up token", "ci-bot", "usa_nothing"},
	} {
		_, err := auth.ServiceAccountLogin(context.Background(), tt.username, tt.token)
		if e := usher.AsError(err); e.Kind != usher.KindUnauthenticated || e.Code != usher.CodeInvalidCredentials {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// TestLoginCountsNoChange: a log-in, right or wrong, writes only what no
// kept token check can be stale by, so the store's count of changes — the
// signal that ends every kept check — does not grow; a log-in that ends
// sessions past the cap does grow it.
func TestLoginCountsNoChange(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{MaxSessionsPerUser: 2})
	ctx := from("192.0.2.7")
	steps := []struct {
		name  string
		pw    string
		grows bool
	}{
		{"first log-in", alicePassword, false},
		{"wrong password", "not her password", false},
		{"second log-in", alicePassword, false},
		{"a third session ends the oldest", alicePassword, true},
	}
	for _, st := range steps {
		before := b.env.Store.Changes()
		_, err := b.auth.Login(ctx, "alice", st.pw)
		if (err == nil) != (st.pw == alicePassword) {
			t.Fatalf("%s: %v", st.name, err)
		}
		if grew := b.env.Store.Changes() > before; grew != st.grows {
			t.Errorf("%s: the count of changes grew: %v, want %v", st.name, grew, st.grows)
		}
	}
}

// TestImpersonationEndsAtItsExpiry: an impersonation asked for a minute
// still authenticated 20 s after the expiry the core returned and audited,
// while the administrator's session behind it lived on: the clock skew
// allowed on a JWT's times reached its expiry too. A JWT, an
// impersonation's or a shared one, ends at its expiry.
func TestImpersonationEndsAtItsExpiry(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	_, ap := b.rootSession(t)
	raw, c, _, err := b.auth.Impersonate(usher.WithPrincipal(context.Background(), ap), usher.UserKey{Username: "alice"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Add(c.ExpiresAt.Sub(b.clock.Now()) - time.Second)
	if _, err := b.auth.Authenticate(context.Background(), raw); err != nil {
		t.Fatalf("the impersonation a second before its expiry: %v", err)
	}
	b.clock.Add(time.Second)
	if p, err := b.auth.Authenticate(context.Background(), raw); err == nil {
		t.Fatalf("the impersonation that expired at %s still authenticates at %s as %s", c.ExpiresAt, b.clock.Now(), p.User.Username)
	}
}

// TestEndImpersonation checks that an impersonation ended with its JWT
// refuses that JWT and the shared JWT made of it (Corteza's), that a JWT
// that is no impersonation's ends nothing, and that the administrator's
// session and own JWT go on.
func TestEndImpersonation(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	s, ap := b.rootSession(t)
	actx := usher.WithPrincipal(context.Background(), ap)
	raw, _, _, err := b.auth.Impersonate(actx, usher.UserKey{Username: "alice"}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := b.auth.Authenticate(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	shared, _, err := b.auth.IssueSharedJWT(usher.WithPrincipal(context.Background(), ip))
	if err != nil {
		t.Fatal(err)
	}
	own, _, err := b.auth.IssueJWT(actx)
	if err != nil {
		t.Fatal(err)
	}
	for name, jwt := range map[string]string{"the administrator's own JWT": own, "a session": s.Secret, "no JWT": ""} {
		if err := b.auth.EndImpersonation(context.Background(), jwt); err == nil {
			t.Errorf("EndImpersonation with %s: ended", name)
		}
	}
	if err := b.auth.EndImpersonation(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	if p, err := b.auth.Authenticate(context.Background(), raw); err == nil {
		t.Errorf("the ended impersonation's JWT authenticates as %s", p.User.Username)
	}
	if p, err := b.auth.Authenticate(context.Background(), shared, usher.TokenSharedJWT); err == nil {
		t.Errorf("the shared JWT made of the ended impersonation authenticates as %s", p.User.Username)
	}
	if _, err := b.auth.Authenticate(context.Background(), s.Secret); err != nil {
		t.Errorf("the administrator's session after the end: %v", err)
	}
	if _, err := b.auth.Authenticate(context.Background(), own); err != nil {
		t.Errorf("the administrator's own JWT after the end: %v", err)
	}
}

// TestChangeOfRightsEndsImpersonations: a change of who may act as an
// account — made an administrator, shut out — ended nothing an
// impersonation's JWT carried: refused while the change lasted, a copy
// acted again once it was undone (round 48). An import's change of the
// same is one too.
func TestChangeOfRightsEndsImpersonations(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	sys := coretest.System()
	for _, tt := range []struct {
		name         string
		change, undo func(t *testing.T, b *authBundle) error
	}{
		{"an update made alice an administrator", func(t *testing.T, b *authBundle) error {
			_, err := b.env.Core.Users.Update(sys, usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Admin: &yes})
			return err
		}, func(t *testing.T, b *authBundle) error {
			_, err := b.env.Core.Users.Update(sys, usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Admin: &no})
			return err
		}},
		{"an import made alice an administrator", func(t *testing.T, b *authBundle) error {
			// Named by her confirmed address, as a record may change her rights.
			confirmAddress(t, b.env, b.alice.ID)
			return importAlice(b, true)
		}, func(t *testing.T, b *authBundle) error {
			return importAlice(b, false)
		}},
		{"alice suspended", func(t *testing.T, b *authBundle) error {
			_, err := b.env.Core.Users.Suspend(sys, usher.UserKey{ID: b.alice.ID})
			return err
		}, func(t *testing.T, b *authBundle) error {
			_, err := b.env.Core.Users.Unsuspend(sys, usher.UserKey{ID: b.alice.ID})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupAuth(t, core.Policy{})
			_, ap := b.rootSession(t)
			raw, _, _, err := b.auth.Impersonate(usher.WithPrincipal(context.Background(), ap), usher.UserKey{Username: "alice"}, 30*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			b.clock.Add(2 * time.Second)
			if err := tt.change(t, b); err != nil {
				t.Fatal(err)
			}
			if err := tt.undo(t, b); err != nil {
				t.Fatal(err)
			}
			if p, err := b.auth.Authenticate(context.Background(), raw); err == nil {
				t.Errorf("the impersonation's JWT once the change was undone authenticates as %s", p.User.Username)
			}
		})
	}
}

// importAlice imports a record of alice, an administrator or not, and
// returns its failure.
func importAlice(b *authBundle, admin bool) error {
	res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{{UserCreate: usher.UserCreate{
		Username: "alice", Email: "alice@example.com", Admin: admin}}})
	if err == nil && res[0].Err != nil {
		err = res[0].Err
	}
	return err
}
