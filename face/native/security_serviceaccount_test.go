package native_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// The tests in this file replay, over HTTP, how a team's service account
// kept a team's rights for whoever had lost them: an owner removed from
// the team, an owner deleted, a team deleted.

// mustTeamAccount makes, with the credential, a team of the handle and a
// service account of the username in it, and returns the team.
func (b *bundle) mustTeamAccount(t *testing.T, credential, handle, username string) groupBody {
	t.Helper()
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: credential, body: map[string]any{"kind": "team", "handle": handle}}, http.StatusCreated, &team)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID), token: credential,
		body: map[string]any{"username": username}}, http.StatusCreated, nil)
	return team
}

// mustServiceAccount makes a service account in the team and mints it a
// token with the credential.
func (b *bundle) mustServiceAccount(t *testing.T, teamID int64, username, credential string) string {
	t.Helper()
	path := fmt.Sprintf("/v1/groups/%d/service-accounts", teamID)
	b.call(t, req{method: "POST", path: path, token: credential, body: map[string]any{"username": username}}, http.StatusCreated, nil)
	return b.mustServiceAccountToken(t, teamID, username, credential)
}

// mustServiceAccountToken mints the team's service account a token with
// the credential: one that does not expire.
func (b *bundle) mustServiceAccountToken(t *testing.T, teamID int64, username, credential string) string {
	t.Helper()
	path := fmt.Sprintf("/v1/groups/%d/service-accounts", teamID)
	var tok struct {
		Token     string  `json:"token"`
		ExpiresAt *string `json:"expires_at"`
	}
	b.call(t, req{method: "POST", path: path + "/" + username + "/token", token: credential}, http.StatusCreated, &tok)
	if tok.ExpiresAt != nil {
		t.Fatalf("the token expires at %s; the attack needs one that does not", *tok.ExpiresAt)
	}
	return tok.Token
}

// ownedTeam is a team, "ops", that o and p own, with their tokens and the
// path of its members.
type ownedTeam struct {
	o, p       *usher.User
	oTok, pTok string
	id         int64
	members    string
}

