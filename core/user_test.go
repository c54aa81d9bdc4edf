package core_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// as returns a context acting as u through a token with the given scopes.
func as(u *usher.User, scopes ...string) context.Context {
	return usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: u, Scopes: scopes})
}

func wantKind(t *testing.T, err error, kind usher.Kind, code string) {
	t.Helper()
	e := usher.AsError(err)
	if err == nil || e.Kind != kind || (code != "" && e.Code != code) {
		t.Fatalf("err = %v, want %s %s", err, kind, code)
	}
}

type bundle struct {
	env   *coretest.Env
	users *core.Users
	admin *usher.User
	alice *usher.User
}

func setup(t *testing.T) *bundle {
	t.Helper()
	env := coretest.New(t, coretest.Options{})
	b := &bundle{env: env, users: env.Core.Users}
	b.admin = env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	b.alice = env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", Name: "Alice Liddell",
		ExternalID: "emp-1", EmailConfirmed: true})
	return b
}

func TestEmailChangeUnconfirms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if b.alice.EmailConfirmedAt == nil {
		t.Fatal("alice starts unconfirmed")
	}
	same, err := b.users.Update(as(b.admin), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Email: ptr("alice@example.com")})
	if err != nil || same.EmailConfirmedAt == nil {
		t.Fatalf("setting the same address unconfirmed it: %v", err)
	}
	// A confirmation proves the address as it was sent: even a change of
	// case (which some mail servers do not ignore) needs a new one.
	cased, err := b.users.Update(as(b.admin), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Email: ptr("ALICE@example.com")})
	if err != nil || cased.EmailConfirmedAt != nil {
		t.Fatalf("a change of case kept the confirmation: %v", err)
	}
	u, err := b.users.Update(as(b.admin), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Email: ptr("alice@elsewhere.test")})
	if err != nil {
		t.Fatal(err)
	}
	if u.EmailConfirmedAt != nil {
		t.Fatal("a new address is marked confirmed")
	}
}

func TestSuspendedFromTheStart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.env.MustCreateUser(t, usher.UserCreate{Username: "sleepy", State: usher.StateSuspended})
	if u.SuspendedAt == nil {
		t.Fatal("created suspended without a suspension time")
	}
	// A suspension is lifted by unsuspending, not by unblocking.
	_, err := b.users.Unblock(as(b.admin), usher.UserKey{ID: u.ID})
	wantKind(t, err, usher.KindConflict, usher.CodeInvalidState)
	got, err := b.users.Unsuspend(as(b.admin), usher.UserKey{ID: u.ID})
	if err != nil || got.State != usher.StateActive || got.SuspendedAt != nil {
		t.Fatalf("unsuspend: %+v, %v", got, err)
	}
}

