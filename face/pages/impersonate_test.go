package pages_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
)

// actAs signs the administrator in and starts acting as the plain user.
func actAs(t *testing.T, b *bundle) *browser {
	t.Helper()
	admin := b.browser(t)
	admin.login(t, "root", password)
	admin.get(t, "/admin/users/"+itoa(b.user.ID))
	if p := admin.post(t, "/admin/users/"+itoa(b.user.ID)+"/impersonate", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("impersonate: %d", p.status)
	}
	return admin
}

// impersonationJWT returns the impersonation's JWT the browser's cookie
// holds, as whoever copies the cookie's value has it.
func (br *browser) impersonationJWT(t *testing.T) string {
	t.Helper()
	site, err := url.Parse(br.b.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range br.client.Jar.Cookies(site) {
		if c.Name == "usher_impersonation" {
			return c.Value
		}
	}
	t.Fatal("no impersonation cookie")
	return ""
}

// callWithJWT calls the API with jwt as the bearer, as whoever copied an
// impersonation's cookie does, and returns the status and body.
func callWithJWT(t *testing.T, b *bundle, jwt, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+jwt)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// TestLogoutWhileImpersonating: "Log out" in a browser where an
// administrator acts as a user leaves it signed in as no one. It answered
// 400 and left both cookies, so the next person at the machine acted as
// the user under the administrator's session.
func TestLogoutWhileImpersonating(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := actAs(t, b)
	admin.get(t, "/logout")
	if p := admin.post(t, "/logout", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("log-out: %d %s", p.status, p.body)
	}
	if p := admin.get(t, "/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login") {
		t.Fatalf("after log-out the browser is still signed in: %d", p.status)
	}
	// The administrator's session ended with it.
	if p := admin.get(t, "/admin/users"); p.status == http.StatusOK {
		t.Fatal("the administrator's session outlived the log-out")
	}
}

// TestBannerOnEveryPage: every page an administrator sees as a user says
// so, with the way to stop; /account had no banner.
func TestBannerOnEveryPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := actAs(t, b)
	for _, path := range []string{"/", "/account", "/account/sessions", "/account/tokens"} {
		if p := admin.get(t, path); !strings.Contains(p.body, `action="/impersonation/end"`) {
			t.Errorf("%s (%d) while impersonating has no banner", path, p.status)
		}
	}
}

// TestAdministratorsAreNotImpersonated: the console offers no "act as" on
// an administrator, and a post made by hand is refused by the core.
func TestAdministratorsAreNotImpersonated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.env.MustCreateUser(t, usher.UserCreate{Username: "root2", Email: "root2@example.com",
		Name: "Root Two", Password: password, Admin: true})
	admin := b.browser(t)
	admin.login(t, "root", password)
	admin.get(t, "/admin/users/"+itoa(other.ID))
	if p := admin.post(t, "/admin/users/"+itoa(other.ID)+"/impersonate", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("impersonating an administrator by hand: %d", p.status)
	}
}

// TestLoginEndsLeftImpersonation: an administrator acts as a user and
// leaves the machine without logging out; the next person logs in as
// themselves in the same browser. The impersonation's cookie, still
// valid, came first, so they acted as the user under the administrator's
// session. An impersonation counts only beside its administrator's own
// session, and a log-in drops it.
func TestLoginEndsLeftImpersonation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "next", Email: "next@example.com", Password: password})
	shared := actAs(t, b)
	if p := shared.get(t, "/"); !strings.Contains(p.body, "<strong>plain</strong>") {
		t.Fatalf("not acting as plain: %d", p.status)
	}
	shared.login(t, "next", password)
	p := shared.get(t, "/")
	if p.status != http.StatusOK || !strings.Contains(p.body, "<strong>next</strong>") || strings.Contains(p.body, `action="/impersonation/end"`) {
		t.Fatalf("after another person's log-in the browser shows (%d):\n%s", p.status, p.body)
	}
}

