package core_test

import (
	"context"
	"strconv"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestTokenRuleCannotMintForAdmin: a rule allowing token.create lets its
// holder mint tokens for peers, never for an account with rights the
// holder lacks — an administrator, a team's owner, a member of a stronger
// role — and never under an impersonation. No face mints tokens for others,
// so the core is where this is replayed.
func TestTokenRuleCannotMintForAdmin(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	helpdesk := b.env.MustCreateUser(t, usher.UserCreate{Username: "helpdesk"})
	sys := coretest.System()
	mkRole := func(handle string, member *usher.User, rules ...usher.Rule) {
		g, err := b.g.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: handle})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.g.SetRules(sys, usher.GroupRef{ID: g.ID}, rules, true); err != nil {
			t.Fatal(err)
		}
		if _, err := b.g.AddMember(sys, usher.GroupRef{ID: g.ID}, usher.UserKey{ID: member.ID}, ""); err != nil {
			t.Fatal(err)
		}
	}
	mkRole("helpdesk", helpdesk, usher.Rule{Resource: "token", Operation: "create", Access: usher.Allow})
	mkRole("auditors", b.carol, usher.Rule{Resource: "audit", Operation: "read", Access: usher.Allow})
	if _, err := b.g.Create(as(b.bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "bobs"}); err != nil {
		t.Fatal(err)
	}
	for name, victim := range map[string]*usher.User{"an administrator": b.admin, "a team's owner": b.bob, "a stronger role's member": b.carol} {
		_, _, err := b.env.Core.Auth.CreateToken(as(helpdesk), usher.TokenCreate{UserID: victim.ID, Kind: usher.TokenPersonal})
		if usher.ErrorKind(err) != usher.KindForbidden {
			t.Errorf("helpdesk mints a token for %s: %v", name, err)
		}
	}
	if _, _, err := b.env.Core.Auth.CreateToken(as(helpdesk), usher.TokenCreate{UserID: b.alice.ID, Kind: usher.TokenPersonal}); err != nil {
		t.Fatalf("helpdesk mints a token for a peer: %v", err)
	}
	imp := usher.WithPrincipal(t.Context(), &usher.Principal{Kind: usher.PrincipalUser, User: helpdesk, Impersonator: b.admin})
	_, _, err := b.env.Core.Auth.CreateToken(imp, usher.TokenCreate{UserID: b.alice.ID, Kind: usher.TokenPersonal})
	wantKind(t, err, usher.KindForbidden, "forbidden")
}

// TestImpersonationCannotImport: an import sets passwords and adds
// addresses, so an administrator's impersonation of another administrator
// cannot run one.
func TestImpersonationCannotImport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	second := b.env.MustCreateUser(t, usher.UserCreate{Username: "second", Admin: true})
	imp := usher.WithPrincipal(t.Context(), &usher.Principal{Kind: usher.PrincipalUser, User: second, Impersonator: b.admin})
	batch := []usher.ImportUser{{UserCreate: usher.UserCreate{Username: "mallory", Email: "mallory@example.com"}}}
	users, events := b.env.Counts(t)
	_, err := b.users.Import(imp, batch)
	wantKind(t, err, usher.KindForbidden, "forbidden")
	if u, e := b.env.Counts(t); u != users || e != events {
		t.Fatalf("a refused import wrote: users %d→%d, events %d→%d", users, u, events, e)
	}
}

