package core_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"usher"
)

// allowed stands for no error in the tables below: the zero Kind is
// KindInternal, which no table expects.
const allowed = usher.KindInternal

// outcome is the kind of err, allowed for none.
func outcome(err error) usher.Kind {
	if err == nil {
		return allowed
	}
	return usher.ErrorKind(err)
}

// kindBundle is a group bundle with one group of each kind, made by an
// administrator, in which bob is a member at the kind's default level.
type kindBundle struct {
	*groupBundle
	groups map[usher.GroupKind]*usher.Group
}

func setupKinds(t *testing.T) *kindBundle {
	t.Helper()
	b := &kindBundle{groupBundle: setupGroups(t), groups: map[usher.GroupKind]*usher.Group{}}
	for _, k := range usher.GroupKinds {
		gr, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: k, Handle: "k-" + string(k)})
		if err != nil {
			t.Fatalf("create %s: %v", k, err)
		}
		if _, err := b.g.AddMember(as(b.admin), usher.GroupRef{ID: gr.ID}, usher.UserKey{ID: b.bob.ID}, ""); err != nil {
			t.Fatalf("add bob to %s: %v", k, err)
		}
		b.groups[k] = gr
	}
	return b
}

// mustRuleOn puts u in a new role whose one rule rules on reading the group.
func (b *kindBundle) mustRuleOn(t *testing.T, u *usher.User, gr *usher.Group, access usher.Access) {
	t.Helper()
	ctx := as(b.admin)
	role, err := b.g.Create(ctx, usher.GroupCreate{Kind: usher.GroupRole, Handle: string(access) + "-" + strconv.FormatInt(gr.ID, 10)})
	if err != nil {
		t.Fatal(err)
	}
	rule := usher.Rule{Resource: "group:" + strconv.FormatInt(gr.ID, 10), Operation: "read", Access: access}
	if _, err := b.g.SetRules(ctx, usher.GroupRef{ID: role.ID}, []usher.Rule{rule}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.AddMember(ctx, usher.GroupRef{ID: role.ID}, usher.UserKey{ID: u.ID}, ""); err != nil {
		t.Fatal(err)
	}
}

// TestGroupKindSight checks the one rule for who sees a group of each kind
// (sightOf), as Get, List and a user's groups each apply it: administrators
// every group; no one else an internal one, member or not, whatever a rule
// says; a team its members and whom a rule allows; roles and plain groups
// anyone signed in whom no rule denies.
func TestGroupKindSight(t *testing.T) {
	t.Parallel()
	b := setupKinds(t)
	dave := b.env.MustCreateUser(t, usher.UserCreate{Username: "dave"}) // a rule allows him each group
	erin := b.env.MustCreateUser(t, usher.UserCreate{Username: "erin"}) // a rule denies her each group
	for _, gr := range b.groups {
		b.mustRuleOn(t, dave, gr, usher.Allow)
		b.mustRuleOn(t, erin, gr, usher.Deny)
	}
	callers := []struct {
		name string
		u    *usher.User
	}{{"admin", b.admin}, {"member", b.bob}, {"other", b.carol}, {"allowed", dave}, {"denied", erin}}
	// What Get answers each caller.
	for _, tt := range []struct {
		kind usher.GroupKind
		want []usher.Kind // by caller, in the order above
	}{
		{usher.GroupTeam, []usher.Kind{allowed, allowed, usher.KindForbidden, allowed, usher.KindForbidden}},
		{usher.GroupRole, []usher.Kind{allowed, allowed, allowed, allowed, usher.KindForbidden}},
		{usher.GroupPlain, []usher.Kind{allowed, allowed, allowed, allowed, usher.KindForbidden}},
		{usher.GroupInternal, []usher.Kind{allowed, usher.KindNotFound, usher.KindNotFound, usher.KindNotFound, usher.KindNotFound}},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			gr := b.groups[tt.kind]
			for i, c := range callers {
				ctx := as(c.u)
				_, _, err := b.g.Get(ctx, usher.GroupRef{ID: gr.ID})
				if outcome(err) != tt.want[i] {
					t.Errorf("%s: Get = %v, want %v", c.name, err, tt.want[i])
				}
				sees := tt.want[i] == allowed
				list, err := b.g.List(ctx, usher.GroupFilter{Kinds: []usher.GroupKind{tt.kind}, Page: usher.PageRequest{Limit: 100}})
				if err != nil {
					t.Fatalf("%s: List: %v", c.name, err)
				}
				if got := slices.ContainsFunc(list.Items, func(g *usher.Group) bool { return g.ID == gr.ID }); got != sees {
					t.Errorf("%s: List has it = %v, want %v", c.name, got, sees)
				}
				if c.u == b.bob {
					continue // a principal sees every group of its own
				}
				ms, err := b.g.UserGroups(ctx, usher.UserKey{ID: b.bob.ID}, tt.kind)
				if err != nil {
					t.Fatalf("%s: UserGroups: %v", c.name, err)
				}
				if got := slices.ContainsFunc(ms, func(m *usher.Membership) bool { return m.GroupID == gr.ID }); got != sees {
					t.Errorf("%s: bob's groups have it = %v, want %v", c.name, got, sees)
				}
			}
			_, _, err := b.g.Get(context.Background(), usher.GroupRef{ID: gr.ID})
			wantKind(t, err, usher.KindUnauthenticated, "")
		})
	}
	// Only whoever sees a kind creates a group of it.
	_, err := b.g.Create(as(dave), usher.GroupCreate{Kind: usher.GroupInternal, Handle: "mine"})
	wantKind(t, err, usher.KindForbidden, "")
}

