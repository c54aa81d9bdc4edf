package native_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestSettingsWriteAnswersNoSettingsUnread replays a delegate holding
// settings.write and not settings.read (denied, or not given, as the
// default gives no one another's): GET /v1/users/{u}/settings was refused,
// but PATCH, of nothing or of one harmless key, answered every setting
// the account held — its mail client's secret among them (round 44). One
// who may not read an account's settings gets back those it named.
func TestSettingsWriteAnswersNoSettingsUnread(t *testing.T) {
	t.Parallel()
	const secret = "oauth-client-secret-5f1e2d"
	for name, rules := range map[string][]usher.Rule{
		"read denied":    {allow("settings", "write"), deny("settings", "read")},
		"read not given": {allow("settings", "write")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, vtok := b.mustPrincipal(t, "victim", false)
			b.call(t, req{method: "PATCH", path: "/v1/users/victim/settings", token: vtok,
				body: map[string]any{"mail.client_secret": secret}}, http.StatusOK, nil)
			delegate, tok := b.mustPrincipal(t, "delegate", false)
			b.mustRole(t, "prefs", []*usher.User{delegate}, rules...)
			b.refused(t, req{method: "GET", path: "/v1/users/victim/settings", token: tok}, http.StatusForbidden, "forbidden")
			for _, body := range []map[string]any{{}, {"ui.theme": "dark"}} {
				var got map[string]any
				b.call(t, req{method: "PATCH", path: "/v1/users/victim/settings", token: tok, body: body}, http.StatusOK, &got)
				if _, leaked := got["mail.client_secret"]; leaked || len(got) != len(body) {
					t.Errorf("PATCH %v as the delegate: %v; want the keys it named alone", body, got)
				}
			}
			// The owner still reads them all, the delegate's among them.
			var all map[string]any
			b.call(t, req{method: "GET", path: "/v1/users/victim/settings", token: vtok}, http.StatusOK, &all)
			if all["mail.client_secret"] != secret || all["ui.theme"] != "dark" {
				t.Errorf("the owner's settings: %v", all)
			}
		})
	}
}

// TestChangeOfWhatOneMayNotReadRefused replays a delegate allowed to
// update one account or team and denied reading it: GET was refused,
// but an empty PATCH answered the whole profile, bio and all, or the
// team's name and description (round 44). A change needs the read of
// what it changes; the refusal changes nothing.
func TestChangeOfWhatOneMayNotReadRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim, vtok := b.mustPrincipal(t, "victim", false)
	b.call(t, req{method: "PATCH", path: "/v1/users/victim", token: vtok, body: map[string]any{"bio": "private bio text"}}, http.StatusOK, nil)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "covert",
		"name": "Covert Ops", "description": "acquisition of acme, do not discuss"}}, http.StatusCreated, &team)
	caller, tok := b.mustPrincipal(t, "caller", false)
	user, group := fmt.Sprintf("user:%d", victim.ID), fmt.Sprintf("group:%d", team.ID)
	b.mustRole(t, "helpdesk", []*usher.User{caller}, allow(user, "update"), deny(user, "read"),
		allow(group, "update"), deny(group, "read"))
	for _, path := range []string{fmt.Sprintf("/v1/users/%d", victim.ID), fmt.Sprintf("/v1/groups/%d", team.ID)} {
		b.refused(t, req{method: "GET", path: path, token: tok}, http.StatusForbidden, "forbidden")
		for _, body := range []map[string]any{{}, {"name": "Renamed"}} {
			res := b.api.do(t, req{method: "PATCH", path: path, token: tok, body: body})
			if res.status != http.StatusForbidden || strings.Contains(string(res.body), "private bio") || strings.Contains(string(res.body), "acquisition") {
				t.Errorf("PATCH %s %v by one denied reading it: %d %s; want 403", path, body, res.status, res.body)
			}
		}
	}
	var u struct{ Name string }
	b.call(t, req{method: "GET", path: "/v1/users/victim", token: vtok}, http.StatusOK, &u)
	var g groupBody
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d", team.ID), token: b.userTok}, http.StatusOK, &g)
	if u.Name == "Renamed" || g.Name == "Renamed" {
		t.Errorf("a refused change wrote: the user's name %q, the team's %q", u.Name, g.Name)
	}
}

