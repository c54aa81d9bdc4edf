package core_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

type groupBundle struct {
	*bundle
	g     *core.Groups
	bob   *usher.User
	carol *usher.User
}

func setupGroups(t *testing.T) *groupBundle {
	t.Helper()
	b := setup(t)
	return &groupBundle{bundle: b, g: b.env.Core.Groups,
		bob:   b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"}),
		carol: b.env.MustCreateUser(t, usher.UserCreate{Username: "carol"})}
}

func team(h string) usher.GroupRef { return usher.GroupRef{Kind: usher.GroupTeam, Handle: h} }

func TestTeams(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	ctx := as(b.alice)
	tm, err := b.g.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "platform", Name: "Platform"})
	if err != nil || tm.Members != 1 {
		t.Fatalf("create: %+v, %v", tm, err)
	}
	_, err = b.g.Create(as(b.bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "PLATFORM"})
	wantKind(t, err, usher.KindConflict, "handle_taken")
	// The creator owns it; others neither see nor change it.
	if _, level, err := b.g.Get(ctx, team("platform")); err != nil || level != usher.LevelOwner {
		t.Fatalf("owner's view: %v %v", level, err)
	}
	_, _, err = b.g.Get(as(b.bob), team("platform"))
	wantKind(t, err, usher.KindForbidden, "")
	_, _, err = b.g.Get(context.Background(), team("platform"))
	wantKind(t, err, usher.KindUnauthenticated, "")
	_, err = b.g.AddMember(as(b.bob), team("platform"), usher.UserKey{ID: b.bob.ID}, usher.LevelOwner)
	wantKind(t, err, usher.KindForbidden, "")
	// Levels: read sees, write changes, owner manages members.
	for _, m := range []struct {
		u *usher.User
		l usher.Level
	}{{b.bob, usher.LevelRead}, {b.carol, usher.LevelWrite}} {
		if _, err := b.g.AddMember(ctx, team("platform"), usher.UserKey{ID: m.u.ID}, m.l); err != nil {
			t.Fatal(err)
		}
	}
	_, err = b.g.AddMember(ctx, team("platform"), usher.UserKey{ID: b.bob.ID}, "member")
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	if _, _, err := b.g.Get(as(b.bob), team("platform")); err != nil {
		t.Fatalf("a reader sees the team: %v", err)
	}
	_, err = b.g.Update(as(b.bob), team("platform"), usher.GroupUpdate{Description: ptr("x")})
	wantKind(t, err, usher.KindForbidden, "")
	if _, err := b.g.Update(as(b.carol), team("platform"), usher.GroupUpdate{Description: ptr("ours")}); err != nil {
		t.Fatalf("a writer changes it: %v", err)
	}
	_, err = b.g.AddMember(as(b.carol), team("platform"), usher.UserKey{ID: b.bob.ID}, usher.LevelWrite)
	wantKind(t, err, usher.KindForbidden, "")
	members, err := b.g.Members(as(b.bob), team("platform"), usher.PageRequest{Limit: 100})
	if err != nil || len(members.Items) != 3 || members.Items[1].User.Email != "" {
		t.Fatalf("members: %v %v", members, err)
	}
	// A team keeps an owner; the last owner can neither leave nor be
	// deleted.
	err = b.g.RemoveMember(ctx, team("platform"), usher.UserKey{ID: b.alice.ID})
	wantKind(t, err, usher.KindConflict, "last_owner")
	_, err = b.users.Delete(as(b.admin), usher.UserKey{ID: b.alice.ID})
	wantKind(t, err, usher.KindConflict, "last_team_owner")
	// A member may leave on their own.
	if err := b.g.RemoveMember(as(b.bob), team("platform"), usher.UserKey{ID: b.bob.ID}); err != nil {
		t.Fatalf("leaving: %v", err)
	}
	// The team list shows a plain user only their teams.
	if list, _ := b.g.List(as(b.bob), usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam}}); len(list.Items) != 0 {
		t.Fatalf("bob lists %v", list)
	}
	if list, _ := b.g.List(as(b.carol), usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam}}); len(list.Items) != 1 {
		t.Fatalf("carol lists %v", list)
	}
	if _, err := b.g.Delete(ctx, team("platform")); err != nil {
		t.Fatal(err)
	}
	_, _, err = b.g.Get(ctx, team("platform"))
	wantKind(t, err, usher.KindNotFound, "group_not_found")
}