// TestGroupKindLevels checks the levels each kind gives (GroupKind.Levels):
// the ones a member may be given, the default, and what they let a member
// do by default — only a kind that gives write and owner lets its members
// change and manage it.
func TestGroupKindLevels(t *testing.T) {
	t.Parallel()
	b := setupKinds(t)
	all := []usher.Level{usher.LevelRead, usher.LevelWrite, usher.LevelOwner, usher.LevelMember}
	for _, tt := range []struct {
		kind       usher.GroupKind
		levels     []usher.Level
		owned      bool       // its creator owns it
		topManages usher.Kind // what its top level's member is told changing it
	}{
		{usher.GroupTeam, []usher.Level{usher.LevelRead, usher.LevelWrite, usher.LevelOwner}, true, allowed},
		{usher.GroupRole, []usher.Level{usher.LevelMember}, false, usher.KindForbidden},
		{usher.GroupPlain, []usher.Level{usher.LevelMember}, false, usher.KindForbidden},
		{usher.GroupInternal, []usher.Level{usher.LevelMember}, false, usher.KindNotFound},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			if got := tt.kind.Levels(); !slices.Equal(got, tt.levels) {
				t.Fatalf("Levels = %v, want %v", got, tt.levels)
			}
			if tt.kind.Owned() != tt.owned {
				t.Errorf("Owned = %v, want %v", tt.kind.Owned(), tt.owned)
			}
			ref := usher.GroupRef{ID: b.groups[tt.kind].ID}
			ctx := as(b.admin)
			// bob was added without a level: he has the default.
			ms, err := b.g.UserGroups(ctx, usher.UserKey{ID: b.bob.ID}, tt.kind)
			if err != nil || len(ms) != 1 || ms[0].Level != tt.levels[0] {
				t.Fatalf("bob's level: %v %v, want %s", ms, err, tt.levels[0])
			}
			for _, l := range all {
				_, err := b.g.AddMember(ctx, ref, usher.UserKey{ID: b.carol.ID}, l)
				if gives := slices.Contains(tt.levels, l); gives != (err == nil) {
					t.Errorf("AddMember at %s: %v, kind gives it: %v", l, err, gives)
				}
				if tt.kind.Gives(l) != slices.Contains(tt.levels, l) {
					t.Errorf("Gives(%s) = %v", l, tt.kind.Gives(l))
				}
			}
			// carol is now at the kind's top level.
			_, err = b.g.Update(as(b.carol), ref, usher.GroupUpdate{Description: ptr("by carol")})
			if outcome(err) != tt.topManages {
				t.Errorf("Update by a %s: %v, want %v", tt.levels[len(tt.levels)-1], err, tt.topManages)
			}
			// A group of an owned kind begins with its creator as owner.
			gr, err := b.g.Create(ctx, usher.GroupCreate{Kind: tt.kind, Handle: "made-" + string(tt.kind)})
			if err != nil || (gr.Members == 1) != tt.owned {
				t.Fatalf("create: %+v %v, owned %v", gr, err, tt.owned)
			}
		})
	}
}