// TestEndedImpersonationRefused replays a copy of an impersonation's JWT
// (the cookie's value, read from developer tools, a proxy's log or a saved
// HAR file) used after the administrator pressed "Stop acting as": the
// pages only cleared the cookie, and the copy read and changed the user
// as the user until the JWT's expiry an hour later (round 43). Ending it
// now ends the JWT, on every replica, and is audited.
func TestEndedImpersonationRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := actAs(t, b)
	jwt := admin.impersonationJWT(t)
	bearer := func(method, path, body string) (int, string) {
		t.Helper()
		return callWithJWT(t, b, jwt, method, path, body)
	}
	if st, body := bearer("GET", "/v1/me", ""); st != http.StatusOK || !strings.Contains(body, `"plain"`) {
		t.Fatalf("the impersonation's JWT before its end: %d %s", st, body)
	}
	admin.get(t, "/")
	if p := admin.post(t, "/impersonation/end", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("POST /impersonation/end: %d %s", p.status, p.body)
	}
	if p := admin.get(t, "/"); !strings.Contains(p.body, "<strong>root</strong>") {
		t.Fatalf("after the end the browser is not the administrator's: %d", p.status)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/me", ""},
		{"PATCH", "/v1/users/" + itoa(b.user.ID), `{"name":"Changed After End"}`},
	} {
		if st, body := bearer(c.method, c.path, c.body); st != http.StatusUnauthorized {
			t.Errorf("%s %s with the impersonation's JWT after its end: %d %.120s, want 401", c.method, c.path, st, body)
		}
	}
	if u, err := b.env.Store.UserGet(context.Background(), usher.UserKey{ID: b.user.ID}); err != nil || u.Name == "Changed After End" {
		t.Errorf("the user after the end: %+v, %v", u, err)
	}
	ended, err := b.env.Store.AuditList(context.Background(), usher.AuditFilter{Action: "auth.impersonate_end"})
	if err != nil || len(ended.Items) != 1 || ended.Items[0].ImpersonatorID == 0 || ended.Items[0].ResourceID != itoa(b.user.ID) {
		t.Errorf("auth.impersonate_end events: %+v, %v; want one, of the user, naming the administrator", ended, err)
	}
	// The administrator may impersonate the user again, at once.
	admin.get(t, "/admin/users/"+itoa(b.user.ID))
	if p := admin.post(t, "/admin/users/"+itoa(b.user.ID)+"/impersonate", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("a new impersonation: %d %s", p.status, p.body)
	}
	if p := admin.get(t, "/"); !strings.Contains(p.body, "plain") {
		t.Errorf("the new impersonation does not act: %d", p.status)
	}
}

