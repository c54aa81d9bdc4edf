package core_test

import (
	"slices"
	"testing"

	"usher"
)

// TestCreateWithMembers creates groups with their members in one call:
// each at the kind's default level, under AddMember's rules, all or none.
func TestCreateWithMembers(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	// A team's creator owns it; the members listed read, the creator listed
	// too stays the owner, a repeated id counts once.
	tm, err := b.g.Create(as(b.alice), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "crew",
		Members: []int64{b.bob.ID, b.alice.ID, b.carol.ID, b.bob.ID}})
	if err != nil || tm.Members != 3 {
		t.Fatalf("create: %+v, %v", tm, err)
	}
	ms, err := b.g.Members(as(b.alice), team("crew"), usher.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	levels := map[int64]usher.Level{}
	for _, m := range ms.Items {
		levels[m.UserID] = m.Level
	}
	if levels[b.alice.ID] != usher.LevelOwner || levels[b.bob.ID] != usher.LevelRead || levels[b.carol.ID] != usher.LevelRead {
		t.Fatalf("levels = %v", levels)
	}
	ids, err := b.g.MemberIDs(as(b.alice), team("crew"), usher.PageRequest{Limit: 2})
	if err != nil || !slices.Equal(ids.Items, []int64{b.alice.ID, b.bob.ID}) || ids.Next == nil {
		t.Fatalf("first page of ids: %+v, %v", ids, err)
	}
	ids, err = b.g.MemberIDs(as(b.alice), team("crew"), usher.PageRequest{Limit: 2, After: ids.Next})
	if err != nil || !slices.Equal(ids.Items, []int64{b.carol.ID}) || ids.Next != nil {
		t.Fatalf("second page of ids: %+v, %v", ids, err)
	}
	_, err = b.g.MemberIDs(as(b.admin), usher.GroupRef{Kind: usher.GroupTeam, Handle: "nope"}, usher.PageRequest{})
	wantKind(t, err, usher.KindNotFound, usher.CodeGroupNotFound)

	// A plain group's default level is member.
	gr, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupPlain, Handle: "plain", Members: []int64{b.bob.ID}})
	if err != nil || gr.Members != 1 {
		t.Fatalf("plain group: %+v, %v", gr, err)
	}
	if ms, err := b.g.Members(as(b.admin), usher.GroupRef{ID: gr.ID}, usher.PageRequest{}); err != nil || ms.Items[0].Level != usher.LevelMember {
		t.Fatalf("plain group's member: %v", err)
	}

	sa, err := b.g.CreateServiceAccount(as(b.alice), team("crew"), "crew-bot", "")
	if err != nil {
		t.Fatal(err)
	}
	gone := b.env.MustCreateUser(t, usher.UserCreate{Username: "gone"})
	if _, err := b.users.Delete(as(b.admin), usher.UserKey{ID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		as   *usher.User
		in   usher.GroupCreate
		kind usher.Kind
		code string
	}{
		{"unknown id", b.alice, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t1", Members: []int64{b.bob.ID, 99999}},
			usher.KindUnprocessable, usher.CodeValidationFailed},
		{"deleted user", b.alice, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t2", Members: []int64{gone.ID}},
			usher.KindUnprocessable, usher.CodeValidationFailed},
		{"no user id", b.alice, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t3", Members: []int64{0}},
			usher.KindUnprocessable, usher.CodeValidationFailed},
		{"too many", b.alice, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t4", Members: make([]int64, 1001)},
			usher.KindUnprocessable, usher.CodeValidationFailed},
		{"another team's service account", b.bob, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t5", Members: []int64{sa.ID}},
			usher.KindForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.g.Create(as(tt.as), tt.in)
			wantKind(t, err, tt.kind, tt.code)
			// Nothing of the group is left behind.
			_, _, err = b.g.Get(as(b.admin), usher.GroupRef{Kind: tt.in.Kind, Handle: tt.in.Handle})
			wantKind(t, err, usher.KindNotFound, usher.CodeGroupNotFound)
		})
	}
	// An administrator places a service account anywhere.
	if gr, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t7", Members: []int64{sa.ID}}); err != nil || gr.Members != 2 {
		t.Fatalf("admin with a service account: %+v, %v", gr, err)
	}
}

// TestJoinGroup: a user is put in a group that is made on first use; an
// existing group is joined; only who may create the group makes it, and an
// unknown user makes none.
func TestJoinGroup(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	internal := usher.GroupRef{Kind: usher.GroupInternal, Handle: "project-x"}
	_, err := b.g.JoinGroup(as(b.bob), internal, usher.UserKey{ID: b.bob.ID}, "")
	wantKind(t, err, usher.KindForbidden, "")
	_, err = b.g.JoinGroup(as(b.admin), internal, usher.UserKey{Username: "nobody"}, "")
	wantKind(t, err, usher.KindNotFound, usher.CodeUserNotFound)
	if _, _, err := b.g.Get(as(b.admin), internal); usher.AsError(err).Code != usher.CodeGroupNotFound {
		t.Fatalf("an unknown user made the group: %v", err)
	}
	m, err := b.g.JoinGroup(as(b.admin), internal, usher.UserKey{ID: b.bob.ID}, "")
	if err != nil || m.UserID != b.bob.ID || m.Level != usher.LevelMember {
		t.Fatalf("made and joined: %+v, %v", m, err)
	}
	m, err = b.g.JoinGroup(as(b.admin), internal, usher.UserKey{ID: b.carol.ID}, "")
	if err != nil || m.UserID != b.carol.ID {
		t.Fatalf("joined: %+v, %v", m, err)
	}
	ms, err := b.g.Members(as(b.admin), internal, usher.PageRequest{})
	if err != nil || len(ms.Items) != 2 {
		t.Fatalf("the members: %+v, %v", ms, err)
	}
	_, err = b.g.JoinGroup(as(b.admin), usher.GroupRef{Kind: usher.GroupInternal}, usher.UserKey{ID: b.bob.ID}, "")
	wantKind(t, err, usher.KindInvalid, "")
}