// twoOwnerTeam makes users o and p and a team both own.
func (b *bundle) twoOwnerTeam(t *testing.T) ownedTeam {
	t.Helper()
	var tm ownedTeam
	tm.o, tm.oTok = b.mustPrincipal(t, "o", false)
	tm.p, tm.pTok = b.mustPrincipal(t, "p", false)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: tm.oTok, body: map[string]any{"kind": "team", "handle": "ops"}}, http.StatusCreated, &team)
	tm.id, tm.members = team.ID, fmt.Sprintf("/v1/groups/%d/members/", team.ID)
	b.call(t, req{method: "PUT", path: tm.members + "p", token: tm.oTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	return tm
}

// ended checks that a token is refused as a revoked one is.
func (b *bundle) ended(t *testing.T, rq req) {
	t.Helper()
	res := b.api.do(t, rq)
	if res.status != http.StatusUnauthorized {
		t.Fatalf("%s %s with the service account's token: %d %s, want 401", rq.method, rq.path, res.status, res.body)
	}
	if p := res.problem(t); p.Status != http.StatusUnauthorized || p.Code != "invalid_token" {
		t.Fatalf("%s %s with the service account's token: %s", rq.method, rq.path, res.body)
	}
}

// TestRemovedOwnerCannotComeBackThroughServiceAccount: an owner makes the
// team's service account an owner too and mints it a token that never
// expires; removed from the team by another owner, they put themselves
// back as owner with the account's token and remove the other owner. A
// writer's token kept them the team's write rights all the same.
func TestRemovedOwnerCannotComeBackThroughServiceAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o, oTok := b.mustPrincipal(t, "o", false)
	p, pTok := b.mustPrincipal(t, "p", false)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: oTok, body: map[string]any{"kind": "team", "handle": "ops"}}, http.StatusCreated, &team)
	members := fmt.Sprintf("/v1/groups/%d/members/", team.ID)
	b.call(t, req{method: "PUT", path: members + "p", token: oTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	botTok := b.mustServiceAccount(t, team.ID, "bot", oTok)
	var bot userBody
	b.call(t, req{method: "GET", path: "/v1/me", token: botTok}, http.StatusOK, &bot)

	// Only an administrator makes a service account an owner.
	b.refused(t, req{method: "PUT", path: members + "bot", token: oTok, body: map[string]any{"level": "owner"}}, http.StatusForbidden, "forbidden")
	want := fmt.Sprintf("%d:owner %d:owner %d:write ", o.ID, p.ID, bot.ID)
	if got := b.members(t, team.ID); got != want {
		t.Fatalf("members %s, want %s", got, want)
	}
	// A writer's token still wrote for o once o was gone: it ends with o's
	// ownership.
	b.call(t, req{method: "DELETE", path: members + "o", token: pTok}, http.StatusNoContent, nil)
	b.ended(t, req{method: "PUT", path: members + "o", token: botTok, body: map[string]any{"level": "owner"}})
	b.ended(t, req{method: "PATCH", path: fmt.Sprintf("/v1/groups/%d", team.ID), token: botTok, body: map[string]any{"name": "o's now"}})
	b.ended(t, req{method: "DELETE", path: members + "p", token: botTok})
	want = fmt.Sprintf("%d:owner %d:write ", p.ID, bot.ID)
	if got := b.members(t, team.ID); got != want {
		t.Fatalf("members %s, want %s", got, want)
	}

	// So does a token minted by an owner made a writer.
	b.call(t, req{method: "PUT", path: members + "o", token: pTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	botTok = b.mustServiceAccountToken(t, team.ID, "bot", oTok)
	b.call(t, req{method: "PUT", path: members + "o", token: pTok, body: map[string]any{"level": "write"}}, http.StatusOK, nil)
	b.ended(t, req{method: "GET", path: "/v1/me", token: botTok})

	// An administrator may make one an owner, and the owners who stay
	// mint anew.
	b.call(t, req{method: "PUT", path: members + "bot", token: b.adminTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	botTok = b.mustServiceAccountToken(t, team.ID, "bot", pTok)
	b.call(t, req{method: "GET", path: "/v1/me", token: botTok}, http.StatusOK, nil)
}

// TestServiceAccountTokenEndsWithOwnerAndTeam: the owner of a team mints
// its service account a token that never expires, and is blocked (through
// the API or by an import), suspended or deleted (another owner keeps the
// team); the token still worked. Then the team is deleted:
// the token still worked and read every user, and no owner was left to
// list or revoke the account.
func TestServiceAccountTokenEndsWithOwnerAndTeam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, ownerTok := b.mustPrincipal(t, "owner", false)
	_, coTok := b.mustPrincipal(t, "co-owner", false)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: ownerTok, body: map[string]any{"kind": "team", "handle": "ci"}}, http.StatusCreated, &team)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/co-owner", team.ID), token: b.adminTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	botTok := b.mustServiceAccount(t, team.ID, "ci-bot", ownerTok)
	var bot userBody
	b.call(t, req{method: "GET", path: "/v1/me", token: botTok}, http.StatusOK, &bot)

	// A blocked or suspended owner is shut out, and so is the token it
	// minted; the owner lifted, another minted, then the owner deleted.
	for _, state := range []string{"block", "suspend"} {
		b.call(t, req{method: "POST", path: "/v1/users/owner/" + state, token: b.adminTok}, http.StatusOK, nil)
		b.ended(t, req{method: "GET", path: "/v1/me", token: botTok})
		b.call(t, req{method: "POST", path: "/v1/users/owner/un" + state, token: b.adminTok}, http.StatusOK, nil)
		botTok = b.mustServiceAccountToken(t, team.ID, "ci-bot", ownerTok)
	}
	// So does a block by an import, as an HR sync makes it.
	for _, state := range []usher.UserState{usher.StateBlocked, usher.StateActive} {
		res, err := b.env.Core.Users.Import(sys(), []usher.ImportUser{{UserCreate: usher.UserCreate{Username: "owner", State: state}}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("import %s: %v %+v", state, err, res)
		}
		if state == usher.StateBlocked {
			b.ended(t, req{method: "GET", path: "/v1/me", token: botTok})
		}
	}
	b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "owner", "password": matrixPassword}}, http.StatusOK, nil)
	botTok = b.mustServiceAccountToken(t, team.ID, "ci-bot", ownerTok)
	b.call(t, req{method: "DELETE", path: "/v1/users/owner", token: b.adminTok}, http.StatusOK, nil)
	b.ended(t, req{method: "GET", path: "/v1/me", token: botTok})
	b.ended(t, req{method: "GET", path: "/v1/users?limit=5", token: botTok})

	// The owner who stays mints anew; deleting the team deletes its
	// service account and ends the token.
	botTok = b.mustServiceAccountToken(t, team.ID, "ci-bot", coTok)
	b.call(t, req{method: "GET", path: "/v1/me", token: botTok}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", team.ID), token: b.adminTok}, http.StatusOK, nil)
	b.ended(t, req{method: "GET", path: "/v1/me", token: botTok})
	b.ended(t, req{method: "GET", path: "/v1/users?limit=5", token: botTok})
	// The account is deleted with the team, as a deleted user is gone.
	b.refused(t, req{method: "GET", path: fmt.Sprintf("/v1/users/%d", bot.ID), token: b.adminTok}, http.StatusNotFound, "user_not_found")
	// Restoring the team leaves it deleted, its tokens revoked.
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/undelete", team.ID), token: b.adminTok}, http.StatusOK, nil)
	b.ended(t, req{method: "GET", path: "/v1/me", token: botTok})
}

// TestServiceAccountStaysInItsTeam replays a team's owner taking its
// service account out of the team, or the account leaving with its own
// token, by every route that removes a member, and then being blocked:
// outside every team the account's token, which never expires, kept
// working, and no owner could list or revoke it. It leaves by being
// deleted.
func TestServiceAccountStaysInItsTeam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, oTok := b.mustPrincipal(t, "o", false)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: oTok, body: map[string]any{"kind": "team", "handle": "ops"}}, 201, &team)
	botTok := b.mustServiceAccount(t, team.ID, "bot", oTok)
	for _, rq := range []req{
		{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/bot", team.ID), token: oTok},
		{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/bot", team.ID), token: botTok},
		{method: "PUT", path: "/v1/users/bot/groups", token: oTok, body: map[string]any{"kind": "team", "set_groups": []string{}}},
		{method: "PUT", path: "/v1/users/bot/groups", token: b.adminTok, body: map[string]any{"kind": "team", "remove_from_groups": []string{"ops"}}},
	} {
		res := b.api.do(t, rq)
		if res.status != http.StatusConflict || !strings.Contains(string(res.body), "stays in its team") {
			t.Errorf("%s %s: %d %s; want 409", rq.method, rq.path, res.status, res.body)
		}
	}
	if got := b.members(t, team.ID); !strings.Contains(got, ":write") {
		t.Errorf("members after the refusals: %s", got)
	}
	// Its maker blocked, its token ends with the team's rights.
	b.call(t, req{method: "POST", path: "/v1/users/o/block", token: b.adminTok}, 200, nil)
	b.call(t, req{method: "GET", path: "/v1/users", token: botTok}, 401, nil)
}

// TestMergeRaisesNoServiceAccount: a team's owner may not make its service
// account an owner (403), so that no token the owner mints manages the
// team's owners. An administrator made the account an owner of another
// team of the same owner's; merging that team into the account's own
// made it an owner there (its level in the two combined), and its token,
// minted by the owner, then named an outsider owner. The merge is now
// refused as the direct change is, and nothing moves.
func TestMergeRaisesNoServiceAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	home := b.mustTeamAccount(t, b.userTok, "home", "bot")
	var side groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "side"}}, http.StatusCreated, &side)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/bot", side.ID), token: b.adminTok,
		body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	b.refused(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/bot", home.ID), token: b.userTok,
		body: map[string]any{"level": "owner"}}, http.StatusForbidden, "forbidden")
	before := b.members(t, home.ID)
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", side.ID), token: b.userTok, body: map[string]any{"into": home.ID}},
		http.StatusForbidden, "forbidden")
	if after := b.members(t, home.ID); after != before || !strings.HasSuffix(strings.TrimSpace(after), ":write") {
		t.Fatalf("the team's members after the refused merge: %s, want %s (the service account a writer)", after, before)
	}
	// An administrator may, as directly.
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", side.ID), token: b.adminTok, body: map[string]any{"into": home.ID}},
		http.StatusOK, nil)
}

// TestServiceAccountMakesNoTeams replays a service account making a team
// of its own, which it owned: the team outlived the account's team and its
// maker (a team's deletion spared a service account in another team, and
// blocking the maker ended nothing), passed its maker's plan and made
// more service accounts without end.
func TestServiceAccountMakesNoTeams(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, oTok := b.mustPrincipal(t, "o", false)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: oTok, body: map[string]any{"kind": "team", "handle": "ops"}}, 201, &team)
	botTok := b.mustServiceAccount(t, team.ID, "bot", oTok)
	b.refused(t, req{method: "POST", path: "/v1/groups", token: botTok, body: map[string]any{"kind": "team", "handle": "hideout"}}, 403, usher.CodeServiceAccountTeams)
	b.call(t, req{method: "GET", path: "/v1/groups/team:hideout", token: b.adminTok}, 404, nil)
}

// TestDeletedTeamEndsItsServiceAccountTokens: an administrator also put
// the team's service account in another team; deleting the first team
// spares the account, for the other team's owners, but not the tokens its
// owners minted.
func TestDeletedTeamEndsItsServiceAccountTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, oTok := b.mustPrincipal(t, "o", false)
	var ops, other groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: oTok, body: map[string]any{"kind": "team", "handle": "ops"}}, 201, &ops)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "other"}}, 201, &other)
	botTok := b.mustServiceAccount(t, ops.ID, "bot", oTok)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/bot", other.ID), token: b.adminTok, body: map[string]any{"level": "write"}}, 200, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", ops.ID), token: oTok}, 200, nil)
	b.call(t, req{method: "GET", path: "/v1/users", token: botTok}, 401, nil)
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d/service-accounts", other.ID), token: b.adminTok}, 200, nil)
	if _, err := b.env.Core.Users.Get(sys(), usher.UserKey{Username: "bot"}); err != nil {
		t.Errorf("the spared account: %v", err)
	}
}