// TestImpersonationLeftEndsWhateverItActsAs: past TestEndedImpersonationRefused,
// "Stop acting as" pressed while the impersonation was refused (its user
// blocked by another administrator meanwhile) only cleared the cookie, and
// once the user was unblocked a copy of the JWT acted again; another
// person's log-in in the browser cleared the cookie and ended nothing
// either (round 44), and so did a new impersonation's cookie taking its
// place, or a log-in in the browser through the API (round 45). The
// cookie's JWT ends, whatever it acts as then. (A log-out ended it
// already, with the administrator's session.)
func TestImpersonationLeftEndsWhateverItActsAs(t *testing.T) {
	t.Parallel()
	for _, leave := range []string{"stop while the user is blocked", "log in again", "log out",
		"impersonate another while the user is blocked", "log in again through the API"} {
		t.Run(leave, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			admin := actAs(t, b)
			jwt := admin.impersonationJWT(t)
			me := func() int {
				t.Helper()
				st, _ := callWithJWT(t, b, jwt, "GET", "/v1/me", "")
				return st
			}
			if st := me(); st != http.StatusOK {
				t.Fatalf("the impersonation's JWT before: %d", st)
			}
			console := b.browser(t)
			console.login(t, "root", password)
			state := func(action string) {
				t.Helper()
				console.get(t, "/admin/users/"+itoa(b.user.ID))
				if p := console.post(t, "/admin/users/"+itoa(b.user.ID)+"/"+action, url.Values{}); p.status >= 400 {
					t.Fatalf("%s: %d", action, p.status)
				}
			}
			switch leave {
			case "stop while the user is blocked":
				state("block")
				admin.get(t, "/")
				admin.post(t, "/impersonation/end", url.Values{})
				state("unblock")
			case "log in again":
				b.env.MustCreateUser(t, usher.UserCreate{Username: "next", Email: "next@example.com", Password: password})
				admin.get(t, "/")
				admin.login(t, "next", password)
			case "log out":
				admin.get(t, "/logout")
				admin.post(t, "/logout", url.Values{})
			case "impersonate another while the user is blocked":
				// The new impersonation's cookie took the old one's
				// place (round 45).
				other := b.env.MustCreateUser(t, usher.UserCreate{Username: "other", Email: "other@example.com", Password: password})
				state("block")
				admin.get(t, "/admin/users/"+itoa(other.ID))
				if p := admin.post(t, "/admin/users/"+itoa(other.ID)+"/impersonate", url.Values{}); p.status != http.StatusSeeOther {
					t.Fatalf("impersonating another: %d", p.status)
				}
				state("unblock")
			case "log in again through the API":
				// POST /v1/auth/login sets the session cookie the pages
				// read (round 45).
				b.env.MustCreateUser(t, usher.UserCreate{Username: "next", Email: "next@example.com", Password: password, EmailConfirmed: true})
				req, _ := http.NewRequest("POST", b.srv.URL+"/v1/auth/login", strings.NewReader(`{"login":"next","password":"`+password+`"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", b.srv.URL)
				if p := admin.do(t, req); p.status != http.StatusOK {
					t.Fatalf("the API's log-in: %d %s", p.status, p.body)
				}
			}
			if st := me(); st != http.StatusUnauthorized {
				t.Errorf("the impersonation's JWT after the browser left it (%s): %d, want 401", leave, st)
			}
		})
	}
}

// TestImpersonationEndsWithAChangeOfRights: an impersonation's JWT was
// refused while its user was an administrator, or blocked, or while its
// administrator was one no longer, and a copy of it acted again once the
// change was undone (round 48): docs/auth.md said the first ended it.
// Each such change ends the JWTs made before it.
func TestImpersonationEndsWithAChangeOfRights(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	sys := coretest.System()
	for _, tt := range []struct {
		name         string
		change, undo func(t *testing.T, b *bundle) error
	}{
		{"its user made an administrator", func(t *testing.T, b *bundle) error {
			_, err := b.env.Core.Users.Update(sys, usher.UserKey{ID: b.user.ID}, usher.UserUpdate{Admin: &yes})
			return err
		}, func(t *testing.T, b *bundle) error {
			_, err := b.env.Core.Users.Update(sys, usher.UserKey{ID: b.user.ID}, usher.UserUpdate{Admin: &no})
			return err
		}},
		{"its user blocked", func(t *testing.T, b *bundle) error {
			_, err := b.env.Core.Users.Block(sys, usher.UserKey{ID: b.user.ID})
			return err
		}, func(t *testing.T, b *bundle) error {
			_, err := b.env.Core.Users.Unblock(sys, usher.UserKey{ID: b.user.ID})
			return err
		}},
		// Pending, where the policy lets no unconfirmed account sign
		// in, is shut out too: an import put an account back to it, and
		// nothing ended (round 49).
		{"its user made pending by an import", func(t *testing.T, b *bundle) error {
			return importState(b, "plain", usher.StatePending)
		}, func(t *testing.T, b *bundle) error {
			return importState(b, "plain", usher.StateActive)
		}},
		{"its administrator made pending by an import", func(t *testing.T, b *bundle) error {
			// Named by a confirmed address, a record may make it active
			// again.
			if _, err := b.env.Core.Users.Update(sys, usher.UserKey{ID: b.admin.ID}, usher.UserUpdate{EmailConfirmed: true}); err != nil {
				return err
			}
			return importState(b, "root", usher.StatePending)
		}, func(t *testing.T, b *bundle) error {
			return importState(b, "root", usher.StateActive)
		}},
		{"its administrator no longer one", func(t *testing.T, b *bundle) error {
			// Another administrator, so that root may be demoted.
			b.env.MustCreateUser(t, usher.UserCreate{Username: "root2", Email: "root2@example.com", Password: password, Admin: true})
			_, err := b.env.Core.Users.Update(sys, usher.UserKey{ID: b.admin.ID}, usher.UserUpdate{Admin: &no})
			return err
		}, func(t *testing.T, b *bundle) error {
			_, err := b.env.Core.Users.Update(sys, usher.UserKey{ID: b.admin.ID}, usher.UserUpdate{Admin: &yes})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			jwt := actAs(t, b).impersonationJWT(t)
			bearer := func(method, path, body string) (int, string) {
				t.Helper()
				return callWithJWT(t, b, jwt, method, path, body)
			}
			if st, body := bearer("GET", "/v1/me", ""); st != http.StatusOK || !strings.Contains(body, `"plain"`) {
				t.Fatalf("the impersonation before: %d %s", st, body)
			}
			if err := tt.change(t, b); err != nil {
				t.Fatal(err)
			}
			if st, body := bearer("GET", "/v1/me", ""); st != http.StatusUnauthorized {
				t.Fatalf("the impersonation after the change: %d %.120s, want 401", st, body)
			}
			if err := tt.undo(t, b); err != nil {
				t.Fatal(err)
			}
			if st, body := bearer("PATCH", "/v1/users/"+itoa(b.user.ID), `{"name":"Back From The Dead"}`); st != http.StatusUnauthorized {
				t.Errorf("the impersonation's JWT once the change was undone: %d %.120s, want 401", st, body)
			}
			if u, err := b.env.Store.UserGet(context.Background(), usher.UserKey{ID: b.user.ID}); err != nil || u.Name == "Back From The Dead" {
				t.Errorf("the user: %+v, %v", u, err)
			}
		})
	}
}

// importState imports the record of the account named, by its confirmed
// address, in the state given (root stays an administrator).
func importState(b *bundle, name string, state usher.UserState) error {
	res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{{UserCreate: usher.UserCreate{
		Username: name, Email: name + "@example.com", State: state, Admin: name == "root"}}})
	if err == nil && res[0].Err != nil {
		err = res[0].Err
	}
	return err
}

// TestJWTMadeJustAfterAChangeOfRightsWorks: a change of rights ends the
// JWTs made before it to the microsecond, and a JWT's iat is whole
// seconds: one made with a live credential right after the change, in
// the same second, was dated before it and refused (round 49) — an
// administrator who demoted an account and impersonated it, a user
// promoted whose client made a new JWT from its token. A JWT carries the
// microsecond of its issue too.
func TestJWTMadeJustAfterAChangeOfRightsWorks(t *testing.T) {
	t.Parallel()
	// Half past a second, and a microsecond more at every reading: every
	// step below falls within the same second, as a script's do.
	base := time.Now().UTC().Truncate(time.Second).Add(500 * time.Millisecond)
	var ticks atomic.Int64
	clock := func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * time.Microsecond) }
	jwtOf := func(t *testing.T, b *bundle, bearer, path, body string) string {
		t.Helper()
		st, out := callWithJWT(t, b, bearer, "POST", path, body)
		var v struct{ JWT string }
		if err := json.Unmarshal([]byte(out), &v); st != http.StatusOK || err != nil || v.JWT == "" {
			t.Fatalf("POST %s: %d %.160s", path, st, out)
		}
		return v.JWT
	}
	yes, no := true, false
	for _, tt := range []struct {
		name string
		// run makes the change and a JWT right after it.
		run func(t *testing.T, b *bundle) string
	}{
		{"an administrator demotes an account and impersonates it", func(t *testing.T, b *bundle) string {
			ops := b.env.MustCreateUser(t, usher.UserCreate{Username: "ops", Email: "ops@example.com", Password: password,
				Admin: true, EmailConfirmed: true})
			root := b.env.MustToken(t, b.admin.ID, usher.TokenPersonal, usher.ScopeAPI, usher.ScopeSudo)
			if _, err := b.env.Core.Users.Update(coretest.System(), usher.UserKey{ID: ops.ID}, usher.UserUpdate{Admin: &no}); err != nil {
				t.Fatal(err)
			}
			return jwtOf(t, b, root, "/v1/auth/impersonate", `{"user":"ops"}`)
		}},
		{"a user promoted makes a new JWT with its token", func(t *testing.T, b *bundle) string {
			own := b.env.MustToken(t, b.user.ID, usher.TokenPersonal, usher.ScopeAPI)
			if _, err := b.env.Core.Users.Update(coretest.System(), usher.UserKey{ID: b.user.ID}, usher.UserUpdate{Admin: &yes}); err != nil {
				t.Fatal(err)
			}
			return jwtOf(t, b, own, "/v1/auth/jwt", "")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := setupWith(t, coretest.Options{Now: clock})
			jwt := tt.run(t, b)
			if st, body := callWithJWT(t, b, jwt, "GET", "/v1/me", ""); st != http.StatusOK {
				t.Errorf("a JWT made just after the change: %d %.160s, want 200", st, body)
			}
		})
	}
}