// helpdesk makes a user holding the rules through a role of its own.
func helpdesk(t *testing.T, b *groupBundle, name string, rules ...usher.Rule) *usher.User {
	t.Helper()
	sys := coretest.System()
	u := b.env.MustCreateUser(t, usher.UserCreate{Username: name})
	role, err := b.g.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: name + "-role"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.SetRules(sys, usher.GroupRef{ID: role.ID}, rules, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.AddMember(sys, usher.GroupRef{ID: role.ID}, usher.UserKey{ID: u.ID}, ""); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestHelpdeskCannotTakeTeamWriter: a user.update rule reaches no account
// that holds a team level the caller does not — a writer of a team the
// helpdesk is not in — and no change of an administrator's address, not
// even of its case, which would unconfirm it.
func TestHelpdeskCannotTakeTeamWriter(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	hd := helpdesk(t, b, "helpdesk", usher.Rule{Resource: "user", Operation: "update", Access: usher.Allow})
	if _, err := b.g.Create(as(b.bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "bteam"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.AddMember(as(b.bob), team("bteam"), usher.UserKey{ID: b.carol.ID}, usher.LevelWrite); err != nil {
		t.Fatal(err)
	}
	pw, addr, adminAddr := "Correct-Horse-Battery-9", "helpdesk-owned@example.com", "ROOT@example.com"
	for name, tc := range map[string]struct {
		who *usher.User
		in  usher.UserUpdate
	}{
		"a team writer's password": {b.carol, usher.UserUpdate{Password: &pw}},
		"a team writer's address":  {b.carol, usher.UserUpdate{Email: &addr}},
		"a team owner's password":  {b.bob, usher.UserUpdate{Password: &pw}},
		"an admin's address case":  {b.admin, usher.UserUpdate{Email: &adminAddr}},
	} {
		_, err := b.users.Update(as(hd), usher.UserKey{ID: tc.who.ID}, tc.in)
		if usher.ErrorKind(err) != usher.KindForbidden {
			t.Errorf("%s: %v, want forbidden", name, err)
		}
	}
	if got, _ := b.env.Store.UserGet(context.Background(), usher.UserKey{ID: b.admin.ID}); got.Email != "root@example.com" {
		t.Fatalf("the admin's address changed: %q", got.Email)
	}
	// A peer without such levels is still the helpdesk's to help.
	if _, err := b.users.Update(as(hd), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Password: &pw}); err != nil {
		t.Fatalf("a plain user's password: %v", err)
	}
}

// TestTeamOwnerCannotMintForStrongerServiceAccount: an administrator gives
// a team's service account a strong role; the team's owner must not mint a
// token for it and act with that role — no more than through CreateToken.
func TestTeamOwnerCannotMintForStrongerServiceAccount(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	sys := coretest.System()
	if _, err := b.g.Create(as(b.bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "bteam"}); err != nil {
		t.Fatal(err)
	}
	sa, err := b.g.CreateServiceAccount(as(b.bob), team("bteam"), "ci", "CI")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.g.ServiceAccountToken(as(b.bob), team("bteam"), usher.UserKey{ID: sa.ID}, false); err != nil {
		t.Fatalf("the owner mints for the team's own service account: %v", err)
	}
	role, _ := b.g.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "ops"})
	if _, err := b.g.SetRules(sys, usher.GroupRef{ID: role.ID}, []usher.Rule{{Resource: "user", Operation: "*", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.AddMember(sys, usher.GroupRef{ID: role.ID}, usher.UserKey{ID: sa.ID}, ""); err != nil {
		t.Fatal(err)
	}
	_, _, err = b.g.ServiceAccountToken(as(b.bob), team("bteam"), usher.UserKey{ID: sa.ID}, false)
	wantKind(t, err, usher.KindForbidden, "forbidden")
	_, _, err = b.env.Core.Auth.CreateToken(as(b.bob), usher.TokenCreate{UserID: sa.ID})
	wantKind(t, err, usher.KindForbidden, "")
	err = b.g.DeleteServiceAccount(as(b.bob), team("bteam"), usher.UserKey{ID: sa.ID})
	wantKind(t, err, usher.KindForbidden, "forbidden")
}

// TestStateAndDeleteRulesCannotReachAdmin: user.state and user.delete rules
// end sessions and tokens; like every change of another's credentials they
// reach no account with rights the caller lacks.
func TestStateAndDeleteRulesCannotReachAdmin(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	hd := helpdesk(t, b, "helpdesk",
		usher.Rule{Resource: "user", Operation: "state", Access: usher.Allow},
		usher.Rule{Resource: "user", Operation: "delete", Access: usher.Allow},
		usher.Rule{Resource: "user", Operation: "purge", Access: usher.Allow})
	admin := usher.UserKey{ID: b.admin.ID}
	for name, call := range map[string]func() error{
		"block":   func() error { _, err := b.users.Block(as(hd), admin); return err },
		"suspend": func() error { _, err := b.users.Suspend(as(hd), admin); return err },
		"delete":  func() error { _, err := b.users.Delete(as(hd), admin); return err },
		"purge":   func() error { return b.users.Purge(as(hd), admin) },
	} {
		if err := call(); usher.ErrorKind(err) != usher.KindForbidden {
			t.Errorf("%s of an administrator by a rule: %v, want forbidden", name, err)
		}
	}
	if u, err := b.env.Store.UserGet(context.Background(), admin); err != nil || u.State != usher.StateActive || u.Deleted() {
		t.Fatalf("the administrator after the attempts: %+v, %v", u, err)
	}
	if _, err := b.users.Block(as(hd), usher.UserKey{ID: b.alice.ID}); err != nil {
		t.Fatalf("blocking a peer: %v", err)
	}
}

// TestOutranksSeesCallersInstanceDeny: a helpdesk denied one role's
// membership must not reach it through an account that may manage it.
func TestOutranksSeesCallersInstanceDeny(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	sys := coretest.System()
	powerful, err := b.g.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "powerful"})
	if err != nil {
		t.Fatal(err)
	}
	hd := helpdesk(t, b, "helpdesk",
		usher.Rule{Resource: "user", Operation: "update", Access: usher.Allow},
		usher.Rule{Resource: "group", Operation: "members", Access: usher.Allow},
		usher.Rule{Resource: "group:" + strconv.FormatInt(powerful.ID, 10), Operation: "members", Access: usher.Deny})
	// Carol may manage every group's members, the powerful one included.
	manager := helpdesk(t, b, "manager", usher.Rule{Resource: "group", Operation: "members", Access: usher.Allow})
	_, err = b.g.AddMember(as(hd), usher.GroupRef{ID: powerful.ID}, usher.UserKey{ID: hd.ID}, "")
	wantKind(t, err, usher.KindForbidden, "")
	pw := "Correct-Horse-Battery-9"
	_, err = b.users.Update(as(hd), usher.UserKey{ID: manager.ID}, usher.UserUpdate{Password: &pw})
	wantKind(t, err, usher.KindForbidden, "")
}

// TestMergeDoesNotMoveServiceAccount: merging a team into another would put
// its service account in the target, which only an administrator does.
func TestMergeDoesNotMoveServiceAccount(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	for _, h := range []string{"t1", "t2"} {
		if _, err := b.g.Create(as(b.bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: h}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.g.CreateServiceAccount(as(b.bob), team("t1"), "bot1", "bot"); err != nil {
		t.Fatal(err)
	}
	_, err := b.g.Merge(as(b.bob), team("t1"), team("t2"))
	wantKind(t, err, usher.KindForbidden, "forbidden")
	if _, err := b.g.Merge(coretest.System(), team("t1"), team("t2")); err != nil {
		t.Fatalf("an administrator's merge: %v", err)
	}
}
