package native_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"usher"
	"usher/connector"
	"usher/connector/oidctest"
	"usher/core/coretest"
	"usher/store"
)

// ownPage is what a browser sends when a page of usher's own navigates it:
// where an exchange log-in must start.
var ownPage = map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}

// TestExchangeLogin follows an external log-in that ends with an exchange
// code instead of a session cookie (Corteza's /auth/exchange): the code is
// traded once, only with the verifier of the client that started the
// log-in, and only within its minute.
func TestExchangeLogin(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64 // moves usher's clock
	c := newExchangeClient(t, coretest.Options{Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	b, verifier, challenge, login, exchange := c.b, c.verifier, c.challenge, c.login, c.exchange
	notFound := func(what string, res *response) {
		t.Helper()
		if res.status != http.StatusNotFound || res.problem(t).Code != usher.CodeExchangeNotFound {
			t.Fatalf("%s: %d %s, want 404 %s", what, res.status, res.body, usher.CodeExchangeNotFound)
		}
	}
	start := c.start

	// The code in the right client's hands: a session, once.
	code := login(t)
	res := exchange(t, code, verifier)
	var s sessionBody
	res.decode(t, &s)
	if res.status != 200 || s.User.Username != "grace" || s.Token == "" {
		t.Fatalf("exchange: %d %s", res.status, res.body)
	}
	if res := b.api.do(t, req{method: "GET", path: "/v1/me", token: s.Token}); res.status != 200 {
		t.Fatalf("the exchanged session: %d", res.status)
	}
	notFound("a used code", exchange(t, code, verifier))

	// Another client — one that saw the code in the address bar, a log or
	// a Referer, but lacks the verifier — gets nothing, and its guess uses
	// the code up.
	code = login(t)
	notFound("a wrong verifier", exchange(t, code, "another-clients-verifier-0123456789abcdefgh"))
	notFound("the code after a wrong verifier", exchange(t, code, verifier))

	notFound("an unknown code", exchange(t, strings.Repeat("x", 32), verifier))

	code = login(t)
	skew.Store(int64(2 * time.Minute))
	notFound("an expired code", exchange(t, code, verifier))
	skew.Store(0)

	// Bad input.
	for _, tt := range []struct {
		name        string
		res         *response
		status      int
		code, field string // the problem's code and the field it names
	}{
		{"no code", exchange(t, "", verifier), 400, "invalid_parameter", "exchange_code"},
		{"no verifier", exchange(t, code, ""), 400, "invalid_parameter", "code_verifier"},
		{"no redirect", b.api.do(t, req{method: "GET", header: ownPage, path: "/v1/auth/oauth/corp/start?code_challenge_method=S256&code_challenge=" + challenge}), 400, "invalid_parameter", "redirect_url"},
		{"a malformed challenge", b.api.do(t, req{method: "GET", header: ownPage, path: "/v1/auth/oauth/corp/start?redirect_url=/app&code_challenge_method=S256&code_challenge=short"}), 400, "invalid_parameter", "code_challenge"},
		{"the plain method", b.api.do(t, req{method: "GET", header: ownPage, path: "/v1/auth/oauth/corp/start?redirect_url=/app&code_challenge_method=plain&code_challenge=" + challenge}), 400, "invalid_parameter", "code_challenge_method"},
		{"no method", b.api.do(t, req{method: "GET", header: ownPage, path: "/v1/auth/oauth/corp/start?redirect_url=/app&code_challenge=" + challenge}), 400, "invalid_parameter", "code_challenge_method"},
		{"a foreign redirect", b.api.do(t, req{method: "GET", header: ownPage, path: "/v1/auth/oauth/corp/start?redirect_url=https://evil.example/&code_challenge_method=S256&code_challenge=" + challenge}), 422, "validation_failed", "redirect_url"},
		{"an unknown provider", b.api.do(t, req{method: "GET", header: ownPage, path: "/v1/auth/oauth/nope/start?redirect_url=/app&code_challenge_method=S256&code_challenge=" + challenge}), 404, "provider_not_found", ""},
		{"a command-line client", b.api.do(t, req{method: "GET", path: start, header: map[string]string{"Accept": "application/json"}}), 400, "not_allowed", "code_challenge"},
		{"unknown fields", b.api.do(t, req{method: "POST", path: "/v1/auth/exchange", body: map[string]any{"exchange_code": "x", "code_verifier": "y", "token": "z"}}), 400, "unknown_field", "token"},
		{"another site's page", b.api.do(t, req{method: "POST", path: "/v1/auth/exchange", body: map[string]any{"exchange_code": "x", "code_verifier": "y"},
			header: map[string]string{"Origin": "https://evil.example"}}), 403, "cross_origin", ""},
	} {
		p, field := tt.res.problem(t), ""
		if len(p.Errors) > 0 {
			field = p.Errors[0].Field
		}
		if tt.res.status != tt.status || p.Code != tt.code || field != tt.field {
			t.Errorf("%s: %d %s, want %d %s naming %q", tt.name, tt.res.status, tt.res.body, tt.status, tt.code, tt.field)
		}
	}
	// Refusing bad input used nothing up: with the clock back inside the
	// code's minute, the code still works.
	if res := exchange(t, code, verifier); res.status != http.StatusOK {
		t.Fatalf("the code after bad input: %d %s", res.status, res.body)
	}
}

// TestExchangeStartOnlyFromOwnPages replays a forced exchange log-in: the
// attacker picks the verifier and its challenge and has the browser of
// someone signed in at the provider open the exchange start from a link on
// another site; the log-in completed in that browser and left its
// exchange code in the address, where the attacker, holding the verifier,
// could read it (a history, a log, a Referer) and trade it for the
// person's session; a link in a mail does the same (Sec-Fetch-Site none),
// and a browser that sends no Fetch Metadata shows only the other site's
// Referer. An exchange start must come from usher's own pages.
func TestExchangeStartOnlyFromOwnPages(t *testing.T) {
	t.Parallel()
	b, idp := setupMailAndOIDC(t)
	idp.SetUser(oidctest.User{Subject: "v-1", Email: "victim@corp.example", EmailVerified: true, Username: "victim"})
	sum := sha256.Sum256([]byte("the-attackers-own-verifier-0123456789-abcdefghijk"))
	start := "/v1/auth/oauth/corp/start?redirect_url=/app&code_challenge_method=S256&code_challenge=" +
		base64.RawURLEncoding.EncodeToString(sum[:])
	for _, c := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"a link on another site", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"a link on a sibling host", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"a link in a mail or a chat, or typed", map[string]string{"Sec-Fetch-Site": "none"}, http.StatusForbidden},
		{"an older browser, from another site", map[string]string{"Referer": "https://evil.example/page"}, http.StatusForbidden},
		{"neither header", nil, http.StatusForbidden},
		{"a page of usher's own", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusFound},
		{"an older browser, from a page of usher's own", map[string]string{"Referer": corpPublicURL + "/app"}, http.StatusFound},
	} {
		res := b.api.do(t, req{method: "GET", path: start, header: c.header})
		if res.status != c.status {
			t.Errorf("an exchange start from %s: %d %s, want %d", c.name, res.status, res.body, c.status)
			continue
		}
		if c.status == http.StatusForbidden {
			wantProblem(t, c.name, res, http.StatusForbidden, usher.CodeCrossOrigin)
			if v := cookieValue(t, res, "usher_oauth"); v != "" {
				t.Errorf("a refused start set the binding cookie")
			}
		}
	}
}

