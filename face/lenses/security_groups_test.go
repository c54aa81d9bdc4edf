package lenses_test

import (
	"fmt"
	"net/http"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestUserGroupsNeedTheGroupsRead: a delegate allowed a group's members
// and denied its read put users in it through Lenses' PUT
// /api/v1/users/{name}/groups, where the native face's route of the
// group's members refused it (round 49): a change of a user's groups asks
// the read of each group it names, as a change of the group's members.
func TestUserGroupsNeedTheGroupsRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, "gina")
	dev, _, err := b.env.Core.Groups.Get(coretest.System(), usher.GroupRef{Kind: usher.GroupPlain, Handle: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	role, err := b.env.Core.Groups.Create(coretest.System(), usher.GroupCreate{Kind: usher.GroupRole, Handle: "delegates"})
	if err != nil {
		t.Fatal(err)
	}
	res := fmt.Sprintf("group:%d", dev.ID)
	if _, err := b.env.Core.Groups.SetRules(coretest.System(), usher.GroupRef{ID: role.ID}, []usher.Rule{
		{Resource: res, Operation: "members", Access: usher.Allow}, {Resource: res, Operation: "read", Access: usher.Deny}}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.AddMember(coretest.System(), usher.GroupRef{ID: role.ID}, usher.UserKey{ID: b.user.ID}, ""); err != nil {
		t.Fatal(err)
	}
	r := b.do(t, call{method: "PUT", path: "/api/v1/users/gina/groups", token: b.userTok, body: map[string]any{"add_to_groups": []string{"dev"}}})
	r.check(t, want{http.StatusForbidden, "forbidden", ""})
	page, err := b.env.Core.Groups.Members(coretest.System(), usher.GroupRef{ID: dev.ID}, usher.PageRequest{Limit: 10})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("dev's members after a refused change: %d, %v; want none", len(page.Items), err)
	}
}