// TestRulesAndMergesAnswerNothingUnread replays, past
// TestChangeOfWhatOneMayNotReadRefused, a delegate allowed to set one
// role's rules and denied reading it: PATCH of no rules at all answered
// every rule the role held; and one allowed to merge a group into another
// it may not read: the merge went through and answered the target, name
// and description (round 45). The rules' answer holds those the request
// set; the merge is refused and merges nothing.
func TestRulesAndMergesAnswerNothingUnread(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secret := b.mustRole(t, "secret-role", nil, deny("user:4242", "read"), allow("plan", "read"))
	var src, dst groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "group", "handle": "scratch",
		"name": "Scratch"}}, http.StatusCreated, &src)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "group", "handle": "covert",
		"name": "Covert Ops", "description": "acquisition of acme, do not discuss"}}, http.StatusCreated, &dst)
	caller, tok := b.mustPrincipal(t, "caller", false)
	role := fmt.Sprintf("group:%d", secret.ID)
	rules := []usher.Rule{allow(role, "rules"), deny(role, "read")}
	for _, id := range []int64{src.ID, dst.ID} {
		g := fmt.Sprintf("group:%d", id)
		rules = append(rules, allow(g, "update"), allow(g, "delete"), allow(g, "members"))
	}
	rules = append(rules, deny(fmt.Sprintf("group:%d", dst.ID), "read"))
	b.mustRole(t, "helpdesk", []*usher.User{caller}, rules...)

	path := fmt.Sprintf("/v1/groups/%d/rules", secret.ID)
	b.refused(t, req{method: "GET", path: path, token: tok}, http.StatusForbidden, "forbidden")
	// (Round 47 found the answers and refusals of such changes telling
	// the rules one at a time: a change of a role's rules needs its read.)
	for _, set := range [][]map[string]string{{}, {{"resource": "plan", "operation": "read", "access": "allow"}}} {
		res := b.api.do(t, req{method: "PATCH", path: path, token: tok, body: map[string]any{"rules": set}})
		if res.status != http.StatusForbidden || strings.Contains(string(res.body), "4242") {
			t.Errorf("PATCH %s %v by one denied reading the role: %d %s; want 403 and no rule", path, set, res.status, res.body)
		}
	}
	res := b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", src.ID), token: tok, body: map[string]any{"into": dst.ID}})
	if res.status != http.StatusForbidden || strings.Contains(string(res.body), "acquisition") {
		t.Errorf("a merge into a group one may not read: %d %s; want 403", res.status, res.body)
	}
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d", src.ID), token: b.adminTok}, http.StatusOK, nil)
}

