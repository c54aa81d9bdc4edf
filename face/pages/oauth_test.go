package pages_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"usher"
	"usher/connector"
	"usher/connector/oidctest"
	"usher/core/coretest"
)

// setupOIDC is setup with an in-process OpenID Connect provider, "corp",
// as an external log-in. The connector is built against a placeholder
// callback address, the server's being known only once it runs; a test
// takes the callback's query to the server.
func setupOIDC(t *testing.T) (*bundle, *oidctest.Provider) {
	t.Helper()
	return setupOIDCOn(t, false)
}

// setupOIDCOn is setupOIDC, served over HTTPS when https is set.
func setupOIDCOn(t *testing.T, https bool) (*bundle, *oidctest.Provider) {
	t.Helper()
	idp := oidctest.New(t, "usher-client", "usher-secret")
	oidc, err := connector.NewOIDC(context.Background(), connector.OIDCConfig{Name: "corp", Issuer: idp.Issuer(),
		ClientID: "usher-client", ClientSecret: "usher-secret", RedirectURL: "http://usher.test/v1/auth/oauth/corp/callback"})
	if err != nil {
		t.Fatal(err)
	}
	b := setupServer(t, coretest.Options{Connectors: []usher.Connector{oidc}}, https)
	idp.SetUser(oidctest.User{Subject: "sub-7", Email: "frank@corp.example", EmailVerified: true, Username: "frank", Name: "Frank"})
	return b, idp
}

// toProvider follows a redirect to the provider, which confirms the
// person, and returns the path of usher's callback with its query.
func toProvider(t *testing.T, idp *oidctest.Provider, p page) string {
	t.Helper()
	if p.status != http.StatusFound {
		t.Fatalf("to the provider: %d\n%s", p.status, p.body)
	}
	callback, err := idp.Login(context.Background(), p.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return callback.Path + "?" + callback.RawQuery
}

var providerButtonRE = regexp.MustCompile(`href="(/v1/auth/oauth/corp/start\?[^"]+)"`)

// TestExternalLoginLandsOnPage: a browser that logs in through the log-in
// page's provider button comes back to a page in the pages' look — the
// return_to it named when usher allows it, else the landing page — never
// to the session as JSON.
func TestExternalLoginLandsOnPage(t *testing.T) {
	t.Parallel()
	b, idp := setupOIDC(t)
	for _, tt := range []struct {
		name, returnTo, landing, want string
	}{
		{"return_to", "/account/sessions", "/account/sessions", "Sessions"},
		{"no return_to", "", "/", "You are signed in as <strong>frank</strong>"},
		{"another site's return_to", "https://evil.example/x", "/", "You are signed in as <strong>frank</strong>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			br := b.browser(t)
			login := br.get(t, "/login?return_to="+url.QueryEscape(tt.returnTo))
			m := providerButtonRE.FindStringSubmatch(login.body)
			if login.status != http.StatusOK || m == nil {
				t.Fatalf("the log-in page has no button for corp: %d\n%s", login.status, login.body)
			}
			callback := toProvider(t, idp, br.get(t, html.UnescapeString(m[1])))
			p := br.get(t, callback)
			if p.status != http.StatusFound || p.header.Get("Location") != tt.landing {
				t.Fatalf("callback: %d to %q, want %q\n%s", p.status, p.header.Get("Location"), tt.landing, p.body)
			}
			p = br.get(t, tt.landing)
			if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
				t.Fatalf("the landing page: %d %s", p.status, p.header.Get("Content-Type"))
			}
			mustContain(t, p, `<link rel="stylesheet" href="/static/style.css">`, tt.want, "frank")
		})
	}
}

