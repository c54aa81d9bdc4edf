package native_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"usher"
	"usher/core"
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
	if g.Description != "runs things" || g.Version != 2 || res.header.Get("ETag") != `"2"` {
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
	b.call(t, req{method: "POST", path: path + "/move", token: b.userTok, body: `{"organisation_id":null}`}, 200, &g)
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

// TestBulkGroupAssignment follows seed 002: set_groups stands alone, and a
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

// TestRolesAndEffectivePermissions: rules of roles decide, deny over allow;
// merging two roles unites their members and rules in one audited change.
func TestRolesAndEffectivePermissions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mkRole := func(handle string, rules ...map[string]string) int64 {
		var g groupBody
		b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "role", "handle": handle}}, 201, &g)
		b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/rules", g.ID), token: b.adminTok, body: map[string]any{"rules": rules}}, 200, nil)
		return g.ID
	}
	auditors := mkRole("auditors", map[string]string{"resource": "audit", "operation": "read", "access": "allow"})
	support := mkRole("support",
		map[string]string{"resource": "audit", "operation": "read", "access": "deny"},
		map[string]string{"resource": "user", "operation": "state", "access": "allow"})
	alice := b.mustCreate(t, map[string]any{"username": "alice"})
	aliceTok := b.env.MustToken(t, alice.ID, usher.TokenPersonal)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/plain", auditors), token: b.adminTok, body: map[string]any{}}, 200, nil)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/alice", support), token: b.adminTok, body: map[string]any{}}, 200, nil)
	effective := func(tok, resource string) map[string]bool {
		var out struct {
			Items []struct {
				Resource, Operation string
				Allow               bool
			}
		}
		b.call(t, req{method: "GET", path: "/v1/permissions/effective?resource=" + resource, token: tok}, 200, &out)
		m := map[string]bool{}
		for _, p := range out.Items {
			m[p.Resource+"."+p.Operation] = p.Allow
		}
		return m
	}
	if e := effective(b.userTok, "audit"); !e["audit.read"] {
		t.Fatalf("an auditor's permissions: %v", e)
	}
	b.call(t, req{method: "GET", path: "/v1/audit", token: b.userTok}, 200, nil)
	if e := effective(aliceTok, "user"); !e["user.state"] || e["user.purge"] {
		t.Fatalf("support's permissions on users: %v", e)
	}
	// Merge support into auditors: plain and alice are both members now, and
	// support's deny of audit.read beats auditors' allow.
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", support), token: b.adminTok, body: map[string]any{"into": auditors}}, 200, nil)
	var members membershipList
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d/members", auditors), token: b.adminTok}, 200, &members)
	if len(members.Items) != 2 {
		t.Fatalf("members after the merge: %+v", members)
	}
	var rules struct{ Items []map[string]string }
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d/rules", auditors), token: b.adminTok}, 200, &rules)
	if fmt.Sprint(rules.Items) != "[map[access:deny operation:read resource:audit] map[access:allow operation:state resource:user]]" {
		t.Fatalf("rules after the merge: %v", rules.Items)
	}
	b.call(t, req{method: "GET", path: "/v1/audit", token: b.userTok}, 403, nil)
	if e := effective(b.userTok, ""); e["audit.read"] || !e["user.state"] {
		t.Fatalf("plain's permissions after the merge: %v", e)
	}
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d", support), token: b.adminTok}, 200, nil)
	var events struct {
		Items []struct{ Action, ResourceID string }
	}
	b.call(t, req{method: "GET", path: "/v1/audit?action=group.merge", token: b.adminTok}, 200, &events)
	if len(events.Items) != 1 || events.Items[0].Action != "group.merge" {
		t.Fatalf("merge audit: %+v", events)
	}
	// PATCH adds to the rules, DELETE clears them.
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/groups/%d/rules", auditors), token: b.adminTok,
		body: map[string]any{"rules": []map[string]string{{"resource": "plan", "operation": "manage", "access": "allow"}}}}, 200, &rules)
	if len(rules.Items) != 3 {
		t.Fatalf("patched rules: %v", rules.Items)
	}
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/rules", auditors), token: b.adminTok}, 204, nil)
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d/rules", auditors), token: b.adminTok}, 200, &rules)
	if len(rules.Items) != 0 {
		t.Fatalf("rules after DELETE: %v", rules.Items)
	}
	var ops struct{ Items []map[string]string }
	b.call(t, req{method: "GET", path: "/v1/permissions", token: b.userTok}, 200, &ops)
	if len(ops.Items) < 30 || ops.Items[0]["resource"] != "user" || ops.Items[0]["description"] == "" {
		t.Fatalf("operations: %v", ops.Items[:3])
	}
}

func TestServiceAccountsThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var g groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "build"}}, 201, &g)
	path := fmt.Sprintf("/v1/groups/%d/service-accounts", g.ID)
	var sa userBody
	res := b.call(t, req{method: "POST", path: path, token: b.userTok, body: map[string]any{"username": "build-bot", "name": "Build bot"}}, 201, &sa)
	if sa.Kind != "service_account" || res.header.Get("Location") != fmt.Sprintf("/v1/users/%d", sa.ID) {
		t.Fatalf("created %s", res.body)
	}
	var tok struct{ Token string }
	b.call(t, req{method: "POST", path: path + "/build-bot/token", token: b.userTok}, 201, &tok)
	var me userBody
	b.call(t, req{method: "GET", path: "/v1/me", token: tok.Token}, 200, &me)
	if me.ID != sa.ID {
		t.Fatalf("the token is %s's", me.Username)
	}
	// Regenerating by id ends the old token.
	var second struct{ Token string }
	b.call(t, req{method: "POST", path: fmt.Sprintf("%s/%d/token", path, sa.ID), token: b.userTok, body: map[string]any{"regenerate": true}}, 201, &second)
	b.call(t, req{method: "GET", path: "/v1/me", token: tok.Token}, 401, nil)
	var list userList
	b.call(t, req{method: "GET", path: path, token: b.userTok}, 200, &list)
	if len(list.Items) != 1 || list.Items[0].Username != "build-bot" {
		t.Fatalf("list: %+v", list)
	}
	// A service account has no password to log in with.
	b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "build-bot", "password": "anything long enough"}}, 401, nil)
	b.call(t, req{method: "DELETE", path: path + "/build-bot", token: b.userTok}, 204, nil)
	b.call(t, req{method: "GET", path: "/v1/me", token: second.Token}, 401, nil)
	b.call(t, req{method: "DELETE", path: path + "/build-bot", token: b.userTok}, 404, nil)
}

func TestOrganisationsAndPlansThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var org struct {
		ID         int64
		Handle     string
		ArchivedAt *string `json:"archived_at"`
		DeletedAt  *string `json:"deleted_at"`
	}
	b.call(t, req{method: "POST", path: "/v1/organisations", token: b.adminTok, body: map[string]any{"handle": "acme", "name": "ACME"}}, 201, &org)
	b.call(t, req{method: "GET", path: "/v1/organisations/acme", token: b.userTok}, 200, &org)
	b.call(t, req{method: "PATCH", path: "/v1/organisations/acme", token: b.adminTok, body: map[string]any{"handle": "acme-corp"}}, 200, &org)
	if org.Handle != "acme-corp" {
		t.Fatalf("renamed: %+v", org)
	}
	b.call(t, req{method: "POST", path: "/v1/organisations/acme-corp/archive", token: b.adminTok}, 200, &org)
	if org.ArchivedAt == nil {
		t.Fatal("not archived")
	}
	// An organisation that holds a live group stays.
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "group", "handle": "g", "organisation_id": org.ID}}, 201, nil)
	b.call(t, req{method: "DELETE", path: "/v1/organisations/acme-corp", token: b.adminTok}, 409, nil)
	var orgs struct{ Items []struct{ ID int64 } }
	b.call(t, req{method: "GET", path: "/v1/organisations?archived=only", token: b.userTok}, 200, &orgs)
	if len(orgs.Items) != 1 {
		t.Fatalf("archived organisations: %+v", orgs)
	}

	// Plans: a default plan that forbids teams decides for plain.
	var plan struct {
		Name          string
		CanCreateTeam bool `json:"can_create_team"`
		Default       bool
	}
	res := b.call(t, req{method: "POST", path: "/v1/plans", token: b.adminTok, body: map[string]any{"name": "free plan", "default": true}}, 201, &plan)
	if res.header.Get("Location") != "/v1/plans/free%20plan" || !plan.Default {
		t.Fatalf("created %s at %q", res.body, res.header.Get("Location"))
	}
	b.call(t, req{method: "POST", path: "/v1/plans", token: b.adminTok, body: map[string]any{"name": "FREE PLAN"}}, 409, nil)
	b.call(t, req{method: "GET", path: "/v1/plans/nope", token: b.userTok}, 404, nil)
	res = b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "t1"}}, 403, nil)
	if p := res.problem(t); p.Code != "plan_forbids_teams" {
		t.Fatalf("refusal: %s", res.body)
	}
	b.call(t, req{method: "POST", path: "/v1/plans", token: b.adminTok, body: map[string]any{"name": "team", "can_create_team": true}}, 201, nil)
	var u struct{ Plan *string }
	b.call(t, req{method: "PATCH", path: "/v1/users/plain", token: b.adminTok, body: map[string]any{"plan": "team"}}, 200, &u)
	if u.Plan == nil || *u.Plan != "team" {
		t.Fatalf("plan not set: %+v", u)
	}
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "t1"}}, 201, nil)
	// Users do not change their own plan.
	b.call(t, req{method: "PATCH", path: "/v1/users/plain", token: b.userTok, body: map[string]any{"plan": "free plan"}}, 403, nil)
	var plans struct {
		DefaultPlan *string `json:"default_plan"`
		Items       []struct{ Name string }
	}
	b.call(t, req{method: "GET", path: "/v1/plans", token: b.userTok}, 200, &plans)
	if plans.DefaultPlan == nil || *plans.DefaultPlan != "free plan" || len(plans.Items) != 2 {
		t.Fatalf("plans: %+v", plans)
	}
	b.call(t, req{method: "PUT", path: "/v1/plans/team", token: b.adminTok, body: map[string]any{"can_create_team": true, "project_limit": 10}}, 200, nil)
	b.call(t, req{method: "DELETE", path: "/v1/plans/free%20plan", token: b.adminTok}, 204, nil)
	b.call(t, req{method: "DELETE", path: "/v1/plans/free%20plan", token: b.adminTok}, 404, nil)
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
		{"group id not a number", req{method: "GET", path: "/v1/groups/crew"}, 400, "invalid_id", "group"},
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