// TestRefusalsNameNoRuleUnread replays, past TestRulesAndMergesAnswerNothingUnread,
// a delegate who may set a role's rules, or its members, and not read the
// role: replacing its rules with none, deleting them, or putting someone
// in it was refused, 403 — naming a rule the role holds ("a rule on
// application:4242 needs application.grant…", "the rule user purge would
// give user.purge…"), which GET of its rules refuses to show (round 46).
// Such a refusal names none now.
func TestRefusalsNameNoRuleUnread(t *testing.T) {
	t.Parallel()
	b := setup(t)
	delegate, tok := b.mustPrincipal(t, "delegate", false)
	b.mustPrincipal(t, "carol", false)
	secret := b.mustRole(t, "secret", nil, deny("application:4242", "delete"), deny("user", "purge"))
	role := fmt.Sprintf("group:%d", secret.ID)
	b.mustRole(t, "delegates", []*usher.User{delegate}, allow("group", "rules"), allow("group", "members"), deny(role, "read"))
	path := fmt.Sprintf("/v1/groups/%d/rules", secret.ID)
	b.refused(t, req{method: "GET", path: path, token: tok}, http.StatusForbidden, "forbidden")
	for _, rq := range []req{
		{method: "PUT", path: path, token: tok, body: map[string]any{"rules": []any{}}},
		{method: "DELETE", path: path, token: tok},
		// Whether the role holds a rule already told by a change of
		// nothing (200) against a refusal (403) (round 47).
		{method: "PATCH", path: path, token: tok, body: map[string]any{"rules": []map[string]string{{"resource": "user", "operation": "purge", "access": "deny"}}}},
		{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/carol", secret.ID), token: tok, body: map[string]any{}},
		{method: "PUT", path: "/v1/users/carol/groups", token: tok, body: map[string]any{"kind": "role", "add_to_groups": []string{"secret"}}},
	} {
		res := b.api.do(t, rq)
		if res.status != http.StatusForbidden || strings.Contains(string(res.body), "4242") || strings.Contains(string(res.body), "purge") {
			t.Errorf("%s %s as the delegate: %d %s; want 403 naming no rule of the role", rq.method, rq.path, res.status, res.body)
		}
	}
	// One who may read the role (as anyone may a role, but for a rule)
	// is told which rule stands in the way.
	reader, rtok := b.mustPrincipal(t, "reader", false)
	b.mustRole(t, "readers", []*usher.User{reader}, allow("group", "rules"))
	res := b.api.do(t, req{method: "DELETE", path: path, token: rtok})
	if res.status != http.StatusForbidden || !strings.Contains(string(res.body), "4242") && !strings.Contains(string(res.body), "purge") {
		t.Errorf("DELETE %s as one who may read the role: %d %s; want 403 naming the rule", path, res.status, res.body)
	}
}

// hiddenRole makes a role "secret" giving rule, with the member victim,
// the user carol in no role, and a delegate allowed the role's members and
// denied its read, whose members' list is then refused to the delegate; it
// returns the victim, the role and the delegate's token.
func (b *bundle) hiddenRole(t *testing.T, rule usher.Rule) (*usher.User, *usher.Group, string) {
	t.Helper()
	victim, _ := b.mustPrincipal(t, "victim", false)
	b.mustPrincipal(t, "carol", false)
	delegate, tok := b.mustPrincipal(t, "delegate", false)
	secret := b.mustRole(t, "secret", []*usher.User{victim}, rule)
	role := fmt.Sprintf("group:%d", secret.ID)
	b.mustRole(t, "delegates", []*usher.User{delegate}, allow(role, "members"), deny(role, "read"))
	b.refused(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d/members", secret.ID), token: tok}, http.StatusForbidden, "forbidden")
	return victim, secret, tok
}

// TestMemberChangesNeedTheGroupsRead: a delegate allowed a role's
// members and denied its read was refused GET of its members, yet a PUT
// of a member at the level held answered 200 with the membership as
// stored (the day the member joined, nothing written) where one who is
// no member was put in, and a DELETE of one who is no member answered 404
// member_not_found: asked a user at a time, the answers listed the role's
// members (round 48). A change of the members needs the group's read, as
// a change of its rules does, by either route.
func TestMemberChangesNeedTheGroupsRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim, secret, tok := b.hiddenRole(t, allow("plan", "read"))
	_, events := b.env.Counts(t)
	for _, rq := range []req{
		{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/victim", secret.ID), token: tok, body: map[string]any{"level": "member"}},
		{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/carol", secret.ID), token: tok, body: map[string]any{"level": "member"}},
		{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/carol", secret.ID), token: tok},
		{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/victim", secret.ID), token: tok},
		// A change of a user's groups put them in and took them out all
		// the same (round 49).
		{method: "PUT", path: "/v1/users/carol/groups", token: tok, body: map[string]any{"kind": "role", "add_to_groups": []string{"secret"}}},
		{method: "PUT", path: "/v1/users/victim/groups", token: tok, body: map[string]any{"kind": "role", "remove_from_groups": []string{"secret"}}},
		{method: "PUT", path: "/v1/users/victim/groups", token: tok, body: map[string]any{"kind": "role", "add_to_groups": []string{"secret"}}},
	} {
		b.refused(t, rq, http.StatusForbidden, "forbidden")
	}
	// A set leaves the user in the role the caller may not read, which
	// the answer does not show (round 51).
	b.call(t, req{method: "PUT", path: "/v1/users/victim/groups", token: tok, body: map[string]any{"kind": "role", "set_groups": []string{}}},
		http.StatusOK, nil)
	if _, after := b.env.Counts(t); after != events {
		t.Errorf("refused member changes wrote %d events", after-events)
	}
	page, err := b.env.Core.Groups.Members(coretest.System(), usher.GroupRef{ID: secret.ID}, usher.PageRequest{Limit: 10})
	if err != nil || len(page.Items) != 1 || page.Items[0].UserID != victim.ID {
		t.Errorf("the role's members after refused changes: %+v, %v; want the victim alone", page, err)
	}
}

// TestUserGroupsRefusalTellsNoMembership: past TestMemberChangesNeedTheGroupsRead,
// a change of a user's groups naming a role one may not read was refused
// either way, but with the role's rules asked first where the membership
// would change: a refusal naming group.read for a member and one naming
// the role's rights for a non-member told the members apart (round 50).
// The read is asked first.
func TestUserGroupsRefusalTellsNoMembership(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, _, tok := b.hiddenRole(t, deny("user", "purge"))
	for _, op := range []string{"add_to_groups", "remove_from_groups", "set_groups"} {
		member := b.api.do(t, req{method: "PUT", path: "/v1/users/victim/groups", token: tok, body: map[string]any{"kind": "role", op: []string{"secret"}}})
		other := b.api.do(t, req{method: "PUT", path: "/v1/users/carol/groups", token: tok, body: map[string]any{"kind": "role", op: []string{"secret"}}})
		mp, np := member.problem(t), other.problem(t)
		if member.status != http.StatusForbidden || other.status != http.StatusForbidden || mp.Code != np.Code || mp.Detail != np.Detail {
			t.Errorf("%s secret: member %d %q; non-member %d %q; want the same 403", op, member.status, mp.Detail, other.status, np.Detail)
		}
	}
}

// TestSetGroupsTellsNoHiddenMembership: a user who cannot see a team (a
// team's read is its members') reads no membership of it in another's
// groups, yet a set_groups of [] on that other answered 403 when they are
// in such a team and 200 when not: the refusal told who is a member of a
// team hidden from the caller (round 51). A set leaves the user in the
// groups the caller may not read.
func TestSetGroupsTellsNoHiddenMembership(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim := b.env.MustCreateUser(t, usher.UserCreate{Username: "victim", Email: "victim@example.com", Name: "Victim"})
	b.env.MustCreateUser(t, usher.UserCreate{Username: "bystander", Email: "bystander@example.com", Name: "Bystander"})
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "secret-crew"}}, http.StatusCreated, &team)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%d", team.ID, victim.ID), token: b.adminTok,
		body: map[string]any{"level": "read"}}, http.StatusOK, nil)

	// The caller sees none of the victim's teams.
	var shown struct {
		Items []any `json:"items"`
	}
	b.call(t, req{method: "GET", path: "/v1/users/victim/groups?kind=team", token: b.userTok}, http.StatusOK, &shown)
	if len(shown.Items) != 0 {
		t.Fatalf("the caller reads the hidden team: %v", shown.Items)
	}
	in := b.api.do(t, req{method: "PUT", path: "/v1/users/victim/groups", token: b.userTok, body: map[string]any{"kind": "team", "set_groups": []string{}}})
	out := b.api.do(t, req{method: "PUT", path: "/v1/users/bystander/groups", token: b.userTok, body: map[string]any{"kind": "team", "set_groups": []string{}}})
	if in.status != out.status || string(in.body) != string(out.body) {
		t.Errorf("set_groups [] tells membership of a hidden team: member %d %s; non-member %d %s", in.status, in.body, out.status, out.body)
	}
	if in.status != http.StatusOK {
		t.Errorf("set_groups [] of a user in a hidden team: %d %s; want 200", in.status, in.body)
	}
	if _, err := b.env.Store.MembershipGet(context.Background(), team.ID, victim.ID); err != nil {
		t.Errorf("the victim's membership of the hidden team after the set: %v; want it kept", err)
	}
}

