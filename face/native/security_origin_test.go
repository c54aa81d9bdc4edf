package native_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"usher"
	"usher/connector"
	"usher/connector/oidctest"
	"usher/core"
	"usher/core/coretest"
)

// publicURL is where the servers of these tests say usher is reached.
const publicURL = "http://usher.test"

// deviceBundle is a server with an OpenID Connect provider for device
// log-ins, whose public URL is publicURL.
type deviceBundle struct {
	*bundle
	idp *oidctest.Provider
}

func setupDevice(t *testing.T) *deviceBundle {
	t.Helper()
	idp := oidctest.New(t, "usher-client", "usher-secret")
	oidc, err := connector.NewOIDC(context.Background(), connector.OIDCConfig{Name: "corp", Issuer: idp.Issuer(),
		ClientID: "usher-client", ClientSecret: "usher-secret", RedirectURL: publicURL + "/v1/auth/oauth/corp/callback"})
	if err != nil {
		t.Fatal(err)
	}
	b := setupWith(t, coretest.Options{Connectors: []usher.Connector{oidc}, Policy: core.Policy{PublicURL: publicURL, SignupEnabled: true}})
	return &deviceBundle{bundle: b, idp: idp}
}

// startDevice starts a command-line log-in, as the attacker's client
// does, and returns its user code and redeem token.
func (b *deviceBundle) startDevice(t *testing.T) (userCode, redeemToken string) {
	t.Helper()
	res := b.api.do(t, req{method: "GET", path: "/v1/auth/oauth/corp/start", header: map[string]string{"Accept": "application/json"}})
	var start struct {
		UserCode    string `json:"user_code"`
		RedeemToken string `json:"redeem_token"`
	}
	res.decode(t, &start)
	if res.status != http.StatusOK || start.UserCode == "" {
		t.Fatalf("device start: %d %s", res.status, res.body)
	}
	return start.UserCode, start.RedeemToken
}

// formTokenField finds the hidden CSRF field of a page usher served.
var formTokenField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// deviceForm loads the device page as a browser does and returns the
// Cookie header the browser would send back with the form, and the form's
// CSRF token.
func deviceForm(t *testing.T, api *client) (cookie, token string) {
	t.Helper()
	res := api.do(t, req{method: "GET", path: "/v1/auth/device"})
	m := formTokenField.FindSubmatch(res.body)
	if res.status != http.StatusOK || m == nil {
		t.Fatalf("the device page has no CSRF token: %d %s", res.status, res.body)
	}
	var pairs []string
	for _, line := range res.header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
	}
	if len(pairs) == 0 {
		t.Fatalf("the device page set no cookie: %v", res.header)
	}
	return strings.Join(pairs, "; "), string(m[1])
}

// approvalField finds the approval nonce in the page that describes a
// client.
var approvalField = regexp.MustCompile(`name="approval" value="([^"]+)"`)

// deviceApproval posts the user code with usher's own form, as the person
// does, and returns the approval nonce of the page that describes the
// client.
func deviceApproval(t *testing.T, api *client, cookie, token, code string) string {
	t.Helper()
	res := api.do(t, deviceRequest(url.Values{"user_code": {code}, "csrf_token": {token}},
		map[string]string{"Origin": publicURL, "Sec-Fetch-Site": "same-origin", "Cookie": cookie}))
	m := approvalField.FindSubmatch(res.body)
	if res.status != http.StatusOK || m == nil {
		t.Fatalf("the page describing the client has no approval: %d %s", res.status, res.body)
	}
	return html.UnescapeString(string(m[1]))
}

// deviceRequest is a form post to the device page.
func deviceRequest(form url.Values, header map[string]string) req {
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range header {
		h[k] = v
	}
	return req{method: "POST", path: "/v1/auth/device", body: form.Encode(), header: h}
}

