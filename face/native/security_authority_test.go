package native_test

import (
	"fmt"
	"testing"

	"usher"
	"usher/core"
)

// The tests in this file replay, over HTTP, the attacks of the security
// review (issue #12, items 3, 4 and 8): each sequence is what an attacker
// would send, and each checks that the refusal changed nothing.

// mustPrincipal makes a user with a personal token.
func (b *bundle) mustPrincipal(t *testing.T, username string, admin bool) (*usher.User, string) {
	t.Helper()
	u := b.env.MustCreateUser(t, usher.UserCreate{Username: username, Email: username + "@example.com",
		Password: matrixPassword, Admin: admin, EmailConfirmed: true})
	return u, b.env.MustToken(t, u.ID, usher.TokenPersonal)
}

// mustRole makes a role with the rules and puts the users in it.
func (b *bundle) mustRole(t *testing.T, handle string, members []*usher.User, rules ...usher.Rule) *usher.Group {
	t.Helper()
	g, err := b.env.Core.Groups.Create(sys(), core.GroupCreate{Kind: usher.GroupRole, Handle: handle})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.SetRules(sys(), core.GroupRef{ID: g.ID}, rules, true); err != nil {
		t.Fatal(err)
	}
	for _, u := range members {
		if _, err := b.env.Core.Groups.AddMember(sys(), core.GroupRef{ID: g.ID}, usher.UserKey{ID: u.ID}, ""); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func allow(resource, op string) usher.Rule {
	return usher.Rule{Resource: resource, Operation: op, Access: usher.Allow}
}

// members returns a group's members as "user id:level", read as the system.
func (b *bundle) members(t *testing.T, groupID int64) string {
	t.Helper()
	ms, err := b.env.Core.Groups.Members(sys(), core.GroupRef{ID: groupID}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, m := range ms {
		out += fmt.Sprintf("%d:%s ", m.UserID, m.Level)
	}
	return out
}

// refused makes a request that must be refused with status and the code, and
// must write nothing: no user, no audit event.
func (b *bundle) refused(t *testing.T, rq req, status int, code string) {
	t.Helper()
	users, events := b.env.Counts(t)
	res := b.api.do(t, rq)
	if res.status != status {
		t.Fatalf("%s %s: %d %s, want %d", rq.method, rq.path, res.status, res.body, status)
	}
	if p := res.problem(t); p.Code != code || p.Status != status {
		t.Fatalf("%s %s: %s, want code %s", rq.method, rq.path, res.body, code)
	}
	if u, e := b.env.Counts(t); u != users || e != events {
		t.Fatalf("%s %s: a refused request wrote: users %d→%d, events %d→%d", rq.method, rq.path, users, u, events, e)
	}
}

// TestMergeCannotMakeWriterOwnerOfForeignTeam replays item 3 of the review:
// someone who may change a team but does not own it makes a team of their
// own, merges it into the victim team to come out as its owner, then
// removes the real owner. Each attacker is refused at the merge, and the
// team keeps its members and levels.
func TestMergeCannotMakeWriterOwnerOfForeignTeam(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// attacker returns the attacker's token, given the victim team.
		attacker func(t *testing.T, b *bundle, team groupBody) string
	}{
		{"a writer of the team", func(t *testing.T, b *bundle, team groupBody) string {
			w, tok := b.mustPrincipal(t, "writer", false)
			b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%d", team.ID, w.ID), token: b.userTok,
				body: map[string]any{"level": "write"}}, 200, nil)
			return tok
		}},
		{"a service account of the team", func(t *testing.T, b *bundle, team groupBody) string {
			var sa userBody
			b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID), token: b.userTok,
				body: map[string]any{"username": "team-bot"}}, 201, &sa)
			return b.env.MustToken(t, sa.ID, usher.TokenServiceAccount, usher.ScopeAPI)
		}},
		{"a holder of rules to change and delete every group", func(t *testing.T, b *bundle, team groupBody) string {
			u, tok := b.mustPrincipal(t, "editor", false)
			b.mustRole(t, "editors", []*usher.User{u}, allow("group", "update"), allow("group", "delete"))
			return tok
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var team, own groupBody
			b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "victims"}}, 201, &team)
			tok := tt.attacker(t, b, team)
			before := b.members(t, team.ID)
			b.call(t, req{method: "POST", path: "/v1/groups", token: tok, body: map[string]any{"kind": "team", "handle": "mine"}}, 201, &own)
			b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", own.ID), token: tok,
				body: map[string]any{"into": team.ID}}, 403, "forbidden")
			b.refused(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/%d", team.ID, b.user.ID), token: tok}, 403, "forbidden")
			if after := b.members(t, team.ID); after != before {
				t.Fatalf("the team's members went from %s to %s", before, after)
			}
			var g groupBody
			b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d", own.ID), token: tok}, 200, &g)
			if g.DeletedAt != nil || g.Level != "owner" {
				t.Fatalf("the attacker's own team after the refused merge: %+v", g)
			}
		})
	}
}