func TestInternalGroupsAreInvisible(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	if _, err := b.g.Create(as(b.alice), usher.GroupCreate{Kind: usher.GroupInternal, Handle: "inventory-1"}); usher.ErrorKind(err) != usher.KindForbidden {
		t.Fatalf("a plain user makes an internal group: %v", err)
	}
	in, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupInternal, Handle: "inventory-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.AddMember(as(b.admin), usher.GroupRef{ID: in.ID}, usher.UserKey{ID: b.alice.ID}, ""); err != nil {
		t.Fatal(err)
	}
	_, _, err = b.g.Get(as(b.alice), usher.GroupRef{ID: in.ID})
	wantKind(t, err, usher.KindNotFound, "group_not_found")
	if list, _ := b.g.List(as(b.alice), usher.GroupFilter{}); len(list.Items) != 0 {
		t.Fatalf("internal group listed: %v", list)
	}
	if ms, _ := b.g.UserGroups(as(b.alice), usher.UserKey{ID: b.alice.ID}); len(ms) != 0 {
		t.Fatalf("internal membership listed: %v", ms)
	}
	if ms, _ := b.g.UserGroups(as(b.admin), usher.UserKey{ID: b.alice.ID}); len(ms) != 1 {
		t.Fatalf("the admin does not see it: %v", ms)
	}
}