// TestDeviceApprovalRefusesCrossSiteForm replays the attack on the device
// log-in: the attacker starts a command-line log-in, and a page of theirs
// makes the victim's browser post the approval; the victim's session at
// the provider would complete it and the attacker's redeem would return
// the victim's session. Only a form from usher's own page, with its CSRF
// token, is taken.
func TestDeviceApprovalRefusesCrossSiteForm(t *testing.T) {
	t.Parallel()
	b := setupDevice(t)
	for _, tt := range []struct {
		name string
		// form builds the request the browser sends, for the attacker's
		// user code.
		form   func(t *testing.T, code string) req
		status int
		want   string
	}{
		{"an auto-submitted form on another site", func(t *testing.T, code string) req {
			return deviceRequest(url.Values{"user_code": {code}, "confirm": {"yes"}},
				map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
		}, http.StatusForbidden, "did not come from this site"},
		{"the same form from a sibling site", func(t *testing.T, code string) req {
			return deviceRequest(url.Values{"user_code": {code}, "confirm": {"yes"}},
				map[string]string{"Origin": "http://evil.usher.test", "Sec-Fetch-Site": "same-site"})
		}, http.StatusForbidden, "did not come from this site"},
		{"a browser that says nothing of the origin, without the token", func(t *testing.T, code string) req {
			return deviceRequest(url.Values{"user_code": {code}, "confirm": {"yes"}}, nil)
		}, http.StatusForbidden, "reload"},
		{"the attacker's own token and cookie, rebound to the attacker's name", func(t *testing.T, code string) req {
			// DNS rebinding: the attacker's name points at usher, so the
			// browser sees one origin, loads the page, reads its token and
			// posts it back with the Host and Origin of the attacker.
			cookie, token := deviceForm(t, b.api)
			return deviceRequest(url.Values{"user_code": {code}, "confirm": {"yes"}, "csrf_token": {token}},
				map[string]string{"Host": "evil.example", "Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin", "Cookie": cookie})
		}, http.StatusForbidden, "did not come from this site"},
		{"a token that belongs to another cookie", func(t *testing.T, code string) req {
			cookie, _ := deviceForm(t, b.api)
			_, other := deviceForm(t, b.api)
			return deviceRequest(url.Values{"user_code": {code}, "confirm": {"yes"}, "csrf_token": {other}},
				map[string]string{"Origin": publicURL, "Cookie": cookie})
		}, http.StatusForbidden, "reload"},
		{"usher's own page and token, skipping the page that shows the client", func(t *testing.T, code string) req {
			cookie, token := deviceForm(t, b.api)
			return deviceRequest(url.Values{"user_code": {code}, "confirm": {"yes"}, "csrf_token": {token}},
				map[string]string{"Origin": publicURL, "Sec-Fetch-Site": "same-origin", "Cookie": cookie})
		}, http.StatusForbidden, "check the client"},
		{"usher's own page and token, with another code's approval", func(t *testing.T, code string) req {
			cookie, token := deviceForm(t, b.api)
			other, _ := b.startDevice(t)
			approval := deviceApproval(t, b.api, cookie, token, other)
			return deviceRequest(url.Values{"user_code": {code}, "confirm": {"yes"}, "csrf_token": {token}, "approval": {approval}},
				map[string]string{"Origin": publicURL, "Sec-Fetch-Site": "same-origin", "Cookie": cookie})
		}, http.StatusForbidden, "check the client"},
		{"usher's own page, with its token and approval", func(t *testing.T, code string) req {
			cookie, token := deviceForm(t, b.api)
			approval := deviceApproval(t, b.api, cookie, token, code)
			return deviceRequest(url.Values{"user_code": {code}, "confirm": {"yes"}, "csrf_token": {token}, "approval": {approval}},
				map[string]string{"Origin": publicURL, "Sec-Fetch-Site": "same-origin", "Cookie": cookie})
		}, http.StatusFound, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, redeem := b.startDevice(t)
			res := b.api.do(t, tt.form(t, code))
			if res.status != tt.status || !strings.Contains(string(res.body), tt.want) {
				t.Fatalf("%d %s, want %d with %q", res.status, res.body, tt.status, tt.want)
			}
			if tt.status == http.StatusFound {
				if cookieValue(t, res, "usher_oauth") == "" || !strings.HasPrefix(res.header.Get("Location"), b.idp.URL()) {
					t.Fatalf("the approval did not start the provider's log-in: %v", res.header)
				}
				return
			}
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q: the refusal is not a page", ct)
			}
			if got := cookieValue(t, res, "usher_oauth"); got != "" || res.header.Get("Location") != "" {
				t.Fatalf("a refused approval started the provider's log-in: %v", res.header)
			}
			// The attacker's client keeps waiting: no session comes.
			res = b.api.do(t, req{method: "POST", path: "/v1/auth/redeem", body: map[string]any{"redeem_token": redeem}})
			if res.status != http.StatusNotFound || res.problem(t).Code != "redeem_pending" {
				t.Fatalf("the attacker's redeem: %d %s", res.status, res.body)
			}
			// The code is not spent: its owner can still approve it.
			cookie, token := deviceForm(t, b.api)
			res = b.api.do(t, deviceRequest(url.Values{"user_code": {code}, "csrf_token": {token}},
				map[string]string{"Origin": publicURL, "Cookie": cookie}))
			if res.status != http.StatusOK || !strings.Contains(string(res.body), `name="csrf_token" value="`+token+`"`) {
				t.Fatalf("the code after a refused approval: %d %s", res.status, res.body)
			}
		})
	}
}