// TestProfileThroughHTTP covers SSH keys, secondary addresses with their
// confirmation by mail, settings and avatars.
func TestProfileThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setupMail(t, core.Policy{})
	// SSH keys: add, list, get, delete.
	key := (&cell{t: t}).sshKey() + " plain@laptop"
	var k struct {
		ID          int64
		Key         string
		Fingerprint string
	}
	res := b.call(t, req{method: "POST", path: "/v1/users/plain/keys", token: b.userTok, body: map[string]any{"title": "laptop", "key": "  " + key + "\n"}}, 201, &k)
	if k.Key != key || !strings.HasPrefix(k.Fingerprint, "SHA256:") || res.header.Get("Location") != fmt.Sprintf("/v1/users/plain/keys/%d", k.ID) {
		t.Fatalf("added %s at %q", res.body, res.header.Get("Location"))
	}
	var keys struct{ Items []struct{ ID int64 } }
	b.call(t, req{method: "GET", path: "/v1/users/plain/keys", token: b.userTok}, 200, &keys)
	if len(keys.Items) != 1 || keys.Items[0].ID != k.ID {
		t.Fatalf("keys: %+v", keys)
	}
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/plain/keys/%d", k.ID), token: b.userTok}, 204, nil)
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/users/plain/keys/%d", k.ID), token: b.userTok}, 404, nil)

	// A secondary address is confirmed with the code mailed to it — and that
	// code does not confirm the account.
	var e struct {
		ID          int64
		ConfirmedAt *string `json:"confirmed_at"`
	}
	b.call(t, req{method: "POST", path: "/v1/users/plain/emails", token: b.userTok, body: map[string]any{"email": "plain@work.example"}}, 201, &e)
	if e.ConfirmedAt != nil {
		t.Fatal("a user's own addition starts confirmed")
	}
	_, code := b.nextMail(t, 1, "plain@work.example")
	b.call(t, req{method: "POST", path: "/v1/auth/confirm", body: map[string]any{"code": code}}, 404, nil)
	b.call(t, req{method: "POST", path: "/v1/auth/confirm-email", body: map[string]any{"code": code}}, 200, &e)
	if e.ConfirmedAt == nil {
		t.Fatal("not confirmed")
	}
	b.call(t, req{method: "POST", path: "/v1/auth/confirm-email", body: map[string]any{"code": code}}, 404, nil)
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/users/plain/emails/%d", e.ID), token: b.userTok}, 200, nil)
	// Taken by plain, the address is no one else's, primary or secondary.
	b.call(t, req{method: "PATCH", path: "/v1/users/root", token: b.adminTok, body: map[string]any{"email": "PLAIN@work.example"}}, 409, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/plain/emails/%d", e.ID), token: b.userTok}, 204, nil)

	// Settings: PATCH merges, null removes.
	var settings map[string]any
	b.call(t, req{method: "PATCH", path: "/v1/users/plain/settings", token: b.userTok, body: map[string]any{"theme": "dark", "notify": map[string]bool{"mail": true}}}, 200, &settings)
	settings = nil
	b.call(t, req{method: "PATCH", path: "/v1/users/plain/settings", token: b.userTok, body: `{"theme":null,"lang":"de"}`}, 200, &settings)
	if fmt.Sprint(settings) != "map[lang:de notify:map[mail:true]]" {
		t.Fatalf("settings: %v", settings)
	}

	// Avatars: served to anyone with an ETag; a matching If-None-Match gets
	// 304; the user shows where it is.
	img := pngImage(t)
	var av struct{ URL, ETag string }
	b.call(t, req{method: "PUT", path: "/v1/users/plain/avatar", token: b.userTok, body: img, header: map[string]string{"Content-Type": "image/png"}}, 200, &av)
	res = b.call(t, req{method: "GET", path: "/v1/users/plain/avatar"}, 200, nil)
	if string(res.body) != string(img) || res.header.Get("Content-Type") != "image/png" || res.header.Get("ETag") != `"`+av.ETag+`"` ||
		res.header.Get("Cache-Control") == "" || res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("avatar: %d bytes, headers %v", len(res.body), res.header)
	}
	res = b.call(t, req{method: "GET", path: "/v1/users/plain/avatar", header: map[string]string{"If-None-Match": `W/"x", "` + av.ETag + `"`}}, 304, nil)
	if len(res.body) != 0 {
		t.Fatal("a 304 with a body")
	}
	var u struct {
		AvatarURL *string `json:"avatar_url"`
	}
	b.call(t, req{method: "GET", path: "/v1/users/plain", token: b.adminTok}, 200, &u)
	if u.AvatarURL == nil || *u.AvatarURL != av.URL || !strings.HasSuffix(av.URL, "?v="+av.ETag) {
		t.Fatalf("avatar_url %v, want %s", u.AvatarURL, av.URL)
	}
	b.call(t, req{method: "DELETE", path: "/v1/users/plain/avatar", token: b.userTok}, 204, nil)
	b.call(t, req{method: "GET", path: "/v1/users/plain/avatar"}, 404, nil)
}
