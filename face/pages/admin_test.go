package pages_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestAdminBlocks: an administrator finds a user, blocks them, and the
// user's open session is refused on its next request; a plain user has no
// console.
func TestAdminBlocks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim := b.browser(t)
	victim.login(t, "plain", password)
	if p := victim.get(t, "/admin/users"); p.status != http.StatusForbidden {
		t.Fatalf("a plain user's console: %d", p.status)
	}
	admin := b.browser(t)
	admin.login(t, "root", password)
	p := admin.get(t, "/admin/users?q=lain")
	mustContain(t, p, "/admin/users/"+itoa(b.user.ID), "Users found: 1")
	// A search of two characters is refused on the page, as on every face.
	if p := admin.get(t, "/admin/users?q=la"); p.status != http.StatusBadRequest {
		t.Fatalf("a search of two characters: %d", p.status)
	} else {
		mustContain(t, p, "at least 3 characters", `value="la"`)
	}
	admin.get(t, "/admin/users/"+itoa(b.user.ID))
	p = admin.post(t, "/admin/users/"+itoa(b.user.ID)+"/block", url.Values{})
	mustContain(t, p, "The user is blocked", `<dd id="state">blocked`)
	if p := victim.get(t, "/account"); p.status != http.StatusSeeOther {
		t.Fatalf("the blocked user's session: %d", p.status)
	}
	p = admin.post(t, "/admin/users/"+itoa(b.user.ID)+"/nonsense", url.Values{})
	if p.status != http.StatusNotFound {
		t.Fatalf("an unknown action: %d", p.status)
	}
}

// TestAdminSettingsAndAudit: an administrator turns sign-up off, and the
// sign-up form is refused; the audit log shows the change, filtered.
func TestAdminSettingsAndAudit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.browser(t)
	admin.login(t, "root", password)
	admin.get(t, "/admin/settings")
	p := admin.post(t, "/admin/settings", url.Values{usher.SettingInternalEnabled: {"on"}, usher.SettingPasswordResetEnabled: {"on"}})
	mustContain(t, p, "The settings are saved.")
	if strings.Contains(p.body, `name="`+usher.SettingSignupEnabled+`" value="on" checked`) {
		t.Fatal("sign-up is still on")
	}
	anon := b.browser(t)
	anon.get(t, "/signup")
	p = anon.post(t, "/signup", url.Values{"username": {"zed"}, "email": {"zed@example.com"}, "password": {password}})
	if p.status != http.StatusForbidden {
		t.Fatalf("sign-up while off: %d\n%s", p.status, p.body)
	}
	p = admin.get(t, "/admin/audit?action=setting.")
	mustContain(t, p, "<code>setting.", "setting:"+usher.SettingSignupEnabled)
	if strings.Contains(p.body, "<code>auth.login") {
		t.Fatal("the filter let other actions through")
	}
	if p := admin.get(t, "/admin/audit?actor=x"); p.status != http.StatusBadRequest {
		t.Fatalf("a bad actor id: %d", p.status)
	}
	plain := b.browser(t)
	plain.login(t, "plain", password)
	for _, path := range []string{"/admin/settings", "/admin/audit", "/admin/groups"} {
		if p := plain.get(t, path); p.status != http.StatusForbidden {
			t.Errorf("%s for a plain user: %d", path, p.status)
		}
	}
}

// TestImpersonation: an administrator acts as a user under a banner, and
// stops; a plain user cannot.
func TestImpersonation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.browser(t)
	admin.login(t, "root", password)
	admin.get(t, "/admin/users/"+itoa(b.user.ID))
	p := admin.post(t, "/admin/users/"+itoa(b.user.ID)+"/impersonate", url.Values{})
	if p.status != http.StatusSeeOther {
		t.Fatalf("impersonate: %d\n%s", p.status, p.body)
	}
	p = admin.get(t, "/")
	mustContain(t, p, "You are root, acting as plain.", "You are signed in as <strong>plain</strong>", `action="/impersonation/end"`)
	if p := admin.get(t, "/admin/users"); p.status != http.StatusForbidden {
		t.Fatalf("the console while acting as a plain user: %d", p.status)
	}
	p = admin.post(t, "/impersonation/end", url.Values{})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/users/"+itoa(b.user.ID) {
		t.Fatalf("stop: %d %s", p.status, p.header.Get("Location"))
	}
	mustContain(t, admin.get(t, "/"), "You are signed in as <strong>root</strong>")

	plain := b.browser(t)
	plain.login(t, "plain", password)
	plain.get(t, "/")
	if p := plain.post(t, "/admin/users/"+itoa(b.admin.ID)+"/impersonate", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("a plain user impersonating: %d", p.status)
	}
}

// TestAdminUserRows: the user list's rows, written outside the template,
// escape what users wrote as the template did, and mark deleted users.
func TestAdminUserRows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	odd := b.env.MustCreateUser(t, usher.UserCreate{Username: "odd", Email: "odd@example.com",
		Name: `Zed <script>alert("x")</script> & 'co'`, Password: password})
	gone := b.env.MustCreateUser(t, usher.UserCreate{Username: "gone", Email: "gone@example.com",
		Name: "Gone Zed", Password: password})
	if _, err := b.env.Core.Users.Delete(coretest.System(), usher.UserKey{ID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	admin := b.browser(t)
	admin.login(t, "root", password)
	for _, c := range []struct {
		name, path string
		status     int
		want       []string
		not        string
	}{
		{"escaped", "/admin/users?q=Zed", http.StatusOK, []string{
			`<tr><td><a href="/admin/users/` + itoa(odd.ID) + `">odd</a></td><td>Zed &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;co&#39;</td>` +
				`<td>odd@example.com</td><td>active</td></tr>`,
			"Users found: 1"}, "<script>alert"},
		{"deleted", "/admin/users?q=Zed&state=deleted", http.StatusOK, []string{
			`<tr><td><a href="/admin/users/` + itoa(gone.ID) + `">gone</a></td><td>Gone Zed</td><td>gone@example.com</td><td>active (deleted)</td></tr>`,
			"Users found: 1"}, "odd@example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := admin.get(t, c.path)
			if p.status != c.status {
				t.Fatalf("status %d, want %d", p.status, c.status)
			}
			mustContain(t, p, c.want...)
			if strings.Contains(p.body, c.not) {
				t.Fatalf("the page holds %q:\n%s", c.not, p.body)
			}
		})
	}
}