// TestMergeNeedsOwnerRightsOnBothGroups: owners of both teams merge; a
// service account that owns both is refused unless a rule grants it group
// changes explicitly; teams of an organisation need its owner-level rights
// (organisation.update) too; a role merges only for whoever may change
// both roles' members and rules.
func TestMergeNeedsOwnerRightsOnBothGroups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mkTeam := func(tok, handle string, org int64) groupBody {
		var g groupBody
		body := map[string]any{"kind": "team", "handle": handle}
		if org != 0 {
			body["organisation_id"] = org
		}
		b.call(t, req{method: "POST", path: "/v1/groups", token: tok, body: body}, 201, &g)
		return g
	}
	merge := func(src, dst groupBody) string { return fmt.Sprintf("/v1/groups/%d/merge", src.ID) }
	// Plain users may not place a team in an organisation; the admin moves
	// them there.
	var org struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/organisations", token: b.adminTok, body: map[string]any{"handle": "acme", "name": "ACME"}}, 201, &org)

	// An owner of both merges.
	a, c := mkTeam(b.userTok, "a", 0), mkTeam(b.userTok, "c", 0)
	b.call(t, req{method: "POST", path: merge(a, c), token: b.userTok, body: map[string]any{"into": c.ID}}, 200, nil)

	// A service account that owns both is refused; with an explicit rule it merges.
	var sa userBody
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", c.ID), token: b.userTok, body: map[string]any{"username": "bot"}}, 201, &sa)
	saTok := b.env.MustToken(t, sa.ID, usher.TokenServiceAccount, usher.ScopeAPI)
	s1, s2 := mkTeam(saTok, "s1", 0), mkTeam(saTok, "s2", 0)
	b.refused(t, req{method: "POST", path: merge(s1, s2), token: saTok, body: map[string]any{"into": s2.ID}}, 403, "forbidden")
	saUser, err := b.env.Core.Users.Get(sys(), usher.UserKey{ID: sa.ID})
	if err != nil {
		t.Fatal(err)
	}
	b.mustRole(t, "bots-merge", []*usher.User{saUser}, allow("group", "update"))
	b.call(t, req{method: "POST", path: merge(s1, s2), token: saTok, body: map[string]any{"into": s2.ID}}, 200, nil)

	// Teams in an organisation: their owner is refused without rights on it.
	o1, o2 := mkTeam(b.userTok, "o1", 0), mkTeam(b.userTok, "o2", 0)
	for _, g := range []groupBody{o1, o2} {
		b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/move", g.ID), token: b.userTok, body: map[string]any{"organisation_id": org.ID}}, 200, nil)
	}
	b.refused(t, req{method: "POST", path: merge(o1, o2), token: b.userTok, body: map[string]any{"into": o2.ID}}, 403, "forbidden")
	b.mustRole(t, "org-admins", []*usher.User{b.user}, allow("organisation", "update"))
	b.call(t, req{method: "POST", path: merge(o1, o2), token: b.userTok, body: map[string]any{"into": o2.ID}}, 200, nil)

	// Roles: a rule to change and delete groups is not enough to pour one
	// role's members into another's rules.
	editor, editorTok := b.mustPrincipal(t, "editor", false)
	b.mustRole(t, "editors", []*usher.User{editor}, allow("group", "update"), allow("group", "delete"))
	weak := b.mustRole(t, "weak", []*usher.User{editor})
	strong := b.mustRole(t, "strong", nil, allow("audit", "read"))
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", weak.ID), token: editorTok, body: map[string]any{"into": strong.ID}}, 403, "forbidden")
	b.refused(t, req{method: "GET", path: "/v1/audit", token: editorTok}, 403, "forbidden")
}
