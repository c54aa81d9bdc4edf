package native_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"usher"
	"usher/core/coretest"
)

type groupBody struct {
	ID             int64   `json:"id"`
	Kind           string  `json:"kind"`
	Handle         string  `json:"handle"`
	Name           string  `json:"name"`
	Description    string  `json:"description"`
	OrganisationID *int64  `json:"organisation_id"`
	Members        int     `json:"members"`
	Level          string  `json:"level"`
	ArchivedAt     *string `json:"archived_at"`
	DeletedAt      *string `json:"deleted_at"`
	Version        int64   `json:"version"`
}

type membershipList struct {
	Items []struct {
		GroupID int64      `json:"group_id"`
		UserID  int64      `json:"user_id"`
		Level   string     `json:"level"`
		User    *userBody  `json:"user"`
		Group   *groupBody `json:"group"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// call makes a request that must answer want, and decodes its body into out
// when out is not nil.
func (b *bundle) call(t *testing.T, rq req, want int, out any) *response {
	t.Helper()
	res := b.api.do(t, rq)
	if res.status != want {
		t.Fatalf("%s %s: %d %s, want %d", rq.method, rq.path, res.status, res.body, want)
	}
	if out != nil {
		res.decode(t, out)
	}
	return res
}

func TestTeamsThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var g groupBody
	res := b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok,
		body: map[string]any{"kind": "team", "handle": "platform", "name": "Platform"}}, 201, &g)
	if g.Kind != "team" || g.Level != "owner" || g.Members != 1 || res.header.Get("Location") != fmt.Sprintf("/v1/groups/%d", g.ID) {
		t.Fatalf("created %s, Location %q", res.body, res.header.Get("Location"))
	}
	path := fmt.Sprintf("/v1/groups/%d", g.ID)
	// A stale version is refused; the current one goes through.
	b.call(t, req{method: "PATCH", path: path, token: b.userTok, body: map[string]any{"name": "x"},
		header: map[string]string{"If-Match": `"7"`}}, 412, nil)
	res = b.call(t, req{method: "PATCH", path: path, token: b.userTok, body: map[string]any{"description": "runs things"},
		header: map[string]string{"If-Match": `"1"`}}, 200, &g)
	if g.Description != "runs things" || g.Version != 2 || res.header.Get("ETag") != fmt.Sprintf(`"2-%d"`, g.ID) {
		t.Fatalf("patched %s", res.body)
	}
	// Members: the owner adds alice as a reader, then makes her a writer.
	alice := b.mustCreate(t, map[string]any{"username": "alice", "email": "alice@example.com"})
	b.call(t, req{method: "PUT", path: fmt.Sprintf("%s/members/%d", path, alice.ID), token: b.userTok, body: map[string]any{}}, 200, nil)
	b.call(t, req{method: "PUT", path: path + "/members/alice", token: b.userTok, body: map[string]any{"level": "write"}}, 200, nil)
	var members membershipList
	b.call(t, req{method: "GET", path: path + "/members?limit=1", token: b.userTok}, 200, &members)
	if len(members.Items) != 1 || members.NextCursor == nil || members.Items[0].User.Username != "plain" {
		t.Fatalf("first page of members: %+v", members)
	}
	b.call(t, req{method: "GET", path: path + "/members?limit=1&cursor=" + *members.NextCursor, token: b.userTok}, 200, &members)
	if len(members.Items) != 1 || members.Items[0].Level != "write" || members.Items[0].User.Email != "" {
		t.Fatalf("second page of members (no e-mail of others): %+v", members)
	}
	// The last owner cannot leave.
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("%s/members/%d", path, b.user.ID), token: b.userTok}, 409, nil)
	// Archive, move into an organisation and out, delete, undelete.
	b.call(t, req{method: "POST", path: path + "/archive", token: b.userTok}, 200, &g)
	if g.ArchivedAt == nil {
		t.Fatal("not archived")
	}
	b.call(t, req{method: "POST", path: path + "/unarchive", token: b.userTok}, 200, &g)
	var org struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/organisations", token: b.adminTok, body: map[string]any{"handle": "acme", "name": "ACME"}}, 201, &org)
	b.call(t, req{method: "POST", path: path + "/move", token: b.userTok, body: map[string]any{"organisation_id": org.ID}}, 200, &g)
	if g.OrganisationID == nil || *g.OrganisationID != org.ID {
		t.Fatalf("moved: %+v", g)
	}
	// Taking it out of the organisation needs organisation.update: the
	// team's owner may not, an administrator may.
	b.call(t, req{method: "POST", path: path + "/move", token: b.userTok, body: `{"organisation_id":null}`}, 403, nil)
	b.call(t, req{method: "POST", path: path + "/move", token: b.adminTok, body: `{"organisation_id":null}`}, 200, &g)
	if g.OrganisationID != nil {
		t.Fatalf("moved out: %+v", g)
	}
	b.call(t, req{method: "DELETE", path: path, token: b.userTok}, 200, &g)
	b.call(t, req{method: "GET", path: path, token: b.userTok}, 404, nil)
	b.call(t, req{method: "POST", path: path + "/undelete", token: b.adminTok}, 200, &g)
	if g.DeletedAt != nil {
		t.Fatal("still deleted")
	}
	// Alice sees the team among her groups; the list of groups shows it.
	var mine membershipList
	b.call(t, req{method: "GET", path: "/v1/users/alice/groups?kind=team", token: b.adminTok}, 200, &mine)
	if len(mine.Items) != 1 || mine.Items[0].Group.Handle != "platform" {
		t.Fatalf("alice's teams: %+v", mine)
	}
	var list struct{ Items []groupBody }
	b.call(t, req{method: "GET", path: "/v1/groups?kind=team&q=plat", token: b.userTok}, 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != g.ID {
		t.Fatalf("list: %+v", list)
	}
}

// TestBulkGroupAssignment follows Lenses HQ's users API: set_groups stands alone, and a
// group named to add and to remove ends up removed.
func TestBulkGroupAssignment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, h := range []string{"dev", "ops", "qa"} {
		b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "group", "handle": h}}, 201, nil)
	}
	handles := func(l membershipList) []string {
		var out []string
		for _, m := range l.Items {
			out = append(out, m.Group.Handle)
		}
		slices.Sort(out)
		return out
	}
	var got membershipList
	b.call(t, req{method: "PUT", path: "/v1/users/plain/groups", token: b.adminTok,
		body: map[string]any{"add_to_groups": []string{"dev", "ops"}, "remove_from_groups": []string{"ops"}}}, 200, &got)
	if fmt.Sprint(handles(got)) != "[dev]" {
		t.Fatalf("add and remove: %v", handles(got))
	}
	b.call(t, req{method: "PUT", path: "/v1/users/plain/groups", token: b.adminTok,
		body: map[string]any{"set_groups": []string{"ops", "qa"}}}, 200, &got)
	if fmt.Sprint(handles(got)) != "[ops qa]" {
		t.Fatalf("set: %v", handles(got))
	}
	b.call(t, req{method: "PUT", path: "/v1/users/plain/groups", token: b.adminTok,
		body: map[string]any{"set_groups": []string{}}}, 200, &got)
	if len(got.Items) != 0 {
		t.Fatalf("set to none: %v", handles(got))
	}
}

// TestAccessBadInput sends malformed and invalid requests to the access
// endpoints: each gets its 4xx naming the problem, and nothing is written.
func TestAccessBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var team, role, other groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "crew"}}, 201, &team)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "role", "handle": "ops"}}, 201, &role)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "role", "handle": "gone"}}, 201, &other)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", other.ID), token: b.adminTok, body: map[string]any{"into": role.ID}}, 200, nil)
	b.call(t, req{method: "POST", path: "/v1/plans", token: b.adminTok, body: map[string]any{"name": "gold"}}, 201, nil)
	key := (&cell{t: t}).sshKey()
	b.call(t, req{method: "POST", path: "/v1/users/plain/keys", token: b.adminTok, body: map[string]any{"title": "laptop", "key": key}}, 201, nil)
	teamPath, rolePath := fmt.Sprintf("/v1/groups/%d", team.ID), fmt.Sprintf("/v1/groups/%d", role.ID)
	rule := func(resource, op, access string) map[string]any {
		return map[string]any{"rules": []map[string]string{{"resource": resource, "operation": op, "access": access}}}
	}
	tests := []struct {
		name   string
		rq     req
		status int
		code   string
		field  string
	}{
		{"unknown group", req{method: "GET", path: "/v1/groups/999999"}, 404, "group_not_found", ""},
		{"group id not positive", req{method: "GET", path: "/v1/groups/0"}, 400, "invalid_id", "group"},
		{"unknown user as member", req{method: "PUT", path: teamPath + "/members/nobody", body: map[string]any{}}, 404, "user_not_found", ""},
		{"membership level that does not exist", req{method: "PUT", path: teamPath + "/members/plain", body: map[string]any{"level": "admin"}}, 422, "validation_failed", "level"},
		{"member level on a team", req{method: "PUT", path: teamPath + "/members/plain", body: map[string]any{"level": "member"}}, 422, "validation_failed", "level"},
		{"remove a non-member", req{method: "DELETE", path: teamPath + "/members/plain"}, 404, "member_not_found", ""},
		{"unknown kind", req{method: "POST", path: "/v1/groups", body: map[string]any{"kind": "club", "handle": "x"}}, 422, "validation_failed", "kind"},
		{"handle of digits", req{method: "POST", path: "/v1/groups", body: map[string]any{"kind": "group", "handle": "123"}}, 422, "validation_failed", "handle"},
		{"taken handle", req{method: "POST", path: "/v1/groups", body: map[string]any{"kind": "team", "handle": "CREW"}}, 409, "handle_taken", "handle"},
		{"logo not a URL", req{method: "PATCH", path: teamPath, body: map[string]any{"logo": "javascript:alert(1)"}}, 422, "validation_failed", "logo"},
		{"group in an unknown organisation", req{method: "POST", path: "/v1/groups", body: map[string]any{"kind": "group", "handle": "y", "organisation_id": 999}}, 404, "organisation_not_found", ""},
		{"move without organisation_id", req{method: "POST", path: teamPath + "/move", body: map[string]any{}}, 400, "required", "organisation_id"},
		{"move to an unknown organisation", req{method: "POST", path: teamPath + "/move", body: map[string]any{"organisation_id": 999}}, 404, "organisation_not_found", ""},
		{"merge into itself", req{method: "POST", path: rolePath + "/merge", body: map[string]any{"into": role.ID}}, 422, "validation_failed", "target"},
		{"merge a team into a role", req{method: "POST", path: teamPath + "/merge", body: map[string]any{"into": role.ID}}, 422, "validation_failed", "target"},
		{"merge into a merged-away role", req{method: "POST", path: rolePath + "/merge", body: map[string]any{"into": other.ID}}, 404, "group_not_found", ""},
		{"merge without a target", req{method: "POST", path: rolePath + "/merge", body: map[string]any{}}, 400, "required", "into"},
		{"rule with an unknown operation", req{method: "PUT", path: rolePath + "/rules", body: rule("user", "fly", "allow")}, 422, "validation_failed", ""},
		{"rule with an unknown access", req{method: "PUT", path: rolePath + "/rules", body: rule("user", "read", "maybe")}, 422, "validation_failed", ""},
		{"rules on a team", req{method: "PUT", path: teamPath + "/rules", body: rule("user", "read", "allow")}, 404, "role_not_found", ""},
		{"rules missing", req{method: "PUT", path: rolePath + "/rules", body: map[string]any{}}, 400, "required", "rules"},
		{"effective for an unknown resource", req{method: "GET", path: "/v1/permissions/effective?resource=spaceship"}, 400, "invalid_parameter", "resource"},
		{"set_groups with add_to_groups", req{method: "PUT", path: "/v1/users/plain/groups", body: map[string]any{"set_groups": []string{}, "add_to_groups": []string{"crew"}}}, 400, "invalid_parameter", "set_groups"},
		{"add to an unknown group", req{method: "PUT", path: "/v1/users/plain/groups", body: map[string]any{"add_to_groups": []string{"nope"}}}, 404, "group_not_found", ""},
		{"user groups of an unknown kind", req{method: "GET", path: "/v1/users/plain/groups?kind=club"}, 400, "invalid_value", "kind"},
		{"group list limit zero", req{method: "GET", path: "/v1/groups?limit=0"}, 400, "out_of_range", "limit"},
		{"group list bad cursor", req{method: "GET", path: "/v1/groups?cursor=!!"}, 400, "invalid_cursor", "cursor"},
		{"service account of an unknown team", req{method: "POST", path: "/v1/groups/999999/service-accounts", body: map[string]any{"username": "bot"}}, 404, "group_not_found", ""},
		{"service account of a role", req{method: "POST", path: rolePath + "/service-accounts", body: map[string]any{"username": "bot"}}, 404, "team_not_found", ""},
		{"token of a user who is no service account", req{method: "POST", path: teamPath + "/service-accounts/plain/token"}, 404, "service_account_not_found", ""},
		{"organisation handle taken", req{method: "POST", path: "/v1/organisations", body: map[string]any{"handle": "x1", "name": "X"}}, 201, "", ""},
		{"organisation handle of digits", req{method: "POST", path: "/v1/organisations", body: map[string]any{"handle": "42", "name": "X"}}, 422, "validation_failed", "handle"},
		{"unknown organisation", req{method: "GET", path: "/v1/organisations/nope"}, 404, "organisation_not_found", ""},
		{"duplicate plan", req{method: "POST", path: "/v1/plans", body: map[string]any{"name": "Gold"}}, 409, "", ""},
		{"plan with a negative project limit", req{method: "POST", path: "/v1/plans", body: map[string]any{"name": "neg", "project_limit": -1}}, 422, "validation_failed", "project_limit"},
		{"rename a plan", req{method: "PUT", path: "/v1/plans/gold", body: map[string]any{"name": "silver"}}, 400, "rename", "name"},
		{"unknown plan", req{method: "PUT", path: "/v1/plans/nope", body: map[string]any{}}, 404, "", ""},
		{"user on an unknown plan", req{method: "PATCH", path: "/v1/users/plain", body: map[string]any{"plan": "platinum"}}, 422, "validation_failed", "plan"},
		{"malformed SSH key", req{method: "POST", path: "/v1/users/plain/keys", body: map[string]any{"title": "x", "key": "ssh-ed25519 AAAAnot-base64"}}, 422, "validation_failed", "key"},
		{"SSH key with options", req{method: "POST", path: "/v1/users/plain/keys", body: map[string]any{"title": "x", "key": `command="sh" ` + key}}, 422, "validation_failed", "key"},
		{"duplicate SSH key", req{method: "POST", path: "/v1/users/root/keys", body: map[string]any{"title": "x", "key": key}}, 409, "", "fingerprint"},
		{"SSH key without a title", req{method: "POST", path: "/v1/users/plain/keys", body: map[string]any{"key": (&cell{t: t}).sshKey()}}, 422, "validation_failed", "title"},
		{"unknown SSH key", req{method: "GET", path: "/v1/users/plain/keys/999"}, 404, "ssh_key_not_found", ""},
		{"SSH key id not a number", req{method: "DELETE", path: "/v1/users/plain/keys/abc"}, 400, "invalid_id", "id"},
		{"invalid e-mail address", req{method: "POST", path: "/v1/users/plain/emails", body: map[string]any{"email": "nope"}}, 422, "validation_failed", "email"},
		{"e-mail address taken by a primary", req{method: "POST", path: "/v1/users/plain/emails", body: map[string]any{"email": "ROOT@example.com"}}, 409, "email_taken", ""},
		{"unknown confirmation code", req{method: "POST", path: "/v1/auth/confirm-email", body: map[string]any{"code": "nope"}}, 404, "", ""},
		{"settings not an object", req{method: "PATCH", path: "/v1/users/plain/settings", body: `["theme"]`}, 400, "invalid_json", ""},
		{"settings not JSON", req{method: "PATCH", path: "/v1/users/plain/settings", body: `{"theme":`}, 400, "invalid_json", ""},
		{"settings as text", req{method: "PATCH", path: "/v1/users/plain/settings", body: `{}`, header: map[string]string{"Content-Type": "text/plain"}}, 415, "unsupported_media_type", ""},
		{"setting key with a space", req{method: "PATCH", path: "/v1/users/plain/settings", body: map[string]any{"a b": 1}}, 422, "validation_failed", "a b"},
		{"avatar that is not an image", req{method: "PUT", path: "/v1/users/plain/avatar", body: []byte("GIF89a but not really"), header: map[string]string{"Content-Type": "image/gif"}}, 422, "validation_failed", "avatar"},
		{"empty avatar", req{method: "PUT", path: "/v1/users/plain/avatar", body: []byte{}, header: map[string]string{"Content-Type": "image/png"}}, 422, "validation_failed", "avatar"},
		{"avatar over 1 MiB", req{method: "PUT", path: "/v1/users/plain/avatar", body: make([]byte, 1<<20+1), header: map[string]string{"Content-Type": "image/png"}}, 413, "", ""},
		{"no avatar to delete", req{method: "DELETE", path: "/v1/users/plain/avatar"}, 404, "avatar_not_found", ""},
		{"avatar of an unknown user", req{method: "GET", path: "/v1/users/nobody/avatar"}, 404, "avatar_not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rq.token = b.adminTok
			before, events := b.env.Counts(t)
			res := b.api.do(t, tt.rq)
			if res.status != tt.status {
				t.Fatalf("%d %s; want %d", res.status, res.body, tt.status)
			}
			if tt.status < 300 {
				return
			}
			p := res.problem(t)
			if (tt.code != "" && p.Code != tt.code) || p.Status != tt.status {
				t.Fatalf("%s; want code %s", res.body, tt.code)
			}
			named := tt.field == ""
			for _, f := range p.Errors {
				named = named || f.Field == tt.field
			}
			if !named {
				t.Fatalf("problem names %v, want field %q: %s", p.Errors, tt.field, res.body)
			}
			if after, eventsAfter := b.env.Counts(t); after != before || eventsAfter != events {
				t.Fatalf("a refused request wrote: users %d→%d, events %d→%d", before, after, events, eventsAfter)
			}
		})
	}
}

// TestTeamsNamingEachOtherAtOnce replays on PostgreSQL two people making
// teams at the same moment, each naming the other as a member: each
// creation held its maker's row (the count of their teams) and then wrote
// a membership of the other, which takes a share lock on the other's row,
// so each waited for the other: "deadlock detected", a 500. The maker's
// and the members' rows are held first, in id order, now.
func TestTeamsNamingEachOtherAtOnce(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		b := setupWith(t, coretest.Options{Postgres: postgres})
		other := b.env.MustCreateUser(t, usher.UserCreate{Username: "quinn", Email: "quinn@example.com", Name: "Quinn"})
		otherTok := b.env.MustToken(t, other.ID, usher.TokenPersonal)
		for round := range 3 {
			atOnce(t, 12, http.StatusCreated, func(i int) *response {
				tok, to := b.userTok, other.ID
				if i%2 == 1 {
					tok, to = otherTok, b.user.ID
				}
				return b.api.do(t, req{method: "POST", path: "/v1/groups", token: tok,
					body: map[string]any{"kind": "team", "handle": fmt.Sprintf("across-%d-%d", round, i), "members": []int64{to}}})
			})
		}
	})
}

// TestTeamNamingServiceAccountWhileItsOwnerMints: a first fix of
// TestTeamsNamingEachOtherAtOnce held the rows of a team's maker and
// members in id order, a service account's among them, where minting the
// account's token holds its owner's row first, then the account's: an
// owner who came after the account, minting its token while making a team
// that named it, waited on itself ("deadlock detected", a 500). Service
// accounts' rows are taken after their owners' everywhere.
func TestTeamNamingServiceAccountWhileItsOwnerMints(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		b := setupWith(t, coretest.Options{Postgres: postgres})
		var team groupBody
		b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "bots-home"}}, http.StatusCreated, &team)
		var bot struct {
			ID int64 `json:"id"`
		}
		b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID), token: b.userTok,
			body: map[string]any{"username": "the-bot"}}, http.StatusCreated, &bot)
		late, lateTok := b.mustPrincipal(t, "late-owner", false)
		if late.ID < bot.ID {
			t.Fatalf("the owner %d came before the account %d", late.ID, bot.ID)
		}
		b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/late-owner", team.ID), token: b.adminTok,
			body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
		for round := range 4 {
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					var res *response
					if i%2 == 0 {
						res = b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts/the-bot/token", team.ID), token: lateTok})
					} else {
						// Refused (only an administrator places a service
						// account), after its locks.
						res = b.api.do(t, req{method: "POST", path: "/v1/groups", token: lateTok,
							body: map[string]any{"kind": "team", "handle": fmt.Sprintf("named-%d-%d", round, i), "members": []int64{bot.ID}}})
					}
					if res.status >= 500 {
						t.Errorf("round %d, request %d: %d %.300s", round, i, res.status, res.body)
					}
				})
			}
			wg.Wait()
		}
	})
}
