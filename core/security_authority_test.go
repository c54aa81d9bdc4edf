package core_test

import (
	"testing"

	"usher"
	"usher/core"
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
		g, err := b.g.Create(sys, core.GroupCreate{Kind: usher.GroupRole, Handle: handle})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.g.SetRules(sys, core.GroupRef{ID: g.ID}, rules, true); err != nil {
			t.Fatal(err)
		}
		if _, err := b.g.AddMember(sys, core.GroupRef{ID: g.ID}, usher.UserKey{ID: member.ID}, ""); err != nil {
			t.Fatal(err)
		}
	}
	mkRole("helpdesk", helpdesk, usher.Rule{Resource: "token", Operation: "create", Access: usher.Allow})
	mkRole("auditors", b.carol, usher.Rule{Resource: "audit", Operation: "read", Access: usher.Allow})
	if _, err := b.g.Create(as(b.bob), core.GroupCreate{Kind: usher.GroupTeam, Handle: "bobs"}); err != nil {
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
