package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"usher"
	"usher/store"
)

// testEmailClaims: an address is unique across every live user's primary
// and secondary addresses, case-insensitively; deleted users hold none.
func testEmailClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	b := mustCreateUser(t, s, newUser("bob", "bob@example.com", ""))
	// add adds a confirmed address: only those claim their key.
	add := func(u *usher.User, addr string) (*usher.Email, error) {
		e := &usher.Email{UserID: u.ID, Email: addr, ConfirmedAt: &base, CreatedAt: base}
		return e, s.EmailAdd(ctx, e)
	}
	sec, err := add(a, "alice@work.example")
	if err != nil || sec.ID == 0 {
		t.Fatalf("EmailAdd: %v", err)
	}
	_, err = add(b, "ALICE@work.example")
	wantUnique(t, err, "email")
	_, err = add(b, "Alice@Example.com")
	wantUnique(t, err, "email")
	_, err = add(a, "alice@WORK.example") // the same address twice
	wantUnique(t, err, "email")
	// A primary address may not take another's secondary one.
	err = s.UserCreate(ctx, newUser("carol", "alice@WORK.example", ""), "")
	wantUnique(t, err, "email")
	_, err = s.UserUpdate(ctx, b.ID, func(u *usher.User) error { u.Email = "alice@work.example"; return nil })
	wantUnique(t, err, "email")
	// Taking one's own secondary address as primary is fine, and the old
	// primary is free afterwards.
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.Email = "alice@work.example"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := add(b, "alice@example.com"); err != nil {
		t.Fatalf("a freed primary address: %v", err)
	}
	// Deleting the secondary row keeps the claim while it is the primary.
	if err := s.EmailDelete(ctx, sec.ID); err != nil {
		t.Fatal(err)
	}
	_, err = add(b, "alice@work.example")
	wantUnique(t, err, "email")
	// A soft-deleted user frees every address; undeleting it takes them back
	// or fails if one was taken meanwhile.
	second, _ := add(a, "alice@home.example")
	deleted := base.Add(time.Hour)
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = &deleted; return nil }); err != nil {
		t.Fatal(err)
	}
	d := mustCreateUser(t, s, newUser("dave", "alice@work.example", ""))
	_, err = s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = nil; return nil })
	wantUnique(t, err, "email")
	if err := s.UserPurge(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	e := mustCreateUser(t, s, newUser("erin", "", ""))
	if _, err := add(e, "alice@home.example"); err != nil {
		t.Fatalf("a deleted user's secondary address is not free: %v", err)
	}
	_, err = s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = nil; return nil })
	wantUnique(t, err, "email")
	if err := s.UserPurge(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = nil; return nil }); err != nil {
		t.Fatalf("undelete once the addresses are free: %v", err)
	}
	if _, err := add(b, "alice@home.example"); err == nil {
		t.Fatal("the undeleted user's secondary address was not claimed again")
	}
	list, _ := s.EmailList(ctx, a.ID)
	if len(list) != 1 || list[0].ID != second.ID || list[0].Email != "alice@home.example" {
		t.Fatalf("EmailList: %+v", list)
	}
	wantNotFound(t, s.EmailDelete(ctx, 9999))
}