// TestServiceAccountsPerTeamBounded replays a team's owner making service
// accounts in a loop: each is an account with its own tokens, files,
// reminders and keys, so the per-account limits multiplied without end.
// A team holds at most 100.
func TestServiceAccountsPerTeamBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "farm"}}, 201, &team)
	as := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: b.user})
	var first *usher.User
	for i := range 100 {
		u, err := b.env.Core.Groups.CreateServiceAccount(as, usher.GroupRef{ID: team.ID}, fmt.Sprint("bot", i), "")
		if err != nil {
			t.Fatalf("account %d: %v", i+1, err)
		}
		first = cmp.Or(first, u)
	}
	path := fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID)
	b.refused(t, req{method: "POST", path: path, token: b.userTok, body: map[string]any{"username": "one-more"}}, 409, usher.CodeLimitReached)
	// A deleted one counts until it is purged
	// (TestDeletedServiceAccountsCountUntilPurged).
	b.call(t, req{method: "DELETE", path: path + "/bot0", token: b.userTok}, 204, nil)
	b.refused(t, req{method: "POST", path: path, token: b.userTok, body: map[string]any{"username": "one-more"}}, 409, usher.CodeLimitReached)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/purge", first.ID), token: b.adminTok}, 204, nil)
	b.call(t, req{method: "POST", path: path, token: b.userTok, body: map[string]any{"username": "one-more"}}, 201, nil)
}

// TestServiceAccountsPerOwnerBounded replays a user multiplying the
// per-account limits through teams: a team holds at most 100 service
// accounts, but a user may own 1,000 teams, so one user reached 100,000
// accounts, each with its own quota of files (300 accounts across three
// teams each stored a file past their maker's quota). A user who is no
// administrator now owns teams holding at most 100 in all.
func TestServiceAccountsPerOwnerBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	as := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: b.user})
	teams := make([]groupBody, 3)
	for i := range teams {
		b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok,
			body: map[string]any{"kind": "team", "handle": fmt.Sprint("farm-", i)}}, 201, &teams[i])
	}
	bots := make([]*usher.User, 100)
	for i := range bots {
		var err error
		if bots[i], err = b.env.Core.Groups.CreateServiceAccount(as, usher.GroupRef{ID: teams[i%2].ID}, fmt.Sprint("bot", i), ""); err != nil {
			t.Fatalf("account %d: %v", i+1, err)
		}
	}
	third := fmt.Sprintf("/v1/groups/%d/service-accounts", teams[2].ID)
	b.refused(t, req{method: "POST", path: third, token: b.userTok, body: map[string]any{"username": "one-more"}}, 409, usher.CodeLimitReached)
	// An administrator is bound by the team's limit alone.
	b.call(t, req{method: "POST", path: third, token: b.adminTok, body: map[string]any{"username": "admins-bot"}}, 201, nil)
	// Deleting one and purging it makes room, in any team the user owns
	// (a deleted one counts until it is purged); the administrator's
	// account counts too.
	room := func(i int) {
		b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/service-accounts/bot%d", teams[i%2].ID, i), token: b.userTok}, 204, nil)
		b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/purge", bots[i].ID), token: b.adminTok}, 204, nil)
	}
	room(0)
	b.refused(t, req{method: "POST", path: third, token: b.userTok, body: map[string]any{"username": "one-more"}}, 409, usher.CodeLimitReached)
	room(1)
	b.call(t, req{method: "POST", path: third, token: b.userTok, body: map[string]any{"username": "one-more"}}, 201, nil)
}

// TestServiceAccountsPerOwnerNotPassedByHandover replays the limit above
// passed by handing teams over: fill a team with 100 service accounts,
// make another account of yours its owner and leave it, and fill the next.
// The receiver ended up owning teams holding 300. Being made a team's
// owner now counts its service accounts as making them.
func TestServiceAccountsPerOwnerNotPassedByHandover(t *testing.T) {
	t.Parallel()
	b := setup(t)
	puppet, _ := b.mustPrincipal(t, "puppet", false)
	// Each round's maker is another account: one makes 100 at most
	// (TestServiceAccountsChargedToTheirMaker).
	other, otherTok := b.mustPrincipal(t, "other", false)
	makers := []struct {
		u   *usher.User
		tok string
	}{{b.user, b.userTok}, {other, otherTok}}
	for round, want := range []int{http.StatusOK, http.StatusConflict} {
		maker := makers[round]
		as := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: maker.u})
		var team groupBody
		b.call(t, req{method: "POST", path: "/v1/groups", token: maker.tok,
			body: map[string]any{"kind": "team", "handle": fmt.Sprint("farm-", round)}}, 201, &team)
		for i := range 100 {
			if _, err := b.env.Core.Groups.CreateServiceAccount(as, usher.GroupRef{ID: team.ID}, fmt.Sprint("bot", round, "-", i), ""); err != nil {
				t.Fatalf("round %d, account %d: %v", round, i+1, err)
			}
		}
		members := fmt.Sprintf("/v1/groups/%d/members/", team.ID)
		res := b.api.do(t, req{method: "PUT", path: members + "puppet", token: maker.tok, body: map[string]any{"level": "owner"}})
		if res.status != want || (want == http.StatusConflict && res.problem(t).Code != usher.CodeLimitReached) {
			t.Fatalf("round %d, the team handed over: %d %s", round, res.status, res.body)
		}
		if want == http.StatusOK {
			b.call(t, req{method: "DELETE", path: members + maker.u.Username, token: maker.tok}, 204, nil)
		}
	}
	if n, err := b.env.Store.OwnedServiceAccountCount(context.Background(), puppet.ID); err != nil || n != 100 {
		t.Fatalf("the receiver owns teams holding %d service accounts, %v; want 100", n, err)
	}
}

