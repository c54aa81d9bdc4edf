package escape_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"usher"
	"usher/connector/oidctest"
	"usher/core"
	"usher/core/coretest"
	"usher/face/escape"
)

// TestEscapeMethodURLIsNoOneClickApproval replays the attack on the
// provider methods' URL (docs/auth.md, attack 2): the attacker reads the
// log-in methods anonymously and makes the victim's browser open the
// provider method's URL from another site. Where the provider would answer
// at once (the victim is signed in there), one navigation used to approve
// the attacker's client, and the attacker's redeem token yielded the
// victim's session. The URL must only lead to usher's device page, where
// the person sees the client and confirms with a form of usher's own.
func TestEscapeMethodURLIsNoOneClickApproval(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.idp.SetUser(oidctest.User{Subject: "victim-sub", Email: "victim@corp.example", EmailVerified: true, Username: "victim"})
	attacker := &cli{b: b, server: b.srv.URL + "/escape"}
	corp := attacker.methods(t)["corp"]
	cross := map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Referer": "https://evil.example/"}
	start := "/escape/api/v1/auth/oauth/corp/start/?redeem-token=" + corp.UserCode()
	for _, path := range []string{corp.URL, start} {
		res := b.do(t, call{method: "GET", path: path, header: cross})
		for _, ck := range (&http.Response{Header: res.header}).Cookies() {
			if ck.Name == "usher_oauth" {
				t.Errorf("GET %s set the log-in's binding cookie", path)
			}
		}
		if loc := res.header.Get("Location"); strings.HasPrefix(loc, b.idp.Issuer()) {
			t.Errorf("GET %s sent the browser to the provider: %s", path, loc)
		}
		if path == start && (res.status != http.StatusFound || res.header.Get("Location") != corp.URL) {
			t.Errorf("GET %s: %d %q; want a 302 to the device page %s", path, res.status, res.header.Get("Location"), corp.URL)
		}
	}
	if !strings.HasPrefix(corp.URL, b.srv.URL+"/v1/auth/device?user_code=") {
		t.Errorf("the method's URL is %s; want the device page with the code filled in", corp.URL)
	}
	if status := attacker.redeem(t, corp); status != http.StatusNotFound {
		t.Errorf("the attacker's redeem after the victim's navigation: %d; want 404", status)
	}
	// The code was not used up: the person can still take it up.
	if _, err := b.env.Core.Auth.DescribeDevice(context.Background(), corp.UserCode(), ""); err != nil {
		t.Errorf("the code after the navigation: %v", err)
	}
}

