package gitlab_test

import (
	"fmt"
	"net/http"
	"testing"

	"usher"
	"usher/core/coretest"
)

// helpdesk makes the user helpdesk, a member of a role that allows
// user.update, email.write and the write of each of more, and returns its
// personal token.
func (b *bundle) helpdesk(t *testing.T, more ...string) string {
	t.Helper()
	helpdesk := b.env.MustCreateUser(t, usher.UserCreate{Username: "helpdesk", Email: "helpdesk@example.com"})
	role, err := b.env.Core.Groups.Create(system(), usher.GroupCreate{Kind: usher.GroupRole, Handle: "helpdesk"})
	if err != nil {
		t.Fatal(err)
	}
	rules := []usher.Rule{{Resource: "user", Operation: "update", Access: usher.Allow},
		{Resource: "email", Operation: "write", Access: usher.Allow}}
	for _, r := range more {
		rules = append(rules, usher.Rule{Resource: r, Operation: "write", Access: usher.Allow})
	}
	if _, err := b.env.Core.Groups.SetRules(system(), usher.GroupRef{ID: role.ID}, rules, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.AddMember(system(), usher.GroupRef{ID: role.ID}, usher.UserKey{ID: helpdesk.ID}, ""); err != nil {
		t.Fatal(err)
	}
	return b.env.MustToken(t, helpdesk.ID, usher.TokenPersonal)
}

// TestUserUpdateRuleCannotTakeOverAdmin replays item 4 of the security
// review through GitLab's API: a non-administrator whom a role allows
// user.update, email.write and ssh_key.write sets an administrator's
// password or e-mail address, or adds a key to the account. Each is refused
// with GitLab's 403 and leaves the account as it was, while the same rules
// still change a peer's.
func TestUserUpdateRuleCannotTakeOverAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok := b.helpdesk(t, "ssh_key")
	forbidden := `{"message":"403 Forbidden"}`
	attacks := func(id int64) []call {
		return []call{
			{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", id), body: map[string]any{"password": "the helpdesk's own passphrase"}},
			{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", id), body: map[string]any{"email": "attacker@evil.example"}},
			{method: "POST", path: fmt.Sprintf("/api/v4/users/%d/emails", id), body: map[string]any{"email": "attacker2@evil.example"}},
			{method: "POST", path: fmt.Sprintf("/api/v4/users/%d/keys", id), body: map[string]any{"title": "backdoor", "key": coretest.NewSSHKey(t)}},
		}
	}
	for _, c := range attacks(b.admin.ID) {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			c.token = tok
			users, events := b.env.Counts(t)
			b.do(t, c).want(t, "helpdesk on the admin", 403, forbidden)
			if u, e := b.env.Counts(t); u != users || e != events {
				t.Fatalf("a refused request wrote: users %d→%d, events %d→%d", users, u, events, e)
			}
		})
	}
	if u := b.stored(t, b.admin.ID); u.Email != "root@example.com" || u.Version != b.admin.Version {
		t.Fatalf("the admin after the attacks: %+v", u)
	}
	// On a peer the rules work — but for the primary address, which only
	// its user (by proving the new one) or an administrator changes.
	for _, c := range attacks(b.user.ID) {
		c.token = tok
		body, _ := c.body.(map[string]any)
		if _, primary := body["email"]; primary && c.method == "PUT" {
			b.do(t, c).want(t, "helpdesk on a peer's address", 403, forbidden)
			continue
		}
		if res := b.do(t, c); res.status >= 300 {
			t.Fatalf("helpdesk on a peer: %s %s: %d %s", c.method, c.path, res.status, res.body)
		}
	}
}

// TestUpdateConfirmsNoHiddenValue: a non-administrator whom a role allows
// user.update sees another user's public profile only, without the
// address, the external flag, limits, plan, external id or identities.
// Sending one of them back in an update must not tell a right guess from a
// wrong one: before, the value held was a no-op (200) and any other value
// 403, which confirmed the address or the external log-in one guess at a
// time. Both are now refused, and neither writes; the user's own update
// with the values it holds stays a no-op.
func TestUpdateConfirmsNoHiddenValue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim := b.env.MustCreateUser(t, usher.UserCreate{Username: "victim", Email: "victim.secret@corp.example",
		External: true, ExternalID: "emp-4711",
		Identities: []usher.Identity{{Provider: "ldapmain", ExternUID: "uid=victim,ou=staff"}}})
	tok := b.helpdesk(t)
	held := b.stored(t, victim.ID)
	path := fmt.Sprintf("/api/v4/users/%d", victim.ID)
	seen := b.do(t, call{method: "GET", path: path, token: tok})
	seen.want(t, "helpdesk's view", 200, "")
	for k := range seen.object(t) {
		switch k {
		case "email", "identities", "external", "projects_limit", "can_create_group", "extern_uid", "provider":
			t.Fatalf("helpdesk sees the victim's %s: %s", k, seen.body)
		}
	}
	tests := []struct {
		name         string
		right, wrong map[string]any
	}{
		{"email", map[string]any{"email": "victim.secret@corp.example"}, map[string]any{"email": "guess@corp.example"}},
		{"identity", map[string]any{"provider": "ldapmain", "extern_uid": "uid=victim,ou=staff"},
			map[string]any{"provider": "ldapmain", "extern_uid": "uid=other,ou=staff"}},
		{"external", map[string]any{"external": true}, map[string]any{"external": false}},
		{"projects_limit", map[string]any{"projects_limit": held.GitLab.ProjectsLimit}, map[string]any{"projects_limit": 7}},
		{"can_create_group", map[string]any{"can_create_group": held.GitLab.CanCreateGroup},
			map[string]any{"can_create_group": !held.GitLab.CanCreateGroup}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, events := b.env.Counts(t)
			for _, guess := range []map[string]any{tt.right, tt.wrong} {
				b.do(t, call{method: "PUT", path: path, token: tok, body: guess}).want(t, "a guess", 403, `{"message":"403 Forbidden"}`)
			}
			if u, e := b.env.Counts(t); u != users || e != events {
				t.Fatalf("a refused guess wrote: users %d→%d, events %d→%d", users, u, events, e)
			}
		})
	}
	if u := b.stored(t, victim.ID); u.Version != held.Version {
		t.Fatalf("the victim after the guesses: version %d, was %d", u.Version, held.Version)
	}
	// What the role allows still works; the user sends back what it holds.
	b.do(t, call{method: "PUT", path: path, token: tok, body: map[string]any{"bio": "on call"}}).want(t, "helpdesk's bio", 200, "")
	if u := b.stored(t, victim.ID); u.Bio != "on call" {
		t.Fatalf("helpdesk's bio: %q", u.Bio)
	}
	own := b.env.MustToken(t, victim.ID, usher.TokenPersonal, usher.ScopeAPI)
	res := b.do(t, call{method: "PUT", path: path, token: own, body: map[string]any{"email": "victim.secret@corp.example", "external": true}})
	res.want(t, "the user's own", 200, "")
	if got := res.object(t); got["email"] != "victim.secret@corp.example" || got["external"] != true {
		t.Fatalf("the user's own view: %s", res.body)
	}
}