// TestDevicePagePrefillApprovesNothing: the page's user_code parameter, as
// Escape's log-in methods link to it, only fills the field in. Another site
// making the victim's browser open it approves nothing: no binding, no
// provider, the attacker's client keeps waiting, and the code stays whole.
func TestDevicePagePrefillApprovesNothing(t *testing.T) {
	t.Parallel()
	b := setupDevice(t)
	code, redeem := b.startDevice(t)
	res := b.api.do(t, req{method: "GET", path: "/v1/auth/device?user_code=" + url.QueryEscape(code),
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Referer": "https://evil.example/"}})
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `name="user_code" value="`+code+`"`) ||
		strings.Contains(string(res.body), `name="approval"`) {
		t.Fatalf("the page with the code: %d %s", res.status, res.body)
	}
	if cookieValue(t, res, "usher_oauth") != "" || res.header.Get("Location") != "" {
		t.Fatalf("opening the page started the provider's log-in: %v", res.header)
	}
	res = b.api.do(t, req{method: "POST", path: "/v1/auth/redeem", body: map[string]any{"redeem_token": redeem}})
	if res.status != http.StatusNotFound || res.problem(t).Code != "redeem_pending" {
		t.Fatalf("the attacker's redeem: %d %s", res.status, res.body)
	}
	cookie, token := deviceForm(t, b.api)
	deviceApproval(t, b.api, cookie, token, code)
	// Bad input: the parameter twice, or another parameter.
	for _, tt := range []struct {
		path, code string
	}{
		{"/v1/auth/device?user_code=A&user_code=B", "repeated_parameter"},
		{"/v1/auth/device?confirm=yes", "unknown_parameter"},
	} {
		res := b.api.do(t, req{method: "GET", path: tt.path})
		if res.status != http.StatusBadRequest || res.problem(t).Code != tt.code {
			t.Errorf("GET %s: %d %s; want 400 %s", tt.path, res.status, res.body, tt.code)
		}
	}
}

// TestDeviceStartBoundedPerAddress floods the anonymous JSON start of a
// device log-in, each of which writes two codes: past 30 from one address
// within the window the answer is 429 with Retry-After.
func TestDeviceStartBoundedPerAddress(t *testing.T) {
	t.Parallel()
	b := setupDevice(t)
	for range 30 {
		b.startDevice(t)
	}
	res := b.api.do(t, req{method: "GET", path: "/v1/auth/oauth/corp/start", header: map[string]string{"Accept": "application/json"}})
	if res.status != http.StatusTooManyRequests || res.problem(t).Code != "too_many_attempts" || res.header.Get("Retry-After") == "" {
		t.Fatalf("the 31st start: %d %v %s", res.status, res.header, res.body)
	}
}

// TestDevicePageSetsFormCookie: the page's CSRF cookie cannot be read by
// scripts, is not sent by other sites' requests, and is the same for two
// loads of the page, so that two open tabs both work; the page is not
// cached, framed or sniffed, and sends no Referer to other sites.
func TestDevicePageSetsFormCookie(t *testing.T) {
	t.Parallel()
	b := setupDevice(t)
	res := b.api.do(t, req{method: "GET", path: "/v1/auth/device"})
	var c *http.Cookie
	for _, line := range res.header.Values("Set-Cookie") {
		if parsed, err := http.ParseSetCookie(line); err == nil {
			c = parsed
		}
	}
	if res.status != http.StatusOK || c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Value == "" {
		t.Fatalf("%d %v", res.status, res.header)
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
		if got := res.header.Get(name); got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "base-uri 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	again := b.api.do(t, req{method: "GET", path: "/v1/auth/device", header: map[string]string{"Cookie": c.Name + "=" + c.Value}})
	first, second := formTokenField.FindSubmatch(res.body), formTokenField.FindSubmatch(again.body)
	if first == nil || second == nil || string(first[1]) != string(second[1]) {
		t.Fatalf("two loads of the page in one browser carry different tokens: %s / %s", res.body, again.body)
	}
}

// TestCookieLoginRefusesCrossOrigin replays login CSRF: another site makes
// the victim's browser log in to the attacker's account (by password or
// by the attacker's redeem token), so that what the victim does next is
// done as the attacker. The routes that set or end the session cookie
// take only requests from the public URL's origin.
func TestCookieLoginRefusesCrossOrigin(t *testing.T) {
	t.Parallel()
	b := setupDevice(t)
	if err := b.env.Core.Auth.SetPassword(coretest.System(), usher.UserKey{ID: b.user.ID}, "the plain user's passphrase"); err != nil {
		t.Fatal(err)
	}
	login := map[string]any{"login": "plain", "password": "the plain user's passphrase"}
	session := func(t *testing.T) string {
		res := b.api.do(t, req{method: "POST", path: "/v1/auth/login", body: login})
		if res.status != http.StatusOK {
			t.Fatalf("log-in: %d %s", res.status, res.body)
		}
		return "usher_session=" + cookieValue(t, res, "usher_session")
	}
	for _, tt := range []struct {
		name   string
		rq     func(t *testing.T) req
		status int
		code   string
	}{
		{"log-in from a form on another site", func(*testing.T) req {
			return req{method: "POST", path: "/v1/auth/login", body: login,
				header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}
		}, 403, "cross_origin"},
		{"log-in from a browser that sends only Sec-Fetch-Site", func(*testing.T) req {
			return req{method: "POST", path: "/v1/auth/login", body: login, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}
		}, 403, "cross_origin"},
		{"log-in with the Host forged to match a foreign Origin", func(*testing.T) req {
			return req{method: "POST", path: "/v1/auth/login", body: login,
				header: map[string]string{"Host": "evil.example", "Origin": "http://evil.example"}}
		}, 403, "cross_origin"},
		{"log-in with an opaque origin", func(*testing.T) req {
			return req{method: "POST", path: "/v1/auth/login", body: login, header: map[string]string{"Origin": "null"}}
		}, 403, "cross_origin"},
		{"redeem from another site", func(*testing.T) req {
			return req{method: "POST", path: "/v1/auth/redeem", body: map[string]any{"redeem_token": strings.Repeat("x", 32)},
				header: map[string]string{"Origin": "https://evil.example"}}
		}, 403, "cross_origin"},
		{"log-out with the cookie from another site, Host forged", func(t *testing.T) req {
			return req{method: "POST", path: "/v1/auth/logout",
				header: map[string]string{"Cookie": session(t), "Host": "evil.example", "Origin": "http://evil.example"}}
		}, 403, "cross_origin"},
		{"log-in from usher's own origin", func(*testing.T) req {
			return req{method: "POST", path: "/v1/auth/login", body: login,
				header: map[string]string{"Origin": publicURL, "Sec-Fetch-Site": "same-origin"}}
		}, 200, ""},
		{"log-in by a client that is not a browser", func(*testing.T) req {
			return req{method: "POST", path: "/v1/auth/login", body: login}
		}, 200, ""},
		{"log-out from usher's own origin", func(t *testing.T) req {
			return req{method: "POST", path: "/v1/auth/logout", header: map[string]string{"Cookie": session(t), "Origin": publicURL}}
		}, 204, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.api.do(t, tt.rq(t))
			if res.status != tt.status {
				t.Fatalf("%d %s, want %d", res.status, res.body, tt.status)
			}
			if tt.code == "" {
				return
			}
			if p := res.problem(t); p.Code != tt.code || p.Detail == "" {
				t.Fatalf("body %s, want code %s", res.body, tt.code)
			}
			if c := res.header.Values("Set-Cookie"); len(c) != 0 {
				t.Fatalf("a refused request set cookies: %v", c)
			}
		})
	}
}

// TestCookieChangesCheckedAgainstPublicURL: a change made with the session
// cookie is taken from the public URL's origin, and refused from any
// other, even when the Host header is forged to match that other origin
// (as DNS rebinding does): the check does not trust the Host header.
func TestCookieChangesCheckedAgainstPublicURL(t *testing.T) {
	t.Parallel()
	b := setupDevice(t)
	if err := b.env.Core.Auth.SetPassword(coretest.System(), usher.UserKey{ID: b.user.ID}, "the plain user's passphrase"); err != nil {
		t.Fatal(err)
	}
	res := b.api.do(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "plain", "password": "the plain user's passphrase"}})
	cookie := "usher_session=" + cookieValue(t, res, "usher_session")
	for _, tt := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"Origin is the public URL", map[string]string{"Origin": publicURL, "Sec-Fetch-Site": "same-origin"}, 201},
		{"Origin is the public URL in capitals with its default port", map[string]string{"Origin": "HTTP://USHER.TEST:80"}, 201},
		{"Host forged to match a foreign Origin", map[string]string{"Host": "evil.example", "Origin": "http://evil.example"}, 403},
		{"Host forged, Origin absent, Sec-Fetch-Site cross-site", map[string]string{"Host": "evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"the public URL's host on another scheme", map[string]string{"Origin": "https://usher.test"}, 403},
		{"the public URL's host on another port", map[string]string{"Origin": "http://usher.test:8080"}, 403},
		{"Origin the public URL but the browser says cross-site", map[string]string{"Origin": publicURL, "Sec-Fetch-Site": "cross-site"}, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Cookie": cookie}
			for k, v := range tt.header {
				h[k] = v
			}
			res := b.api.do(t, req{method: "POST", path: "/v1/me/tokens", body: map[string]any{"name": "x"}, header: h})
			if res.status != tt.status {
				t.Fatalf("%d %s, want %d", res.status, res.body, tt.status)
			}
			if tt.status == 403 && res.problem(t).Code != "cross_origin" {
				t.Fatalf("body %s", res.body)
			}
		})
	}
}

