package native_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"usher/core/coretest"
)

// TestGroupByHandle: a group is addressed by id, by kind:handle or by a
// bare handle, on the group and on its sub-resources; a handle names a
// group of its kind only, so a team and a role of one handle are two
// groups, and the bare handle they share is 409 naming both kind:handle
// forms; unknown kinds and handles are 404, and an id that is not positive
// is 400.
func TestGroupByHandle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var role, team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "role", "handle": "helpdesk"}}, 201, &role)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "helpdesk", "name": "Help desk"}}, 201, &team)
	var solo groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "group", "handle": "solo"}}, 201, &solo)
	var gone groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "role", "handle": "solo"}}, 201, &gone)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", gone.ID), token: b.adminTok}, 200, nil)
	if role.ID == team.ID {
		t.Fatalf("one group for two kinds: %d", role.ID)
	}
	tests := []struct {
		name   string
		path   string
		status int
		id     int64    // the group answered, when 200
		code   string   // the problem's code otherwise
		detail []string // what the problem's detail names
	}{
		{"by id", fmt.Sprintf("/v1/groups/%d", role.ID), 200, role.ID, "", nil},
		{"role by handle", "/v1/groups/role:helpdesk", 200, role.ID, "", nil},
		{"team by the same handle", "/v1/groups/team:helpdesk", 200, team.ID, "", nil},
		{"handle in another case", "/v1/groups/role:HelpDesk", 200, role.ID, "", nil},
		{"escaped colon", "/v1/groups/team%3Ahelpdesk", 200, team.ID, "", nil},
		{"unknown handle", "/v1/groups/role:nobody", 404, 0, "group_not_found", nil},
		{"handle of no group of the kind", "/v1/groups/group:helpdesk", 404, 0, "group_not_found", nil},
		{"unknown kind", "/v1/groups/robot:helpdesk", 404, 0, "group_not_found", nil},
		{"empty handle", "/v1/groups/role:", 404, 0, "group_not_found", nil},
		{"empty kind", "/v1/groups/:helpdesk", 404, 0, "group_not_found", nil},
		{"unknown id", "/v1/groups/999999", 404, 0, "group_not_found", nil},
		{"bare handle of one live group", "/v1/groups/solo", 200, solo.ID, "", nil},
		{"bare handle in another case", "/v1/groups/SOLO", 200, solo.ID, "", nil},
		{"bare handle of two kinds", "/v1/groups/helpdesk", 409, 0, "group_ambiguous", []string{"role:helpdesk", "team:helpdesk"}},
		{"bare handle of no group", "/v1/groups/nobody", 404, 0, "group_not_found", nil},
		{"negative id", "/v1/groups/-1", 400, 0, "invalid_id", nil},
		{"zero id", "/v1/groups/0", 400, 0, "invalid_id", nil},
		{"id too large", "/v1/groups/99999999999999999999", 400, 0, "invalid_id", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := b.api.do(t, req{method: "GET", path: tc.path, token: b.adminTok})
			if res.status != tc.status {
				t.Fatalf("%d %s, want %d", res.status, res.body, tc.status)
			}
			if tc.status != http.StatusOK {
				if p := res.problem(t); p.Code != tc.code {
					t.Fatalf("problem %s, want %s", res.body, tc.code)
				}
				for _, d := range tc.detail {
					if !strings.Contains(string(res.body), d) {
						t.Fatalf("problem %s does not name %s", res.body, d)
					}
				}
				return
			}
			var g groupBody
			res.decode(t, &g)
			if g.ID != tc.id {
				t.Fatalf("answered %s, want group %d", res.body, tc.id)
			}
		})
	}

	// The sub-resources take the handle too: members set, listed and
	// removed through team:helpdesk are the team's.
	b.call(t, req{method: "PUT", path: "/v1/groups/team:helpdesk/members/plain", token: b.adminTok, body: map[string]any{}}, 200, nil)
	// plainIn reports whether the list at path has the user plain, and
	// fails unless every item is of the group want.
	plainIn := func(path string, want int64) bool {
		t.Helper()
		var members membershipList
		b.call(t, req{method: "GET", path: path, token: b.adminTok}, 200, &members)
		found := false
		for _, m := range members.Items {
			if m.GroupID != want {
				t.Fatalf("%s lists a member of group %d, want %d", path, m.GroupID, want)
			}
			found = found || (m.User != nil && m.User.Username == "plain")
		}
		return found
	}
	if !plainIn(fmt.Sprintf("/v1/groups/%d/members", team.ID), team.ID) || plainIn("/v1/groups/role:helpdesk/members", role.ID) {
		t.Fatal("the member set through team:helpdesk is not the team's alone")
	}
	b.call(t, req{method: "DELETE", path: "/v1/groups/team:helpdesk/members/plain", token: b.adminTok}, 204, nil)
	if plainIn("/v1/groups/team:helpdesk/members", team.ID) {
		t.Fatal("plain is still a team member after the removal")
	}
	res := b.api.do(t, req{method: "PUT", path: "/v1/groups/team:nobody/members/plain", token: b.adminTok, body: map[string]any{}})
	if res.status != http.StatusNotFound || res.problem(t).Code != "group_not_found" {
		t.Fatalf("member of an unknown handle: %d %s", res.status, res.body)
	}
	// The sub-resources take a bare handle as well.
	b.call(t, req{method: "PUT", path: "/v1/groups/solo/members/plain", token: b.adminTok, body: map[string]any{}}, 200, nil)
	if !plainIn("/v1/groups/solo/members", solo.ID) {
		t.Fatal("the member set through the bare handle solo is not the group's")
	}
	// A plain user finds by handle no more than by id.
	res = b.api.do(t, req{method: "GET", path: "/v1/groups/role:helpdesk", token: b.userTok})
	byID := b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d", role.ID), token: b.userTok})
	if res.status != byID.status {
		t.Fatalf("a plain user: by handle %d %s, by id %d %s", res.status, res.body, byID.status, byID.body)
	}
}

// TestSharedHandleAtOncePostgres: a team and an internal group of one
// handle, asked for at the same moment on PostgreSQL (where each
// transaction's check for the other kind ran before the other's group was
// committed, and both were made): one is made and the other is 409
// handle_taken, every time.
func TestSharedHandleAtOncePostgres(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Postgres: true})
	for round := range 30 {
		handle := fmt.Sprintf("race-%d", round)
		start := make(chan struct{})
		var wg sync.WaitGroup
		res := make([]*response, 2)
		for i, kind := range []string{"team", "internal"} {
			wg.Go(func() {
				<-start
				res[i] = b.api.do(t, req{method: "POST", path: "/v1/groups", token: b.adminTok,
					body: map[string]any{"kind": kind, "handle": handle}})
			})
		}
		close(start)
		wg.Wait()
		made, taken := 0, 0
		for _, r := range res {
			switch {
			case r.status == http.StatusCreated:
				made++
			case r.status == http.StatusConflict && r.problem(t).Code == "handle_taken":
				taken++
			default:
				t.Fatalf("round %d: %d %s", round, r.status, r.body)
			}
		}
		if made != 1 || taken != 1 {
			t.Fatalf("round %d: %d made and %d refused, want one of each", round, made, taken)
		}
	}
}
