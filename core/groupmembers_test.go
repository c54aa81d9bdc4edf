package core_test

import (
	"context"
	"fmt"
	"maps"
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

// TestUpdateSetsMembers sets a group's members with the rest of an update,
// in one transaction: each change under AddMember's and RemoveMember's
// rules, and a refused one leaves the group as it was.
func TestUpdateSetsMembers(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	dave := b.env.MustCreateUser(t, usher.UserCreate{Username: "dave"})
	if _, err := b.g.Create(as(b.alice), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "crew", Members: []int64{b.bob.ID, b.carol.ID}}); err != nil {
		t.Fatal(err)
	}
	levels := func(ref usher.GroupRef) map[int64]usher.Level {
		t.Helper()
		ms, err := b.g.Members(as(b.admin), ref, usher.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]usher.Level{}
		for _, m := range ms.Items {
			out[m.UserID] = m.Level
		}
		return out
	}
	name := "Crew"
	gr, err := b.g.Update(as(b.alice), team("crew"), usher.GroupUpdate{Name: &name, Members: []int64{b.alice.ID, b.carol.ID, dave.ID, dave.ID}})
	if err != nil || gr.Name != "Crew" {
		t.Fatalf("update: %+v, %v", gr, err)
	}
	want := map[int64]usher.Level{b.alice.ID: usher.LevelOwner, b.carol.ID: usher.LevelRead, dave.ID: usher.LevelRead}
	if got := levels(team("crew")); !maps.Equal(got, want) {
		t.Fatalf("members = %v, want %v", got, want)
	}

	sa, err := b.g.CreateServiceAccount(as(b.alice), team("crew"), "crew-bot", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.Create(as(b.bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "other"}); err != nil {
		t.Fatal(err)
	}
	renamed := "renamed"
	tests := []struct {
		name string
		as   *usher.User
		ref  usher.GroupRef
		ids  []int64
		kind usher.Kind
		code string
	}{
		{"unknown id", b.alice, team("crew"), []int64{b.alice.ID, 99999}, usher.KindUnprocessable, usher.CodeValidationFailed},
		{"the last owner", b.alice, team("crew"), []int64{b.carol.ID}, usher.KindConflict, usher.CodeLastOwner},
		{"another team's service account", b.bob, team("other"), []int64{b.bob.ID, sa.ID}, usher.KindForbidden, ""},
		{"members by a writer", dave, team("crew"), []int64{b.alice.ID, dave.ID}, usher.KindForbidden, ""},
	}
	if _, err := b.g.AddMember(as(b.alice), team("crew"), usher.UserKey{ID: dave.ID}, usher.LevelWrite); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := levels(tt.ref)
			_, err := b.g.Update(as(tt.as), tt.ref, usher.GroupUpdate{Name: &renamed, Handle: &renamed, Members: tt.ids})
			wantKind(t, err, tt.kind, tt.code)
			gr, _, err := b.g.Get(as(b.admin), tt.ref)
			if err != nil || gr.Name == renamed {
				t.Errorf("the refused update changed the group: %+v, %v", gr, err)
			}
			if after := levels(tt.ref); !maps.Equal(after, before) {
				t.Errorf("the refused update changed the members: %v, was %v", after, before)
			}
		})
	}
	// A member leaves on its own; nil Members leaves the members alone.
	if _, err := b.g.Update(as(dave), team("crew"), usher.GroupUpdate{Members: []int64{b.alice.ID, b.carol.ID, sa.ID}}); err != nil {
		t.Fatalf("a writer leaving: %v", err)
	}
	if _, err := b.g.Update(as(b.alice), team("crew"), usher.GroupUpdate{Name: &renamed}); err != nil || len(levels(team("crew"))) != 3 {
		t.Fatalf("update without members: %v, members %v", err, levels(team("crew")))
	}
}

// TestUpdateSetsMembersPastAPage empties a role of more members than one
// page of a list holds: every member is read, not the first thousand.
func TestUpdateSetsMembersPastAPage(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	ctx := context.Background()
	role, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupRole, Handle: "many"})
	if err != nil {
		t.Fatal(err)
	}
	users := make([]*usher.User, 1200)
	for i := range users {
		users[i] = &usher.User{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Kind: usher.KindNormal,
			Username: fmt.Sprintf("m%04d", i), State: usher.StateActive}
	}
	if err := b.env.Store.UserCreateMany(ctx, users, make([]string, len(users))); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if err := b.env.Store.MembershipSet(ctx, usher.Membership{GroupID: role.ID, UserID: u.ID, Level: usher.LevelMember}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.g.Update(as(b.admin), usher.GroupRef{ID: role.ID}, usher.GroupUpdate{Members: []int64{b.bob.ID}}); err != nil {
		t.Fatal(err)
	}
	ids, err := b.g.MemberIDs(as(b.admin), usher.GroupRef{ID: role.ID}, usher.PageRequest{Limit: 10})
	if err != nil || !slices.Equal(ids.Items, []int64{b.bob.ID}) {
		t.Fatalf("members after the update: %+v, %v", ids, err)
	}
}