// TestProviderTurnedOffStopsLogInsUnderWay replays an administrator who
// notices a phishing run through a provider and turns it off (or external
// log-in as a whole) after the person's log-in came back from the
// provider, but before the phisher's client traded it: the redeem of a
// device log-in and the exchange of an exchange code still opened a
// session, though every other step asks whether the provider is on. Both
// are refused now.
func TestProviderTurnedOffStopsLogInsUnderWay(t *testing.T) {
	t.Parallel()
	b, idp := setupMailAndOIDC(t)
	idp.SetUser(oidctest.User{Subject: "v-1", Email: "victim@corp.example", EmailVerified: true, Username: "victim"})
	setting := func(name string, on bool) {
		t.Helper()
		b.call(t, req{method: "PUT", path: "/v1/settings/" + name, token: b.adminTok, body: map[string]any{"value": on}}, http.StatusOK, nil)
	}

	// A device log-in, approved and back from the provider.
	redeem, _ := b.approvedDeviceLogIn(t, idp)
	setting(usher.SettingExternalEnabled, false)
	b.refused(t, req{method: "POST", path: "/v1/auth/redeem", body: map[string]any{"redeem_token": redeem}},
		http.StatusForbidden, usher.CodeProviderDisabled)
	setting(usher.SettingExternalEnabled, true)

	// An exchange log-in, back from the provider with its code.
	verifier := "a-verifier-the-client-keeps-to-itself-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	res := b.api.do(t, req{method: "GET", header: ownPage, path: "/v1/auth/oauth/corp/start?redirect_url=/app&code_challenge_method=S256&code_challenge=" +
		base64.RawURLEncoding.EncodeToString(sum[:])})
	binding := cookieValue(t, res, "usher_oauth")
	callback, err := idp.Login(context.Background(), res.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	res = b.api.do(t, req{method: "GET", path: "/v1/auth/oauth/corp/callback?" + callback.RawQuery, header: map[string]string{"Cookie": "usher_oauth=" + binding}})
	to, err := url.Parse(res.header.Get("Location"))
	if err != nil || to.Query().Get("exchange_code") == "" {
		t.Fatalf("callback: %d %v", res.status, res.header)
	}
	setting(usher.SettingProviderEnabled("corp"), false)
	b.refused(t, req{method: "POST", path: "/v1/auth/exchange", body: map[string]any{"exchange_code": to.Query().Get("exchange_code"),
		"code_verifier": verifier}}, http.StatusForbidden, usher.CodeProviderDisabled)
}

