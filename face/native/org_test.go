package native_test

import (
	"fmt"
	"testing"
)

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

// TestOrganisationWithAnArchivedGroupStays: an organisation that holds a
// live group is not deleted (409), and an archived group is live: its
// owner archived the team, the organisation was deleted, and the team,
// unarchived, sat in a deleted organisation, whose deny and look-ups no
// longer reached it.
func TestOrganisationWithAnArchivedGroupStays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var org struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/organisations", token: b.adminTok, body: map[string]any{"handle": "acme"}}, 201, &org)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "t1", "organisation_id": org.ID}}, 201, nil)
	b.refused(t, req{method: "DELETE", path: "/v1/organisations/acme", token: b.adminTok}, 409, "organisation_not_empty")
	b.call(t, req{method: "POST", path: "/v1/groups/t1/archive", token: b.userTok}, 200, nil)
	b.refused(t, req{method: "DELETE", path: "/v1/organisations/acme", token: b.adminTok}, 409, "organisation_not_empty")
	b.call(t, req{method: "DELETE", path: "/v1/groups/t1", token: b.userTok}, 200, nil)
	b.call(t, req{method: "DELETE", path: "/v1/organisations/acme", token: b.adminTok}, 200, nil)
}

// TestUndeleteIntoADeletedOrganisationRefused: a deleted team or account
// does not keep its organisation from being deleted, and its undelete
// brought it back live into the deleted organisation, out of its
// look-ups and rules. It is refused (409) until the organisation is
// restored.
func TestUndeleteIntoADeletedOrganisationRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var org, team, user struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/organisations", token: b.adminTok, body: map[string]any{"handle": "acme"}}, 201, &org)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "t1", "organisation_id": org.ID}}, 201, &team)
	b.call(t, req{method: "POST", path: "/v1/users", token: b.adminTok, body: map[string]any{"username": "orgy", "email": "orgy@example.com", "organisation_id": org.ID}}, 201, &user)
	b.call(t, req{method: "DELETE", path: "/v1/groups/t1", token: b.userTok}, 200, nil)
	b.call(t, req{method: "DELETE", path: "/v1/users/orgy", token: b.adminTok}, 200, nil)
	b.call(t, req{method: "DELETE", path: "/v1/organisations/acme", token: b.adminTok}, 200, nil)
	undelete := []string{fmt.Sprintf("/v1/groups/%d/undelete", team.ID), fmt.Sprintf("/v1/users/%d/undelete", user.ID)}
	for _, path := range undelete {
		b.refused(t, req{method: "POST", path: path, token: b.adminTok}, 409, "invalid_state")
	}
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/organisations/%d/undelete", org.ID), token: b.adminTok}, 200, nil)
	for _, path := range undelete {
		b.call(t, req{method: "POST", path: path, token: b.adminTok}, 200, nil)
	}
}
