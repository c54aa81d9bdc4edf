package pages_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
)

// root is a browser signed in as the administrator.
func (b *bundle) root(t *testing.T) *browser {
	t.Helper()
	br := b.browser(t)
	br.login(t, "root", password)
	return br
}

// versionOf reads the version the user page's edit form was made from.
func versionOf(t *testing.T, p page) string {
	t.Helper()
	m := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no edit form (status %d):\n%s", p.status, p.body)
	}
	return m[1]
}

// TestAdminEditUser: an administrator edits a user through the core's
// update, conditional on the version the form showed; a stale form, a
// taken name, a bad id or version, another site's form and a plain user
// are refused.
func TestAdminEditUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "taken", Email: "taken@example.com"})
	admin := b.root(t)
	path := "/admin/users/" + itoa(b.user.ID)
	version := versionOf(t, admin.get(t, path))
	form := func(v, username string) url.Values {
		return url.Values{"version": {v}, "username": {username}, "name": {"Plain Renamed"}, "email": {"plain@example.com"}}
	}
	p := admin.post(t, path+"/edit", form(version, "plain"))
	mustContain(t, p, "The user is saved.", "<dd>Plain Renamed</dd>")
	if p.status != http.StatusOK {
		t.Fatalf("edit: %d", p.status)
	}
	if u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: b.user.ID}); err != nil || u.Name != "Plain Renamed" {
		t.Fatalf("the core's user: %+v, %v", u, err)
	}
	tests := []struct {
		name   string
		path   string
		form   url.Values
		header []string
		status int
		want   string
	}{
		{"stale version", path + "/edit", form(version, "plain"), nil, http.StatusPreconditionFailed, "the user is at version"},
		{"taken username", path + "/edit", form(versionOf(t, admin.get(t, path)), "taken"), nil, http.StatusConflict, "taken"},
		{"bad version", path + "/edit", form("x", "plain"), nil, http.StatusBadRequest, "is not a version"},
		{"bad id", "/admin/users/abc/edit", form(version, "plain"), nil, http.StatusBadRequest, "is not a valid id"},
		{"no such user", "/admin/users/99999/edit", form(version, "plain"), nil, http.StatusNotFound, "not found"},
		{"another site", path + "/edit", form(version, "plain"), []string{"Origin", "https://evil.example"}, http.StatusForbidden, "did not come from this site"},
		{"no token", path + "/edit", func() url.Values { f := form(version, "plain"); f.Set("csrf_token", "-"); return f }(), nil,
			http.StatusForbidden, "did not come from this site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := admin.post(t, tt.path, tt.form, tt.header...)
			if p.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.status, p.body)
			}
			mustContain(t, p, tt.want)
		})
	}
	// The stale form's page shows the user as they are now, to edit again.
	p = admin.post(t, path+"/edit", form(version, "plain"))
	if versionOf(t, p) == version {
		t.Fatal("the refused form shows the stale version again")
	}
	plain := b.browser(t)
	plain.login(t, "plain", password)
	plain.get(t, "/")
	if p := plain.post(t, "/admin/users/"+itoa(b.admin.ID)+"/edit", form("1", "root")); p.status != http.StatusForbidden {
		t.Fatalf("a plain user's edit: %d", p.status)
	}
}

// TestAdminResetAndEndSessions: "send a password reset" mails the user a
// link that works; "end their sessions" signs the user out at once.
func TestAdminResetAndEndSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim := b.browser(t)
	victim.login(t, "plain", password)
	admin := b.root(t)
	path := "/admin/users/" + itoa(b.user.ID)
	admin.get(t, path)
	p := admin.post(t, path+"/reset", url.Values{})
	mustContain(t, p, "A password reset mail is on its way to plain@example.com.")
	link := b.link(t, b.mailTo(t, 1, "plain@example.com"), "/reset-password")
	if p := b.browser(t).get(t, link); p.status != http.StatusOK || !strings.Contains(p.body, `name="token"`) {
		t.Fatalf("the mail's link: %d", p.status)
	}
	if p := victim.get(t, "/account"); p.status != http.StatusOK {
		t.Fatalf("before: %d", p.status)
	}
	p = admin.post(t, path+"/end-sessions", url.Values{})
	mustContain(t, p, "Sessions ended: 1.")
	if p := victim.get(t, "/account"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login") {
		t.Fatalf("the ended session: %d", p.status)
	}
	if p := admin.get(t, "/admin/audit?action=auth.sessions_end&resource=user:"+itoa(b.user.ID)); !strings.Contains(p.body, "<code>auth.sessions_end") {
		t.Fatalf("no audit event:\n%s", p.body)
	}
	if p := admin.post(t, "/admin/users/99999/end-sessions", url.Values{}); p.status != http.StatusNotFound {
		t.Fatalf("an unknown user: %d", p.status)
	}
	victim.login(t, "plain", password)
	victim.get(t, "/")
	if p := victim.post(t, "/admin/users/"+itoa(b.admin.ID)+"/end-sessions", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("a plain user ending sessions: %d", p.status)
	}
}

// TestAdminAuditTime: the audit log filtered by time.
func TestAdminAuditTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.root(t)
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02")
	mustContain(t, admin.get(t, "/admin/audit?to="+tomorrow), "<code>auth.login")
	if p := admin.get(t, "/admin/audit?from="+tomorrow); strings.Contains(p.body, "<code>") || p.status != http.StatusOK {
		t.Fatalf("events from tomorrow: %d\n%s", p.status, p.body)
	}
	if p := admin.get(t, "/admin/audit?from=yesterday"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "is not a time") {
		t.Fatalf("a bad time: %d\n%s", p.status, p.body)
	}
}

// TestAdminSettingsDefaults: a switch without a value shows what usher
// applies, so that saving the page unchanged turns nothing off.
func TestAdminSettingsDefaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.root(t)
	p := admin.get(t, "/admin/settings")
	for _, name := range []string{usher.SettingInternalEnabled, usher.SettingPasswordResetEnabled, usher.SettingSignupEnabled} {
		if !strings.Contains(p.body, `name="`+name+`" value="on" checked`) {
			t.Errorf("%s is on by default but shown off", name)
		}
	}
}

// TestAdminSettingsKeepOwnDefault: with password log-in turned off through
// the API (password reset left unset), the page showed password reset off
// (what usher applied then), so turning password log-in back on in the
// console stored password reset off as well: a switch nobody touched.
// Each switch without a value shows its own default instead.
func TestAdminSettingsKeepOwnDefault(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.root(t)
	if _, err := b.env.Core.Instance.Set(coretest.System(), usher.SettingInternalEnabled, []byte("false")); err != nil {
		t.Fatal(err)
	}
	p := admin.get(t, "/admin/settings")
	// The admin ticks password log-in and saves the rest as the page shows it.
	form := url.Values{usher.SettingInternalEnabled: {"on"}}
	for _, m := range regexp.MustCompile(`name="([^"]+)" value="on" checked`).FindAllStringSubmatch(p.body, -1) {
		form.Set(m[1], "on")
	}
	mustContain(t, admin.post(t, "/admin/settings", form), "The settings are saved.")
	cur, err := b.env.Core.Instance.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(cur[usher.SettingPasswordResetEnabled]); got != "true" {
		t.Fatalf("password reset is %s after turning password log-in back on, want true", got)
	}
}