// exchangeClient is a PKCE client of usher's exchange log-in (Corteza's
// /auth/exchange) with an OpenID Connect provider, corp, of its own, where
// grace is signed in: it runs the browser's part of a log-in and trades
// the codes it ends with.
type exchangeClient struct {
	b                *bundle
	idp              *oidctest.Provider
	verifier         string
	challenge, start string // the verifier's challenge, and the log-in's start with it
}

// TestExchangeCodeNotIssuedAfterTakeBack: an exchange log-in's callback
// read the account, and while the provider's answer was under way an
// administrator blocked or deleted it — ending its sessions and its codes
// yet to be traded, of which this one was not yet — and the callback then
// issued the code, which, once the account was unblocked or restored
// within the code's minute (restored without the identity), opened a
// session (round 32). The code is issued holding the account's row, which
// is read again.
func TestExchangeCodeNotIssuedAfterTakeBack(t *testing.T) {
	t.Parallel()
	for _, takeBack := range []string{"POST /v1/users/%d/block", "DELETE /v1/users/%d"} {
		t.Run(takeBack, func(t *testing.T) {
			t.Parallel()
			hold := &loginHold{}
			c := newExchangeClient(t, coretest.Options{WrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }})
			b := c.b
			if res := c.exchange(t, c.login(t), c.verifier); res.status != http.StatusOK {
				t.Fatalf("grace's first log-in: %d %s", res.status, res.body)
			}
			grace, err := b.env.Store.UserGet(context.Background(), usher.UserKey{Username: "grace"})
			if err != nil {
				t.Fatal(err)
			}
			res := b.api.do(t, req{method: "GET", path: c.start, header: ownPage})
			if res.status != http.StatusFound {
				t.Fatalf("start: %d %s", res.status, res.body)
			}
			binding := cookieValue(t, res, "usher_oauth")
			callback, err := c.idp.Login(context.Background(), res.header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			// The callback waits once it has read the account.
			hold.arm(holdAccount)
			done := make(chan *response, 1)
			go func() {
				done <- b.api.do(t, req{method: "GET", path: "/v1/auth/oauth/corp/callback?" + callback.RawQuery, unchecked: true,
					header: map[string]string{"Cookie": "usher_oauth=" + binding}})
			}()
			<-hold.reached
			method, path, _ := strings.Cut(takeBack, " ")
			b.call(t, req{method: method, path: fmt.Sprintf(path, grace.ID), token: b.adminTok}, http.StatusOK, nil)
			close(hold.release)
			cb := <-done
			if to, err := url.Parse(cb.header.Get("Location")); err == nil && to.Query().Get("exchange_code") != "" {
				t.Errorf("the callback that read the account before %s issued an exchange code after it: %d %s", takeBack, cb.status, to)
			}
		})
	}
}

