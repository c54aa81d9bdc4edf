package native_test

import (
	"fmt"
	"testing"

	"usher"
)

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

// TestApplicationGrantThroughHTTP replays the attack application.grant
// stops: a user who may change a role's rules, and is in that role, gives
// the role application:<id> update to change an application that is not
// theirs. Without application.grant on it the change of rules is 403 and
// the application stays out of reach; with it, the change passes.
func TestApplicationGrantThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var app struct {
		ID int64 `json:"id"`
	}
	b.call(t, req{method: "POST", path: "/v1/applications", token: b.adminTok, body: map[string]any{"name": "CRM", "unify": map[string]any{"listed": true}}}, 201, &app)
	appPath := fmt.Sprintf("/v1/applications/%d", app.ID)
	resource := fmt.Sprintf("application:%d", app.ID)
	mkRole := func(handle string, rules ...map[string]string) string {
		var g groupBody
		b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "role", "handle": handle}}, 201, &g)
		b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/rules", g.ID), token: b.adminTok, body: map[string]any{"rules": rules}}, 200, nil)
		b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/plain", g.ID), token: b.adminTok, body: map[string]any{}}, 200, nil)
		return fmt.Sprintf("/v1/groups/%d/rules", g.ID)
	}
	editors := mkRole("rule-editors", map[string]string{"resource": "group", "operation": "rules", "access": "allow"})
	grant := map[string]any{"rules": []map[string]string{{"resource": resource, "operation": "update", "access": "allow"}}}
	rename := req{method: "PATCH", path: appPath, token: b.userTok, body: map[string]any{"name": "mine"}}

	b.call(t, rename, 403, nil)
	res := b.call(t, req{method: "PATCH", path: editors, token: b.userTok, body: grant}, 403, nil)
	if p := res.problem(t); p.Code != usher.CodeForbidden || p.Status != 403 {
		t.Fatalf("granting without application.grant: %s", res.body)
	}
	b.call(t, rename, 403, nil)
	var rules struct{ Items []map[string]string }
	b.call(t, req{method: "GET", path: editors, token: b.adminTok}, 200, &rules)
	if len(rules.Items) != 1 {
		t.Fatalf("the refused change wrote rules: %v", rules.Items)
	}

	// With application.grant on the application, the same change passes.
	b.call(t, req{method: "PATCH", path: editors, token: b.adminTok, body: map[string]any{"rules": []map[string]string{
		{"resource": resource, "operation": "grant", "access": "allow"}}}}, 200, nil)
	b.call(t, req{method: "PATCH", path: editors, token: b.userTok, body: grant}, 200, nil)
	b.call(t, rename, 200, nil)
}
