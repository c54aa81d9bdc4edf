package pages_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"usher"
	"usher/core/coretest"
)

// mustGroup creates a group as the system.
func mustGroup(t *testing.T, b *bundle, kind usher.GroupKind, handle string, members ...int64) *usher.Group {
	t.Helper()
	g, err := b.env.Core.Groups.Create(coretest.System(), usher.GroupCreate{Kind: kind, Handle: handle, Name: "The " + handle, Members: members})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// formPost is a console form posted, with the status and a part of the
// page it must answer with.
type formPost struct {
	name   string
	path   string
	form   url.Values
	status int
	want   string
}

// wantPosts posts each form, each in a subtest.
func (br *browser) wantPosts(t *testing.T, posts []formPost) {
	t.Helper()
	for _, tt := range posts {
		t.Run(tt.name, func(t *testing.T) {
			p := br.post(t, tt.path, tt.form)
			if p.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.status, p.body)
			}
			mustContain(t, p, tt.want)
		})
	}
}

// TestAdminGroupMembers: an administrator adds a member to a team, changes
// the level, and removes them; what the core refuses is shown with its
// status.
func TestAdminGroupMembers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	team := mustGroup(t, b, usher.GroupTeam, "crew", b.admin.ID)
	admin := b.root(t)
	path := "/admin/groups/" + itoa(team.ID)
	mustContain(t, admin.get(t, "/admin/groups"), `href="`+path+`"`)
	mustContain(t, admin.get(t, path), "<h1>The crew</h1>", ">root</a>", `action="`+path+`/accounts"`)
	p := admin.post(t, path+"/members", url.Values{"username": {"plain"}, "level": {"read"}})
	mustContain(t, p, "plain is a member at the level chosen.", `<a href="/admin/users/`+itoa(b.user.ID)+`">plain</a>`)
	p = admin.post(t, path+"/members", url.Values{"username": {"plain"}, "level": {"write"}})
	mustContain(t, p, `<option value="write" selected>write</option>`)
	if ms, err := b.env.Core.Groups.Members(coretest.System(), usher.GroupRef{ID: team.ID}, usher.PageRequest{}); err != nil ||
		len(ms.Items) != 2 || ms.Items[1].Level != usher.LevelWrite {
		t.Fatalf("the core's members: %+v, %v", ms, err)
	}
	mustContain(t, admin.post(t, path+"/members", url.Values{"username": {"root"}, "level": {"owner"}}), "root is a member")
	tests := []formPost{
		{"no username", path + "/members", url.Values{"username": {""}, "level": {"read"}}, http.StatusBadRequest, "is required"},
		{"unknown user", path + "/members", url.Values{"username": {"nobody"}, "level": {"read"}}, http.StatusNotFound, "not found"},
		{"a level teams lack", path + "/members", url.Values{"username": {"plain"}, "level": {"member"}}, http.StatusUnprocessableEntity, "level"},
		{"the last owner", path + "/members/" + itoa(b.admin.ID) + "/remove", url.Values{}, http.StatusConflict, "no owner"},
		{"not a member", path + "/members/99999/remove", url.Values{}, http.StatusNotFound, "not found"},
		{"bad member id", path + "/members/x/remove", url.Values{}, http.StatusBadRequest, "not a valid user id"},
		{"a level by a bad member id", path + "/members/0/level", url.Values{"level": {"read"}}, http.StatusBadRequest, "not a valid user id"},
		{"a level teams lack, by id", path + "/members/" + itoa(b.user.ID) + "/level", url.Values{"level": {"member"}}, http.StatusUnprocessableEntity, "level"},
		{"bad group id", "/admin/groups/x/members", url.Values{"username": {"plain"}}, http.StatusBadRequest, "not a valid id"},
		{"no such group", "/admin/groups/99999/members", url.Values{"username": {"plain"}}, http.StatusNotFound, "not found"},
		{"no token", path + "/members", url.Values{"username": {"plain"}, "csrf_token": {"-"}}, http.StatusForbidden, "did not come from this site"},
	}
	admin.wantPosts(t, tests)
	mustContain(t, admin.post(t, path+"/members/"+itoa(b.user.ID)+"/level", url.Values{"level": {"read"}}), "The member&#39;s level is set.")
	p = admin.post(t, path+"/members/"+itoa(b.user.ID)+"/remove", url.Values{})
	mustContain(t, p, "The member is removed.")
	if strings.Contains(p.body, `>plain</a>`) {
		t.Fatal("the removed member is listed")
	}
	plain := b.browser(t)
	plain.login(t, "plain", password)
	if p := plain.get(t, path); p.status != http.StatusForbidden {
		t.Fatalf("a plain user's view: %d", p.status)
	}
	plain.get(t, "/")
	if p := plain.post(t, path+"/members", url.Values{"username": {"plain"}, "level": {"owner"}}); p.status != http.StatusForbidden {
		t.Fatalf("a plain user's change: %d", p.status)
	}
}