// TestBearerTokenWithForeignOriginWorks: a request that brings its
// credential in the Authorization header is no browser's ambient
// authority, and is taken from any origin.
func TestBearerTokenWithForeignOriginWorks(t *testing.T) {
	t.Parallel()
	b := setupDevice(t)
	for _, h := range []map[string]string{
		{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
		{"Host": "evil.example", "Origin": "https://other.example"},
	} {
		res := b.api.do(t, req{method: "POST", path: "/v1/me/tokens", token: b.userTok, body: map[string]any{"name": "ci"}, header: h})
		var tok struct {
			Name  string `json:"name"`
			Token string `json:"token"`
		}
		res.decode(t, &tok)
		if res.status != http.StatusCreated || tok.Name != "ci" || !strings.HasPrefix(tok.Token, "usp_") {
			t.Fatalf("%v: %d %s", h, res.status, res.body)
		}
	}
}

// TestDevicePageQuotesNoAgentText replays a phisher starting a device
// log-in with a User-Agent that is a message ("IT-desk verified: this is
// YOUR laptop…") or text turned around by a right-to-left override: the
// page where a person decides whether the client is theirs quoted it word
// for word. It names the client as usher describes it — browser and
// system, or a product's one-word name — as the sign-in mails do.
func TestDevicePageQuotesNoAgentText(t *testing.T) {
	t.Parallel()
	b := setupDevice(t)
	for _, c := range []struct{ agent, want string }{
		{"IT-desk verified: this is YOUR laptop; the address shown is the corporate VPN. Safe to continue", "a client usher does not recognise"},
		{"usher-cli/2.0 \u202etpircs-revlos-ti\u202c", "(usher-cli)"},
	} {
		res := b.api.do(t, req{method: "GET", path: "/v1/auth/oauth/corp/start", header: map[string]string{"Accept": "application/json", "User-Agent": c.agent}})
		var start struct {
			UserCode string `json:"user_code"`
		}
		res.decode(t, &start)
		cookie, token := deviceForm(t, b.api)
		res = b.api.do(t, deviceRequest(url.Values{"user_code": {start.UserCode}, "csrf_token": {token}},
			map[string]string{"Origin": publicURL, "Sec-Fetch-Site": "same-origin", "Cookie": cookie}))
		page := html.UnescapeString(string(res.body))
		if strings.Contains(page, "YOUR laptop") || strings.Contains(page, "\u202e") || !strings.Contains(page, c.want) {
			t.Errorf("the device page for a client whose agent is %q: %d %s", c.agent, res.status, res.body)
		}
	}
}

// TestSessionListQuotesNoFormatCharacters: a session's user agent, which
// whoever signs in writes, was listed with a right-to-left override in it
// (/v1/me/sessions, the pages' sessions list), turning the text after it
// around; control characters were already taken out, format characters
// are too now.
func TestSessionListQuotesNoFormatCharacters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.env.MustCreateUser(t, usher.UserCreate{Username: "dev", Email: "dev@example.com", Password: "correct horse battery staple"})
	res := b.api.do(t, req{method: "POST", path: "/v1/auth/login", header: map[string]string{"User-Agent": "IT-desk \u202etpircs-revlos\u202c zero\u200bwidth"},
		body: map[string]any{"login": u.Username, "password": "correct horse battery staple"}})
	var s sessionBody
	res.decode(t, &s)
	list := b.call(t, req{method: "GET", path: "/v1/me/sessions", token: s.Token}, http.StatusOK, nil)
	if strings.ContainsAny(string(list.body), "\u202e\u202c\u200b") || !strings.Contains(string(list.body), "IT-desk tpircs-revlos zerowidth") {
		t.Fatalf("the session list: %s", list.body)
	}
}