// testUnconfirmedEmails: an unconfirmed secondary address claims nothing;
// of several accounts holding it, the first to confirm it keeps it, and
// unconfirmed addresses expire.
func testUnconfirmedEmails(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	b := mustCreateUser(t, s, newUser("bob", "bob@example.com", ""))
	pending := func(u *usher.User, addr string, at time.Time) *usher.Email {
		t.Helper()
		e := &usher.Email{UserID: u.ID, Email: addr, CreatedAt: at}
		if err := s.EmailAdd(ctx, e); err != nil {
			t.Fatalf("EmailAdd(%s, %s): %v", u.Username, addr, err)
		}
		return e
	}
	fromA := pending(a, "shared@example.org", base)
	fromB := pending(b, "SHARED@example.org", base.Add(time.Hour))
	_, err := s.EmailHolder(ctx, "shared@example.org")
	wantNotFound(t, err)
	if id, err := s.EmailHolder(ctx, "alice@example.com"); err != nil || id != a.ID {
		t.Fatalf("EmailHolder of a primary address = %d, %v; want %d", id, err, a.ID)
	}
	// Nor does it keep a new account from taking it as primary.
	c := mustCreateUser(t, s, newUser("carol", "carol@example.com", ""))
	if _, err := s.UserUpdate(ctx, c.ID, func(u *usher.User) error { u.Email = "Shared@Example.org"; return nil }); err != nil {
		t.Fatalf("an unconfirmed secondary address held a primary one: %v", err)
	}
	wantUnique(t, s.EmailConfirm(ctx, fromA.ID, base), "email")
	if _, err := s.UserUpdate(ctx, c.ID, func(u *usher.User) error { u.Email = "carol@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	// Bob confirms first and keeps it; Alice's confirmation then fails.
	if err := s.EmailConfirm(ctx, fromB.ID, base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.EmailGet(ctx, fromB.ID); got.ConfirmedAt == nil || !got.ConfirmedAt.Equal(base.Add(2*time.Hour)) {
		t.Fatalf("EmailConfirm: %+v", got)
	}
	wantUnique(t, s.EmailConfirm(ctx, fromA.ID, base.Add(3*time.Hour)), "email")
	if id, err := s.EmailHolder(ctx, "shared@example.org"); err != nil || id != b.ID {
		t.Fatalf("EmailHolder of a confirmed address = %d, %v; want %d", id, err, b.ID)
	}
	if _, err := s.UserUpdate(ctx, c.ID, func(u *usher.User) error { u.Email = "shared@example.org"; return nil }); err == nil {
		t.Fatal("a confirmed secondary address did not claim its key")
	}
	// Deleting Alice's unconfirmed copy leaves Bob's claim.
	if err := s.EmailDelete(ctx, fromA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserUpdate(ctx, c.ID, func(u *usher.User) error { u.Email = "shared@example.org"; return nil }); err == nil {
		t.Fatal("deleting an unconfirmed copy freed another account's claim")
	}
	// Unconfirmed addresses added before a time go; confirmed ones stay.
	old := pending(a, "old@example.org", base)
	young := pending(a, "young@example.org", base.Add(5*time.Hour))
	n, err := s.EmailDeleteStale(ctx, base.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("EmailDeleteStale = %d, %v; want 1", n, err)
	}
	_, err = s.EmailGet(ctx, old.ID)
	wantNotFound(t, err)
	for _, id := range []int64{young.ID, fromB.ID} {
		if _, err := s.EmailGet(ctx, id); err != nil {
			t.Fatalf("EmailDeleteStale took %d: %v", id, err)
		}
	}
}

func testSSHKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	b := mustCreateUser(t, s, newUser("bob", "", ""))
	k := &usher.SSHKey{UserID: a.ID, Title: "laptop", Key: "ssh-ed25519 AAAA", Fingerprint: "SHA256:one", CreatedAt: base}
	if err := s.KeyAdd(ctx, k); err != nil || k.ID == 0 {
		t.Fatalf("KeyAdd: %v", err)
	}
	wantUnique(t, s.KeyAdd(ctx, &usher.SSHKey{UserID: b.ID, Title: "x", Key: "ssh-ed25519 AAAA", Fingerprint: "SHA256:one", CreatedAt: base}), "fingerprint")
	exp := base.Add(time.Hour)
	if err := s.KeyAdd(ctx, &usher.SSHKey{UserID: a.ID, Title: "desktop", Key: "k2", Fingerprint: "SHA256:two", CreatedAt: base, ExpiresAt: &exp}); err != nil {
		t.Fatal(err)
	}
	list, _ := s.KeyList(ctx, a.ID)
	if len(list) != 2 || list[0].Title != "laptop" || list[1].ExpiresAt == nil || !list[1].ExpiresAt.Equal(exp) {
		t.Fatalf("KeyList: %+v", list)
	}
	if got, err := s.KeyGet(ctx, k.ID); err != nil || got.Fingerprint != "SHA256:one" || got.UserID != a.ID {
		t.Fatalf("KeyGet: %+v, %v", got, err)
	}
	if err := s.KeyDelete(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.KeyDelete(ctx, k.ID))
	_, err := s.KeyGet(ctx, k.ID)
	wantNotFound(t, err)
}

func newGroup(kind usher.GroupKind, handle string) *usher.Group {
	return &usher.Group{Kind: kind, Handle: handle, Name: "The " + handle, CreatedAt: base, UpdatedAt: base}
}

func mustCreateGroup(t *testing.T, s store.Store, g *usher.Group) *usher.Group {
	t.Helper()
	if err := s.GroupCreate(context.Background(), g); err != nil {
		t.Fatalf("GroupCreate(%s): %v", g.Handle, err)
	}
	return g
}

func testGroups(t *testing.T, s store.Store) {
	ctx := context.Background()
	team := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "Platform"))
	wantUnique(t, s.GroupCreate(ctx, newGroup(usher.GroupTeam, "platform")), "handle")
	mustCreateGroup(t, s, newGroup(usher.GroupRole, "platform")) // another kind may share it
	got, err := s.GroupGet(ctx, 0, usher.GroupTeam, "PLATFORM")
	if err != nil || got.ID != team.ID || got.Name != "The Platform" || got.Version != 1 {
		t.Fatalf("GroupGet by handle: %+v, %v", got, err)
	}
	deleted := base.Add(time.Hour)
	up, err := s.GroupUpdate(ctx, team.ID, func(g *usher.Group) error { g.Description = "d"; g.DeletedAt = &deleted; return nil })
	if err != nil || up.Version != 2 {
		t.Fatalf("GroupUpdate: %+v, %v", up, err)
	}
	_, err = s.GroupGet(ctx, 0, usher.GroupTeam, "platform")
	wantNotFound(t, err)
	if got, _ := s.GroupGet(ctx, team.ID, "", ""); got.DeletedAt == nil || got.Description != "d" {
		t.Fatalf("deleted group by id: %+v", got)
	}
	mustCreateGroup(t, s, newGroup(usher.GroupTeam, "platform")) // the handle is free
	_, err = s.GroupUpdate(ctx, team.ID, func(g *usher.Group) error { g.DeletedAt = nil; return nil })
	wantUnique(t, err, "handle")
	mustCreateGroup(t, s, newGroup(usher.GroupInternal, "inventory-42"))
	kinds := func(f usher.GroupFilter) string {
		gs, err := s.GroupList(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gs {
			out = append(out, string(g.Kind)+":"+g.Handle)
		}
		return fmt.Sprint(out)
	}
	if got := kinds(usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam}}); got != "[team:platform]" {
		t.Errorf("teams: %s", got)
	}
	if got := kinds(usher.GroupFilter{Deleted: usher.Only}); got != "[team:Platform]" {
		t.Errorf("deleted: %s", got)
	}
	if got := kinds(usher.GroupFilter{Query: "INVENT"}); got != "[internal:inventory-42]" {
		t.Errorf("query: %s", got)
	}
	if got := kinds(usher.GroupFilter{Page: usher.PageRequest{Limit: 1, After: &usher.Cursor{ID: team.ID}}}); got != "[role:platform]" {
		t.Errorf("after: %s", got)
	}
}

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
	members, _ := s.GroupMembers(ctx, t1.ID, 0, 10)
	if len(members) != 2 || members[0].User.Username != "alice" || members[1].Level != usher.LevelWrite {
		t.Fatalf("GroupMembers: %+v", members)
	}
	if page, _ := s.GroupMembers(ctx, t1.ID, a.ID, 10); len(page) != 1 || page[0].UserID != b.ID {
		t.Fatalf("GroupMembers after alice: %+v", page)
	}
	groups, _ := s.UserGroups(ctx, b.ID)
	if len(groups) != 2 || groups[0].Group.Handle != "one" || groups[1].Level != usher.LevelOwner {
		t.Fatalf("UserGroups: %+v", groups)
	}
	if gs, _ := s.GroupList(ctx, usher.GroupFilter{MemberID: c.ID}); len(gs) != 1 || gs[0].ID != t2.ID || gs[0].Members != 2 {
		t.Fatalf("GroupList by member: %+v", gs)
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
	if left, _ := s.GroupMembers(ctx, t2.ID, 0, 10); len(left) != 0 {
		t.Fatalf("MembershipDeleteGroup kept members: %v", levels(left))
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
// each with its group's counts: members, the service accounts among them,
// and the live roles its members hold.
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

func testRules(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	r1 := mustCreateGroup(t, s, newGroup(usher.GroupRole, "helpdesk"))
	r2 := mustCreateGroup(t, s, newGroup(usher.GroupRole, "auditors"))
	archived := mustCreateGroup(t, s, newGroup(usher.GroupRole, "old"))
	rule := func(role *usher.Group, res, op string, acc usher.Access) {
		if err := s.RuleSet(ctx, usher.Rule{RoleID: role.ID, Resource: res, Operation: op, Access: acc}); err != nil {
			t.Fatal(err)
		}
	}
	rule(r1, "user", "block", usher.Allow)
	rule(r1, "user", "delete", usher.Allow)
	rule(r1, "user", "delete", usher.Deny) // replaces
	rule(r2, "audit", "read", usher.Allow)
	rule(r2, "user", "block", usher.Deny)
	rule(archived, "user", "purge", usher.Allow)
	at := base
	if _, err := s.GroupUpdate(ctx, archived.ID, func(g *usher.Group) error { g.ArchivedAt = &at; return nil }); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.RuleList(ctx, r1.ID); fmt.Sprint(rs) != fmt.Sprintf("[{%d user block allow} {%d user delete deny}]", r1.ID, r1.ID) {
		t.Fatalf("RuleList: %v", rs)
	}
	for _, g := range []*usher.Group{r1, r2, archived} {
		if err := s.MembershipSet(ctx, usher.Membership{GroupID: g.ID, UserID: a.ID, Level: usher.LevelMember, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	if rs, _ := s.RulesFor(ctx, a.ID); len(rs) != 4 {
		t.Fatalf("RulesFor (the archived role's rules do not count): %v", rs)
	}
	if n, _ := s.RuleDelete(ctx, r1.ID, "user", "block"); n != 1 {
		t.Fatalf("RuleDelete one: %d", n)
	}
	if n, _ := s.RuleDelete(ctx, r2.ID, "", ""); n != 2 {
		t.Fatalf("RuleDelete all: %d", n)
	}
	if rs, _ := s.RuleList(ctx, r1.ID); len(rs) != 1 || rs[0].Operation != "delete" {
		t.Fatalf("RuleDelete took another role's rules: %v", rs)
	}
}

func testPlans(t *testing.T, s store.Store) {
	ctx := context.Background()
	free := &usher.Plan{Name: "Free", ProjectLimit: 3, Default: true, CreatedAt: base, UpdatedAt: base}
	if err := s.PlanCreate(ctx, free); err != nil {
		t.Fatal(err)
	}
	wantUnique(t, s.PlanCreate(ctx, &usher.Plan{Name: "free", CreatedAt: base, UpdatedAt: base}), "name")
	wantUnique(t, s.PlanCreate(ctx, &usher.Plan{Name: "pro", Default: true, CreatedAt: base, UpdatedAt: base}), "default")
	if err := s.PlanCreate(ctx, &usher.Plan{Name: "Pro", CanCreateTeam: true, ProjectLimit: 100, CreatedAt: base, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PlanGet(ctx, ""); err != nil || p.Name != "Free" || p.ProjectLimit != 3 {
		t.Fatalf("the default plan: %+v, %v", p, err)
	}
	if p, err := s.PlanGet(ctx, "PRO"); err != nil || !p.CanCreateTeam || p.Default {
		t.Fatalf("PlanGet: %+v, %v", p, err)
	}
	// Moving the default: clear, then set.
	if _, err := s.PlanUpdate(ctx, "free", func(p *usher.Plan) error { p.Default = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PlanUpdate(ctx, "pro", func(p *usher.Plan) error { p.Default = true; p.Name = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.PlanGet(ctx, ""); p.Name != "Pro" {
		t.Fatalf("the default after the move: %+v", p)
	}
	u := newUser("alice", "", "")
	u.Plan = "Pro"
	mustCreateUser(t, s, u)
	if err := s.PlanDelete(ctx, "pro"); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, usher.UserKey{ID: u.ID}); got.Plan != "" {
		t.Fatalf("a deleted plan's user keeps %q", got.Plan)
	}
	wantNotFound(t, s.PlanDelete(ctx, "pro"))
	_, err := s.PlanUpdate(ctx, "nope", func(p *usher.Plan) error { return nil })
	wantNotFound(t, err)
	if list, _ := s.PlanList(ctx); len(list) != 1 {
		t.Fatalf("PlanList: %v", list)
	}
}

func testOrganisations(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := &usher.Organisation{Handle: "Acme", Name: "Acme Inc.", CreatedAt: base, UpdatedAt: base}
	if err := s.OrgCreate(ctx, o); err != nil || o.ID == 0 {
		t.Fatal(err)
	}
	wantUnique(t, s.OrgCreate(ctx, &usher.Organisation{Handle: "acme", CreatedAt: base, UpdatedAt: base}), "handle")
	if got, err := s.OrgGet(ctx, 0, "ACME"); err != nil || got.ID != o.ID {
		t.Fatalf("OrgGet: %+v, %v", got, err)
	}
	g := newGroup(usher.GroupTeam, "t")
	g.OrganisationID = o.ID
	mustCreateGroup(t, s, g)
	if gs, _ := s.GroupList(ctx, usher.GroupFilter{OrganisationID: o.ID}); len(gs) != 1 {
		t.Fatalf("groups of the organisation: %v", gs)
	}
	at := base.Add(time.Hour)
	if _, err := s.OrgUpdate(ctx, o.ID, func(o *usher.Organisation) error { o.ArchivedAt = &at; return nil }); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.OrgList(ctx, usher.Exclude, usher.Exclude, 0, 10); len(list) != 0 {
		t.Fatalf("archived organisations are listed: %v", list)
	}
	if list, _ := s.OrgList(ctx, usher.Only, usher.Exclude, 0, 10); len(list) != 1 || list[0].ArchivedAt == nil {
		t.Fatalf("archived only: %v", list)
	}
}

func testSettingsAndAvatars(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	for k, v := range map[string]string{"theme": `"dark"`, "notify": `{"mail":true,"digest":"weekly"}`} {
		if err := s.SettingPut(ctx, a.ID, usher.Setting{Key: k, Value: []byte(v), UpdatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SettingPut(ctx, a.ID, usher.Setting{Key: "theme", Value: []byte(`"light"`), UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	list, _ := s.SettingList(ctx, a.ID)
	if len(list) != 2 || list[0].Key != "notify" || list[1].Key != "theme" {
		t.Fatalf("SettingList: %v", list)
	}
	var notify map[string]any
	if err := json.Unmarshal(list[0].Value, &notify); err != nil || notify["digest"] != "weekly" {
		t.Fatalf("a JSON value does not round-trip: %s", list[0].Value)
	}
	if string(list[1].Value) != `"light"` {
		t.Fatalf("theme = %s", list[1].Value)
	}
	if err := s.SettingDelete(ctx, a.ID, "theme"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.SettingList(ctx, a.ID); len(list) != 1 {
		t.Fatalf("after delete: %v", list)
	}
	_, err := s.AvatarGet(ctx, a.ID)
	wantNotFound(t, err)
	png := []byte("\x89PNG\r\n\x1a\n....")
	if err := s.AvatarPut(ctx, &usher.Avatar{UserID: a.ID, ContentType: "image/png", Data: png, ETag: "e1", UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.AvatarPut(ctx, &usher.Avatar{UserID: a.ID, ContentType: "image/png", Data: png, ETag: "e2", UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if av, err := s.AvatarGet(ctx, a.ID); err != nil || av.ETag != "e2" || string(av.Data) != string(png) {
		t.Fatalf("AvatarGet: %+v, %v", av, err)
	}
	if err := s.AvatarDelete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.AvatarDelete(ctx, a.ID))
}