// TestAdminServiceAccountTokens: an administrator makes a team's service
// account, creates a token — shown once, and it works — and revokes it.
func TestAdminServiceAccountTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	team := mustGroup(t, b, usher.GroupTeam, "crew", b.admin.ID)
	admin := b.root(t)
	path := "/admin/groups/" + itoa(team.ID)
	admin.get(t, path)
	p := admin.post(t, path+"/accounts", url.Values{"username": {"crew-bot"}, "name": {"Crew bot"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), path+"/accounts/") {
		t.Fatalf("create: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
	account := p.header.Get("Location")
	mustContain(t, admin.get(t, account), "<h1>crew-bot</h1>", "No tokens.")
	p = admin.post(t, account+"/tokens", url.Values{})
	mustContain(t, p, "Copy it now", `id="secret" value="`)
	secret := regexp.MustCompile(`id="secret" value="([^"]+)"`).FindStringSubmatch(p.body)[1]
	if pr, err := b.env.Core.Auth.Authenticate(context.Background(), secret); err != nil || pr.User.Username != "crew-bot" {
		t.Fatalf("the token: %v", err)
	}
	if strings.Contains(admin.get(t, account).body, secret) {
		t.Fatal("the secret is shown again")
	}
	tid := regexp.MustCompile(`/tokens/(\d+)/revoke`).FindStringSubmatch(p.body)[1]
	// Another account's token is not this one's to revoke.
	other := b.env.MustToken(t, b.user.ID, usher.TokenPersonal, usher.ScopeAPI)
	otherTok, err := b.env.Core.Auth.Authenticate(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
	}{
		{"taken username", path + "/accounts", url.Values{"username": {"plain"}}, http.StatusConflict},
		{"another's token", account + "/tokens/" + itoa(otherTok.Token.ID) + "/revoke", url.Values{}, http.StatusNotFound},
		{"bad token id", account + "/tokens/x/revoke", url.Values{}, http.StatusBadRequest},
		{"not a service account", path + "/accounts/" + itoa(b.user.ID) + "/tokens", url.Values{}, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := admin.post(t, tt.path, tt.form); p.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.status, p.body)
			}
		})
	}
	if p := admin.get(t, path+"/accounts/"+itoa(b.user.ID)); p.status != http.StatusNotFound {
		t.Fatalf("a person's page as a service account: %d", p.status)
	}
	p = admin.post(t, account+"/tokens/"+tid+"/revoke", url.Values{})
	mustContain(t, p, "The token is revoked.", "No tokens.")
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), secret); err == nil {
		t.Fatal("the revoked token still works")
	}
	if _, err := b.env.Core.Auth.Authenticate(context.Background(), other); err != nil {
		t.Fatal("the refused revocation revoked another's token")
	}
}