// TestDeviceLoginLandsOnPage: a command-line client's log-in, taken up in
// the browser at /device, ends on the hosted page that sends the person
// back to their terminal, and the client's redeem gets the session.
func TestDeviceLoginLandsOnPage(t *testing.T) {
	t.Parallel()
	b, idp := setupOIDC(t)
	client := &http.Client{}
	startReq, _ := http.NewRequest("GET", b.srv.URL+"/v1/auth/oauth/corp/start", nil)
	startReq.Header.Set("Accept", "application/json")
	res, err := client.Do(startReq)
	if err != nil {
		t.Fatal(err)
	}
	var start struct {
		UserCode    string `json:"user_code"`
		RedeemToken string `json:"redeem_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&start)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || start.UserCode == "" {
		t.Fatalf("start: %d %v", res.StatusCode, err)
	}

	br := b.browser(t)
	// A browser that showed the device page and then another page of the
	// site (its log-in, say) holds the form token's cookie of each. Over
	// plain HTTP, with no __Host- prefix, the pages' was for every path and
	// the device page's for its own: both of the same name were sent to
	// the device page, two are refused, and its every post answered 403.
	br.get(t, "/v1/auth/device")
	br.get(t, "/login")
	p := br.get(t, "/device")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/v1/auth/device" {
		t.Fatalf("/device: %d %s", p.status, p.header.Get("Location"))
	}
	br.get(t, "/v1/auth/device")
	p = br.post(t, "/v1/auth/device", url.Values{"user_code": {start.UserCode}})
	approval := regexp.MustCompile(`name="approval" value="([^"]+)"`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || approval == nil {
		t.Fatalf("the device page: %d\n%s", p.status, p.body)
	}
	p = br.post(t, "/v1/auth/device", url.Values{"user_code": {start.UserCode}, "confirm": {"yes"},
		"approval": {html.UnescapeString(approval[1])}})
	p = br.get(t, toProvider(t, idp, p))
	if p.status != http.StatusFound || p.header.Get("Location") != "/device/done" {
		t.Fatalf("callback: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	p = br.get(t, "/device/done")
	if p.status != http.StatusOK {
		t.Fatalf("/device/done: %d", p.status)
	}
	mustContain(t, p, `<link rel="stylesheet" href="/static/style.css">`, "<h1>Return to your terminal</h1>",
		"You can close this window and return to your terminal.", "This browser is signed in as <strong>frank</strong>")

	res, err = client.Post(b.srv.URL+"/v1/auth/redeem", "application/json",
		strings.NewReader(`{"redeem_token":"`+start.RedeemToken+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Token string `json:"token"`
		User  struct {
			Username string `json:"username"`
		} `json:"user"`
	}
	err = json.NewDecoder(res.Body).Decode(&s)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || s.Token == "" || s.User.Username != "frank" {
		t.Fatalf("redeem: %d %+v %v", res.StatusCode, s, err)
	}
}

// TestDeviceApprovalIsTheViewers replays one who starts a command-line
// log-in, and so knows its user code, describing it in a browser of their
// own and handing the approval nonce the page gave to another browser, one
// never shown the client, whose single post (with its own form token)
// approved the log-in: the victim signed in at the provider and the
// attacker's redeem opened a session of the victim's (round 43). The nonce
// is the describing browser's now: 403 device_not_approved, the code whole.
func TestDeviceApprovalIsTheViewers(t *testing.T) {
	t.Parallel()
	b, _ := setupOIDC(t)
	startReq, _ := http.NewRequest("GET", b.srv.URL+"/v1/auth/oauth/corp/start", nil)
	startReq.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(startReq)
	if err != nil {
		t.Fatal(err)
	}
	var start struct {
		UserCode string `json:"user_code"`
	}
	err = json.NewDecoder(res.Body).Decode(&start)
	res.Body.Close()
	if err != nil || start.UserCode == "" {
		t.Fatalf("start: %d %v", res.StatusCode, err)
	}
	attacker := b.browser(t)
	attacker.get(t, "/v1/auth/device")
	p := attacker.post(t, "/v1/auth/device", url.Values{"user_code": {start.UserCode}})
	m := regexp.MustCompile(`name="approval" value="([^"]+)"`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("the attacker's description: %d", p.status)
	}
	approval := html.UnescapeString(m[1])

	victim := b.browser(t)
	victim.get(t, "/v1/auth/device")
	p = victim.post(t, "/v1/auth/device", url.Values{"user_code": {start.UserCode}, "confirm": {"yes"}, "approval": {approval}})
	if p.status != http.StatusForbidden {
		t.Fatalf("a browser never shown the client, with another's nonce: %d to %q; want 403", p.status, p.header.Get("Location"))
	}
	// The code is whole: the victim, shown the client, may still take it up.
	p = victim.post(t, "/v1/auth/device", url.Values{"user_code": {start.UserCode}})
	if m = regexp.MustCompile(`name="approval" value="([^"]+)"`).FindStringSubmatch(p.body); p.status != http.StatusOK || m == nil {
		t.Fatalf("the victim's own description: %d", p.status)
	}
	p = victim.post(t, "/v1/auth/device", url.Values{"user_code": {start.UserCode}, "confirm": {"yes"}, "approval": {html.UnescapeString(m[1])}})
	if p.status != http.StatusFound {
		t.Errorf("the victim's own confirmation: %d; want 302 to the provider", p.status)
	}
}

// getHTML fetches path as a browser's navigation does, asking for HTML.
func (br *browser) getHTML(t testing.TB, path string) page {
	t.Helper()
	req, _ := http.NewRequest("GET", br.b.srv.URL+path, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	return br.do(t, req)
}

// TestExternalLoginFailureLandsOnPage: an external log-in that does not
// complete sends a browser to a page that says why, in the pages' look;
// a client that does not ask for HTML still gets the problem document.
// The page shows only what the code it is given stands for.
func TestExternalLoginFailureLandsOnPage(t *testing.T) {
	t.Parallel()
	b, idp := setupOIDC(t)
	started := func(t *testing.T) (*browser, string) {
		br := b.browser(t)
		m := providerButtonRE.FindStringSubmatch(br.get(t, "/login").body)
		if m == nil {
			t.Fatal("the log-in page has no button for corp")
		}
		return br, toProvider(t, idp, br.get(t, html.UnescapeString(m[1])))
	}
	for _, tt := range []struct {
		name   string
		call   func(t *testing.T) page
		code   string
		status int
		want   string
	}{
		{"provider refused", func(t *testing.T) page {
			br, _ := started(t)
			return br.getHTML(t, "/v1/auth/oauth/corp/callback?error=access_denied&state=x")
		}, "oauth_denied", http.StatusUnauthorized, "The provider did not let you log in."},
		{"another browser", func(t *testing.T) page {
			_, callback := started(t)
			return b.browser(t).getHTML(t, callback)
		}, "oauth_binding", http.StatusUnauthorized, "The log-in was started in another browser."},
		{"replayed callback", func(t *testing.T) page {
			br, callback := started(t)
			if p := br.getHTML(t, callback); p.status != http.StatusFound {
				t.Fatalf("the first callback: %d", p.status)
			}
			return br.getHTML(t, callback)
		}, "oauth_state_not_found", http.StatusNotFound, "This log-in expired or was already used."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.call(t)
			if want := "/login/failed?code=" + tt.code; p.status != http.StatusSeeOther || p.header.Get("Location") != want {
				t.Fatalf("callback: %d to %q, want %q\n%s", p.status, p.header.Get("Location"), want, p.body)
			}
			p = b.browser(t).get(t, p.header.Get("Location"))
			if p.status != tt.status {
				t.Fatalf("the page: %d, want %d", p.status, tt.status)
			}
			mustContain(t, p, "<h1>The log-in did not complete</h1>", tt.want, `href="/login"`)
		})
	}
	// Only the codes' own texts are shown.
	p := b.browser(t).get(t, "/login/failed?code="+url.QueryEscape("<b>Call 555-0100 for help</b>"))
	if p.status != http.StatusBadRequest || strings.Contains(p.body, "555-0100") {
		t.Fatalf("an unknown code: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "The log-in with the provider did not complete.")
	// A client that does not ask for HTML gets the problem, as before.
	br, _ := started(t)
	p = br.get(t, "/v1/auth/oauth/corp/callback?error=access_denied&state=x")
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, `"oauth_denied"`) {
		t.Fatalf("a client's refused callback: %d\n%s", p.status, p.body)
	}
}

// TestLogInBindingNotPlanted: over HTTPS an external log-in's binding is a
// __Host- cookie. Before, it was usher_oauth at /v1/auth/, which a sibling
// host could set for the parent domain: an attacker started a log-in as
// themselves, planted its binding in the victim's browser and sent the
// victim to the callback with the attacker's code, and the victim's
// browser was signed in to the attacker's account. The planted plain
// cookie is now no binding; the log-in's own browser still completes it.
func TestLogInBindingNotPlanted(t *testing.T) {
	t.Parallel()
	b, idp := setupOIDCOn(t, true)
	attacker := b.browser(t)
	login := attacker.get(t, "/login")
	m := providerButtonRE.FindStringSubmatch(login.body)
	if m == nil {
		t.Fatalf("the log-in page has no button for corp:\n%s", login.body)
	}
	start := attacker.get(t, html.UnescapeString(m[1]))
	var binding *http.Cookie
	for _, c := range (&http.Response{Header: start.header}).Cookies() {
		if strings.HasSuffix(c.Name, "usher_oauth") {
			binding = c
		}
	}
	if binding == nil {
		t.Fatal("the log-in set no binding cookie")
	}
	callback := toProvider(t, idp, start)
	req, err := http.NewRequest("GET", b.srv.URL+callback, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", "usher_oauth="+binding.Value)
	victim := b.browser(t)
	if p := victim.do(t, req); p.status == http.StatusFound || strings.Contains(strings.Join(p.header.Values("Set-Cookie"), " "), "usher_session=") {
		t.Fatalf("a planted binding signed the victim in: %d %v", p.status, p.header)
	}
	// A log-in's state serves once: the browser that starts another
	// completes it.
	callback = toProvider(t, idp, attacker.get(t, html.UnescapeString(m[1])))
	if p := attacker.get(t, callback); p.status != http.StatusFound || !strings.Contains(strings.Join(p.header.Values("Set-Cookie"), " "), "__Host-usher_session=") {
		t.Fatalf("the log-in's own browser: %d %v\n%s", p.status, p.header, p.body)
	}
	if binding.Name != "__Host-usher_oauth" || binding.Path != "/" || !binding.Secure {
		t.Fatalf("the binding cookie over HTTPS: %+v", binding)
	}
}

// TestExchangeStartNotReachedThroughReturnTo: an exchange start must be a
// navigation from usher's own pages, so that no other site picks the PKCE
// verifier of a log-in in someone else's browser. The log-in page sent the
// browser, from its own form, to any return_to that was a path of usher's
// — the exchange start with the attacker's challenge too: the person opens
// the attacker's link to usher's real log-in page and logs in, the 303
// that follows is a same-origin navigation, the start passed, the log-in
// completed at the provider where the person is signed in, and whoever
// held the verifier traded the code for the person's session. A log-in now
// returns only to a page, never to usher's API.
func TestExchangeStartNotReachedThroughReturnTo(t *testing.T) {
	t.Parallel()
	b, idp := setupOIDC(t)
	verifier := "the-attackers-own-verifier-0123456789-abcdefghijk"
	sum := sha256.Sum256([]byte(verifier))
	start := "/v1/auth/oauth/corp/start?redirect_url=/account&code_challenge_method=S256&code_challenge=" +
		base64.RawURLEncoding.EncodeToString(sum[:])
	for _, returnTo := range []string{
		start,
		"/account/../v1/auth/oauth/corp/start?redirect_url=/account&code_challenge_method=S256&code_challenge=" +
			base64.RawURLEncoding.EncodeToString(sum[:]),
		"/%761/auth/oauth/corp/start?redirect_url=/account&code_challenge_method=S256&code_challenge=" +
			base64.RawURLEncoding.EncodeToString(sum[:]),
	} {
		br := b.browser(t)
		loginURL := "/login?return_to=" + url.QueryEscape(returnTo)
		br.get(t, loginURL)
		p := br.post(t, "/login", url.Values{"login": {"plain"}, "password": {password}, "return_to": {returnTo}},
			"Referer", b.srv.URL+loginURL)
		if p.status != http.StatusSeeOther {
			t.Fatalf("log-in: %d\n%s", p.status, p.body)
		}
		loc := p.header.Get("Location")
		if loc == "/" {
			continue
		}
		// The browser follows the 303 from usher's own page.
		follow, _ := http.NewRequest("GET", b.srv.URL+loc, nil)
		follow.Header.Set("Sec-Fetch-Site", "same-origin")
		follow.Header.Set("Referer", b.srv.URL+loginURL)
		p = br.do(t, follow)
		if p.status != http.StatusFound {
			t.Fatalf("return_to %q: the log-in went to %q, which answered %d", returnTo, loc, p.status)
		}
		to, err := url.Parse(br.get(t, toProvider(t, idp, p)).header.Get("Location"))
		if err != nil || to.Query().Get("exchange_code") == "" {
			t.Fatalf("return_to %q: the callback gave no exchange code: %v", returnTo, to)
		}
		body, _ := json.Marshal(map[string]any{"exchange_code": to.Query().Get("exchange_code"), "code_verifier": verifier})
		res, err := http.Post(b.srv.URL+"/v1/auth/exchange", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Errorf("return_to %q: the log-in sent the browser to the exchange start, and the attacker's verifier traded its code: %d %s",
			returnTo, res.StatusCode, raw)
	}
}

// TestProfileWebsiteLinksNowhereInUsher: a user set their profile's
// website to an exchange start with their own challenge, and /u/{username}
// made it a link: a visitor who followed it, a navigation from usher's own
// page, started an exchange log-in whose code the link's author traded for
// the visitor's session. A path is refused as a website, and whatever is
// stored is linked as an address of its own host, never into usher.
func TestProfileWebsiteLinksNowhereInUsher(t *testing.T) {
	t.Parallel()
	b, _ := setupOIDC(t)
	sum := sha256.Sum256([]byte("the-attackers-own-verifier-0123456789-abcdefghijk"))
	start := "v1/auth/oauth/corp/start?redirect_url=/account&code_challenge_method=S256&code_challenge=" +
		base64.RawURLEncoding.EncodeToString(sum[:])
	mallory := b.env.MustCreateUser(t, usher.UserCreate{Username: "mallory", Email: "m@example.com", Password: password})
	tok := b.env.MustToken(t, mallory.ID, usher.TokenPersonal)
	set := func(website string) int {
		body, _ := json.Marshal(map[string]any{"website_url": website})
		req, _ := http.NewRequest("PATCH", b.srv.URL+"/v1/users/mallory", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, website := range []string{"/" + start, `\` + start, "//" + strings.TrimPrefix(b.srv.URL, "http://") + "/" + start} {
		if status := set(website); status != http.StatusUnprocessableEntity {
			t.Errorf("website_url %q: %d, want 422", website, status)
		}
	}
	linkRE := regexp.MustCompile(`<a href="([^"]+)" rel="nofollow noopener">`)
	base, _ := url.Parse(b.srv.URL + "/u/mallory")
	own, _ := url.Parse(b.srv.URL)
	for _, website := range []string{"../" + start, "example.com/about", "https://example.com/about", b.srv.URL + "/" + start,
		"HTTPS://" + strings.ToUpper(own.Hostname()) + "/" + start} {
		if status := set(website); status != http.StatusOK {
			t.Fatalf("website_url %q: %d, want 200", website, status)
		}
		br := b.browser(t)
		br.login(t, "plain", password)
		p := br.get(t, "/u/mallory")
		m := linkRE.FindStringSubmatch(p.body)
		if p.status != http.StatusOK || !strings.Contains(p.body, html.EscapeString(website)) {
			t.Fatalf("profile: %d\n%s", p.status, p.body)
		}
		if m == nil {
			continue // shown, not linked
		}
		to, err := base.Parse(html.UnescapeString(m[1]))
		if err != nil || to.Host == base.Host {
			t.Errorf("website_url %q is linked as %q, which leads to %v: into usher", website, m[1], to)
		}
		if strings.HasPrefix(website, "https://example.com") && m[1] != website {
			t.Errorf("website_url %q is linked as %q", website, m[1])
		}
	}
	// Hosts a browser rewrites before it compares — full-width digits, an
	// address in short form or with a trailing dot — are usher's to it
	// whatever Go makes of them: no such host is linked.
	fullwidth := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r - '0' + '０'
		}
		return r
	}, own.Hostname())
	for _, website := range []string{"http://" + fullwidth + ":" + own.Port() + "/" + start, "http://127.1:" + own.Port() + "/" + start,
		"http://127.0.0.1.:" + own.Port() + "/" + start, "http://0x7f.1:" + own.Port() + "/" + start} {
		if status := set(website); status != http.StatusOK {
			t.Fatalf("website_url %q: %d, want 200", website, status)
		}
		br := b.browser(t)
		br.login(t, "plain", password)
		if p := br.get(t, "/u/mallory"); linkRE.MatchString(p.body) {
			t.Errorf("website_url %q is linked: %s", website, linkRE.FindString(p.body))
		}
	}
}