// TestGroupKindServiceAccounts checks that only a kind that holds service
// accounts (GroupKind.HoldsServiceAccounts: teams) makes them.
func TestGroupKindServiceAccounts(t *testing.T) {
	t.Parallel()
	b := setupKinds(t)
	for _, tt := range []struct {
		kind  usher.GroupKind
		holds bool
	}{
		{usher.GroupTeam, true},
		{usher.GroupRole, false},
		{usher.GroupPlain, false},
		{usher.GroupInternal, false},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			if tt.kind.HoldsServiceAccounts() != tt.holds {
				t.Fatalf("HoldsServiceAccounts = %v", tt.kind.HoldsServiceAccounts())
			}
			ref := usher.GroupRef{ID: b.groups[tt.kind].ID}
			_, err := b.g.CreateServiceAccount(as(b.admin), ref, "bot-"+string(tt.kind), "")
			if tt.holds {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, usher.KindNotFound, usher.CodeTeamNotFound)
			_, err = b.g.ServiceAccounts(as(b.admin), ref, usher.PageRequest{})
			wantKind(t, err, usher.KindNotFound, usher.CodeTeamNotFound)
		})
	}
}

// TestGroupKindRules checks that only a kind that carries rules
// (GroupKind.CarriesRules: roles) has them.
func TestGroupKindRules(t *testing.T) {
	t.Parallel()
	b := setupKinds(t)
	rule := usher.Rule{Resource: "user", Operation: "list", Access: usher.Allow}
	for _, tt := range []struct {
		kind    usher.GroupKind
		carries bool
	}{
		{usher.GroupTeam, false},
		{usher.GroupRole, true},
		{usher.GroupPlain, false},
		{usher.GroupInternal, false},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			if tt.kind.CarriesRules() != tt.carries {
				t.Fatalf("CarriesRules = %v", tt.kind.CarriesRules())
			}
			ref := usher.GroupRef{ID: b.groups[tt.kind].ID}
			_, err := b.g.SetRules(as(b.admin), ref, []usher.Rule{rule}, false)
			if tt.carries {
				if err != nil {
					t.Fatal(err)
				}
				// Its rules reach its members: bob may now list users.
				got, err := b.g.Effective(as(b.bob), "user")
				if err != nil || !slices.Contains(got, usher.Permission{Resource: "user", Operation: "list", Allow: true}) {
					t.Fatalf("bob's permissions: %v %v", got, err)
				}
				return
			}
			wantKind(t, err, usher.KindNotFound, usher.CodeRoleNotFound)
			_, err = b.g.Rules(as(b.admin), ref)
			wantKind(t, err, usher.KindNotFound, usher.CodeRoleNotFound)
		})
	}
}

// TestGroupKindOutranks checks which kinds' memberships count as rights in
// the rule for another's credentials (outranks): a member of a group of any
// kind but a role holds a place a caller outside it lacks; a role's members
// are compared by its rules, and one that carries none gives nothing.
func TestGroupKindOutranks(t *testing.T) {
	t.Parallel()
	b := setupKinds(t)
	hd := helpdesk(t, b.groupBundle, "helpdesk", usher.Rule{Resource: "user", Operation: "update", Access: usher.Allow})
	for _, tt := range []struct {
		kind usher.GroupKind
		want usher.Kind // changing the password of a member of the kind
	}{
		{usher.GroupTeam, usher.KindForbidden},
		{usher.GroupRole, allowed},
		{usher.GroupPlain, usher.KindForbidden},
		{usher.GroupInternal, usher.KindForbidden},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			u := b.env.MustCreateUser(t, usher.UserCreate{Username: "in-" + string(tt.kind)})
			if _, err := b.g.AddMember(as(b.admin), usher.GroupRef{ID: b.groups[tt.kind].ID}, usher.UserKey{ID: u.ID}, ""); err != nil {
				t.Fatal(err)
			}
			pw := "Correct-Horse-Battery-9"
			_, err := b.users.Update(as(hd), usher.UserKey{ID: u.ID}, usher.UserUpdate{Password: &pw})
			if outcome(err) != tt.want {
				t.Fatalf("%v, want %v", err, tt.want)
			}
		})
	}
}

