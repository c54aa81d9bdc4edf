package core_test

import (
	"strconv"
	"strings"
	"testing"

	"usher"
)

// grantRole makes a role with rules and puts u in it.
func (b *groupBundle) grantRole(t *testing.T, handle string, u *usher.User, rules ...usher.Rule) {
	t.Helper()
	role, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupRole, Handle: handle})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.SetRules(as(b.admin), usher.GroupRef{ID: role.ID}, rules, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.AddMember(as(b.admin), usher.GroupRef{ID: role.ID}, usher.UserKey{ID: u.ID}, ""); err != nil {
		t.Fatal(err)
	}
}

func TestApplicationDefaultPolicy(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	apps := b.env.Core.Apps
	// Creation: administrators, or a rule.
	_, err := apps.Create(as(b.alice), usher.ApplicationCreate{Name: "crm"})
	wantKind(t, err, usher.KindForbidden, "")
	listed, err := apps.Create(as(b.admin), usher.ApplicationCreate{Name: "crm", OwnerID: b.alice.ID, Enabled: true,
		Unify: usher.ApplicationUnify{Listed: true}})
	if err != nil || !listed.Ops.Read || !listed.Ops.Grant {
		t.Fatalf("admin create: %+v, %v", listed, err)
	}
	hidden, err := apps.Create(as(b.admin), usher.ApplicationCreate{Name: "internal", OwnerID: b.alice.ID, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		who  *usher.User
		app  *usher.AllowedApplication
		want usher.ApplicationOps
	}{
		{"owner of listed", b.alice, listed, usher.ApplicationOps{Read: true, Update: true, Delete: true}},
		{"owner of unlisted", b.alice, hidden, usher.ApplicationOps{Read: true, Update: true, Delete: true}},
		{"other on listed", b.bob, listed, usher.ApplicationOps{Read: true}},
		{"other on unlisted", b.bob, hidden, usher.ApplicationOps{}},
		{"admin", b.admin, hidden, usher.ApplicationOps{Read: true, Update: true, Delete: true, Grant: true}},
	} {
		got, err := apps.Allowed(as(tc.who), tc.app.Application)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	// A read-only token may read but do nothing else.
	if got, _ := apps.Allowed(as(b.alice, usher.ScopeReadAPI), listed.Application); got != (usher.ApplicationOps{Read: true}) {
		t.Errorf("read-only token: %+v", got)
	}
	_, err = apps.Get(as(b.bob), hidden.ID)
	wantKind(t, err, usher.KindNotFound, usher.CodeApplicationNotFound)
	_, err = apps.Update(as(b.bob), listed.ID, usher.ApplicationUpdate{Name: ptr("mine")})
	wantKind(t, err, usher.KindForbidden, "")
	_, err = apps.Delete(as(b.bob), hidden.ID)
	wantKind(t, err, usher.KindNotFound, "")

	// A disabled application leaves the others' view, not the owner's.
	if _, err := apps.Update(as(b.alice), listed.ID, usher.ApplicationUpdate{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	_, err = apps.Get(as(b.bob), listed.ID)
	wantKind(t, err, usher.KindNotFound, "")
	page, err := apps.List(as(b.bob), usher.ApplicationFilter{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("bob's list: %+v, %v", page, err)
	}
	page, err = apps.List(as(b.alice), usher.ApplicationFilter{})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("alice's list: %+v, %v", page, err)
	}
}

func TestApplicationRules(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	apps := b.env.Core.Apps
	app, err := apps.Create(as(b.admin), usher.ApplicationCreate{Name: "crm", OwnerID: b.alice.ID, Enabled: true,
		Unify: usher.ApplicationUnify{Listed: true}})
	if err != nil {
		t.Fatal(err)
	}
	id := "application:" + strconv.FormatInt(app.ID, 10)
	b.grantRole(t, "app-admins", b.bob,
		usher.Rule{Resource: "application", Operation: "create", Access: usher.Allow},
		usher.Rule{Resource: id, Operation: "update", Access: usher.Allow},
		usher.Rule{Resource: id, Operation: "grant", Access: usher.Allow})
	b.grantRole(t, "no-deletes", b.alice, usher.Rule{Resource: "application", Operation: "delete", Access: usher.Deny})

	mine, err := apps.Create(as(b.bob), usher.ApplicationCreate{Name: "bob's"})
	if err != nil || mine.OwnerID != b.bob.ID {
		t.Fatalf("create by rule: %+v, %v", mine, err)
	}
	if got, _ := apps.Allowed(as(b.bob), app.Application); got != (usher.ApplicationOps{Read: true, Update: true, Grant: true}) {
		t.Errorf("instance rules: %+v", got)
	}
	if _, err := apps.Update(as(b.bob), app.ID, usher.ApplicationUpdate{Unify: &usher.ApplicationUnifyUpdate{Order: ptr(2)}}); err != nil {
		t.Fatal(err)
	}
	// A deny beats the owner's default.
	_, err = apps.Delete(as(b.alice), app.ID)
	wantKind(t, err, usher.KindForbidden, "")
	if got, _ := apps.Allowed(as(b.alice), app.Application); got.Delete || !got.Update {
		t.Errorf("owner under a deny: %+v", got)
	}
}

func TestApplicationLifecycle(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	apps := b.env.Core.Apps
	admin := as(b.admin)
	_, err := apps.Create(admin, usher.ApplicationCreate{Name: "x", OwnerID: 9999})
	wantKind(t, err, usher.KindUnprocessable, usher.CodeValidationFailed)
	for name, in := range map[string]usher.ApplicationCreate{
		"empty name":     {Name: ""},
		"config":         {Name: "x", Unify: usher.ApplicationUnify{Config: "[1]"}},
		"big config":     {Name: "x", Unify: usher.ApplicationUnify{Config: `{"a":"` + strings.Repeat("a", 17<<10) + `"}`}},
		"javascript url": {Name: "x", Unify: usher.ApplicationUnify{URL: "javascript:alert(1)"}},
		"order":          {Name: "x", Unify: usher.ApplicationUnify{Order: 1 << 30}},
	} {
		_, err := apps.Create(admin, in)
		if usher.AsError(err).Kind != usher.KindUnprocessable {
			t.Errorf("%s: %v", name, err)
		}
	}
	var ids []int64
	for _, n := range []string{"one", "two", "three", "four"} {
		a, err := apps.Create(admin, usher.ApplicationCreate{Name: n, OwnerID: b.alice.ID, Unify: usher.ApplicationUnify{Name: "App " + n}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	if a, err := apps.Delete(as(b.alice), ids[1]); err != nil || a.DeletedAt == nil {
		t.Fatalf("delete: %+v, %v", a, err)
	}
	count := func(f usher.ApplicationFilter) int {
		t.Helper()
		n := 0
		for {
			p, err := apps.List(as(b.alice), f)
			if err != nil {
				t.Fatal(err)
			}
			n += len(p.Items)
			if p.Next == nil {
				return n
			}
			f.Page.After = p.Next
		}
	}
	for _, tc := range []struct {
		name string
		f    usher.ApplicationFilter
		want int
	}{
		{"live", usher.ApplicationFilter{}, 3},
		{"paged", usher.ApplicationFilter{Page: usher.PageRequest{Limit: 1}}, 3},
		{"include", usher.ApplicationFilter{Deleted: usher.Include, Page: usher.PageRequest{Limit: 2}}, 4},
		{"only", usher.ApplicationFilter{Deleted: usher.Only}, 1},
		{"name", usher.ApplicationFilter{Name: "THREE"}, 1},
		{"query", usher.ApplicationFilter{Query: "APP T", Deleted: usher.Include}, 2},
	} {
		if got := count(tc.f); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if a, err := apps.Undelete(as(b.alice), ids[1]); err != nil || a.DeletedAt != nil {
		t.Fatalf("undelete: %+v, %v", a, err)
	}
	// Every change is in the audit log.
	events, err := b.env.Core.Audit.List(admin, usher.AuditFilter{Action: "application.", ResourceID: strconv.FormatInt(ids[1], 10)})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events.Items {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, " ") != "application.undelete application.delete application.create" {
		t.Fatalf("audit: %v", actions)
	}
}

// TestApplicationGrant: who may change a role's rules sets, changes or
// removes a rule reaching an application only with application.grant on
// it; rules on other resources, and rules left as they were, need none.
func TestApplicationGrant(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	app, err := b.env.Core.Apps.Create(as(b.admin), usher.ApplicationCreate{Name: "crm", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	id := "application:" + strconv.FormatInt(app.ID, 10)
	target, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupRole, Handle: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	ref := usher.GroupRef{ID: target.ID}
	// Bob may change every role's rules, but may grant nothing on
	// applications; carol may grant on this one.
	b.grantRole(t, "rule-editors", b.bob, usher.Rule{Resource: "group", Operation: "rules", Access: usher.Allow})
	b.grantRole(t, "app-granters", b.carol,
		usher.Rule{Resource: "group", Operation: "rules", Access: usher.Allow},
		usher.Rule{Resource: id, Operation: "grant", Access: usher.Allow})
	update := usher.Rule{Resource: id, Operation: "update", Access: usher.Allow}
	tests := []struct {
		name  string
		as    *usher.User
		rules []usher.Rule
		ok    bool
	}{
		{"an instance rule without grant", b.bob, []usher.Rule{update}, false},
		{"a deny without grant", b.bob, []usher.Rule{{Resource: id, Operation: "read", Access: usher.Deny}}, false},
		{"the type without grant", b.bob, []usher.Rule{{Resource: "application", Operation: "update", Access: usher.Allow}}, false},
		{"everything without grant", b.bob, []usher.Rule{{Resource: "*", Operation: "*", Access: usher.Allow}}, false},
		{"another resource", b.bob, []usher.Rule{{Resource: "organisation", Operation: "read", Access: usher.Allow}}, true},
		{"an instance rule with grant on it", b.carol, []usher.Rule{update}, true},
		{"the type with grant on one", b.carol, []usher.Rule{{Resource: "application", Operation: "update", Access: usher.Allow}}, false},
	}
	for _, tt := range tests {
		_, err := b.g.SetRules(as(tt.as), ref, tt.rules, false)
		if ok := err == nil; ok != tt.ok {
			t.Fatalf("%s: %v, want allowed %v", tt.name, err, tt.ok)
		}
		if !tt.ok {
			wantKind(t, err, usher.KindForbidden, usher.CodeForbidden)
		}
	}
	// The role now holds organisation.read (which everyone has) and the application rule. Bob may
	// send them back unchanged and add to them, but not remove the
	// application's rule, by replacing or deleting.
	have, err := b.g.Rules(as(b.admin), ref)
	if err != nil || len(have) != 2 {
		t.Fatalf("rules: %v, %v", have, err)
	}
	if _, err := b.g.SetRules(as(b.bob), ref, append(have, usher.Rule{Resource: "plan", Operation: "read", Access: usher.Allow}), true); err != nil {
		t.Fatalf("replacing with the same application rule: %v", err)
	}
	_, err = b.g.SetRules(as(b.bob), ref, []usher.Rule{{Resource: "organisation", Operation: "read", Access: usher.Allow}}, true)
	wantKind(t, err, usher.KindForbidden, "")
	_, err = b.g.DeleteRules(as(b.bob), ref)
	wantKind(t, err, usher.KindForbidden, "")
	if _, err := b.g.DeleteRules(as(b.carol), ref); err != nil {
		t.Fatalf("delete with grant: %v", err)
	}
}
