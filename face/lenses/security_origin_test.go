package lenses_test

import (
	"net/http"
	"strings"
	"testing"
)

// publicURL is where the test server says usher is reached (see setup).
const publicURL = "http://usher.test"

// TestLoginRefusesCrossOrigin replays login CSRF on the Lenses log-in:
// another site makes the victim's browser log in to the attacker's
// account. The origin is checked against the public URL, so a Host header
// forged to match the attacker's Origin (as DNS rebinding does) does not
// help.
func TestLoginRefusesCrossOrigin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	login := map[string]string{"username": "plain", "password": password}
	for _, tt := range []struct {
		name   string
		header map[string]string
		want   want
	}{
		{"a form on another site", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, want{403, "cross_origin", ""}},
		{"Host forged to match a foreign Origin", map[string]string{"Host": "evil.example", "Origin": "http://evil.example"}, want{403, "cross_origin", ""}},
		{"an opaque origin", map[string]string{"Origin": "null"}, want{403, "cross_origin", ""}},
		{"the public URL's origin", map[string]string{"Origin": publicURL, "Sec-Fetch-Site": "same-origin"}, want{status: http.StatusNoContent}},
		{"not a browser", nil, want{status: http.StatusNoContent}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.do(t, call{method: "POST", path: "/api/v1/login", body: login, header: tt.header})
			res.check(t, tt.want)
			if tt.want.status == 403 && len(res.header.Values("Set-Cookie")) != 0 {
				t.Errorf("a refused log-in set a cookie: %v", res.header.Values("Set-Cookie"))
			}
		})
	}
}

// TestSessionCookieCheckedAgainstPublicURL: a change made with the
// session_id cookie is taken from the public URL's origin only; a bearer
// token is taken from any origin.
func TestSessionCookieCheckedAgainstPublicURL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	session := b.login(t, "plain")
	patch := map[string]any{"full_name": "Cookie Monster"}
	for _, tt := range []struct {
		name   string
		cookie string
		token  string
		header map[string]string
		want   want
	}{
		{"cookie, Host forged to match a foreign Origin", session, "", map[string]string{"Host": "evil.example", "Origin": "http://evil.example"}, want{403, "cross_origin", ""}},
		{"cookie, Host forged, the browser says cross-site", session, "", map[string]string{"Host": "evil.example", "Sec-Fetch-Site": "cross-site"}, want{403, "cross_origin", ""}},
		{"cookie, from the public URL's origin", session, "", map[string]string{"Origin": publicURL}, want{status: http.StatusOK}},
		{"bearer token from a foreign origin", "", b.userTok, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, want{status: http.StatusOK}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.do(t, call{method: "PATCH", path: "/api/v1/users/plain/profile", cookie: tt.cookie, token: tt.token, body: patch, header: tt.header})
			res.check(t, tt.want)
		})
	}
}

// TestSessionCookieNotShadowed replays a sibling host planting a
// session_id cookie of its own account for the parent domain, at a longer
// path, which the browser sends before usher's own: Lenses' cookie name
// has no __Host- prefix, so the victim's requests were taken as the
// planted account's, and their changes landed in it. A request carrying
// session_id twice is taken as neither.
func TestSessionCookieNotShadowed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim, attacker := b.login(t, "plain"), b.login(t, "root")
	res := b.do(t, call{method: "GET", path: "/api/v1/users/me",
		header: map[string]string{"Cookie": "session_id=" + attacker + "; session_id=" + victim}})
	if res.status != http.StatusUnauthorized || strings.Contains(string(res.body), "root") {
		t.Fatalf("a planted session_id beside the victim's: %d %s, want 401", res.status, res.body)
	}
	res = b.do(t, call{method: "GET", path: "/api/v1/users/me", cookie: victim})
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"name":"plain"`) {
		t.Fatalf("the victim's own cookie alone: %d %s", res.status, res.body)
	}
}
