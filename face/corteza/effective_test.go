package corteza_test

import (
	"net/http"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestEffectiveRoleCreateIsTheRoles: GET /permissions/effective told a
// plain user role.create was allowed — the core's group.create is a
// team's by default — and POST /roles/ refused them (round 55): Corteza's
// UI showed a button that failed. The verdict is now the one creating a
// role gets, as a rule allowing group.create changes it.
func TestEffectiveRoleCreateIsTheRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	verdict := func() bool {
		t.Helper()
		var out struct {
			Response []struct {
				Resource, Operation string
				Allow               bool
			} `json:"response"`
		}
		b.do(t, "GET", "/permissions/effective?resource=system", b.userJWT, nil).decode(t, &out)
		for _, v := range out.Response {
			if v.Resource == "system" && v.Operation == "role.create" {
				return v.Allow
			}
		}
		t.Fatalf("no role.create among %+v", out.Response)
		return false
	}
	// Corteza answers a refusal 200 with an error envelope too.
	create := func(handle string) (int, string) {
		res := b.do(t, "POST", "/roles/", b.userJWT, map[string]any{"name": handle, "handle": handle})
		return res.status, res.errMessage(t)
	}
	if allow := verdict(); allow {
		t.Errorf("a plain user: role.create allowed")
	}
	if st, msg := create("first"); msg == "" {
		t.Errorf("a plain user's POST /roles/: %d with no error; want a refusal", st)
	}
	sys := coretest.System()
	makers, err := b.env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "makers"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.SetRules(sys, usher.GroupRef{ID: makers.ID},
		[]usher.Rule{{Resource: "group", Operation: "create", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.AddMember(sys, usher.GroupRef{ID: makers.ID}, usher.UserKey{ID: b.user.ID}, ""); err != nil {
		t.Fatal(err)
	}
	if allow := verdict(); !allow {
		t.Errorf("a user a rule lets create groups: role.create refused")
	}
	if st, msg := create("second"); st != http.StatusOK || msg != "" {
		t.Errorf("a user a rule lets create groups, POST /roles/: %d %q; want 200 and no error", st, msg)
	}
}