// TestTeamsAndInternalGroupsShareHandles: a team and a live internal group
// never hold one handle, however it is set (create, rename, undelete, an
// internal group made on first use), since Escape names both by bare
// handle in one list; roles keep handles of their own.
func TestTeamsAndInternalGroupsShareHandles(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	admin, ctx := as(b.admin), as(b.alice)
	internal := func(h string) usher.GroupRef { return usher.GroupRef{Kind: usher.GroupInternal, Handle: h} }
	if _, err := b.g.Create(admin, usher.GroupCreate{Kind: usher.GroupInternal, Handle: "ops"}); err != nil {
		t.Fatal(err)
	}
	_, err := b.g.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "OPS"})
	wantKind(t, err, usher.KindConflict, usher.CodeHandleTaken)
	if _, err := b.g.Create(admin, usher.GroupCreate{Kind: usher.GroupRole, Handle: "ops"}); err != nil {
		t.Fatalf("a role of an internal group's handle: %v", err)
	}
	if _, err := b.g.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "dev"}); err != nil {
		t.Fatal(err)
	}
	ops := "ops"
	_, err = b.g.Update(ctx, team("dev"), usher.GroupUpdate{Handle: &ops})
	wantKind(t, err, usher.KindConflict, usher.CodeHandleTaken)
	_, err = b.g.Create(admin, usher.GroupCreate{Kind: usher.GroupInternal, Handle: "Dev"})
	wantKind(t, err, usher.KindConflict, usher.CodeHandleTaken)
	_, err = b.g.JoinGroup(admin, internal("dev"), usher.UserKey{ID: b.bob.ID}, "")
	wantKind(t, err, usher.KindConflict, usher.CodeHandleTaken)
	// A name is free again once its holder is deleted, and taken back
	// from the other kind by no undelete.
	dev, err := b.g.Delete(ctx, team("dev"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.Create(admin, usher.GroupCreate{Kind: usher.GroupInternal, Handle: "dev"}); err != nil {
		t.Fatalf("an internal group of a deleted team's handle: %v", err)
	}
	_, err = b.g.Undelete(admin, usher.GroupRef{ID: dev.ID})
	wantKind(t, err, usher.KindConflict, usher.CodeHandleTaken)
	if _, err := b.g.Delete(admin, internal("dev")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.Undelete(admin, usher.GroupRef{ID: dev.ID}); err != nil {
		t.Fatalf("undelete once the handle is free: %v", err)
	}
}

func TestPlansDecideTeams(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	plans := b.env.Core.Plans
	if _, err := plans.Create(as(b.admin), usher.Plan{Name: "free", ProjectLimit: 1, Default: true}); err != nil {
		t.Fatal(err)
	}
	_, err := plans.Create(as(b.admin), usher.Plan{Name: "FREE"})
	wantKind(t, err, usher.KindConflict, "plan_exists")
	if _, err := plans.Create(as(b.admin), usher.Plan{Name: "pro", CanCreateTeam: true, ProjectLimit: 50}); err != nil {
		t.Fatal(err)
	}
	_, err = plans.Create(as(b.alice), usher.Plan{Name: "mine"})
	wantKind(t, err, usher.KindForbidden, "")
	_, err = b.g.Create(as(b.alice), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t1"})
	wantKind(t, err, usher.KindForbidden, "plan_forbids_teams")
	if _, err := b.users.Update(as(b.admin), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Plan: ptr("Pro")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.Create(as(b.alice), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t1"}); err != nil {
		t.Fatalf("on the pro plan: %v", err)
	}
	_, err = b.users.Update(as(b.admin), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Plan: ptr("gold")})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	// The default moves; a deleted plan's users fall back to the default.
	if _, err := plans.Update(as(b.admin), "pro", usher.PlanUpdate{CanCreateTeam: true, ProjectLimit: 60, Default: new(true)}); err != nil {
		t.Fatal(err)
	}
	if def, _ := plans.Default(as(b.alice)); def != "pro" {
		t.Fatalf("default = %q", def)
	}
	// The plan that lost it records so: its log ended at its creation,
	// and its updated_at too (a review of the first version).
	if free, err := plans.Get(as(b.admin), "free"); err != nil || free.Default || !free.UpdatedAt.After(free.CreatedAt) {
		t.Fatalf("plan free after losing the default: %+v, %v; want updated since its creation", free, err)
	}
	events, err := b.env.Core.Audit.List(as(b.admin), usher.AuditFilter{ResourceType: "plan", ResourceID: "free", Action: "plan.update"})
	if err != nil || len(events.Items) != 1 || events.Items[0].Changes["default"] != (usher.Change{Old: true, New: false}) {
		t.Fatalf("plan free's updates: %+v, %v; want one, default true → false", events, err)
	}
	if err := plans.Delete(as(b.admin), "pro"); err != nil {
		t.Fatal(err)
	}
	err = plans.Delete(as(b.admin), "pro")
	wantKind(t, err, usher.KindNotFound, "plan_not_found")
	_, err = plans.Update(as(b.admin), "nope", usher.PlanUpdate{})
	wantKind(t, err, usher.KindNotFound, "plan_not_found")
	if u, _ := b.users.Get(as(b.admin), usher.UserKey{ID: b.alice.ID}); u.Plan != "" {
		t.Fatalf("plan after its deletion: %q", u.Plan)
	}
	_, err = b.g.Create(as(b.alice), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t2"})
	wantKind(t, err, usher.KindForbidden, "plan_forbids_teams")
}

func TestRulesGrantAndDeny(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	helpdesk, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupRole, Handle: "helpdesk"})
	if err != nil {
		t.Fatal(err)
	}
	role := usher.GroupRef{ID: helpdesk.ID}
	_, err = b.g.SetRules(as(b.admin), role, []usher.Rule{{Resource: "user", Operation: "teleport", Access: usher.Allow}}, true)
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	_, err = b.g.SetRules(as(b.admin), role, []usher.Rule{{Resource: "user", Operation: "state", Access: "maybe"}}, true)
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	if _, err := b.g.SetRules(as(b.admin), role, []usher.Rule{
		{Resource: "user", Operation: "state", Access: usher.Allow},
		{Resource: "user:" + fmt.Sprint(b.admin.ID), Operation: "state", Access: usher.Deny},
		{Resource: "user", Operation: "list", Access: usher.Deny},
	}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.AddMember(as(b.admin), role, usher.UserKey{ID: b.bob.ID}, ""); err != nil {
		t.Fatal(err)
	}
	// The rule lets bob block alice, not the admin; and denies what the
	// default allows.
	if _, err := b.users.Block(as(b.bob), usher.UserKey{ID: b.alice.ID}); err != nil {
		t.Fatalf("helpdesk blocks: %v", err)
	}
	_, err = b.users.Block(as(b.bob), usher.UserKey{ID: b.admin.ID})
	wantKind(t, err, usher.KindForbidden, "")
	_, err = b.users.List(as(b.bob), usher.UserFilter{})
	wantKind(t, err, usher.KindForbidden, "")
	if _, err := b.users.List(as(b.carol), usher.UserFilter{}); err != nil {
		t.Fatalf("carol lists users: %v", err)
	}
	perms, err := b.g.Effective(as(b.bob), "user")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range perms {
		got[p.Operation] = p.Allow
	}
	if !got["state"] || got["list"] || !got["read"] || got["purge"] {
		t.Fatalf("bob's effective permissions on users: %v", got)
	}
	one, _ := b.g.Effective(as(b.bob), "user:"+fmt.Sprint(b.admin.ID))
	for _, p := range one {
		if p.Operation == "state" && p.Allow {
			t.Fatal("the instance deny does not show")
		}
	}
	_, err = b.g.Effective(as(b.bob), "spaceship")
	wantKind(t, err, usher.KindInvalid, "")
	if ops, err := b.g.Operations(as(b.bob)); err != nil || len(ops) < 20 {
		t.Fatalf("operations: %d, %v", len(ops), err)
	}
	_, err = b.g.Operations(context.Background())
	wantKind(t, err, usher.KindUnauthenticated, "")
	// An archived role's rules stop applying.
	if _, err := b.g.SetArchived(as(b.admin), role, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.users.List(as(b.bob), usher.UserFilter{}); err != nil {
		t.Fatalf("after archiving: %v", err)
	}
	if n, err := b.g.DeleteRules(as(b.admin), role); err != nil || n != 3 {
		t.Fatalf("DeleteRules = %d, %v", n, err)
	}
}

// TestMergeRoles: merging two roles with overlapping members and rules
// gives the union, deny winning, in one transaction, audited.
func TestMergeRoles(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	ctx := as(b.admin)
	src, _ := b.g.Create(ctx, usher.GroupCreate{Kind: usher.GroupRole, Handle: "ops"})
	dst, _ := b.g.Create(ctx, usher.GroupCreate{Kind: usher.GroupRole, Handle: "sre"})
	for _, m := range []struct {
		g *usher.Group
		u *usher.User
	}{{src, b.alice}, {src, b.bob}, {dst, b.bob}, {dst, b.carol}} {
		if _, err := b.g.AddMember(ctx, usher.GroupRef{ID: m.g.ID}, usher.UserKey{ID: m.u.ID}, ""); err != nil {
			t.Fatal(err)
		}
	}
	b.g.SetRules(ctx, usher.GroupRef{ID: src.ID}, []usher.Rule{{Resource: "user", Operation: "state", Access: usher.Deny}, {Resource: "audit", Operation: "read", Access: usher.Allow}}, true)
	b.g.SetRules(ctx, usher.GroupRef{ID: dst.ID}, []usher.Rule{{Resource: "user", Operation: "state", Access: usher.Allow}, {Resource: "user", Operation: "purge", Access: usher.Allow}}, true)
	_, err := b.g.Merge(ctx, usher.GroupRef{ID: src.ID}, usher.GroupRef{ID: src.ID})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	tm, _ := b.g.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "a-team"})
	_, err = b.g.Merge(ctx, usher.GroupRef{ID: src.ID}, usher.GroupRef{ID: tm.ID})
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	if _, err := b.g.Merge(ctx, usher.GroupRef{ID: src.ID}, usher.GroupRef{ID: dst.ID}); err != nil {
		t.Fatal(err)
	}
	members, _ := b.g.Members(ctx, usher.GroupRef{ID: dst.ID}, usher.PageRequest{Limit: 100})
	var names []string
	for _, m := range members.Items {
		names = append(names, m.User.Username)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[alice bob carol]" {
		t.Fatalf("members after the merge: %v", names)
	}
	rules, _ := b.g.Rules(ctx, usher.GroupRef{ID: dst.ID})
	if fmt.Sprint(rules) != fmt.Sprintf("[{%d audit read allow} {%d user purge allow} {%d user state deny}]", dst.ID, dst.ID, dst.ID) {
		t.Fatalf("rules after the merge: %v", rules)
	}
	_, _, err = b.g.Get(ctx, usher.GroupRef{Kind: usher.GroupRole, Handle: "ops"})
	wantKind(t, err, usher.KindNotFound, "group_not_found")
	page, _ := b.env.Core.Audit.List(ctx, usher.AuditFilter{Action: "group.merge"})
	if len(page.Items) != 1 || page.Items[0].Meta["source_handle"] != "ops" {
		t.Fatalf("merge audit: %+v", page.Items)
	}
}

// TestSetUserGroups follows Lenses' semantics.
func TestSetUserGroups(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	ctx := as(b.admin)
	for _, h := range []string{"dev", "ops", "qa"} {
		if _, err := b.g.Create(ctx, usher.GroupCreate{Kind: usher.GroupPlain, Handle: h}); err != nil {
			t.Fatal(err)
		}
	}
	bob := usher.UserKey{ID: b.bob.ID}
	handles := func(ms []*usher.Membership) string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Group.Handle)
		}
		return fmt.Sprint(out)
	}
	tests := []struct {
		name string
		in   usher.GroupChanges
		want string
		kind usher.Kind
	}{
		{"add two", usher.GroupChanges{Add: []string{"dev", "ops"}}, "[dev ops]", 0},
		{"removal wins over addition", usher.GroupChanges{Add: []string{"qa"}, Remove: []string{"qa", "dev"}}, "[ops]", 0},
		{"set", usher.GroupChanges{Set: []string{"qa", "dev"}}, "[dev qa]", 0},
		{"set and add", usher.GroupChanges{Set: []string{"qa"}, Add: []string{"dev"}}, "", usher.KindInvalid},
		{"unknown group", usher.GroupChanges{Add: []string{"nope"}}, "", usher.KindNotFound},
		{"set to none", usher.GroupChanges{Set: []string{}}, "[]", 0},
	}
	for _, tt := range tests {
		ms, err := b.g.SetUserGroups(ctx, bob, tt.in)
		if tt.kind != 0 {
			if usher.ErrorKind(err) != tt.kind {
				t.Errorf("%s: %v, want %s", tt.name, err, tt.kind)
			}
			continue
		}
		if err != nil || handles(ms) != tt.want {
			t.Errorf("%s: %s %v, want %s", tt.name, handles(ms), err, tt.want)
		}
	}
	_, err := b.g.SetUserGroups(as(b.alice), bob, usher.GroupChanges{Add: []string{"dev"}})
	wantKind(t, err, usher.KindForbidden, "")
}