// TestPrivateLookups: only administrators find users by e-mail address or
// external id, or search e-mail addresses.
func TestPrivateLookups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@corp.test"})
	ctx := as(bob)
	_, err := b.users.Get(ctx, usher.UserKey{Email: "alice@example.com"})
	wantKind(t, err, usher.KindForbidden, "forbidden")
	_, err = b.users.Get(ctx, usher.UserKey{ExternalID: "emp-1"})
	wantKind(t, err, usher.KindForbidden, "forbidden")
	_, err = b.users.List(ctx, usher.UserFilter{Email: "alice@example.com"})
	wantKind(t, err, usher.KindForbidden, "forbidden")
	page, err := b.users.List(ctx, usher.UserFilter{Query: "example.com"})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("a plain user's search matched e-mail addresses: %v %v", page, err)
	}
	page, err = b.users.List(as(b.admin), usher.UserFilter{Query: "example.com"})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("an admin's search of e-mail addresses: %d users, %v", len(page.Items), err)
	}
	// What a plain user sees of another is the public profile only.
	got, err := b.users.Get(ctx, usher.UserKey{Username: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "" || got.ExternalID != "" || got.EmailConfirmedAt != nil || got.GitLab.ProjectsLimit != 0 || got.Name != "Alice Liddell" {
		t.Fatalf("plain user sees %+v", got)
	}
	if own, _ := b.users.Get(ctx, usher.UserKey{ID: bob.ID}); own.Email != "bob@corp.test" {
		t.Fatal("a user does not see their own e-mail address")
	}
}

// TestNoExistenceLeak: callers who may not act learn nothing about which
// users exist.
func TestNoExistenceLeak(t *testing.T) {
	t.Parallel()
	b := setup(t)
	anon := context.Background()
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
	gone := b.env.MustCreateUser(t, usher.UserCreate{Username: "gone"})
	if _, err := b.users.Delete(as(b.admin), usher.UserKey{ID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{b.alice.ID, 999} {
		_, err := b.users.Update(anon, usher.UserKey{ID: id}, usher.UserUpdate{Name: ptr("x")})
		wantKind(t, err, usher.KindUnauthenticated, "")
		err = b.users.Purge(anon, usher.UserKey{ID: id})
		wantKind(t, err, usher.KindUnauthenticated, "")
		_, err = b.users.Update(anon, usher.UserKey{ID: id}, usher.UserUpdate{Password: ptr("short")})
		wantKind(t, err, usher.KindUnauthenticated, "")
	}
	// A plain user, who may block nobody, gets the same answer for a live
	// user, a deleted one, and none.
	for _, id := range []int64{b.alice.ID, gone.ID, 999} {
		_, err := b.users.Block(as(bob), usher.UserKey{ID: id})
		wantKind(t, err, usher.KindForbidden, "forbidden")
		err = b.users.Purge(as(bob), usher.UserKey{ID: id})
		wantKind(t, err, usher.KindForbidden, "forbidden")
	}
	// One whom a rule lets block some users learns no more of deleted ones
	// than of those that never were.
	role, err := b.env.Core.Groups.Create(coretest.System(), usher.GroupCreate{Kind: usher.GroupRole, Handle: "helpdesk"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.SetRules(coretest.System(), usher.GroupRef{ID: role.ID},
		[]usher.Rule{{Resource: "user:" + strconv.FormatInt(b.alice.ID, 10), Operation: "state", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.AddMember(coretest.System(), usher.GroupRef{ID: role.ID}, usher.UserKey{ID: bob.ID}, ""); err != nil {
		t.Fatal(err)
	}
	_, err = b.users.Block(as(bob), usher.UserKey{ID: gone.ID})
	wantKind(t, err, usher.KindNotFound, "user_not_found")
	_, err = b.users.Block(as(bob), usher.UserKey{ID: 999})
	wantKind(t, err, usher.KindNotFound, "user_not_found")
	if _, err := b.users.Block(as(bob), usher.UserKey{ID: b.alice.ID}); err != nil {
		t.Fatalf("the rule's user: %v", err)
	}
}

func TestUUIDLookupIgnoresCase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got, err := b.users.Get(as(b.admin), usher.UserKey{UUID: strings.ToUpper(b.alice.UUID)})
	if err != nil || got.ID != b.alice.ID {
		t.Fatalf("Get by upper-case UUID: %v", err)
	}
	page, err := b.users.List(as(b.admin), usher.UserFilter{UUID: strings.ToUpper(b.alice.UUID)})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("List by upper-case UUID: %v", err)
	}
}

func TestBlockEndsSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pat := b.env.MustToken(t, b.alice.ID, usher.TokenPersonal)
	session := &usher.Token{Kind: usher.TokenSession, UserID: b.alice.ID, Hint: "uss_", Hash: []byte("session"), CreatedAt: time.Now()}
	if err := b.env.Store.TokenCreate(context.Background(), session); err != nil {
		t.Fatal(err)
	}
	if _, err := b.users.Block(as(b.admin), usher.UserKey{ID: b.alice.ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.env.Store.TokenGet(context.Background(), session.ID); got.RevokedAt == nil {
		t.Fatal("blocking left the session open")
	}
	_, err := b.env.Core.Auth.Authenticate(context.Background(), pat)
	wantKind(t, err, usher.KindUnauthenticated, "account_inactive")
	if _, err := b.users.Unblock(as(b.admin), usher.UserKey{ID: b.alice.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), pat); err != nil {
		t.Fatalf("the personal token does not work after unblocking: %v", err)
	}
}

func TestPolicyDefaultsPerField(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Policy: core.Policy{MaxPageSize: 2}})
	u, err := env.Core.Users.Create(coretest.System(), usher.UserCreate{Username: "pw", Password: "a fine long password"})
	if err != nil {
		t.Fatalf("a partial policy refuses passwords: %v", err)
	}
	env.MustCreateUser(t, usher.UserCreate{Username: "two"})
	env.MustCreateUser(t, usher.UserCreate{Username: "three"})
	page, err := env.Core.Users.List(coretest.System(), usher.UserFilter{Page: usher.PageRequest{Limit: 50}})
	if err != nil || len(page.Items) != 2 || page.Next == nil {
		t.Fatalf("MaxPageSize 2: %d users, next %v, %v", len(page.Items), page.Next, err)
	}
	_ = u
}

func TestTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	auth := b.env.Core.Auth
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
	// Users mint their own tokens; not others'.
	_, text, err := auth.CreateToken(as(bob), usher.TokenCreate{UserID: bob.ID, Kind: usher.TokenPersonal, Name: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "usp_") || len(text) != 4+43+6 {
		t.Fatalf("token %q does not have the personal format", text)
	}
	p, err := auth.Authenticate(context.Background(), text)
	if err != nil || p.User.ID != bob.ID || p.Kind != usher.PrincipalUser {
		t.Fatalf("Authenticate: %+v, %v", p, err)
	}
	_, _, err = auth.CreateToken(as(bob), usher.TokenCreate{UserID: b.alice.ID, Kind: usher.TokenPersonal})
	wantKind(t, err, usher.KindForbidden, "forbidden")
	_, _, err = auth.CreateToken(as(bob), usher.TokenCreate{UserID: bob.ID, Kind: usher.TokenApplication})
	wantKind(t, err, usher.KindForbidden, "forbidden")
	_, _, err = auth.CreateToken(as(b.admin), usher.TokenCreate{UserID: bob.ID, Kind: usher.TokenApplication})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	_, key, err := auth.CreateToken(as(b.admin), usher.TokenCreate{UserID: b.admin.ID, Kind: usher.TokenApplication})
	if err != nil || !strings.HasPrefix(key, "ptla_") || len(key) != 48 {
		t.Fatalf("application key %q: %v", key, err)
	}
	if p, err := auth.Authenticate(context.Background(), key); err != nil || p.Kind != usher.PrincipalApplication {
		t.Fatalf("application key authenticates as %+v, %v", p, err)
	}
	// An application key works only while its owner is an administrator
	// (another one is left, as one must be).
	b.env.MustCreateUser(t, usher.UserCreate{Username: "root2", Email: "root2@example.com", Admin: true})
	if _, err := b.users.Update(as(b.admin), usher.UserKey{ID: b.admin.ID}, usher.UserUpdate{Admin: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	_, err = auth.Authenticate(context.Background(), key)
	wantKind(t, err, usher.KindForbidden, "key_owner_not_admin")
	_, _, err = auth.CreateToken(as(b.admin), usher.TokenCreate{UserID: bob.ID, Kind: usher.TokenPersonal, Scopes: []string{"everything"}})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	past := time.Now().Add(-time.Hour)
	_, _, err = auth.CreateToken(as(b.admin), usher.TokenCreate{UserID: bob.ID, Kind: usher.TokenPersonal, ExpiresAt: &past})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	// An impersonation cannot mint tokens that would outlive it.
	imp := &usher.Principal{Kind: usher.PrincipalUser, User: bob, Impersonator: b.admin}
	_, _, err = auth.CreateToken(usher.WithPrincipal(context.Background(), imp), usher.TokenCreate{UserID: bob.ID, Kind: usher.TokenPersonal})
	wantKind(t, err, usher.KindForbidden, "forbidden")
	// Tampered, truncated or unknown tokens fail alike.
	flip := "x"
	if text[10] == 'x' {
		flip = "y"
	}
	for _, bad := range []string{"", "nonsense", text[:len(text)-1], text[:10] + flip + text[11:], "usa" + text[3:], strings.ToUpper(text)} {
		_, err := auth.Authenticate(context.Background(), bad)
		wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
	}
	// An expired token fails.
	soon := time.Now().Add(time.Hour)
	tok, short, err := auth.CreateToken(as(b.admin), usher.TokenCreate{UserID: bob.ID, Kind: usher.TokenPersonal, ExpiresAt: &soon})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Store.TokenRevoke(context.Background(), store.TokenFilter{ID: tok.ID}, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, err = auth.Authenticate(context.Background(), short)
	wantKind(t, err, usher.KindUnauthenticated, "invalid_token")
}

func TestUpdateConflictsAndPreconditions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := as(b.admin)
	_, err := b.users.Update(ctx, usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Username: ptr("ROOT")})
	wantKind(t, err, usher.KindConflict, "username_taken")
	stale := b.alice.Version + 5
	_, err = b.users.Update(ctx, usher.UserKey{ID: b.alice.ID, IfVersion: &stale}, usher.UserUpdate{Name: ptr("x")})
	wantKind(t, err, usher.KindPrecondition, "version_mismatch")
	_, err = b.users.Update(ctx, usher.UserKey{Username: "nobody"}, usher.UserUpdate{Name: ptr("x")})
	wantKind(t, err, usher.KindNotFound, "user_not_found")
	var e *usher.Error
	_, err = b.users.Update(ctx, usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Username: ptr(""), Email: ptr("x")})
	if !errors.As(err, &e) || len(e.Fields) != 2 {
		t.Fatalf("two bad fields: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestSelfUpdate: users change their own profile, but not what they may
// do; a rule can grant the privileges, never the admin flag.
func TestSelfUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := usher.UserKey{ID: b.alice.ID}
	u, err := b.users.Update(as(b.alice), alice, usher.UserUpdate{Bio: ptr("down the rabbit hole"), Username: ptr("alice2")})
	if err != nil || u.Bio != "down the rabbit hole" || u.Username != "alice2" {
		t.Fatalf("self update: %+v, %v", u, err)
	}
	// Setting a privileged field to what it is already is no change.
	if _, err := b.users.Update(as(u), alice, usher.UserUpdate{Admin: ptr(false), ExternalID: ptr("emp-1")}); err != nil {
		t.Fatalf("an unchanged privileged field: %v", err)
	}
	limit, kind := 99, usher.KindBot
	for name, in := range map[string]usher.UserUpdate{
		"admin":          {Admin: ptr(true)},
		"kind":           {Kind: &kind},
		"external":       {External: ptr(true)},
		"projects limit": {GitLab: usher.GitLabProfileUpdate{ProjectsLimit: &limit}},
		"can create":     {GitLab: usher.GitLabProfileUpdate{CanCreateGroup: ptr(false)}},
		"plan":           {Plan: ptr("gold")},
		"external id":    {ExternalID: ptr("emp-2")},
		"identity":       {Identity: &usher.Identity{Provider: "github", ExternUID: "1"}},
		"password":       {Password: ptr("a long new passphrase")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := b.users.Update(as(u), alice, in)
			wantKind(t, err, usher.KindForbidden, "forbidden")
		})
	}
	got, _ := b.users.Get(as(b.admin), alice)
	if got.Admin || got.Kind != usher.KindNormal || got.ExternalID != "emp-1" || got.GitLab.ProjectsLimit == 99 {
		t.Fatalf("a refused update changed alice: %+v", got)
	}
	// Someone else's profile stays theirs.
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
	_, err = b.users.Update(as(bob), alice, usher.UserUpdate{Bio: ptr("bob was here")})
	wantKind(t, err, usher.KindForbidden, "forbidden")
}

// TestMe: the caller's account comes from its principal, as a copy; an
// anonymous caller is refused.
func TestMe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := as(b.alice, "api")
	u, err := b.users.Me(ctx)
	if err != nil || u.ID != b.alice.ID || u.Email != "alice@example.com" {
		t.Fatalf("Me: %+v, %v", u, err)
	}
	u.Name = "changed"
	if usher.PrincipalFrom(ctx).User.Name != "Alice Liddell" {
		t.Fatal("Me handed out the principal's own user")
	}
	_, err = b.users.Me(context.Background())
	wantKind(t, err, usher.KindUnauthenticated, "unauthenticated")
}

// TestFinishExternalSignup: the person a provider's log-in made an account
// for chooses its username; an account the provider does not manage, or
// nobody, may not.
func TestFinishExternalSignup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ext := b.env.MustCreateUser(t, usher.UserCreate{Username: "gh-4711", Email: "grace@example.com",
		Identities: []usher.Identity{{Provider: "github", ExternUID: "4711"}}})
	name := "grace"
	u, err := b.users.FinishExternalSignup(as(ext), "github", &name, nil)
	if err != nil || u.Username != "grace" {
		t.Fatalf("finish: %+v, %v", u, err)
	}
	_, err = b.users.FinishExternalSignup(as(ext), "corp", &name, nil)
	wantKind(t, err, usher.KindInvalid, usher.CodeNotExternal)
	_, err = b.users.FinishExternalSignup(as(b.alice), "github", &name, nil)
	wantKind(t, err, usher.KindInvalid, usher.CodeNotExternal)
	bad := "no spaces"
	_, err = b.users.FinishExternalSignup(as(ext), "github", &bad, nil)
	wantKind(t, err, usher.KindUnprocessable, "")
	_, err = b.users.FinishExternalSignup(context.Background(), "github", &name, nil)
	wantKind(t, err, usher.KindUnauthenticated, "")
}