// ownTeams makes n teams, handles prefix0 on, that the user owns, as rows
// in one transaction: a thousand through the API took seconds.
func (b *bundle) ownTeams(t *testing.T, userID int64, prefix string, n int, at time.Time) {
	t.Helper()
	err := b.env.Store.InTx(context.Background(), func(tx store.Tx) error {
		for i := range n {
			h := fmt.Sprint(prefix, i)
			g := &usher.Group{Kind: usher.GroupTeam, Handle: h, Name: h, CreatedAt: at, UpdatedAt: at, Version: 1}
			if err := tx.GroupCreate(context.Background(), g); err != nil {
				return err
			}
			if err := tx.MembershipSet(context.Background(), usher.Membership{GroupID: g.ID, UserID: userID, Level: usher.LevelOwner, CreatedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// madeServiceAccounts makes n service accounts in the team, usernames
// prefix0 on, made by maker and deleted at once when deleted, as rows in
// one transaction; it returns the last one's id.
func (b *bundle) madeServiceAccounts(t *testing.T, teamID, maker int64, prefix string, n int, at time.Time, deleted bool) int64 {
	t.Helper()
	var last int64
	err := b.env.Store.InTx(context.Background(), func(tx store.Tx) error {
		for i := range n {
			u := &usher.User{Kind: usher.KindServiceAccount, Username: fmt.Sprint(prefix, i), State: usher.StateActive,
				UUID: uuid.NewString(), CreatedAt: at, UpdatedAt: at, Version: 1}
			if deleted {
				u.DeletedAt = &at
			}
			if err := tx.UserCreate(context.Background(), u, ""); err != nil {
				return err
			}
			if err := tx.UserMakerSet(context.Background(), u.ID, maker); err != nil {
				return err
			}
			if err := tx.MembershipSet(context.Background(), usher.Membership{GroupID: teamID, UserID: u.ID, Level: usher.LevelWrite, CreatedAt: at}); err != nil {
				return err
			}
			last = u.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// TestTeamHandedToOwnerAtLimit replays a user at the limit of 1,000 teams
// handing teams to someone else as owner and leaving them, then making
// new ones: the limit was checked on the maker at creation only, so teams
// came without end and the receiver, who asked for none, was pushed past
// it. Being made an owner counts as making one.
func TestTeamHandedToOwnerAtLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim := b.env.MustCreateUser(t, usher.UserCreate{Username: "victim", Email: "victim@example.com"})
	b.ownTeams(t, victim.ID, "given-", 1000, time.Now())
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "mine"}}, 201, &team)
	members := fmt.Sprintf("/v1/groups/%d/members/victim", team.ID)
	b.refused(t, req{method: "PUT", path: members, token: b.userTok, body: map[string]any{"level": "owner"}}, 409, usher.CodeLimitReached)
	b.call(t, req{method: "PUT", path: members, token: b.userTok, body: map[string]any{"level": "write"}}, 200, nil)
	b.call(t, req{method: "PUT", path: members, token: b.adminTok, body: map[string]any{"level": "owner"}}, 200, nil)
}

// TestDeletedOwnerKeepsNoTeam: a team's co-owner was deleted; the other
// owner's leaving counted the deleted account as an owner and left the
// team with it alone, which no one but an administrator could manage.
func TestDeletedOwnerKeepsNoTeam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	co, _ := b.mustPrincipal(t, "co", false)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "pair"}}, 201, &team)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/co", team.ID), token: b.userTok, body: map[string]any{"level": "owner"}}, 200, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d", co.ID), token: b.adminTok}, 200, nil)
	b.refused(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/plain", team.ID), token: b.userTok}, 409, usher.CodeLastOwner)
}

// TestServiceAccountKeysEndWithItsTokens replays an owner adding an SSH
// key to a team's service account with a token of their minting, then
// leaving the team: the account's tokens were revoked, but the key stayed,
// and with it the owner's way in as the account through whatever trusts
// usher's keys (GitLab's key look-ups). The keys end with the tokens.
func TestServiceAccountKeysEndWithItsTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tm := b.twoOwnerTeam(t)
	botTok := b.mustServiceAccount(t, tm.id, "bot", tm.oTok)
	b.call(t, req{method: "POST", path: "/v1/users/bot/keys", token: botTok, body: map[string]any{"title": "mine", "key": coretest.NewSSHKey(t)}}, http.StatusCreated, nil)
	b.call(t, req{method: "DELETE", path: tm.members + "o", token: tm.pTok}, http.StatusNoContent, nil)
	b.ended(t, req{method: "GET", path: "/v1/me", token: botTok})
	var keys struct{ Items []any }
	b.call(t, req{method: "GET", path: "/v1/users/bot/keys", token: b.adminTok}, http.StatusOK, &keys)
	if len(keys.Items) != 0 {
		t.Errorf("the key the departed owner's token added outlives the owner's leaving: %d keys", len(keys.Items))
	}
	res := b.call(t, req{method: "GET", path: "/v1/audit?action=ssh_key.delete", token: b.adminTok}, http.StatusOK, nil)
	if !strings.Contains(string(res.body), `"owner_left"`) {
		t.Errorf("the key's deletion is not recorded with its reason: %s", res.body)
	}
	// The owner who stays adds keys anew.
	botTok = b.mustServiceAccountToken(t, tm.id, "bot", tm.pTok)
	b.call(t, req{method: "POST", path: "/v1/users/bot/keys", token: botTok, body: map[string]any{"title": "again", "key": coretest.NewSSHKey(t)}}, http.StatusCreated, nil)
}

// TestDeletionEndsSSHKeys replays a key added with a stolen token to an
// account the administrator then deletes and later restores for its
// owner, and a service account deleted with its team and restored: the
// tokens stayed revoked, but the keys came back, and with them a way in
// through whatever trusts usher's keys. A deletion deletes the keys, and
// frees their fingerprints: the account's owner, or a newcomer with the
// freed username, adds their key again.
func TestDeletionEndsSSHKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	keys := func(user string) int {
		var out struct{ Items []any }
		b.call(t, req{method: "GET", path: "/v1/users/" + user + "/keys", token: b.adminTok}, http.StatusOK, &out)
		return len(out.Items)
	}
	alice, stolenTok := b.mustPrincipal(t, "alice", false)
	key := coretest.NewSSHKey(t)
	b.call(t, req{method: "POST", path: "/v1/users/alice/keys", token: stolenTok, body: map[string]any{"title": "taker's", "key": key}}, http.StatusCreated, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d", alice.ID), token: b.adminTok}, http.StatusOK, nil)
	// The fingerprint is free for another account while alice is deleted.
	_, otherTok := b.mustPrincipal(t, "other", false)
	b.call(t, req{method: "POST", path: "/v1/users/other/keys", token: otherTok, body: map[string]any{"title": "mine", "key": key}}, http.StatusCreated, nil)
	b.call(t, req{method: "DELETE", path: "/v1/users/other", token: b.adminTok}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/undelete", alice.ID), token: b.adminTok}, http.StatusOK, nil)
	b.ended(t, req{method: "GET", path: "/v1/me", token: stolenTok})
	if n := keys("alice"); n != 0 {
		t.Errorf("the taker's key came back with the undelete: %d keys", n)
	}

	_, oTok := b.mustPrincipal(t, "o", false)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: oTok, body: map[string]any{"kind": "team", "handle": "ops"}}, http.StatusCreated, &team)
	botTok := b.mustServiceAccount(t, team.ID, "bot", oTok)
	b.call(t, req{method: "POST", path: "/v1/users/bot/keys", token: botTok, body: map[string]any{"title": "mine", "key": coretest.NewSSHKey(t)}}, http.StatusCreated, nil)
	var bot userBody
	b.call(t, req{method: "GET", path: "/v1/users/bot", token: b.adminTok}, http.StatusOK, &bot)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", team.ID), token: oTok}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/undelete", bot.ID), token: b.adminTok}, http.StatusOK, nil)
	if n := keys("bot"); n != 0 {
		t.Errorf("the service account's key came back with it: %d keys", n)
	}
}

// TestPurgeKeepsATeamOwner replays the purge of a team's last owner, whose
// deletion is refused (409 last_team_owner): the purge answered 204 and
// left the team live with no owner, its service account in it, managed by
// no one but an administrator. A purge asks what a deletion asks.
func TestPurgeKeepsATeamOwner(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice, aliceTok := b.mustPrincipal(t, "alice", false)
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: aliceTok, body: map[string]any{"kind": "team", "handle": "payments"}}, http.StatusCreated, &team)
	b.mustServiceAccount(t, team.ID, "pay-bot", aliceTok)
	b.refused(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d", alice.ID), token: b.adminTok}, http.StatusConflict, usher.CodeLastTeamOwner)
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/purge", alice.ID), token: b.adminTok}, http.StatusConflict, usher.CodeLastTeamOwner)
	// With another owner, the purge goes ahead.
	b.mustPrincipal(t, "bob", false)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/bob", team.ID), token: aliceTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/purge", alice.ID), token: b.adminTok}, http.StatusNoContent, nil)
}