// TestMayCreateSaysWhatCreateDoes: Corteza's effective permissions told a
// plain user role.create was allowed (the core's group.create is a
// team's by default) while creating a role was refused (round 55).
// MayCreate decides each kind as Create does: for every caller and kind,
// it allows exactly what Create then makes.
func TestMayCreateSaysWhatCreateDoes(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	sys := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalSystem})
	role := func(handle string, rule usher.Rule, members ...*usher.User) {
		g, err := b.g.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: handle})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.g.SetRules(sys, usher.GroupRef{ID: g.ID}, []usher.Rule{rule}, true); err != nil {
			t.Fatal(err)
		}
		for _, u := range members {
			if _, err := b.g.AddMember(sys, usher.GroupRef{ID: g.ID}, usher.UserKey{ID: u.ID}, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	maker := b.env.MustCreateUser(t, usher.UserCreate{Username: "maker"})
	role("makers", usher.Rule{Resource: "group", Operation: "create", Access: usher.Allow}, maker)
	role("no-teams", usher.Rule{Resource: "group", Operation: "create", Access: usher.Deny}, b.carol)
	no := false
	outsider := b.env.MustCreateUser(t, usher.UserCreate{Username: "outsider", GitLab: usher.GitLabProfileUpdate{CanCreateGroup: &no}})
	bot := b.env.MustCreateUser(t, usher.UserCreate{Username: "bot", Kind: usher.KindServiceAccount})
	want := map[string]map[usher.GroupKind]usher.Kind{
		"bob (plain)":      {usher.GroupTeam: allowed, usher.GroupRole: usher.KindForbidden, usher.GroupPlain: usher.KindForbidden, usher.GroupInternal: usher.KindForbidden},
		"maker (a rule)":   {usher.GroupTeam: allowed, usher.GroupRole: allowed, usher.GroupPlain: allowed, usher.GroupInternal: usher.KindForbidden},
		"carol (denied)":   {usher.GroupTeam: usher.KindForbidden, usher.GroupRole: usher.KindForbidden},
		"outsider":         {usher.GroupTeam: usher.KindForbidden, usher.GroupRole: usher.KindForbidden},
		"bot (an account)": {usher.GroupTeam: usher.KindForbidden},
		"alice (admin)":    {usher.GroupTeam: allowed, usher.GroupRole: allowed, usher.GroupInternal: allowed},
	}
	callers := map[string]*usher.User{"bob (plain)": b.bob, "maker (a rule)": maker, "carol (denied)": b.carol,
		"outsider": outsider, "bot (an account)": bot, "alice (admin)": b.admin}
	n := 0
	for name, kinds := range want {
		ctx := as(callers[name])
		for kind, w := range kinds {
			if got := outcome(b.g.MayCreate(ctx, kind)); got != w {
				t.Errorf("%s, MayCreate(%s) = %v, want %v", name, kind, got, w)
			}
			n++
			_, err := b.g.Create(ctx, usher.GroupCreate{Kind: kind, Handle: "made-" + strconv.Itoa(n)})
			if got := outcome(err); got != w {
				t.Errorf("%s, Create(%s) = %v (%v), want %v as MayCreate says", name, kind, got, err, w)
			}
		}
	}
	if err := b.g.MayCreate(context.Background(), usher.GroupTeam); outcome(err) != usher.KindUnauthenticated {
		t.Errorf("anonymous: %v", err)
	}
	if err := b.g.MayCreate(as(b.bob), "club"); outcome(err) != usher.KindUnprocessable {
		t.Errorf("an unknown kind: %v", err)
	}
}