// TestSudoCannotSetPassword replays item 8 of the review through GitLab's
// Sudo: an administrator acting as another administrator sets a password,
// the impersonated one's or anyone's. Both are refused; a profile change
// under Sudo still works.
func TestSudoCannotSetPassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	second := b.env.MustCreateUser(t, usher.UserCreate{Username: "second", Email: "second@example.com", Admin: true})
	sudo := map[string]string{"Sudo": "second"}
	forbidden := `{"message":"403 Forbidden"}`
	for _, id := range []int64{second.ID, b.user.ID} {
		res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", id), token: b.adminTok, header: sudo,
			body: map[string]any{"password": "set under sudo today"}})
		res.want(t, "password under sudo", 403, forbidden)
	}
	res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", second.ID), token: b.adminTok, header: sudo,
		body: map[string]any{"bio": "set under sudo"}})
	res.want(t, "bio under sudo", 200, "")
	if u := b.stored(t, second.ID); u.Bio != "set under sudo" {
		t.Fatalf("bio: %q", u.Bio)
	}
}

// TestHardDeleteEndsServiceAccountTokens: deleting a user with hard_delete
// deletes the teams it alone owns, and with each its service accounts: a
// token one of them held kept reading users through GitLab's API after its
// team and the owner who minted it were gone.
func TestHardDeleteEndsServiceAccountTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, _, tok := b.env.MustOwnedServiceAccount(t, b.user, "ci", "ci-bot")
	b.do(t, call{method: "GET", path: "/api/v4/users", token: tok}).want(t, "the service account lists users", http.StatusOK, "")
	b.do(t, call{method: "DELETE", path: fmt.Sprintf("/api/v4/users/%d?hard_delete=true", b.user.ID), token: b.adminTok}).
		want(t, "hard delete", http.StatusOK, "")
	for _, path := range []string{"/api/v4/user", "/api/v4/users"} {
		b.do(t, call{method: "GET", path: path, token: tok}).want(t, "GET "+path+" with the service account's token", http.StatusUnauthorized, `{"message":"401 Unauthorized"}`)
	}
}

// TestCreateAnswersTheCreatorsView: a user a user.create rule lets a
// non-administrator make is answered as GitLab's user view, as the update
// of one is (resultView): the admin view showed the creator the account's
// address, confirmation, identities and limits, which the creator's own
// reads of it leave out. An administrator still gets the admin view.
func TestCreateAnswersTheCreatorsView(t *testing.T) {
	t.Parallel()
	b := setup(t)
	creator := b.env.MustCreateUser(t, usher.UserCreate{Username: "hr", Email: "hr@example.com"})
	tok := b.env.MustToken(t, creator.ID, usher.TokenPersonal)
	role, err := b.env.Core.Groups.Create(system(), usher.GroupCreate{Kind: usher.GroupRole, Handle: "hr", Members: []int64{creator.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.SetRules(system(), usher.GroupRef{ID: role.ID}, []usher.Rule{{Resource: "user", Operation: "create", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		token    string
		username string
		admin    bool
	}{{tok, "newhire", false}, {b.adminTok, "newadmin", true}} {
		res := b.do(t, call{method: "POST", path: "/api/v4/users", token: c.token,
			body: map[string]any{"email": c.username + "@example.com", "username": c.username, "name": "New", "password": password}})
		res.want(t, "create "+c.username, http.StatusCreated, "")
		got := res.object(t)
		if _, shown := got["email"]; shown != c.admin {
			t.Errorf("%s: the answer shows the address: %t, want %t: %s", c.username, shown, c.admin, res.body)
		}
		if _, shown := got["identities"]; shown != c.admin {
			t.Errorf("%s: the answer shows identities: %t, want %t: %s", c.username, shown, c.admin, res.body)
		}
	}
}