// TestTeamsNotMadeAgainstGitLabFlags replays flags GitLab's users API sets
// and usher stored, showed and never read: an administrator turns a
// user's can_create_group off, or makes the user external, and the user
// went on making teams (owning up to 1,000). GitLab refuses both; so does
// usher now, whatever face makes the team.
func TestTeamsNotMadeAgainstGitLabFlags(t *testing.T) {
	t.Parallel()
	b := setup(t)
	off := false
	for i, update := range []usher.UserUpdate{{GitLab: usher.GitLabProfileUpdate{CanCreateGroup: &off}}, {External: &[]bool{true}[0]}} {
		u, tok := b.mustPrincipal(t, fmt.Sprint("flagged-", i), false)
		b.call(t, req{method: "POST", path: "/v1/groups", token: tok, body: map[string]any{"kind": "team", "handle": fmt.Sprint("before-", i)}}, 201, nil)
		if _, err := b.env.Core.Users.Update(usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalSystem}), usher.UserKey{ID: u.ID}, update); err != nil {
			t.Fatal(err)
		}
		b.refused(t, req{method: "POST", path: "/v1/groups", token: tok, body: map[string]any{"kind": "team", "handle": fmt.Sprint("after-", i)}},
			http.StatusForbidden, usher.CodeCannotCreateTeams)
	}
}

// TestDeletedTeamsHeldThenPurged replays a plain user making and deleting
// teams in a loop: a deleted team holds its handle against everyone but
// administrators, and its rows, and deleted teams were never purged, so
// the loop held any number of names for good and grew the table without
// end (1,100 pairs in 4.8 s). A deleted team now counts among the teams
// its owner owns until housekeeping purges it, --keep-ended after its
// deletion, with the service accounts deleted with it; its name is free
// from then.
func TestDeletedTeamsHeldThenPurged(t *testing.T) {
	t.Parallel()
	clock := &lockClock{t: time.Now()}
	b := setupWith(t, coretest.Options{Now: clock.Now, Policy: core.Policy{KeepEnded: time.Hour}})
	_, otherTok := b.mustPrincipal(t, "other", false)
	// The user owns 998 teams already.
	b.ownTeams(t, b.user.ID, "owned-", 998, clock.Now())
	create := func(token, handle string, status int) int64 {
		t.Helper()
		var team groupBody
		res := b.api.do(t, req{method: "POST", path: "/v1/groups", token: token, body: map[string]any{"kind": "team", "handle": handle}})
		if res.status != status {
			t.Fatalf("create %s: %d %s, want %d", handle, res.status, res.body, status)
		}
		if status == http.StatusCreated {
			res.decode(t, &team)
		}
		return team.ID
	}
	// Two teams made and deleted, one with a service account.
	first := create(b.userTok, "squat-1", http.StatusCreated)
	b.mustServiceAccount(t, first, "squat-bot", b.userTok)
	var bot userBody
	b.call(t, req{method: "GET", path: "/v1/users/squat-bot", token: b.adminTok}, http.StatusOK, &bot)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", first), token: b.userTok}, http.StatusOK, nil)
	clock.Add(10 * time.Minute)
	second := create(b.userTok, "squat-2", http.StatusCreated)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", second), token: b.userTok}, http.StatusOK, nil)
	// The two deleted teams count: a 1,001st is refused, and the names
	// are held from others.
	b.refused(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "squat-3"}},
		http.StatusConflict, usher.CodeLimitReached)
	b.refused(t, req{method: "POST", path: "/v1/groups", token: otherTok, body: map[string]any{"kind": "team", "handle": "squat-1"}},
		http.StatusConflict, usher.CodeHandleTaken)

	// An hour after the first deletion housekeeping purges the first team,
	// and its service account, but not the second yet.
	clock.Add(55 * time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.env.Core.Outbox.Run(ctx, 10*time.Millisecond) }()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := b.env.Store.GroupGet(context.Background(), first, "", ""); errors.Is(err, usher.ErrNotFound) {
			break
		}
	}
	cancel()
	<-done
	b.refused(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d", first), token: b.adminTok}, http.StatusNotFound, usher.CodeGroupNotFound)
	b.refused(t, req{method: "GET", path: fmt.Sprintf("/v1/users/%d", bot.ID), token: b.adminTok}, http.StatusNotFound, usher.CodeUserNotFound)
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d", second), token: b.adminTok}, http.StatusOK, nil)
	var events struct {
		Items []struct {
			Action     string            `json:"action"`
			ResourceID string            `json:"resource_id"`
			Meta       map[string]string `json:"meta"`
		} `json:"items"`
	}
	b.call(t, req{method: "GET", path: "/v1/audit?action=group.purge", token: b.adminTok}, http.StatusOK, &events)
	if len(events.Items) != 1 || events.Items[0].ResourceID != fmt.Sprint(first) || events.Items[0].Meta["handle"] != "squat-1" {
		t.Errorf("the purge's audit events: %+v", events.Items)
	}
	// Its name is free, and its owner may make one more team.
	create(otherTok, "squat-1", http.StatusCreated)
	create(b.userTok, "squat-3", http.StatusCreated)
	b.refused(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "squat-4"}},
		http.StatusConflict, usher.CodeLimitReached)
}

// TestDeletedServiceAccountsCountUntilPurged replays a team's owner making
// and deleting service accounts in a loop: the caps of 100 counted live
// accounts, and a deleted one stayed as a row until an administrator
// purged it, so the users table grew without end (300 pairs in 1.5 s).
// A deleted account now counts until housekeeping purges it, --keep-ended
// after its deletion.
func TestDeletedServiceAccountsCountUntilPurged(t *testing.T) {
	t.Parallel()
	clock := &lockClock{t: time.Now()}
	b := setupWith(t, coretest.Options{Now: clock.Now, Policy: core.Policy{KeepEnded: time.Hour}})
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "bots"}}, http.StatusCreated, &team)
	path := fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID)
	// 99 accounts the user made and deleted at once, as rows.
	last := b.madeServiceAccounts(t, team.ID, b.user.ID, "old-", 99, clock.Now(), true)
	clock.Add(30 * time.Minute)
	b.call(t, req{method: "POST", path: path, token: b.userTok, body: map[string]any{"username": "bot-1"}}, http.StatusCreated, nil)
	b.call(t, req{method: "DELETE", path: path + "/bot-1", token: b.userTok}, http.StatusNoContent, nil)
	b.refused(t, req{method: "POST", path: path, token: b.userTok, body: map[string]any{"username": "bot-2"}}, http.StatusConflict, usher.CodeLimitReached)

	// An hour after, the 99 are purged, but not bot-1, deleted half an
	// hour later.
	clock.Add(31 * time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.env.Core.Outbox.Run(ctx, 10*time.Millisecond) }()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := b.env.Store.UserGet(context.Background(), usher.UserKey{ID: last}); errors.Is(err, usher.ErrNotFound) {
			break
		}
	}
	cancel()
	<-done
	var deleted struct {
		Items []userBody `json:"items"`
	}
	b.call(t, req{method: "GET", path: "/v1/users?deleted=only&limit=200", token: b.adminTok}, http.StatusOK, &deleted)
	var left []string
	for _, u := range deleted.Items {
		left = append(left, u.Username)
	}
	if !slices.Equal(left, []string{"bot-1"}) {
		t.Errorf("the deleted accounts left: %v, want bot-1 alone", left)
	}
	b.call(t, req{method: "POST", path: path, token: b.userTok, body: map[string]any{"username": "bot-2"}}, http.StatusCreated, nil)
}