func TestServiceAccounts(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	owner := as(b.alice)
	if _, err := b.g.Create(owner, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "build"}); err != nil {
		t.Fatal(err)
	}
	sa, err := b.g.CreateServiceAccount(owner, team("build"), "build-bot", "Build Bot")
	if err != nil || sa.Kind != usher.KindServiceAccount {
		t.Fatalf("create: %+v, %v", sa, err)
	}
	_, err = b.g.CreateServiceAccount(as(b.bob), team("build"), "bob-bot", "")
	wantKind(t, err, usher.KindForbidden, "")
	_, first, err := b.g.ServiceAccountToken(owner, team("build"), usher.UserKey{Username: "build-bot"}, false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.env.Core.Auth.Authenticate(context.Background(), first)
	if err != nil || p.Kind != usher.PrincipalServiceAccount || p.User.ID != sa.ID {
		t.Fatalf("the token: %+v, %v", p, err)
	}
	// A service account has no password to log in with.
	_, err = b.env.Core.Auth.Login(from("192.0.2.9"), "build-bot", "anything at all")
	wantKind(t, err, usher.KindUnauthenticated, "invalid_credentials")
	_, second, err := b.g.ServiceAccountToken(owner, team("build"), usher.UserKey{Username: "build-bot"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), first); err == nil {
		t.Fatal("regenerating left the old token working")
	}
	list, _ := b.g.ServiceAccounts(owner, team("build"), usher.PageRequest{})
	if len(list.Items) != 1 || list.Items[0].Username != "build-bot" {
		t.Fatalf("list: %v", list)
	}
	_, _, err = b.g.ServiceAccountToken(owner, team("build"), usher.UserKey{Username: "alice"}, false)
	wantKind(t, err, usher.KindNotFound, "service_account_not_found")
	if err := b.g.DeleteServiceAccount(owner, team("build"), usher.UserKey{Username: "build-bot"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), second); err == nil {
		t.Fatal("a deleted service account's token works")
	}
}