// TestMemberRemovalNamesNoHiddenUser: a delegate who may read a role and
// change its members, and may not read one user, was answered 404
// user_not_found when putting that user in the role, as of no user — but
// a DELETE of the user's membership answered 204 and took them out where
// they were a member, and 404 member_not_found where not: it told who the
// hidden user is in the role, and changed them (round 54). One the caller
// may not read is no user to a removal either; leaving a group oneself is
// unchanged.
func TestMemberRemovalNamesNoHiddenUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hidden, _ := b.mustPrincipal(t, "hidden", false)
	outsider, _ := b.mustPrincipal(t, "outsider", false)
	delegate, tok := b.mustPrincipal(t, "delegate", false)
	crew := b.mustRole(t, "crew", []*usher.User{hidden, delegate})
	role := fmt.Sprintf("group:%d", crew.ID)
	b.mustRole(t, "delegates", []*usher.User{delegate}, allow(role, "members"), allow(role, "read"),
		deny("user:"+strconv.FormatInt(hidden.ID, 10), "read"), deny("user:"+strconv.FormatInt(outsider.ID, 10), "read"))
	for _, who := range []string{"hidden", "outsider"} {
		for _, rq := range []req{
			{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%s", crew.ID, who), token: tok, body: map[string]any{"level": "member"}},
			{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/%s", crew.ID, who), token: tok},
		} {
			b.refused(t, rq, http.StatusNotFound, "user_not_found")
		}
	}
	if got := b.members(t, crew.ID); !strings.Contains(got, strconv.FormatInt(hidden.ID, 10)+":") {
		t.Errorf("the role's members after refused removals: %s; want the hidden user still in it", got)
	}
	// The delegate leaves the role itself, as any member may.
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/delegate", crew.ID), token: tok}, http.StatusNoContent, nil)
}

// teamWithServiceAccount makes a plain user, "owner", who makes the team
// "ops" and its service account "bot".
func (b *bundle) teamWithServiceAccount(t *testing.T) (owner *usher.User, tok string, team groupBody, bot *usher.User) {
	t.Helper()
	owner, tok = b.mustPrincipal(t, "owner", false)
	b.call(t, req{method: "POST", path: "/v1/groups", token: tok, body: map[string]any{"kind": "team", "handle": "ops"}}, http.StatusCreated, &team)
	var made struct {
		ID int64 `json:"id"`
	}
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID), token: tok,
		body: map[string]any{"username": "bot"}}, http.StatusCreated, &made)
	bot, err := b.env.Core.Users.Get(sys(), usher.UserKey{ID: made.ID})
	if err != nil {
		t.Fatal(err)
	}
	return owner, tok, team, bot
}