// TestDeletedChargedToTheirMaker replays a reviewer's attack on the first
// form of the counts above, which charged deleted teams and service
// accounts to whoever owned the team: make a team, make and delete
// service accounts in it (or make teams), make someone else its owner
// and leave. The receiver, who asked for none of it, could then make no
// service account, and no team once handed a thousand, for 30 days,
// deleting them made no room, and the maker's own count was back to
// nothing. What was deleted counts against its maker now.
func TestDeletedChargedToTheirMaker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim, victimTok := b.mustPrincipal(t, "victim", false)
	var gift groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "gift"}}, http.StatusCreated, &gift)
	b.madeServiceAccounts(t, gift.ID, b.user.ID, "gift-", 99, time.Now(), true)
	path := fmt.Sprintf("/v1/groups/%d/service-accounts", gift.ID)
	b.call(t, req{method: "POST", path: path, token: b.userTok, body: map[string]any{"username": "gift-last"}}, http.StatusCreated, nil)
	b.call(t, req{method: "DELETE", path: path + "/gift-last", token: b.userTok}, http.StatusNoContent, nil)
	members := fmt.Sprintf("/v1/groups/%d/members/", gift.ID)
	b.call(t, req{method: "PUT", path: members + "victim", token: b.userTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: members + "plain", token: b.userTok}, http.StatusNoContent, nil)
	// The victim makes a service account, in the gift and in a team of
	// their own; the maker of the hundred deleted ones makes none.
	b.call(t, req{method: "POST", path: path, token: victimTok, body: map[string]any{"username": "victims-bot"}}, http.StatusCreated, nil)
	var own groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: victimTok, body: map[string]any{"kind": "team", "handle": "own"}}, http.StatusCreated, &own)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", own.ID), token: victimTok,
		body: map[string]any{"username": "own-bot"}}, http.StatusCreated, nil)
	var next groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "next"}}, http.StatusCreated, &next)
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", next.ID), token: b.userTok,
		body: map[string]any{"username": "more"}}, http.StatusConflict, usher.CodeLimitReached)

	// Teams: the victim owns a thousand the plain user made, deletes one,
	// and makes one of their own.
	b.ownTeams(t, victim.ID, "handed-", 998, time.Now()) // and gift and own
	err := b.env.Store.InTx(context.Background(), func(tx store.Tx) error {
		page, err := tx.GroupList(context.Background(), usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam},
			Handle: "handed-0", Page: usher.PageRequest{Limit: 1}})
		if err != nil || len(page.Items) != 1 {
			return fmt.Errorf("handed-0: %v, %v", page, err)
		}
		return tx.GroupMakerSet(context.Background(), page.Items[0].ID, b.user.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	b.refused(t, req{method: "POST", path: "/v1/groups", token: victimTok, body: map[string]any{"kind": "team", "handle": "one-more"}},
		http.StatusConflict, usher.CodeLimitReached)
	b.call(t, req{method: "DELETE", path: "/v1/groups/handed-0", token: victimTok}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: "/v1/groups", token: victimTok, body: map[string]any{"kind": "team", "handle": "one-more"}}, http.StatusCreated, nil)
}

// TestServiceAccountsChargedToTheirMaker replays a reviewer's way past the
// cap of 100 service accounts across the teams one owns, which counted
// the caller's teams alone: make teams another account of one's own owns
// too, fill them, and leave them; each left the maker's count at nothing
// (300 accounts in the reviewer's run, without end with more teams). A
// user makes at most 100 that are not purged, wherever they are.
func TestServiceAccountsChargedToTheirMaker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustPrincipal(t, "puppet", false)
	var farm groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "farm"}}, http.StatusCreated, &farm)
	members := fmt.Sprintf("/v1/groups/%d/members/", farm.ID)
	b.call(t, req{method: "PUT", path: members + "puppet", token: b.userTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	b.madeServiceAccounts(t, farm.ID, b.user.ID, "farm-", 99, time.Now(), false)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", farm.ID), token: b.userTok,
		body: map[string]any{"username": "farm-last"}}, http.StatusCreated, nil)
	b.call(t, req{method: "DELETE", path: members + "plain", token: b.userTok}, http.StatusNoContent, nil)
	var next groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "next"}}, http.StatusCreated, &next)
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", next.ID), token: b.userTok,
		body: map[string]any{"username": "one-more"}}, http.StatusConflict, usher.CodeLimitReached)
}

// TestOwnersCapHeldForEveryOwner replays a reviewer's two ways past the
// cap of 100 service accounts across the teams one owns, which asked
// about the caller alone: a co-owner filling a team another owns (who
// already owned 100 elsewhere), and an empty team that user owned with
// one merged into a full team, which made them its owner with none of a
// handover's checks. Both are refused now, 409 limit_reached.
func TestOwnersCapHeldForEveryOwner(t *testing.T) {
	t.Parallel()
	b := setup(t)
	puppet, _ := b.mustPrincipal(t, "puppet", false)
	other, otherTok := b.mustPrincipal(t, "other", false)
	team := func(tok, handle string) int64 {
		t.Helper()
		var g groupBody
		b.call(t, req{method: "POST", path: "/v1/groups", token: tok, body: map[string]any{"kind": "team", "handle": handle}}, http.StatusCreated, &g)
		return g.ID
	}
	owner := func(tok string, teamID int64) {
		t.Helper()
		b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/puppet", teamID), token: tok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	}
	// The puppet owns a team of 100 the plain user made.
	full := team(b.userTok, "full")
	b.madeServiceAccounts(t, full, b.user.ID, "full-", 100, time.Now(), false)
	owner(b.userTok, full)

	// A co-owner's filling: the other user's team, which the puppet owns
	// too, takes none.
	shared := team(otherTok, "shared")
	owner(otherTok, shared)
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", shared), token: otherTok,
		body: map[string]any{"username": "one-more"}}, http.StatusConflict, usher.CodeLimitReached)

	// A merge: the other user's full team, which the puppet may not be
	// handed, is not theirs by a merge of an empty one either.
	other100 := team(otherTok, "other-full")
	b.madeServiceAccounts(t, other100, other.ID, "other-", 50, time.Now(), false)
	b.refused(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/puppet", other100), token: otherTok,
		body: map[string]any{"level": "owner"}}, http.StatusConflict, usher.CodeLimitReached)
	bridge := team(otherTok, "bridge")
	owner(otherTok, bridge)
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", bridge), token: otherTok,
		body: map[string]any{"into": other100}}, http.StatusConflict, usher.CodeLimitReached)
	if n, err := b.env.Store.OwnedServiceAccountCount(context.Background(), puppet.ID); err != nil || n != 100 {
		t.Errorf("the puppet owns teams holding %d service accounts, %v; want 100", n, err)
	}
	// An administrator's merge is bound by nothing of this.
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", bridge), token: b.adminTok,
		body: map[string]any{"into": other100}}, http.StatusOK, nil)
}