func TestOrganisations(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	orgs := b.env.Core.Orgs
	o, err := orgs.Create(as(b.admin), "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	_, err = orgs.Create(as(b.alice), "evil", "")
	wantKind(t, err, usher.KindForbidden, "")
	_, err = orgs.Create(as(b.admin), "ACME", "")
	wantKind(t, err, usher.KindConflict, "handle_taken")
	tm, _ := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t", OrganisationID: o.ID})
	_, err = orgs.Update(as(b.admin), o.ID, usher.OrganisationUpdate{Deleted: ptr(true)})
	wantKind(t, err, usher.KindConflict, "organisation_not_empty")
	if _, err := b.g.Move(as(b.admin), usher.GroupRef{ID: tm.ID}, 0); err != nil {
		t.Fatal(err)
	}
	_, err = b.g.Move(as(b.admin), usher.GroupRef{ID: tm.ID}, 999)
	wantKind(t, err, usher.KindNotFound, "organisation_not_found")
	if got, err := orgs.Update(as(b.admin), o.ID, usher.OrganisationUpdate{Archived: ptr(true), Name: ptr("Acme Inc.")}); err != nil || got.ArchivedAt == nil {
		t.Fatalf("archive: %+v %v", got, err)
	}
	if _, err := orgs.Update(as(b.admin), o.ID, usher.OrganisationUpdate{Deleted: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = orgs.Get(as(b.alice), o.ID, "")
	wantKind(t, err, usher.KindNotFound, "organisation_not_found")
}

// TestListPagesPastHiddenTeams: a page of a plain user's list is full as
// long as visible groups remain, however many teams they may not see lie
// between.
func TestListPagesPastHiddenTeams(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	var want []int64
	for i := range 12 {
		// Bob's teams alternate with alice's and a few plain groups.
		if g, err := b.g.Create(as(b.bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: fmt.Sprintf("bob-%d", i)}); err != nil {
			t.Fatal(err)
		} else {
			want = append(want, g.ID)
		}
		for j := range 3 {
			if _, err := b.g.Create(as(b.alice), usher.GroupCreate{Kind: usher.GroupTeam, Handle: fmt.Sprintf("alice-%d-%d", i, j)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []int64
	f := usher.GroupFilter{Page: usher.PageRequest{Limit: 5}}
	for pages := 0; ; pages++ {
		page, err := b.g.List(as(b.bob), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.Items {
			got = append(got, g.ID)
		}
		if page.Next == nil {
			if pages != 2 {
				t.Fatalf("%d pages, want 3 (5, 5, 2)", pages+1)
			}
			break
		}
		f.Page.After = page.Next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("bob's groups %v, want %v", got, want)
	}
}

// TestMergeTeamsKeepsHigherLevel: merging teams keeps, for a principal in
// both, the higher of the two levels whichever side holds it, and moves
// every member of a team larger than one page of the merge.
func TestMergeTeamsKeepsHigherLevel(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	ctx := as(b.admin)
	src, _ := b.g.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "src"})
	dst, _ := b.g.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "dst"})
	set := func(g *usher.Group, u *usher.User, l usher.Level) {
		t.Helper()
		if _, err := b.g.AddMember(ctx, usher.GroupRef{ID: g.ID}, usher.UserKey{ID: u.ID}, l); err != nil {
			t.Fatal(err)
		}
	}
	set(src, b.alice, usher.LevelOwner) // higher in the source
	set(dst, b.alice, usher.LevelRead)
	set(src, b.bob, usher.LevelRead) // higher in the target
	set(dst, b.bob, usher.LevelWrite)
	set(src, b.carol, usher.LevelWrite) // only in the source
	const many = 520
	for i := range many {
		u := b.env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("m%03d", i)})
		set(src, u, usher.LevelRead)
	}
	if _, err := b.g.Merge(ctx, usher.GroupRef{ID: src.ID}, usher.GroupRef{ID: dst.ID}); err != nil {
		t.Fatal(err)
	}
	got := map[string]usher.Level{}
	for req := (usher.PageRequest{Limit: 200}); ; {
		page, err := b.g.Members(ctx, usher.GroupRef{ID: dst.ID}, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			got[m.User.Username] = m.Level
		}
		if page.Next == nil {
			break
		}
		req.After = page.Next
	}
	for name, want := range map[string]usher.Level{"alice": usher.LevelOwner, "bob": usher.LevelWrite, "carol": usher.LevelWrite, "m000": usher.LevelRead, fmt.Sprintf("m%03d", many-1): usher.LevelRead} {
		if got[name] != want {
			t.Errorf("%s: %q after the merge, want %q", name, got[name], want)
		}
	}
	// The admin who made both teams is their first owner, in both.
	if len(got) != many+4 {
		t.Errorf("%d members after the merge, want %d", len(got), many+4)
	}
}

// TestDeleteSoleOwnedTeams checks GitLab's choice for a team's last owner:
// a plain delete is refused; a delete with SoleOwnedTeams (hard_delete)
// deletes the teams the user alone owns with the user, each as a group
// delete (allowed to the caller, recorded), and keeps the teams others own
// too.
func TestDeleteSoleOwnedTeams(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	platform, err := b.g.Create(as(b.alice), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "platform"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.Create(as(b.alice), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "shared"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.AddMember(as(b.alice), team("shared"), usher.UserKey{ID: b.bob.ID}, usher.LevelOwner); err != nil {
		t.Fatal(err)
	}
	// carol may delete users by a rule, but no team.
	role, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupRole, Handle: "offboarding"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.SetRules(as(b.admin), usher.GroupRef{ID: role.ID},
		[]usher.Rule{{Resource: "user", Operation: "delete", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.AddMember(as(b.admin), usher.GroupRef{ID: role.ID}, usher.UserKey{ID: b.carol.ID}, ""); err != nil {
		t.Fatal(err)
	}
	alice := usher.UserKey{ID: b.alice.ID}
	for _, tt := range []struct {
		name   string
		caller *usher.User
		in     usher.UserDelete
		kind   usher.Kind
		code   string
	}{
		{"a plain delete", b.admin, usher.UserDelete{}, usher.KindConflict, usher.CodeLastTeamOwner},
		{"with the teams, by one who may not delete them", b.carol, usher.UserDelete{SoleOwnedTeams: true}, usher.KindForbidden, ""},
		{"with the teams, by a co-owner of one", b.bob, usher.UserDelete{SoleOwnedTeams: true}, usher.KindForbidden, ""},
	} {
		_, err := b.users.DeleteWith(as(tt.caller), alice, tt.in)
		wantKind(t, err, tt.kind, tt.code)
		if _, err := b.users.Get(as(b.admin), alice); err != nil {
			t.Fatalf("%s: alice went: %v", tt.name, err)
		}
		if gr, _, err := b.g.Get(as(b.admin), team("platform")); err != nil || gr.Deleted() {
			t.Fatalf("%s: the team went: %v", tt.name, err)
		}
	}
	u, err := b.users.DeleteWith(as(b.admin), alice, usher.UserDelete{SoleOwnedTeams: true})
	if err != nil || u.DeletedAt == nil {
		t.Fatalf("delete with the teams: %+v, %v", u, err)
	}
	// A deleted group holds no handle: administrators find it by id.
	if gr, _, err := b.g.Get(as(b.admin), usher.GroupRef{ID: platform.ID}); err != nil || !gr.Deleted() {
		t.Fatalf("the team alice alone owned: %+v, %v", gr, err)
	}
	if gr, _, err := b.g.Get(as(b.bob), team("shared")); err != nil || gr.Deleted() {
		t.Fatalf("the team bob owns too: %+v, %v", gr, err)
	}
	events, err := b.env.Core.Audit.List(as(b.admin), usher.AuditFilter{Action: "group.delete"})
	if err != nil || len(events.Items) != 1 {
		t.Fatalf("group.delete events: %+v, %v", events, err)
	}
}

// TestDeletedGroupTakesNoWrites: a deleted group's members, rules and
// service accounts are left as they were, for its restoring: not even an
// administrator changes them until the group is restored.
func TestDeletedGroupTakesNoWrites(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env := coretest.New(t, coretest.Options{Postgres: pg})
		admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
		member := env.MustCreateUser(t, usher.UserCreate{Username: "member", Email: "member@example.com"})
		other := env.MustCreateUser(t, usher.UserCreate{Username: "other", Email: "other@example.com"})
		groups := env.Core.Groups
		gone := func(kind usher.GroupKind, handle string) usher.GroupRef {
			g, err := groups.Create(as(admin), usher.GroupCreate{Kind: kind, Handle: handle, Members: []int64{member.ID}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := groups.Delete(as(admin), usher.GroupRef{ID: g.ID}); err != nil {
				t.Fatal(err)
			}
			return usher.GroupRef{ID: g.ID}
		}
		team, role, plain := gone(usher.GroupTeam, "gone-team"), gone(usher.GroupRole, "gone-role"), gone(usher.GroupPlain, "gone-plain")
		tests := []struct {
			name  string
			write func() error
		}{
			{"add a member", func() error {
				_, err := groups.AddMember(as(admin), team, usher.UserKey{ID: other.ID}, usher.LevelWrite)
				return err
			}},
			{"remove a member", func() error { return groups.RemoveMember(as(admin), team, usher.UserKey{ID: member.ID}) }},
			{"set its members", func() error {
				_, err := groups.Update(as(admin), team, usher.GroupUpdate{Members: []int64{other.ID}})
				return err
			}},
			{"join by handle", func() error {
				_, err := groups.SetUserGroups(as(admin), usher.UserKey{ID: other.ID}, usher.GroupChanges{Kind: usher.GroupPlain, Add: []string{"gone-plain"}})
				return err
			}},
			{"make a service account", func() error {
				_, err := groups.CreateServiceAccount(as(admin), team, "gone-bot", "")
				return err
			}},
			{"set a rule", func() error {
				_, err := groups.SetRules(as(admin), role, []usher.Rule{{Resource: "user", Operation: "read", Access: usher.Allow}}, false)
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantKind(t, tt.write(), usher.KindNotFound, usher.CodeGroupNotFound)
			})
		}
		for ref, want := range map[usher.GroupRef]int{team: 2, plain: 1} { // a team's maker is its owner
			page, err := groups.Members(as(admin), ref, usher.PageRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != want {
				t.Errorf("group %d has %d members, want the %d it had as it was deleted", ref.ID, len(page.Items), want)
			}
		}
	})
}