// TestServiceAccountRoutesNameNoHiddenAccount: past
// TestMemberRemovalNamesNoHiddenUser, a team's owner whom a rule denies
// the read of the team's service account was refused its removal from
// the team (404 user_not_found), yet deleted it through the team's
// service-account route (204, out of the team) and minted it a token
// (201) (round 56). An account the caller may not read is no account to a
// change of it: 404 service_account_not_found, nothing changed.
func TestServiceAccountRoutesNameNoHiddenAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner, tok, team, bot := b.teamWithServiceAccount(t)
	b.mustRole(t, "no-bot", []*usher.User{owner}, deny("user:"+strconv.FormatInt(bot.ID, 10), "read"))
	_, events := b.env.Counts(t)
	for _, rq := range []req{
		{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts/bot/token", team.ID), token: tok},
		{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/service-accounts/bot", team.ID), token: tok},
	} {
		b.refused(t, rq, http.StatusNotFound, "service_account_not_found")
	}
	if _, after := b.env.Counts(t); after != events {
		t.Errorf("the refused changes wrote %d events", after-events)
	}
	if got := b.members(t, team.ID); !strings.Contains(got, strconv.FormatInt(bot.ID, 10)+":") {
		t.Errorf("the team's members after: %s; want the account still in it", got)
	}
}

// TestTeamDeletionDeletesOnlyWhatItsAccountsOwnRouteWould: past
// TestServiceAccountRoutesNameNoHiddenAccount, a team's deletion deletes
// its service accounts (those in no other team), and did so without the
// checks their own deletion makes: an owner refused the deletion of an
// account they may not read (404), or of one an administrator gave a
// right the owner lacks (403, its credentials are beyond the owner),
// deleted the team and the account with it, its tokens ended (round 57).
// The team's deletion is refused (403) while it holds such an account.
func TestTeamDeletionDeletesOnlyWhatItsAccountsOwnRouteWould(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		rule func(owner, bot *usher.User) (string, []*usher.User, usher.Rule)
		own  int // the account's own deletion's status
	}{
		{"an account the owner may not read", func(owner, bot *usher.User) (string, []*usher.User, usher.Rule) {
			return "no-bot", []*usher.User{owner}, deny("user:"+strconv.FormatInt(bot.ID, 10), "read")
		}, http.StatusNotFound},
		{"an account with a right the owner lacks", func(owner, bot *usher.User) (string, []*usher.User, usher.Rule) {
			return "auditors", []*usher.User{bot}, allow("audit", "read")
		}, http.StatusForbidden},
	} {
		b := setup(t)
		owner, tok, team, bot := b.teamWithServiceAccount(t)
		handle, members, rule := tc.rule(owner, bot)
		b.mustRole(t, handle, members, rule)
		if res := b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/service-accounts/bot", team.ID), token: tok, unchecked: true}); res.status != tc.own {
			t.Fatalf("%s: its own deletion: %d %s; want %d", tc.name, res.status, res.body, tc.own)
		}
		b.refused(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", team.ID), token: tok}, http.StatusForbidden, "forbidden")
		if _, err := b.env.Core.Users.Get(sys(), usher.UserKey{ID: bot.ID}); err != nil {
			t.Errorf("%s: the account after the team's refused deletion: %v", tc.name, err)
		}
		// An administrator deletes the team, and the account with it.
		b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", team.ID), token: b.adminTok}, http.StatusOK, nil)
		if _, err := b.env.Core.Users.Get(sys(), usher.UserKey{ID: bot.ID}); usher.ErrorKind(err) != usher.KindNotFound {
			t.Errorf("%s: the account after the administrator deleted the team: %v; want it deleted", tc.name, err)
		}
	}
}