// TestAdminRules: an administrator gives a role a rule, which lets its
// member read the audit log, and takes it away.
func TestAdminRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	role := mustGroup(t, b, usher.GroupRole, "auditors", b.user.ID)
	admin := b.root(t)
	path := "/admin/groups/" + itoa(role.ID)
	mustContain(t, admin.get(t, path), "No rules.", `<option value="audit.read">`)
	p := admin.post(t, path+"/rules", url.Values{"operation": {"audit.read"}, "access": {"allow"}})
	mustContain(t, p, "The rule is set.", "<td>audit</td><td>read</td><td>allow</td>")
	if _, err := b.env.Core.Audit.List(usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: b.user}),
		usher.AuditFilter{}); err != nil {
		t.Fatalf("the rule does not grant: %v", err)
	}
	p = admin.post(t, path+"/rules", url.Values{"operation": {"user.fly"}, "access": {"allow"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "not an operation permissions know") {
		t.Fatalf("an unknown operation: %d\n%s", p.status, p.body)
	}
	p = admin.post(t, path+"/rules", url.Values{"operation": {"audit.read"}, "access": {"maybe"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("an unknown verdict: %d", p.status)
	}
	if p := admin.post(t, path+"/rules/remove", url.Values{"resource": {"audit"}, "operation": {"write"}}); p.status != http.StatusNotFound {
		t.Fatalf("removing a rule the role lacks: %d", p.status)
	}
	p = admin.post(t, path+"/rules/remove", url.Values{"resource": {"audit"}, "operation": {"read"}})
	mustContain(t, p, "The rule is removed.", "No rules.")
	team := mustGroup(t, b, usher.GroupTeam, "crew", b.admin.ID)
	if p := admin.post(t, "/admin/groups/"+itoa(team.ID)+"/rules", url.Values{"operation": {"audit.read"}, "access": {"allow"}}); p.status != http.StatusNotFound {
		t.Fatalf("a rule on a team: %d", p.status)
	}
}

// TestAdminDeleteGroup: an administrator deletes a team, whose page then
// says so and offers no form the core would refuse (a deleted group takes
// no members, rules or service accounts), and restores it; a plain user's
// post deletes nothing.
func TestAdminDeleteGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	team := mustGroup(t, b, usher.GroupTeam, "crew", b.admin.ID)
	role := mustGroup(t, b, usher.GroupRole, "auditors", b.user.ID)
	admin := b.root(t)
	path := "/admin/groups/" + itoa(team.ID)
	forms := []string{`id="add-member"`, `id="add-account"`, `/members/` + itoa(b.admin.ID) + `/remove"`}
	p := admin.get(t, path)
	mustContain(t, p, append(forms, `<dd id="group-state">live</dd>`, `action="`+path+`/delete"`)...)

	plain := b.browser(t)
	plain.login(t, "plain", password)
	plain.get(t, "/")
	if p := plain.post(t, path+"/delete", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("a plain user's deletion: %d", p.status)
	}
	if g, _, err := b.env.Core.Groups.Get(coretest.System(), usher.GroupRef{ID: team.ID}); err != nil || g.Deleted() {
		t.Fatalf("after a plain user's post: %+v, %v", g, err)
	}

	p = admin.post(t, path+"/delete", url.Values{})
	mustContain(t, p, "The group is deleted.", `<dd id="group-state">deleted `, `action="`+path+`/undelete"`, ">root</a>")
	for _, f := range append(forms, `action="`+path+`/delete"`) {
		if strings.Contains(p.body, f) {
			t.Errorf("a deleted team's page offers %s", f)
		}
	}
	tests := []formPost{
		{"a member", path + "/members", url.Values{"username": {"plain"}, "level": {"read"}}, http.StatusNotFound, "not found"},
		{"a service account", path + "/accounts", url.Values{"username": {"crew-bot"}}, http.StatusNotFound, "not found"},
		{"deleted again", path + "/delete", url.Values{}, http.StatusNotFound, "not found"},
		{"no such group", "/admin/groups/99999/delete", url.Values{}, http.StatusNotFound, "not found"},
		{"bad group id", "/admin/groups/x/undelete", url.Values{}, http.StatusBadRequest, "not a valid id"},
		{"a live group restored", "/admin/groups/" + itoa(role.ID) + "/undelete", url.Values{}, http.StatusConflict, "not deleted"},
		{"no token", path + "/undelete", url.Values{"csrf_token": {"-"}}, http.StatusForbidden, "did not come from this site"},
	}
	admin.wantPosts(t, tests)

	rolePath := "/admin/groups/" + itoa(role.ID)
	mustContain(t, admin.post(t, rolePath+"/rules", url.Values{"operation": {"audit.read"}, "access": {"allow"}}), "The rule is set.")
	p = admin.post(t, rolePath+"/delete", url.Values{})
	mustContain(t, p, "The group is deleted.", "<td>audit</td><td>read</td><td>allow</td>")
	for _, f := range []string{`id="add-rule"`, `action="` + rolePath + `/rules/remove"`} {
		if strings.Contains(p.body, f) {
			t.Errorf("a deleted role's page offers %s", f)
		}
	}

	p = admin.post(t, path+"/undelete", url.Values{})
	mustContain(t, p, append(forms, "The group is restored.", `<dd id="group-state">live</dd>`)...)
	mustContain(t, admin.post(t, path+"/members", url.Values{"username": {"plain"}, "level": {"read"}}), "plain is a member")
}

// TestAdminApps: an administrator registers an application, disables,
// enables and deletes it.
func TestAdminApps(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.root(t)
	mustContain(t, admin.get(t, "/admin/apps"), "No applications.")
	p := admin.post(t, "/admin/apps", url.Values{"name": {"Wiki"}, "url": {"https://wiki.example.com"}, "enabled": {"on"}})
	mustContain(t, p, "The application is registered.", "<td>Wiki</td><td>https://wiki.example.com</td><td>enabled</td>")
	id := regexp.MustCompile(`/admin/apps/(\d+)/disable`).FindStringSubmatch(p.body)[1]
	mustContain(t, admin.post(t, "/admin/apps/"+id+"/disable", url.Values{}), "The application is disabled.", "<td>disabled</td>")
	mustContain(t, admin.post(t, "/admin/apps/"+id+"/enable", url.Values{}), "The application is enabled.", "<td>enabled</td>")
	mustContain(t, admin.post(t, "/admin/apps/"+id+"/delete", url.Values{}), "The application is deleted.", "<td>deleted</td>", "/undelete")
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
	}{
		{"no name", "/admin/apps", url.Values{"name": {""}}, http.StatusUnprocessableEntity},
		{"unknown action", "/admin/apps/" + id + "/fly", url.Values{}, http.StatusNotFound},
		{"bad id", "/admin/apps/x/delete", url.Values{}, http.StatusBadRequest},
		{"no such application", "/admin/apps/99999/delete", url.Values{}, http.StatusNotFound},
		{"no token", "/admin/apps", url.Values{"name": {"X"}, "csrf_token": {"-"}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := admin.post(t, tt.path, tt.form); p.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.status, p.body)
			}
		})
	}
	plain := b.browser(t)
	plain.login(t, "plain", password)
	if p := plain.get(t, "/admin/apps"); p.status != http.StatusForbidden {
		t.Fatalf("a plain user's list: %d", p.status)
	}
}

