package native_test

import (
	"fmt"
	"net/http"
	"testing"
)

// The tests in this file replay, over HTTP, how a team's service account
// kept a team's rights for whoever had lost them: an owner removed from
// the team, an owner deleted, a team deleted.

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
// its service account a token that never expires, and is blocked,
// suspended or deleted (another owner keeps the team); the token still
// worked. Then the team is deleted:
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