// TestServiceAccountTokensMintedByOwners replays a writer of a team whom a
// role gives service_account.manage there minting a token for the team's
// service account, then being taken out of the team and the role: nothing
// ended the token, which never expires, and through it they kept changing
// the team. Only the team's owners and administrators mint now, whose
// leaving or demotion ends the tokens; the rule still makes and deletes
// the team's service accounts.
func TestServiceAccountTokensMintedByOwners(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tm := b.twoOwnerTeam(t)
	// p is made a writer, whom a role gives service_account.manage there.
	b.call(t, req{method: "PUT", path: tm.members + "p", token: tm.oTok, body: map[string]any{"level": "write"}}, http.StatusOK, nil)
	b.mustRole(t, "sa-operators", []*usher.User{tm.p}, allow(fmt.Sprintf("service_account:%d", tm.id), "manage"))
	accounts := fmt.Sprintf("/v1/groups/%d/service-accounts", tm.id)

	// The rule makes and deletes the team's service accounts, and mints
	// them no token, whether new or regenerated.
	b.call(t, req{method: "POST", path: accounts, token: tm.pTok, body: map[string]any{"username": "bot"}}, http.StatusCreated, nil)
	for _, body := range []map[string]any{nil, {"regenerate": true}} {
		b.refused(t, req{method: "POST", path: accounts + "/bot/token", token: tm.pTok, body: body}, http.StatusForbidden, "forbidden")
	}
	b.call(t, req{method: "POST", path: accounts, token: tm.pTok, body: map[string]any{"username": "spare"}}, http.StatusCreated, nil)
	b.call(t, req{method: "DELETE", path: accounts + "/spare", token: tm.pTok}, http.StatusNoContent, nil)

	// The owner mints; the token ends once the owner leaves.
	botTok := b.mustServiceAccountToken(t, tm.id, "bot", tm.oTok)
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/groups/%d", tm.id), token: botTok, body: map[string]any{"name": "bot's"}}, http.StatusOK, nil)
	b.call(t, req{method: "PUT", path: tm.members + "p", token: b.adminTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: tm.members + "o", token: tm.oTok}, http.StatusNoContent, nil)
	b.ended(t, req{method: "GET", path: "/v1/me", token: botTok})
}

// membershipHookStore calls hook once, inside a transaction, right after
// it reads user's membership of group: the moment a write has read what
// it decides on and, before it held the group first, held nothing yet.
type membershipHookStore struct {
	store.Store
	group, user int64
	fired       atomic.Bool
	hook        func()
}

func (s *membershipHookStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&membershipHookTx{tx, s}) })
}

type membershipHookTx struct {
	store.Tx
	s *membershipHookStore
}

func (t *membershipHookTx) MembershipGet(ctx context.Context, groupID, userID int64) (*usher.Membership, error) {
	m, err := t.Tx.MembershipGet(ctx, groupID, userID)
	if t.s.hook != nil && groupID == t.s.group && userID == t.s.user && t.s.fired.CompareAndSwap(false, true) {
		t.s.hook()
	}
	return m, err
}

// TestRemovedOwnerDeletesNoTeam replays, over HTTP on PostgreSQL, an
// owner deleting a team as a co-owner removes them: the deletion read the
// owner's membership, the removal committed, and the deletion went on
// with the right it had read. It now holds the team first and reads the
// membership again: 403, and the team stands.
func TestRemovedOwnerDeletesNoTeam(t *testing.T) {
	t.Parallel()
	hs := &membershipHookStore{}
	b := setupWith(t, coretest.Options{Postgres: true, WrapStore: func(s store.Store) store.Store { hs.Store = s; return hs }})
	tm := b.twoOwnerTeam(t)
	team := fmt.Sprintf("/v1/groups/%d", tm.id)
	hs.group, hs.user = tm.id, tm.o.ID
	hs.hook = func() {
		if res := b.api.do(t, req{method: "DELETE", path: tm.members + "o", token: tm.pTok}); res.status != http.StatusNoContent {
			t.Errorf("p removing o: %d %s", res.status, res.body)
		}
	}
	// (The removal writes its own event, so this is no b.refused.)
	res := b.api.do(t, req{method: "DELETE", path: team, token: tm.oTok})
	if p := res.problem(t); res.status != http.StatusForbidden || p.Code != "forbidden" {
		t.Errorf("o deleting the team once removed from it: %d %s", res.status, res.body)
	}
	if !hs.fired.Load() {
		t.Fatal("the removal never ran")
	}
	var got groupBody
	b.call(t, req{method: "GET", path: team, token: tm.pTok}, http.StatusOK, &got)
}