// TestAdminOrgs: the organisations link to the groups they hold; the
// group list filters by organisation and kind.
func TestAdminOrgs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, err := b.env.Core.Orgs.Create(coretest.System(), "acme", "Acme Inc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.Create(coretest.System(), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "acme-devs",
		Name: "Acme devs", OrganisationID: org.ID}); err != nil {
		t.Fatal(err)
	}
	mustGroup(t, b, usher.GroupRole, "loose")
	admin := b.root(t)
	mustContain(t, admin.get(t, "/admin/orgs"), `<a href="/admin/groups?org=`+itoa(org.ID)+`">acme</a>`, "<td>Acme Inc</td>")
	p := admin.get(t, "/admin/groups?org="+itoa(org.ID))
	if !strings.Contains(p.body, ">acme-devs</a>") || strings.Contains(p.body, ">loose</a>") {
		t.Fatalf("the organisation's groups:\n%s", p.body)
	}
	p = admin.get(t, "/admin/groups?kind=role")
	if !strings.Contains(p.body, ">loose</a>") || strings.Contains(p.body, ">acme-devs</a>") {
		t.Fatalf("the roles:\n%s", p.body)
	}
	if p := admin.get(t, "/admin/groups?org=x"); p.status != http.StatusBadRequest {
		t.Fatalf("a bad organisation id: %d", p.status)
	}
	plain := b.browser(t)
	plain.login(t, "plain", password)
	if p := plain.get(t, "/admin/orgs"); p.status != http.StatusForbidden {
		t.Fatalf("a plain user's list: %d", p.status)
	}
}

