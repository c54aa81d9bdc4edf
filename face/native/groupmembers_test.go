package native_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"usher"
)

// TestCreateGroupWithMembers creates a team with its members in one call,
// lists them as ids, and refuses bad member lists, leaving nothing behind.
func TestCreateGroupWithMembers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	carol := b.env.MustCreateUser(t, usher.UserCreate{Username: "carol"})
	var g groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{
		"kind": "team", "handle": "crew", "members": []int64{carol.ID, b.admin.ID},
	}}, http.StatusCreated, &g)
	if g.Members != 3 || g.Level != "owner" {
		t.Fatalf("created: %+v", g)
	}
	var ids struct {
		Items      []int64 `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	path := fmt.Sprintf("/v1/groups/%d/member-ids", g.ID)
	b.call(t, req{method: "GET", path: path + "?limit=2", token: b.userTok}, http.StatusOK, &ids)
	if !slices.Equal(ids.Items, []int64{b.admin.ID, b.user.ID}) || ids.NextCursor == nil {
		t.Fatalf("first page: %+v", ids)
	}
	b.call(t, req{method: "GET", path: path + "?limit=2&cursor=" + *ids.NextCursor, token: b.userTok}, http.StatusOK, &ids)
	if !slices.Equal(ids.Items, []int64{carol.ID}) || ids.NextCursor != nil {
		t.Fatalf("second page: %+v", ids)
	}
	var ms membershipList
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d/members", g.ID), token: b.userTok}, http.StatusOK, &ms)
	for _, m := range ms.Items {
		if want := map[bool]string{true: "owner", false: "read"}[m.UserID == b.user.ID]; m.Level != want {
			t.Fatalf("member %d at %s, want %s", m.UserID, m.Level, want)
		}
	}
	res := b.api.do(t, req{method: "GET", path: "/v1/groups/999999/member-ids", token: b.adminTok})
	wantProblem(t, "unknown group", res, http.StatusNotFound, "group_not_found")

	tests := []struct {
		name    string
		members any
		status  int
		code    string
	}{
		{"an unknown id", []int64{carol.ID, 999999}, http.StatusUnprocessableEntity, "validation_failed"},
		{"no user id", []int64{-1}, http.StatusUnprocessableEntity, "validation_failed"},
		{"not ids", []string{"carol"}, http.StatusBadRequest, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handle := fmt.Sprintf("bad-%d", i)
			res := b.api.do(t, req{method: "POST", path: "/v1/groups", token: b.userTok,
				body: map[string]any{"kind": "team", "handle": handle, "members": tt.members}})
			if res.status != tt.status {
				t.Fatalf("%d %s, want %d", res.status, res.body, tt.status)
			}
			if tt.code != "" {
				if p := res.problem(t); p.Code != tt.code || len(p.Errors) == 0 || p.Errors[0].Field != "members" {
					t.Fatalf("%s, want %s on members", res.body, tt.code)
				}
			}
			var list struct {
				Items []groupBody `json:"items"`
			}
			b.call(t, req{method: "GET", path: "/v1/groups?handle=" + handle, token: b.adminTok}, http.StatusOK, &list)
			if len(list.Items) != 0 {
				t.Fatalf("the refused group exists: %+v", list.Items)
			}
		})
	}
}