// TestEscapeLoginMethodsBoundsWrites floods the anonymous log-in methods
// from one address: each answer used to write a redeem code and a device
// code with no limit. Past the per-address limit the methods are answered
// without the providers', and the codes table stops growing.
func TestEscapeLoginMethodsBoundsWrites(t *testing.T) {
	t.Parallel()
	b := setup(t)
	count := func() int { return b.env.Rows(t, "codes") }
	before := count()
	// 80 requests, two at a time: past the 30 the limit lets through,
	// however slow the machine (a deadline of a second let a busy race run
	// send 22).
	var withProvider, without, sent atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent.Add(1) <= 80 {
				res, err := http.Get(b.srv.URL + "/escape/api/v1/auth/login-methods")
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				switch {
				case res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"email"`):
					t.Errorf("login-methods: %d %s", res.StatusCode, body)
					return
				case strings.Contains(string(body), `"corp"`):
					withProvider.Add(1)
				default:
					without.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	grown := count() - before
	if grown > 2*30 || withProvider.Load() > 30 || without.Load() == 0 {
		t.Errorf("80 from one address: %d answers with the provider, %d without, codes grew by %d rows; want at most 30 starts",
			withProvider.Load(), without.Load(), grown)
	}
}

// TestEscapeTeamCannotTakeInternalGroupName replays the attack on the ACL
// look-up: Escape's services learn a caller's groups from GET /acl/user/,
// a list of bare names that holds both teams and internal groups (the
// machine-managed groups only administrators make and join users to).
// Handles used to be unique within a kind only, so any user who may
// create a team named it after an internal group, or renamed a team of
// theirs to that name, and was then reported as a member of the internal
// group.
func TestEscapeTeamCannotTakeInternalGroupName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := escape.Prefix
	staff := b.env.MustCreateUser(t, usher.UserCreate{Username: "staff", Email: "staff@example.com", Password: password})
	// An Escape service (an administrator) puts a member of staff in the
	// internal group that its ACL trusts.
	res := b.do(t, call{method: "POST", path: p + "/groups/add-user/", token: b.adminTok,
		body: map[string]any{"group": "project-7-admins", "user_id": staff.UUID}})
	if res.status != http.StatusOK {
		t.Fatalf("add-user: %d %s", res.status, res.body)
	}
	inGroup := func() bool {
		var out struct {
			Groups []string `json:"groups"`
		}
		b.do(t, call{method: "GET", path: p + "/acl/user/", token: b.userTok}).decode(t, &out)
		return slices.ContainsFunc(out.Groups, func(n string) bool { return strings.EqualFold(n, "project-7-admins") })
	}
	if inGroup() {
		t.Fatal("the plain user is in the internal group before the attack")
	}
	// The attack: a team of the internal group's name, made or renamed.
	res = b.do(t, call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "Project-7-Admins"}})
	if res.status != http.StatusConflict || !strings.Contains(string(res.body), usher.CodeHandleTaken) {
		t.Errorf("POST /teams/ named after an internal group: %d %s, want 409 handle_taken", res.status, res.body)
	}
	b.do(t, call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "harmless"}})
	res = b.do(t, call{method: "PUT", path: p + "/teams/harmless/", token: b.userTok, body: map[string]any{"name": "project-7-admins"}})
	if res.status != http.StatusConflict {
		t.Errorf("PUT /teams/harmless/ renamed after an internal group: %d %s, want 409", res.status, res.body)
	}
	if inGroup() {
		t.Errorf("GET /acl/user/ reports the plain user in group project-7-admins, an internal group only administrators join")
	}
}

// TestEscapeDeletedInternalGroupKeepsItsName: once an administrator
// deleted an internal group, its name was free: any user made a team of
// it, GET /acl/user/ reported them in the group its services trust, and
// the group could neither be undeleted nor made again by add-user (409
// handle_taken). A deleted internal group holds its name against all but
// administrators.
func TestEscapeDeletedInternalGroupKeepsItsName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := escape.Prefix
	staff := b.env.MustCreateUser(t, usher.UserCreate{Username: "staff", Email: "staff@example.com", Password: password})
	addUser := call{method: "POST", path: p + "/groups/add-user/", token: b.adminTok,
		body: map[string]any{"group": "project-7-admins", "user_id": staff.UUID}}
	if res := b.do(t, addUser); res.status != http.StatusOK {
		t.Fatalf("add-user: %d %s", res.status, res.body)
	}
	g, _, err := b.env.Core.Groups.Get(coretest.System(), usher.GroupRef{Kind: usher.GroupInternal, Handle: "project-7-admins"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.Delete(coretest.System(), usher.GroupRef{ID: g.ID}); err != nil {
		t.Fatal(err)
	}
	res := b.do(t, call{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "Project-7-Admins"}})
	if res.status != http.StatusConflict || !strings.Contains(string(res.body), usher.CodeHandleTaken) {
		t.Errorf("POST /teams/ named after a deleted internal group: %d %s, want 409 handle_taken", res.status, res.body)
	}
	var out struct {
		Groups []string `json:"groups"`
	}
	b.do(t, call{method: "GET", path: p + "/acl/user/", token: b.userTok}).decode(t, &out)
	if slices.ContainsFunc(out.Groups, func(n string) bool { return strings.EqualFold(n, "project-7-admins") }) {
		t.Errorf("GET /acl/user/ reports the plain user in %q", out.Groups)
	}
	// The group comes back, and the service puts its members in it again.
	if _, err := b.env.Core.Groups.Undelete(coretest.System(), usher.GroupRef{ID: g.ID}); err != nil {
		t.Fatalf("undelete the internal group: %v", err)
	}
	if res := b.do(t, addUser); res.status != http.StatusOK {
		t.Fatalf("add-user after the undelete: %d %s", res.status, res.body)
	}
}

// TestEscapeACLNamesInternalGroupOverStoredTeam: a team and an internal
// group that share a handle in data stored before the two kinds shared one
// namespace are told apart by the ACL look-up as by the group paths: the
// name means the internal group, so the team's members are not reported
// in it.
func TestEscapeACLNamesInternalGroupOverStoredTeam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	now := time.Now()
	for _, g := range []*usher.Group{
		{Kind: usher.GroupInternal, Handle: "project-7-admins", Name: "project-7-admins", CreatedAt: now, UpdatedAt: now},
		{Kind: usher.GroupTeam, Handle: "Project-7-Admins", Name: "Project-7-Admins", CreatedAt: now, UpdatedAt: now},
		{Kind: usher.GroupTeam, Handle: "own-team", Name: "own-team", CreatedAt: now, UpdatedAt: now},
	} {
		if err := b.env.Store.GroupCreate(ctx, g); err != nil {
			t.Fatal(err)
		}
		if g.Kind == usher.GroupTeam {
			if err := b.env.Store.MembershipSet(ctx, usher.Membership{GroupID: g.ID, UserID: b.user.ID, Level: usher.LevelOwner, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out struct {
		Groups []string `json:"groups"`
	}
	b.do(t, call{method: "GET", path: escape.Prefix + "/acl/user/", token: b.userTok}).decode(t, &out)
	if !slices.Equal(out.Groups, []string{"own-team"}) {
		t.Errorf("GET /acl/user/ groups: %q, want only own-team: the team named as an internal group is not that group", out.Groups)
	}
}

// TestAddUserRefusalTellsNoExistence: a caller who may not make an
// internal group is refused alike whether the user it names exists or
// not; the core looked the user up first, and answered 404 for nobody
// and 403 for somebody.
func TestAddUserRefusalTellsNoExistence(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := escape.Prefix
	var answers []string
	for _, id := range []string{b.admin.UUID, "4d5cc8fe-1bf5-40c7-8ce2-9b30b81784c9"} {
		res := b.do(t, call{method: "POST", path: p + "/groups/add-user/", token: b.userTok,
			body: map[string]any{"group": "machines-x", "user_id": id}})
		e, _ := res.problem(t)
		answers = append(answers, fmt.Sprintf("%d %s", res.status, e.Code))
	}
	if answers[0] != answers[1] || !strings.HasPrefix(answers[0], "403") {
		t.Fatalf("a refused add-user answers %q for a user who exists and %q for nobody", answers[0], answers[1])
	}
}

// TestEscapeDeletedMemberNotReported replays a team's member being deleted
// and a new account taking the freed username: the team's members, keyed
// by username, still listed "leaver" with the old member's write
// permission, which a service trusting the map gave the newcomer; and
// every member read the deleted account, which GET P/users/leaver/
// answered 404.
func TestEscapeDeletedMemberNotReported(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "leaver", Email: "leaver@example.com"})
	const p = "/escape/api/v1"
	for _, c := range []call{
		{method: "POST", path: p + "/teams/", token: b.userTok, body: map[string]any{"name": "devs"}},
		{method: "POST", path: p + "/teams/devs/users/leaver/", token: b.userTok, body: map[string]any{"permission": "write"}},
		{method: "DELETE", path: p + "/users/leaver/", token: b.adminTok},
	} {
		if res := b.do(t, c); res.status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", c.method, c.path, res.status, res.body)
		}
	}
	if res := b.do(t, call{method: "GET", path: p + "/users/leaver/", token: b.userTok}); res.status != http.StatusNotFound {
		t.Fatalf("GET users/leaver/: %d %s", res.status, res.body)
	}
	read := func() {
		t.Helper()
		for _, path := range []string{p + "/teams/devs/", p + "/groups/devs/users/"} {
			for _, tok := range []string{b.userTok, b.adminTok} {
				res := b.do(t, call{method: "GET", path: path, token: tok})
				if res.status != http.StatusOK || strings.Contains(string(res.body), "leaver") {
					t.Errorf("GET %s: %d %s; want 200 without leaver", path, res.status, res.body)
				}
			}
		}
	}
	read()
	b.env.MustCreateUser(t, usher.UserCreate{Username: "leaver", Email: "someone-else@example.com"})
	read()
}

// TestEscapeOthersPlanNotMadeUp replays a reviewer's find: the core
// withholds another user's plan from one who is no administrator, and the
// face took the empty plan for none and answered the default plan's
// capabilities instead (a user held to no teams read as one who may make
// them), with is_confirmed false and provider "email" made up the same
// way. What is withheld is null; the user and an administrator read it.
func TestEscapeOthersPlanNotMadeUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []call{
		{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "open", "can_create_team": true, "project_limit": 100, "default": true}},
		{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "locked", "project_limit": 0}},
		{method: "PUT", path: p + "/users/root/plan/", token: b.adminTok, body: map[string]any{"name": "locked"}},
	} {
		if res := b.do(t, c); res.status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", c.method, c.path, res.status, res.body)
		}
	}
	type view struct {
		IsConfirmed *bool   `json:"is_confirmed"`
		Provider    *string `json:"provider"`
		Plan        *struct {
			Name          string `json:"name"`
			CanCreateTeam bool   `json:"can_create_team"`
		} `json:"plan"`
	}
	read := func(token string) view {
		t.Helper()
		res := b.do(t, call{method: "GET", path: p + "/users/root/", token: token})
		if res.status != http.StatusOK {
			t.Fatalf("GET root as %s: %d %s", token, res.status, res.body)
		}
		var v view
		res.decode(t, &v)
		return v
	}
	if v := read(b.userTok); v.Plan != nil || v.IsConfirmed != nil || v.Provider != nil {
		t.Errorf("root read by a plain user: plan %+v, is_confirmed %v, provider %v; want null", v.Plan, v.IsConfirmed, v.Provider)
	}
	if v := read(b.adminTok); v.Plan == nil || v.Plan.Name != "locked" || v.Plan.CanCreateTeam || v.IsConfirmed == nil || v.Provider == nil {
		t.Errorf("root read by root: %+v", v)
	}
}

// TestEscapeResetUnknownTokenCostsNoHash: the one-step reset hashed the
// new password before it looked at the token, so anonymous made-up tokens
// each cost an argon2id hash and could keep the hashing workers busy
// (429 for everyone's log-ins). An unknown token is 404 before any hash.
func TestEscapeResetUnknownTokenCostsNoHash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	before := b.env.Hasher.Stats().Waits
	for i := range 3 {
		res := b.do(t, call{method: "POST", path: p + "/auth/password-reset/confirm/",
			body: map[string]any{"password_reset_token": fmt.Sprint("made-up-", i), "password": "a brand new horse battery"}})
		if body, _ := res.problem(t); res.status != http.StatusNotFound || body.Code != usher.CodeResetNotFound {
			t.Fatalf("an unknown token: %d %s", res.status, res.body)
		}
	}
	if n := b.env.Hasher.Stats().Waits - before; n != 0 {
		t.Errorf("unknown tokens cost %d hashes, want none", n)
	}
}

// TestTokenCookieNotShadowed: over HTTPS the log-in's cookie is a __Host-
// cookie. Before, it was X-Escape-Token at /escape/, which a sibling host
// could set for the parent domain with a longer path: the browser sent the
// planted one first, and the victim's browser worked in the attacker's
// account. The planted plain cookie now stands for no one.
func TestTokenCookieNotShadowed(t *testing.T) {
	t.Parallel()
	b := setupServed(t, core.Policy{SignupEnabled: true}, false, true)
	login := func(email string) *http.Cookie {
		t.Helper()
		res := b.do(t, call{method: "POST", path: escape.Prefix + "/auth/login/", body: map[string]any{"email": email, "secret_token": password}})
		for _, c := range (&http.Response{Header: res.header}).Cookies() {
			if strings.HasSuffix(c.Name, "X-Escape-Token") {
				return c
			}
		}
		t.Fatalf("no cookie from %s's log-in: %d %s", email, res.status, res.body)
		return nil
	}
	victim, attacker := login("root@example.com"), login("plain@example.com")
	for _, c := range []struct {
		name, cookie string
		status       int
		as           string
	}{
		{"a planted one sent first", "X-Escape-Token=" + attacker.Value + "; " + victim.Name + "=" + victim.Value, http.StatusOK, `"username":"root"`},
		{"a planted one alone", "X-Escape-Token=" + attacker.Value, http.StatusUnauthorized, ""},
	} {
		res := b.do(t, call{method: "GET", path: escape.Prefix + "/user/", header: map[string]string{"Cookie": c.cookie}})
		if res.status != c.status || !strings.Contains(string(res.body), c.as) || strings.Contains(string(res.body), `"username":"plain"`) {
			t.Errorf("%s: %d %s", c.name, res.status, res.body)
		}
	}
	if victim.Name != "__Host-X-Escape-Token" || victim.Path != "/" || !victim.Secure {
		t.Fatalf("the log-in's cookie over HTTPS: %+v", victim)
	}
}

// ok makes the request and fails the test unless it answers 200.
func (b *bundle) ok(t *testing.T, c call) *response {
	t.Helper()
	res := b.do(t, c)
	if res.status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", c.method, c.path, res.status, res.body)
	}
	return res
}

// mustAuditor gives the account a role, as an administrator does, that
// allows reading the audit log, which no team owner holds.
func (b *bundle) mustAuditor(t *testing.T, username string) {
	t.Helper()
	sys := coretest.System()
	role, err := b.env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "auditors"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.SetRules(sys, usher.GroupRef{ID: role.ID},
		[]usher.Rule{{Resource: "audit", Operation: "read", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.AddMember(sys, usher.GroupRef{ID: role.ID}, usher.UserKey{Username: username}, ""); err != nil {
		t.Fatal(err)
	}
}

// TestOwnerMintsNoTokenForWhatAnAdministratorRaised: a team's owner on a
// plan that gives little mints its service account a token while the
// account has the defaults, but not once an administrator has put it on a
// richer plan: the token carried the plan to the owner (Escape serves it
// to the tools that trust it), as a role given the account does, which
// was refused already. The token minted before the raise ends with it.
func TestOwnerMintsNoTokenForWhatAnAdministratorRaised(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ok := func(c call) *response { t.Helper(); return b.ok(t, c) }
	ok(call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "basic", "can_create_team": true, "project_limit": 0, "default": true}})
	ok(call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "ci", "can_create_team": true,
		"can_create_state_project": true, "can_manage_project_acl": true, "can_manage_project_hooks": true, "project_limit": 50}})
	b.mustTeam(t, b.userTok, "alpha")
	ok(call{method: "POST", path: p + "/teams/alpha/service-accounts/role-bot/", token: b.userTok})
	ok(call{method: "POST", path: p + "/teams/alpha/service-accounts/ci-bot/", token: b.userTok})
	mint := func(account string) *response {
		return b.do(t, call{method: "POST", path: p + "/teams/alpha/service-accounts/" + account + "/token/", token: b.userTok})
	}
	res := mint("ci-bot")
	var early string
	if res.status != http.StatusOK || json.Unmarshal(res.body, &early) != nil {
		t.Fatalf("a token for a service account with the defaults: %d %s", res.status, res.body)
	}
	ok(call{method: "GET", path: p + "/user/", token: early})

	b.mustAuditor(t, "role-bot")
	ok(call{method: "PUT", path: p + "/users/ci-bot/plan/", token: b.adminTok, body: map[string]any{"name": "ci"}})
	if res := b.do(t, call{method: "GET", path: p + "/user/", token: early}); res.status != http.StatusUnauthorized {
		t.Errorf("the owner's token minted before the raise: %d %s", res.status, res.body)
	}
	for _, account := range []string{"role-bot", "ci-bot"} {
		if res := mint(account); res.status != http.StatusForbidden || !strings.Contains(string(res.body), `"code":"forbidden"`) {
			t.Errorf("a token for %s, which an administrator raised: %d %s", account, res.status, res.body)
		}
	}
	// Back on the default plan, the account answers to its owner again.
	ok(call{method: "PUT", path: p + "/users/ci-bot/plan/", token: b.adminTok, body: map[string]any{"name": "basic"}})
	if res := mint("ci-bot"); res.status != http.StatusOK {
		t.Errorf("a token for a service account on the owner's plan: %d %s", res.status, res.body)
	}
	// A project limit raised past the default and the owner's is the same.
	more := core.DefaultPolicy().DefaultProjectsLimit + 1
	if _, err := b.env.Core.Users.Update(coretest.System(), usher.UserKey{Username: "ci-bot"},
		usher.UserUpdate{GitLab: usher.GitLabProfileUpdate{ProjectsLimit: &more}}); err != nil {
		t.Fatal(err)
	}
	if res := mint("ci-bot"); res.status != http.StatusForbidden {
		t.Errorf("a token for a service account whose project limit an administrator raised: %d %s", res.status, res.body)
	}
}

// TestOwnersTokenEndsWhenTheAccountOutgrowsThem: a team's owner mints
// each of three service accounts a token while the account has no right
// the owner lacks; then an administrator gives one a role (audit.read),
// raises the capabilities of the plan another is on, and puts the owner
// on a plan poorer than the third's (one that makes no teams). Minting anew is refused in each case
// (TestOwnerMintsNoTokenForWhatAnAdministratorRaised), but the tokens
// minted before kept working, and carried to the owner what the owner
// was never given. An owner's token now works only while its owner could
// mint it again; a fourth account, raised in nothing, keeps its token.
//
// Each account is also an owner of the team (an administrator may make it
// one), so that the owner's token mints the account a second token: that
// one answered to the account itself, whose check always passed, and it
// kept working where the owner's was refused — a round 7 reviewer's
// route around the check, one mint long.
func TestOwnersTokenEndsWhenTheAccountOutgrowsThem(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ok := func(c call) *response { t.Helper(); return b.ok(t, c) }
	ok(call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "basic", "can_create_team": true, "project_limit": 0, "default": true}})
	ok(call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "ci", "can_create_team": true, "project_limit": 0}})
	ok(call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "same", "can_create_team": true, "project_limit": 0}})
	ok(call{method: "POST", path: p + "/plans/", token: b.adminTok, body: map[string]any{"name": "poor", "can_create_team": false, "project_limit": 0}})
	b.mustTeam(t, b.userTok, "alpha")
	tokens, derived := map[string]string{}, map[string]string{}
	mint := func(account, with string) string {
		t.Helper()
		var tok string
		res := ok(call{method: "POST", path: p + "/teams/alpha/service-accounts/" + account + "/token/", token: with})
		if err := json.Unmarshal(res.body, &tok); err != nil {
			t.Fatal(err)
		}
		ok(call{method: "GET", path: p + "/user/", token: tok})
		return tok
	}
	for _, account := range []string{"role-bot", "plan-bot", "lowered-bot", "plain-bot"} {
		ok(call{method: "POST", path: p + "/teams/alpha/service-accounts/" + account + "/", token: b.userTok})
		// Plans that give no more than the owner's: the owner mints.
		if plan := map[string]string{"plan-bot": "ci", "lowered-bot": "same"}[account]; plan != "" {
			ok(call{method: "PUT", path: p + "/users/" + account + "/plan/", token: b.adminTok, body: map[string]any{"name": plan}})
		}
		ok(call{method: "POST", path: p + "/teams/alpha/users/" + account + "/", token: b.adminTok, body: map[string]any{"permission": "owner"}})
		tokens[account] = mint(account, b.userTok)
		derived[account] = mint(account, tokens[account])
	}

	b.mustAuditor(t, "role-bot")
	ok(call{method: "PUT", path: p + "/plans/ci/", token: b.adminTok, body: map[string]any{"name": "ci", "can_create_team": true,
		"can_create_state_project": true, "project_limit": 50}})
	ok(call{method: "PUT", path: p + "/users/" + b.user.Username + "/plan/", token: b.adminTok, body: map[string]any{"name": "poor"}})

	for account, want := range map[string]int{"role-bot": http.StatusUnauthorized, "plan-bot": http.StatusUnauthorized,
		"lowered-bot": http.StatusUnauthorized, "plain-bot": http.StatusOK} {
		if res := b.do(t, call{method: "GET", path: p + "/user/", token: tokens[account]}); res.status != want {
			t.Errorf("%s's token, minted by its owner before: %d %s, want %d", account, res.status, res.body, want)
		}
		if res := b.do(t, call{method: "GET", path: p + "/user/", token: derived[account]}); res.status != want {
			t.Errorf("%s's token, minted before with the token its owner minted: %d %s, want %d", account, res.status, res.body, want)
		}
	}
}

// TestLogoutOfAServiceAccountLogInClearsTheCookie: Escape's service-account
// log-in puts the account's token, which never expires, into the
// browser's cookie. Logging out answered 400 not_a_session and left the
// cookie, so the next person at the browser acted as the account.
func TestLogoutOfAServiceAccountLogInClearsTheCookie(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustTeam(t, b.userTok, "ci")
	sa, err := b.env.Core.Groups.CreateServiceAccount(coretest.System(), usher.GroupRef{Kind: usher.GroupTeam, Handle: "ci"}, "ci-bot", "")
	if err != nil {
		t.Fatal(err)
	}
	tok := b.env.MustToken(t, sa.ID, usher.TokenServiceAccount)
	res := b.do(t, call{method: "POST", path: escape.Prefix + "/auth/login/service-account/",
		body: map[string]any{"username": sa.Username, "secret_token": tok}})
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if strings.HasSuffix(c.Name, "X-Escape-Token") {
			cookie = c
		}
	}
	if res.status != http.StatusOK || cookie == nil {
		t.Fatalf("service-account log-in: %d %s, cookie %v", res.status, res.body, cookie)
	}
	out := b.do(t, call{method: "POST", path: escape.Prefix + "/auth/logout/", header: map[string]string{"Cookie": cookie.Name + "=" + cookie.Value}})
	cleared := slices.ContainsFunc((&http.Response{Header: out.header}).Cookies(), func(c *http.Cookie) bool {
		return c.Name == cookie.Name && c.MaxAge < 0
	})
	if out.status != http.StatusBadRequest || !strings.Contains(string(out.body), "not_a_session") || !cleared {
		t.Errorf("log-out of a service account's log-in: %d %s, Set-Cookie %q", out.status, out.body, out.header.Values("Set-Cookie"))
	}
}