// newExchangeClient sets up usher with opts, the provider added, and
// a client.
func newExchangeClient(t *testing.T, opts coretest.Options) *exchangeClient {
	t.Helper()
	idp := oidctest.New(t, "usher-client", "usher-secret")
	const public = "http://usher.test"
	oidc, err := connector.NewOIDC(context.Background(), connector.OIDCConfig{Name: "corp", Issuer: idp.Issuer(),
		ClientID: "usher-client", ClientSecret: "usher-secret", RedirectURL: public + "/v1/auth/oauth/corp/callback"})
	if err != nil {
		t.Fatal(err)
	}
	opts.Connectors = append(opts.Connectors, oidc)
	opts.Policy.PublicURL, opts.Policy.SignupEnabled = public, true
	c := &exchangeClient{b: setupWith(t, opts), idp: idp, verifier: "a-verifier-the-client-keeps-to-itself-0123456789"}
	idp.SetUser(oidctest.User{Subject: "sub-5", Email: "grace@corp.example", EmailVerified: true, Username: "grace"})
	sum := sha256.Sum256([]byte(c.verifier))
	c.challenge = base64.RawURLEncoding.EncodeToString(sum[:])
	c.start = "/v1/auth/oauth/corp/start?redirect_url=/app&code_challenge_method=S256&code_challenge=" + c.challenge
	return c
}

// login runs the browser's part and returns the exchange code the
// client's page receives.
func (c *exchangeClient) login(t *testing.T) string {
	t.Helper()
	res := c.b.api.do(t, req{method: "GET", path: c.start, header: ownPage})
	if res.status != http.StatusFound {
		t.Fatalf("start: %d %s", res.status, res.body)
	}
	binding := cookieValue(t, res, "usher_oauth")
	callback, err := c.idp.Login(context.Background(), res.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	res = c.b.api.do(t, req{method: "GET", path: "/v1/auth/oauth/corp/callback?" + callback.RawQuery,
		header: map[string]string{"Cookie": "usher_oauth=" + binding}})
	if res.status != http.StatusFound || cookieValue(t, res, "usher_session") != "" {
		t.Fatalf("callback: %d %v (an exchange log-in sets no session cookie)", res.status, res.header)
	}
	to, err := url.Parse(res.header.Get("Location"))
	if err != nil || to.Path != "/app" || to.Host != "" || to.Query().Get("exchange_code") == "" {
		t.Fatalf("callback went to %q", res.header.Get("Location"))
	}
	return to.Query().Get("exchange_code")
}

// exchange trades code with verifier.
func (c *exchangeClient) exchange(t *testing.T, code, verifier string) *response {
	t.Helper()
	return c.b.api.do(t, req{method: "POST", path: "/v1/auth/exchange",
		body: map[string]any{"exchange_code": code, "code_verifier": verifier}})
}