// TestMergeHandsNoTeamPastTheLimit replays, past TestTeamHandedToOwnerAtLimit,
// a merge doing what a handover may not: X, at 1,000 teams, makes Y a
// co-owner of one of them; Y merges it into a team of Y's. The merge made
// X an owner of Y's team, which a handover refused (409), and X's merged
// team counted on as a deleted one X made: 1,001. Repeated, each team X
// made before the limit went one past it (round 43). A merge asks each
// owner it brings into its target what a handover would.
func TestMergeHandsNoTeamPastTheLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	x, xTok := b.mustPrincipal(t, "xavier", false)
	_, yTok := b.mustPrincipal(t, "yvonne", false)
	b.ownTeams(t, x.ID, "owned-", 990, time.Now())
	team := func(token, handle string) int64 {
		var g groupBody
		b.call(t, req{method: "POST", path: "/v1/groups", token: token, body: map[string]any{"kind": "team", "handle": handle}}, http.StatusCreated, &g)
		return g.ID
	}
	var merges [][2]int64
	for i := range 10 {
		src := team(xTok, fmt.Sprint("src", i))
		b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/yvonne", src), token: xTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
		merges = append(merges, [2]int64{src, team(yTok, fmt.Sprint("dst", i))})
	}
	// X is at the limit: a handover of Y's team is refused.
	b.refused(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/xavier", merges[0][1]), token: yTok, body: map[string]any{"level": "owner"}}, http.StatusConflict, "limit_reached")
	for _, m := range merges {
		b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", m[0]), token: yTok, body: map[string]any{"into": m[1]}}, http.StatusConflict, "limit_reached")
	}
	owned, err := b.env.Store.OwnedTeamCount(context.Background(), x.ID)
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := b.env.Store.DeletedTeamsMadeBy(context.Background(), x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if owned != 1000 || deleted != 0 {
		t.Errorf("X owns %d live teams and made %d deleted ones; want 1,000 and none", owned, deleted)
	}
}

// TestTeamHoldsNoMoreServiceAccountsHoweverTheyCome replays an
// administrator filling a team past its 100 service accounts, which a
// 101st made there is refused: adding another team's account as a member,
// setting its groups, or merging its team in each went through, 101
// (round 44), and so did restoring a deleted one after the team was
// filled again (round 46). Each is 409 limit_reached; so is naming it in
// a group's members where a face sets them (the core's setMembers).
func TestTeamHoldsNoMoreServiceAccountsHoweverTheyCome(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var full, other groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "full"}}, http.StatusCreated, &full)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "other"}}, http.StatusCreated, &other)
	as := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: b.admin})
	for i := range 100 {
		if _, err := b.env.Core.Groups.CreateServiceAccount(as, usher.GroupRef{ID: full.ID}, fmt.Sprint("bot", i), ""); err != nil {
			t.Fatalf("account %d: %v", i+1, err)
		}
	}
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", full.ID), token: b.adminTok,
		body: map[string]any{"name": "one-more"}}, http.StatusConflict, "limit_reached")
	extra, err := b.env.Core.Groups.CreateServiceAccount(as, usher.GroupRef{ID: other.ID}, "extra", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, rq := range []req{
		{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%d", full.ID, extra.ID), token: b.adminTok, body: map[string]any{"level": "write"}},
		{method: "PUT", path: fmt.Sprintf("/v1/users/%d/groups", extra.ID), token: b.adminTok, body: map[string]any{"kind": "team", "add_to_groups": []string{"full"}}},
		{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", other.ID), token: b.adminTok, body: map[string]any{"into": full.ID}},
	} {
		b.refused(t, rq, http.StatusConflict, "limit_reached")
	}
	// A deleted one keeps its membership: restored after the team was
	// filled again, it came back as the 101st (round 46).
	page, err := b.env.Core.Groups.ServiceAccounts(as, usher.GroupRef{ID: full.ID}, usher.PageRequest{Limit: 500})
	if err != nil || len(page.Items) != 100 {
		t.Fatalf("the team's service accounts: %d, %v; want 100", len(page.Items), err)
	}
	first := page.Items[0]
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/service-accounts/%d", full.ID, first.ID), token: b.adminTok}, http.StatusNoContent, nil)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", full.ID), token: b.adminTok,
		body: map[string]any{"username": "refill"}}, http.StatusCreated, nil)
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/undelete", first.ID), token: b.adminTok}, http.StatusConflict, "limit_reached")
	page, err = b.env.Core.Groups.ServiceAccounts(as, usher.GroupRef{ID: full.ID}, usher.PageRequest{Limit: 500})
	if err != nil || len(page.Items) != 100 {
		t.Errorf("the team's service accounts: %d, %v; want 100", len(page.Items), err)
	}
	// Restored while the team was deleted, each counted in no live team,
	// and the team came back with all 101 (round 48).
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", full.ID), token: b.adminTok}, http.StatusOK, nil)
	deleted, err := b.env.Core.Users.List(as, usher.UserFilter{Kinds: []usher.UserKind{usher.KindServiceAccount}, Deleted: usher.Only,
		Page: usher.PageRequest{Limit: 500}})
	if err != nil {
		t.Fatal(err)
	}
	restored := 0
	for _, u := range deleted.Items {
		if res := b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/undelete", u.ID), token: b.adminTok}); res.status == http.StatusOK {
			restored++
		}
	}
	if restored <= 100 {
		t.Fatalf("service accounts restored while their team was deleted: %d, want 101", restored)
	}
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/undelete", full.ID), token: b.adminTok}, http.StatusConflict, "limit_reached")
	if g, err := b.env.Store.GroupGet(context.Background(), full.ID, "", ""); err != nil || !g.Deleted() {
		t.Errorf("the team after its refused restore: %+v, %v; want it deleted", g, err)
	}
}

// TestAdministratorMovesServiceAccountBySet: an administrator's set of a
// service account's teams naming another team than its own was refused as
// leaving it in none (409 "stays in its team"), the removal decided before
// the addition (round 53); the account moves.
func TestAdministratorMovesServiceAccountBySet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustTeamAccount(t, b.userTok, "ops-a", "bot-a")
	var opsB groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "ops-b"}}, http.StatusCreated, &opsB)
	var got struct {
		Items []struct {
			GroupID int64 `json:"group_id"`
		} `json:"items"`
	}
	b.call(t, req{method: "PUT", path: "/v1/users/bot-a/groups", token: b.adminTok, body: map[string]any{"kind": "team", "set_groups": []string{"ops-b"}}},
		http.StatusOK, &got)
	if len(got.Items) != 1 || got.Items[0].GroupID != opsB.ID {
		t.Errorf("bot-a's teams after the set: %+v; want ops-b alone", got.Items)
	}
	// A set that names no team still leaves it in none (409).
	b.refused(t, req{method: "PUT", path: "/v1/users/bot-a/groups", token: b.adminTok, body: map[string]any{"kind": "team", "set_groups": []string{}}},
		http.StatusConflict, "conflict")
}

// TestPurgedServiceAccountTakesItsFiles (round 63 of review): a team's
// owner, a plain user, stored files past any quota through service
// accounts: make one, fill its quota with its token, delete it, and let
// housekeeping purge it after --keep-ended. The purge kept its files with
// no owner, counted against no account, and the owner made the next
// account with a fresh quota: a quota's worth more each round, without
// end. The purge now deletes them.
func TestPurgedServiceAccountTakesItsFiles(t *testing.T) {
	t.Parallel()
	clock := &lockClock{t: time.Now()}
	const maxUpload = 1000 // per-account quota: 100 × 1000 bytes
	b := setupWith(t, coretest.Options{Now: clock.Now, Policy: core.Policy{KeepEnded: time.Hour, MaxAttachmentBytes: maxUpload}})
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "bots"}}, http.StatusCreated, &team)
	path := fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID)

	const rounds = 2
	for round := 0; round < rounds; round++ {
		name := fmt.Sprintf("bot-%d", round)
		var sa userBody
		b.call(t, req{method: "POST", path: path, token: b.userTok, body: map[string]any{"username": name}}, http.StatusCreated, &sa)
		var tok struct{ Token string }
		b.call(t, req{method: "POST", path: path + "/" + name + "/token", token: b.userTok}, http.StatusCreated, &tok)
		stored := 0
		for i := 0; ; i++ {
			data := bytes.Repeat([]byte(fmt.Sprintf("round %d file %d ", round, i)), 100)[:maxUpload]
			body, ctype := multipartFile(t, "file", "f.txt", data, nil)
			res := b.api.do(t, req{method: "POST", path: "/v1/attachments", token: tok.Token, body: body,
				header: map[string]string{"Content-Type": ctype}, unchecked: true})
			if res.status == http.StatusConflict {
				break
			}
			if res.status != http.StatusCreated {
				t.Fatalf("upload: %d %s", res.status, res.body)
			}
			stored++
			if i > 2000 {
				t.Fatal("no quota at all")
			}
		}
		b.call(t, req{method: "DELETE", path: path + "/" + name, token: b.userTok}, http.StatusNoContent, nil)
		clock.Add(61 * time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); b.env.Core.Outbox.Run(ctx, 10*time.Millisecond) }()
		purged := false
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, err := b.env.Store.UserGet(context.Background(), usher.UserKey{ID: sa.ID}); errors.Is(err, usher.ErrNotFound) {
				purged = true
				break
			}
		}
		cancel()
		<-done
		if !purged {
			t.Fatalf("round %d: %s was not purged", round, name)
		}
		t.Logf("round %d: %s stored %d files of %d bytes, then was deleted and purged", round, name, stored, maxUpload)
	}
	// Every account's files went with it: none is left, owned by no one.
	if n := b.env.Rows(t, "attachments"); n != 0 {
		t.Errorf("after %d rounds, %d files (%d bytes) uploaded by one plain user's service accounts are kept, owned by no one and counted against no quota (one account's quota: 100 files of %d bytes)",
			rounds, n, n*maxUpload, maxUpload)
	}
}