// TestAdminCreateGroup: an administrator creates a role and lands on its
// page; a taken handle and an unknown kind are refused.
func TestAdminCreateGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.root(t)
	mustContain(t, admin.get(t, "/admin/groups"), `action="/admin/groups"`)
	p := admin.post(t, "/admin/groups", url.Values{"kind": {"role"}, "handle": {"editors"}, "name": {"Editors"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/admin/groups/") {
		t.Fatalf("create: %d\n%s", p.status, p.body)
	}
	mustContain(t, admin.get(t, p.header.Get("Location")), "<h1>Editors</h1>", "Permission rules")
	tests := []struct {
		name   string
		form   url.Values
		status int
	}{
		{"taken handle", url.Values{"kind": {"role"}, "handle": {"editors"}}, http.StatusConflict},
		{"unknown kind", url.Values{"kind": {"tribe"}, "handle": {"x"}}, http.StatusUnprocessableEntity},
		{"no token", url.Values{"kind": {"role"}, "handle": {"y"}, "csrf_token": {"-"}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := admin.post(t, "/admin/groups", tt.form); p.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.status, p.body)
			}
		})
	}
}

// TestMemberLevelFormNamesTheRowItWasMadeFor: a row's "Set" button in the
// members table posted the member's username, which the page resolved
// when the button was pressed: a member who renamed themselves after the
// page was drawn, and a second account that took the old name, turned an
// administrator's demotion of the first into a membership for the second,
// while the first kept its level. The row's form names the user id it was
// drawn for.
func TestMemberLevelFormNamesTheRowItWasMadeFor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	team := mustGroup(t, b, usher.GroupTeam, "crew", b.admin.ID)
	for _, id := range []int64{b.admin.ID, b.user.ID} {
		if _, err := b.env.Core.Groups.AddMember(coretest.System(), usher.GroupRef{ID: team.ID}, usher.UserKey{ID: id}, usher.LevelOwner); err != nil {
			t.Fatal(err)
		}
	}
	admin := b.browser(t)
	admin.login(t, "root", password)
	path := "/admin/groups/" + itoa(team.ID)
	p := admin.get(t, path)
	// The level form of plain's row, as drawn: its action and fields.
	form := regexp.MustCompile(`<form method="post" action="([^"]+)" class="inline">((?:<input type="hidden" name="[^"]+" value="[^"]*">)+)\s*<label for="level-` + itoa(b.user.ID) + `"`).FindStringSubmatch(p.body)
	if form == nil {
		t.Fatalf("no level form on plain's row:\n%s", p.body)
	}
	fields := url.Values{"level": {"read"}}
	for _, f := range regexp.MustCompile(`name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(form[2], -1) {
		fields.Set(f[1], html.UnescapeString(f[2]))
	}
	// Meanwhile plain renames itself and a second account takes the name.
	if _, err := b.env.Core.Users.Update(coretest.System(), usher.UserKey{ID: b.user.ID}, usher.UserUpdate{Username: new("plain-old")}); err != nil {
		t.Fatal(err)
	}
	second := b.env.MustCreateUser(t, usher.UserCreate{Username: "plain", Email: "second@example.com", Password: password})
	// The administrator demotes the row's owner to read.
	admin.post(t, html.UnescapeString(form[1]), fields)
	m, err := b.env.Core.Groups.Members(coretest.System(), usher.GroupRef{ID: team.ID}, usher.PageRequest{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	levels := map[int64]usher.Level{}
	for _, x := range m.Items {
		levels[x.UserID] = x.Level
	}
	if levels[b.user.ID] != usher.LevelRead || levels[second.ID] != "" {
		t.Fatalf("the row's form was for user %d (owner, to be demoted to read); after it that user is %q, and user %d, who was no member, is %q",
			b.user.ID, levels[b.user.ID], second.ID, levels[second.ID])
	}
}
