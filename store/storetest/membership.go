package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func testMemberships(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	b := mustCreateUser(t, s, newUser("bob", "", ""))
	c := mustCreateUser(t, s, newUser("carol", "", ""))
	t1 := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "one"))
	t2 := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "two"))
	set := func(g *usher.Group, u *usher.User, l usher.Level) {
		if err := s.MembershipSet(ctx, usher.Membership{GroupID: g.ID, UserID: u.ID, Level: l, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	set(t1, a, usher.LevelOwner)
	set(t1, b, usher.LevelRead)
	set(t1, b, usher.LevelWrite) // changes the level
	set(t2, b, usher.LevelOwner)
	set(t2, c, usher.LevelRead)
	if m, err := s.MembershipGet(ctx, t1.ID, b.ID); err != nil || m.Level != usher.LevelWrite {
		t.Fatalf("MembershipGet: %+v, %v", m, err)
	}
	page, _ := s.GroupMembers(ctx, t1.ID, false, usher.PageRequest{Limit: 10})
	if members := page.Items; len(members) != 2 || members[0].User.Username != "alice" || members[1].Level != usher.LevelWrite {
		t.Fatalf("GroupMembers: %+v", members)
	}
	if page, _ := s.GroupMembers(ctx, t1.ID, false, usher.PageRequest{After: &usher.Cursor{ID: a.ID}, Limit: 10}); len(page.Items) != 1 || page.Items[0].UserID != b.ID {
		t.Fatalf("GroupMembers after alice: %+v", page.Items)
	}
	// A deleted user's membership is kept, and left out of a live list
	// and its count.
	gone := mustCreateUser(t, s, newUser("gone", "", ""))
	set(t1, gone, usher.LevelRead)
	deleted := base.Add(time.Hour)
	if _, err := s.UserUpdate(ctx, gone.ID, func(u *usher.User) error { u.DeletedAt = &deleted; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, live := range []bool{false, true} {
		page, err := s.GroupMembers(ctx, t1.ID, live, usher.PageRequest{Limit: 10, WithTotal: true})
		if err != nil {
			t.Fatal(err)
		}
		ids := []int64{}
		for _, m := range page.Items {
			ids = append(ids, m.UserID)
		}
		want := []int64{a.ID, b.ID, gone.ID}
		if live {
			want = want[:2]
		}
		if fmt.Sprint(ids) != fmt.Sprint(want) || page.Total != len(want) {
			t.Fatalf("GroupMembers live=%v: %v, total %d; want %v", live, ids, page.Total, want)
		}
	}
	if err := s.MembershipDelete(ctx, t1.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	groups, _ := s.UserGroups(ctx, b.ID)
	if len(groups) != 2 || groups[0].Group.Handle != "one" || groups[1].Level != usher.LevelOwner {
		t.Fatalf("UserGroups: %+v", groups)
	}
	if gs, _ := s.GroupList(ctx, usher.GroupFilter{MemberID: c.ID}); len(gs.Items) != 1 || gs.Items[0].ID != t2.ID || gs.Items[0].Members != 2 {
		t.Fatalf("GroupList by member: %+v", gs.Items)
	}
	// A deleted group's memberships are kept for its restoring: only
	// UserGroupsKept reads them.
	deletedAt := time.Now()
	if _, err := s.GroupUpdate(ctx, groups[0].GroupID, func(g *usher.Group) error { g.DeletedAt = &deletedAt; return nil }); err != nil {
		t.Fatal(err)
	}
	if live, _ := s.UserGroups(ctx, b.ID); len(live) != 1 {
		t.Fatalf("UserGroups with one of two groups deleted: %+v", live)
	}
	if kept, _ := s.UserGroupsKept(ctx, b.ID, usher.GroupTeam); len(kept) != 2 || kept[0].GroupID != groups[0].GroupID {
		t.Fatalf("UserGroupsKept with one of two groups deleted: %+v", kept)
	}
	if _, err := s.GroupUpdate(ctx, groups[0].GroupID, func(g *usher.Group) error { g.DeletedAt = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	// A sight reads the groups of its kinds, those its user is in and its
	// ids, and the filter's other conditions still hold.
	role := mustCreateGroup(t, s, newGroup(usher.GroupRole, "role"))
	t3 := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "three"))
	for _, tt := range []struct {
		f    usher.GroupFilter
		want []int64
	}{
		{usher.GroupFilter{Sight: &usher.GroupSight{UserID: c.ID}}, []int64{t2.ID}},
		{usher.GroupFilter{Sight: &usher.GroupSight{UserID: c.ID, Kinds: []usher.GroupKind{usher.GroupRole}}}, []int64{t2.ID, role.ID}},
		{usher.GroupFilter{Sight: &usher.GroupSight{UserID: c.ID, IDs: []int64{t3.ID}}}, []int64{t2.ID, t3.ID}},
		{usher.GroupFilter{Sight: &usher.GroupSight{UserID: a.ID, Kinds: []usher.GroupKind{usher.GroupRole}, IDs: []int64{t3.ID}}}, []int64{t1.ID, role.ID, t3.ID}},
		{usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam}, Sight: &usher.GroupSight{UserID: a.ID, Kinds: []usher.GroupKind{usher.GroupRole}}}, []int64{t1.ID}},
		{usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam, usher.GroupRole}, Sight: &usher.GroupSight{UserID: a.ID, Kinds: []usher.GroupKind{usher.GroupRole}}}, []int64{t1.ID, role.ID}},
		{usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupRole}, Sight: &usher.GroupSight{UserID: a.ID, Kinds: []usher.GroupKind{usher.GroupRole}}}, []int64{role.ID}},
		{usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupRole, usher.GroupRole}, Sight: &usher.GroupSight{UserID: a.ID, Kinds: []usher.GroupKind{usher.GroupRole}}}, []int64{role.ID}},
		{usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam, usher.GroupPlain}, Sight: &usher.GroupSight{UserID: c.ID, IDs: []int64{t3.ID}}}, []int64{t2.ID, t3.ID}},
	} {
		gs, err := s.GroupList(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, g := range gs.Items {
			got = append(got, g.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("GroupList with %+v: %v, want %v", *tt.f.Sight, got, tt.want)
		}
	}
	sole, _ := s.SoleOwnerTeams(ctx, a.ID)
	if len(sole) != 1 || sole[0].ID != t1.ID {
		t.Fatalf("SoleOwnerTeams: %+v", sole)
	}
	// A second owner: alice is no longer the only one.
	if err := s.MembershipSet(ctx, usher.Membership{GroupID: t1.ID, UserID: b.ID, Level: usher.LevelOwner, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if sole, _ := s.SoleOwnerTeams(ctx, a.ID); len(sole) != 0 {
		t.Fatalf("alice is no longer the only owner: %+v", sole)
	}
	// Emptying a group.
	if err := s.MembershipDeleteGroup(ctx, t2.ID); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.GroupMembers(ctx, t2.ID, false, usher.PageRequest{Limit: 10}); len(left.Items) != 0 {
		t.Fatalf("MembershipDeleteGroup kept members: %v", levels(left.Items))
	}
	if err := s.MembershipSet(ctx, usher.Membership{GroupID: t1.ID, UserID: c.ID, Level: usher.LevelRead, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.MembershipDelete(ctx, t1.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.MembershipDelete(ctx, t1.ID, c.ID))
	_, err := s.MembershipGet(ctx, t1.ID, c.ID)
	wantNotFound(t, err)
}

// testMembershipsOf: the memberships of several users come in one call,
// each with its group's counts: live members, the service accounts among
// them, and the live roles they hold.
func testMembershipsOf(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	b := mustCreateUser(t, s, newUser("bob", "", ""))
	sa := newUser("ci-bot", "", "")
	sa.Kind = usher.KindServiceAccount
	mustCreateUser(t, s, sa)
	loner := mustCreateUser(t, s, newUser("loner", "", ""))
	dev := mustCreateGroup(t, s, newGroup(usher.GroupPlain, "dev"))
	ops := mustCreateGroup(t, s, newGroup(usher.GroupPlain, "ops"))
	team := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "core"))
	admins := mustCreateGroup(t, s, newGroup(usher.GroupRole, "admins"))
	viewers := mustCreateGroup(t, s, newGroup(usher.GroupRole, "viewers"))
	gone := mustCreateGroup(t, s, newGroup(usher.GroupRole, "gone"))
	gone2 := mustCreateGroup(t, s, newGroup(usher.GroupPlain, "gone"))
	for _, g := range []*usher.Group{gone, gone2} {
		if _, err := s.GroupUpdate(ctx, g.ID, func(g *usher.Group) error { g.DeletedAt = ptr(base); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	set := func(g *usher.Group, u *usher.User, l usher.Level) {
		t.Helper()
		if err := s.MembershipSet(ctx, usher.Membership{GroupID: g.ID, UserID: u.ID, Level: l, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	set(dev, a, usher.LevelMember)
	set(dev, b, usher.LevelMember)
	set(dev, sa, usher.LevelMember)
	set(ops, sa, usher.LevelMember)
	set(team, a, usher.LevelOwner)
	set(admins, a, usher.LevelMember)
	set(viewers, b, usher.LevelMember)
	set(viewers, sa, usher.LevelMember)
	set(gone, a, usher.LevelMember)  // a deleted role counts for nothing
	set(gone2, a, usher.LevelMember) // nor is a deleted group listed
	// A deleted member counts for nothing either, nor do the roles only
	// it held: it is in no member list or total.
	dora := mustCreateUser(t, s, newUser("dora", "", ""))
	hers := mustCreateGroup(t, s, newGroup(usher.GroupRole, "hers"))
	set(dev, dora, usher.LevelMember)
	set(hers, dora, usher.LevelMember)
	if _, err := s.UserUpdate(ctx, dora.ID, func(u *usher.User) error { u.DeletedAt = ptr(base); return nil }); err != nil {
		t.Fatal(err)
	}
	page, err := s.GroupList(ctx, usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupPlain}, Handle: "dev"})
	if err != nil || len(page.Items) != 1 || page.Items[0].Members != 3 {
		t.Fatalf("dev in the group list: %+v, %v (want 3 members)", page, err)
	}
	show := func(ms []*usher.Membership) string {
		var out []string
		for _, m := range ms {
			g := m.Group
			out = append(out, fmt.Sprintf("%s/%s:%s m%d s%d r%d", map[int64]string{a.ID: "alice", b.ID: "bob", sa.ID: "ci-bot"}[m.UserID],
				g.Kind, g.Handle, g.Members, g.ServiceAccounts, g.Roles))
		}
		return fmt.Sprint(out)
	}
	tests := []struct {
		name  string
		ids   []int64
		kinds []usher.GroupKind
		want  string
	}{
		{"plain groups", []int64{b.ID, a.ID, sa.ID, loner.ID}, []usher.GroupKind{usher.GroupPlain},
			"[alice/group:dev m3 s1 r2 bob/group:dev m3 s1 r2 ci-bot/group:dev m3 s1 r2 ci-bot/group:ops m1 s1 r1]"},
		{"every kind", []int64{a.ID}, nil,
			"[alice/group:dev m3 s1 r2 alice/role:admins m1 s0 r1 alice/team:core m1 s0 r1]"},
		{"two kinds", []int64{b.ID}, []usher.GroupKind{usher.GroupRole, usher.GroupTeam}, "[bob/role:viewers m2 s1 r1]"},
		{"none held", []int64{loner.ID}, nil, "[]"},
		{"no users", nil, nil, "[]"},
	}
	for _, tt := range tests {
		ms, err := s.MembershipsOf(ctx, tt.ids, tt.kinds...)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := show(ms); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func levels(ms []*usher.Membership) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.User.Username+":"+string(m.Level))
	}
	return out
}

// testOwnedServiceAccountCount: the live service accounts of the live
// teams a user owns are counted once each, whatever else those teams and
// the user's other groups hold.
func testOwnedServiceAccountCount(t *testing.T, s store.Store) {
	ctx := context.Background()
	owner := mustCreateUser(t, s, newUser("owner", "", ""))
	plain := mustCreateUser(t, s, newUser("plain", "", ""))
	bot := func(name string) *usher.User {
		u := newUser(name, "", "")
		u.Kind = usher.KindServiceAccount
		return mustCreateUser(t, s, u)
	}
	one, two := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "one")), mustCreateGroup(t, s, newGroup(usher.GroupTeam, "two"))
	written := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "written"))
	gone := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "gone"))
	role := mustCreateGroup(t, s, newGroup(usher.GroupRole, "role"))
	set := func(g *usher.Group, u *usher.User, l usher.Level) {
		if err := s.MembershipSet(ctx, usher.Membership{GroupID: g.ID, UserID: u.ID, Level: l, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []*usher.Group{one, two, gone, role} {
		set(g, owner, usher.LevelOwner)
	}
	set(written, owner, usher.LevelWrite)
	shared, second, elsewhere, inGone, inRole, deleted := bot("shared"), bot("second"), bot("elsewhere"), bot("ingone"), bot("inrole"), bot("deleted")
	set(one, shared, usher.LevelWrite)
	set(two, shared, usher.LevelWrite) // counted once
	set(two, second, usher.LevelWrite)
	set(one, plain, usher.LevelWrite)         // no service account
	set(written, elsewhere, usher.LevelWrite) // a team the user does not own
	set(gone, inGone, usher.LevelWrite)       // a deleted team
	set(role, inRole, usher.LevelRead)        // not a team
	set(one, deleted, usher.LevelWrite)       // a deleted account
	at := base.Add(time.Hour)
	if _, err := s.UserUpdate(ctx, deleted.ID, func(u *usher.User) error { u.DeletedAt = &at; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GroupUpdate(ctx, gone.ID, func(g *usher.Group) error { g.DeletedAt = &at; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		u    *usher.User
		want int
	}{{owner, 2}, {plain, 0}, {shared, 0}} {
		if n, err := s.OwnedServiceAccountCount(ctx, tc.u.ID); err != nil || n != tc.want {
			t.Errorf("OwnedServiceAccountCount(%s) = %d, %v; want %d", tc.u.Username, n, err, tc.want)
		}
	}
}

// testDeletedTeams: a user's live owned teams are counted, and the
// deleted teams and the service accounts they made; the teams, and the
// users of a kind, deleted before a time are found in the order they were
// deleted; a purge deletes a group with its memberships and rules.
func testDeletedTeams(t *testing.T, s store.Store) {
	ctx := context.Background()
	owner := mustCreateUser(t, s, newUser("owner", "", ""))
	member := mustCreateUser(t, s, newUser("member", "", ""))
	live, late, early, later := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "live")),
		mustCreateGroup(t, s, newGroup(usher.GroupTeam, "late")), mustCreateGroup(t, s, newGroup(usher.GroupTeam, "early")),
		mustCreateGroup(t, s, newGroup(usher.GroupTeam, "later"))
	role := mustCreateGroup(t, s, newGroup(usher.GroupRole, "role"))
	for _, g := range []*usher.Group{live, late, early, later, role} {
		if err := s.MembershipSet(ctx, usher.Membership{GroupID: g.ID, UserID: owner.ID, Level: usher.LevelOwner, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MembershipSet(ctx, usher.Membership{GroupID: early.ID, UserID: member.ID, Level: usher.LevelWrite, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.RuleSet(ctx, usher.Rule{RoleID: role.ID, Resource: "user", Operation: "user.read", Access: usher.Allow}); err != nil {
		t.Fatal(err)
	}
	del := func(g *usher.Group, at time.Time) {
		if _, err := s.GroupUpdate(ctx, g.ID, func(g *usher.Group) error { g.DeletedAt = &at; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	del(early, base.Add(time.Hour))
	del(late, base.Add(3*time.Hour))
	del(later, base.Add(2*time.Hour))
	del(role, base.Add(time.Hour))
	for _, g := range []*usher.Group{live, late, early} {
		if err := s.GroupMakerSet(ctx, g.ID, member.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		u                  *usher.User
		owned, deletedMade int
	}{{owner, 1, 0}, {member, 0, 2}} {
		if n, err := s.OwnedTeamCount(ctx, tc.u.ID); err != nil || n != tc.owned {
			t.Errorf("OwnedTeamCount(%s) = %d, %v; want %d", tc.u.Username, n, err, tc.owned)
		}
		if n, err := s.DeletedTeamsMadeBy(ctx, tc.u.ID); err != nil || n != tc.deletedMade {
			t.Errorf("DeletedTeamsMadeBy(%s) = %d, %v; want %d", tc.u.Username, n, err, tc.deletedMade)
		}
	}
	for _, tc := range []struct {
		before time.Time
		limit  int
		want   []int64
	}{
		{base.Add(time.Hour), 10, nil},
		{base.Add(150 * time.Minute), 10, []int64{early.ID, later.ID}},
		{base.Add(4 * time.Hour), 2, []int64{early.ID, later.ID}},
		{base.Add(4 * time.Hour), 10, []int64{early.ID, later.ID, late.ID}},
	} {
		ids, err := s.GroupsDeletedBefore(ctx, usher.GroupTeam, tc.before, tc.limit)
		if err != nil || !slices.Equal(ids, tc.want) {
			t.Errorf("GroupsDeletedBefore(%v, %d) = %v, %v; want %v", tc.before, tc.limit, ids, err, tc.want)
		}
	}
	// Service accounts deleted before a time, by kind.
	var bots []*usher.User
	for i, at := range []time.Duration{2 * time.Hour, time.Hour, 0} {
		u := newUser(fmt.Sprint("bot-", i), "", "")
		u.Kind = usher.KindServiceAccount
		u = mustCreateUser(t, s, u)
		if err := s.UserMakerSet(ctx, u.ID, owner.ID); err != nil {
			t.Fatal(err)
		}
		if at > 0 {
			deletedAt := base.Add(at)
			if _, err := s.UserUpdate(ctx, u.ID, func(u *usher.User) error { u.DeletedAt = &deletedAt; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		bots = append(bots, u)
	}
	// Made by the owner: the two deleted and the live one.
	if n, err := s.ServiceAccountsMadeBy(ctx, owner.ID); err != nil || n != 3 {
		t.Errorf("ServiceAccountsMadeBy = %d, %v; want 3", n, err)
	}
	person := base.Add(time.Hour)
	if _, err := s.UserUpdate(ctx, member.ID, func(u *usher.User) error { u.DeletedAt = &person; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind   usher.UserKind
		before time.Time
		limit  int
		want   []int64
	}{
		{usher.KindServiceAccount, base.Add(time.Hour), 10, nil},
		{usher.KindServiceAccount, base.Add(3 * time.Hour), 10, []int64{bots[1].ID, bots[0].ID}},
		{usher.KindServiceAccount, base.Add(3 * time.Hour), 1, []int64{bots[1].ID}},
		{usher.KindNormal, base.Add(3 * time.Hour), 10, []int64{member.ID}},
	} {
		ids, err := s.UsersDeletedBefore(ctx, tc.kind, tc.before, tc.limit)
		if err != nil || !slices.Equal(ids, tc.want) {
			t.Errorf("UsersDeletedBefore(%s, %v, %d) = %v, %v; want %v", tc.kind, tc.before, tc.limit, ids, err, tc.want)
		}
	}
	for _, g := range []*usher.Group{early, role} {
		if err := s.GroupPurge(ctx, g.ID); err != nil {
			t.Fatalf("GroupPurge(%s): %v", g.Handle, err)
		}
		if _, err := s.GroupGet(ctx, g.ID, "", ""); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("GroupGet(%s) after its purge: %v, want ErrNotFound", g.Handle, err)
		}
		if err := s.GroupPurge(ctx, g.ID); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("GroupPurge(%s) again: %v, want ErrNotFound", g.Handle, err)
		}
	}
	if _, err := s.MembershipGet(ctx, early.ID, member.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("a purged team's membership: %v, want ErrNotFound", err)
	}
	if rules, err := s.RuleList(ctx, role.ID); err != nil || len(rules) != 0 {
		t.Errorf("a purged role's rules: %v, %v; want none", rules, err)
	}
	if n, err := s.DeletedTeamsMadeBy(ctx, member.ID); err != nil || n != 1 {
		t.Errorf("DeletedTeamsMadeBy after a purge = %d, %v; want 1", n, err)
	}
	if err := s.UserPurge(ctx, bots[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ServiceAccountsMadeBy(ctx, owner.ID); err != nil || n != 2 {
		t.Errorf("ServiceAccountsMadeBy after a purge = %d, %v; want 2", n, err)
	}
}
