package corteza_test

import (
	"strconv"
	"testing"

	"usher"
)

// TestAuthorizationMatrix runs Corteza's routes as an administrator, a
// plain user and no one: the core decides, and the face answers a refusal
// in Corteza's envelope (HTTP 200, an error message).
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var role struct {
		Response struct {
			RoleID string `json:"roleID"`
		} `json:"response"`
	}
	b.do(t, "POST", "/roles/", b.adminJWT, map[string]any{"name": "Ops", "handle": "ops"}).decode(t, &role)
	admin, rid := strconv.FormatInt(b.admin.ID, 10), role.Response.RoleID
	// Actions that end a user's credentials are taken on a third user.
	other := strconv.FormatInt(b.env.MustCreateUser(t, usher.UserCreate{Username: "other", Email: "other@example.com"}).ID, 10)
	const (
		allow = iota
		refuse
	)
	tests := []struct {
		method, path string
		body         any
		admin, user  int
	}{
		{"GET", "/users/", nil, allow, allow},
		{"GET", "/users/" + admin, nil, allow, allow},
		{"POST", "/users/", map[string]any{"email": "m@example.com"}, allow, refuse},
		{"PUT", "/users/" + admin, map[string]any{"name": "Changed"}, allow, refuse},
		{"POST", "/users/" + other + "/suspend", nil, allow, refuse},
		{"POST", "/users/" + other + "/password", map[string]any{"password": "a new long passphrase"}, allow, refuse},
		{"DELETE", "/users/" + other, nil, allow, refuse},
		{"GET", "/roles/", nil, allow, allow},
		{"PUT", "/roles/" + rid, map[string]any{"name": "Ops 2"}, allow, refuse},
		{"POST", "/roles/" + rid + "/member/" + admin, nil, allow, refuse},
		{"GET", "/permissions/" + rid + "/rules", nil, allow, allow},
		{"PATCH", "/permissions/" + rid + "/rules", map[string]any{"rules": []map[string]string{
			{"resource": "system:user:*", "operation": "update", "access": "allow"}}}, allow, refuse},
		{"GET", "/permissions/effective", nil, allow, allow},
		{"GET", "/actionlog/", nil, allow, refuse},
		{"GET", "/stats/", nil, allow, refuse},
		{"GET", "/settings/", nil, allow, refuse},
		{"PATCH", "/settings/", map[string]any{"values": []map[string]any{{"name": "ui.x", "value": 1}}}, allow, refuse},
		{"POST", "/auth/impersonate", map[string]any{"userID": strconv.FormatInt(b.user.ID, 10)}, allow, refuse},
		{"GET", "/auth/check", nil, allow, allow},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			for _, who := range []struct {
				name, jwt string
				want      int
			}{{"admin", b.adminJWT, tt.admin}, {"user", b.userJWT, tt.user}, {"anonymous", "", refuse}} {
				res := b.do(t, tt.method, tt.path, who.jwt, tt.body)
				msg := res.errMessage(t)
				if res.status != 200 || (who.want == allow) != (msg == "") {
					t.Errorf("%s: %d %s", who.name, res.status, res.body)
				}
				if who.name == "anonymous" && msg != "Unauthorized" {
					t.Errorf("anonymous: %q, want Unauthorized", msg)
				}
			}
		})
	}
}
