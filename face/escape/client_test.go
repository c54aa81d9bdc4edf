package escape_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"usher"
	"usher/connector/oidctest"
)

// cliMethod is a log-in method as the Escape client reads it
// (model/inventory/types/auth_methods.go).
type cliMethod struct {
	URL         string `json:"url"`
	Type        string `json:"type"`
	RedeemToken string `json:"redeem-token"`
	RedeemURL   string `json:"redeem-url"`
}

// UserCode is the code the method's URL carries for the person's browser.
func (m cliMethod) UserCode() string {
	u, err := url.Parse(m.URL)
	if err != nil {
		return ""
	}
	if c := u.Query().Get("user_code"); c != "" {
		return c
	}
	return u.Query().Get("redeem-token")
}

// cli plays the Escape command-line client against a server address, as
// its public code does: it reads {server}/api/v1/auth/login-methods, logs
// in through the URL a method advertises, keeps the X-Escape-Token header
// of the answer and sends it with every call.
type cli struct {
	b      *bundle
	server string
	token  string
}

func (c *cli) methods(t *testing.T) map[string]cliMethod {
	t.Helper()
	res := c.b.do(t, call{method: "GET", path: c.server + "/api/v1/auth/login-methods"})
	if res.status != http.StatusOK {
		t.Fatalf("login-methods: %d %s", res.status, res.body)
	}
	var out map[string]cliMethod
	res.decode(t, &out)
	return out
}

// login posts the old client's body, {"username", "secret_token"}, to the
// method's URL; a 401 is wrong credentials.
func (c *cli) login(t *testing.T, method cliMethod, username, secret string) int {
	t.Helper()
	res := c.b.do(t, call{method: "POST", path: method.URL, body: map[string]any{"username": username, "secret_token": secret}})
	if res.status == http.StatusOK {
		c.token = res.header.Get("X-Escape-Token")
		if c.token == "" || len(res.body) != 0 {
			t.Fatalf("log-in: header %q, body %q", c.token, res.body)
		}
	}
	return res.status
}

// redeem polls the redeem URL once, as the client does about 25 times: 404
// means keep polling, 200 carries the raw token.
func (c *cli) redeem(t *testing.T, method cliMethod) int {
	t.Helper()
	res := c.b.do(t, call{method: "GET", path: method.RedeemURL + "?redeem-token=" + url.QueryEscape(method.RedeemToken)})
	if res.status == http.StatusOK {
		c.token = string(res.body)
	}
	return res.status
}

// whoami is an authenticated call: the ACL look-up of the token.
func (c *cli) whoami(t *testing.T) (int, string) {
	t.Helper()
	res := c.b.do(t, call{method: "GET", path: c.server + "/api/v1/acl/user/", token: c.token})
	var out struct {
		Username string `json:"username"`
	}
	if res.status == http.StatusOK {
		res.decode(t, &out)
	}
	return res.status, out.Username
}

// TestEscapeClientSecretToken: the client pointed at {host}/escape, and at
// the bare host, finds the e-mail method and logs in through it.
func TestEscapeClientSecretToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, server := range []string{b.srv.URL + "/escape", b.srv.URL} {
		c := &cli{b: b, server: b.srv.URL + "/escape"}
		methods := (&cli{b: b, server: server}).methods(t)
		email, ok := methods["email"]
		if !ok || email.Type != "secret-token" || !strings.HasPrefix(email.URL, b.srv.URL+"/escape/api/v1/") {
			t.Fatalf("%s: the e-mail method: %+v", server, methods)
		}
		if sa := methods["service-account"]; sa.Type != "secret-token" {
			t.Fatalf("%s: the service-account method: %+v", server, methods)
		}
		if corp := methods["corp"]; corp.Type != "oauth" || corp.RedeemToken == "" || corp.RedeemURL == "" {
			t.Fatalf("%s: the provider's method: %+v", server, methods)
		}
		if status := c.login(t, email, "plain@example.com", "wrong "+password); status != http.StatusUnauthorized {
			t.Fatalf("a wrong password: %d", status)
		}
		if status := c.login(t, email, "nobody@example.com", password); status != http.StatusUnauthorized {
			t.Fatalf("an unknown user: %d", status)
		}
		if status := c.login(t, email, "plain@example.com", password); status != http.StatusOK {
			t.Fatalf("log-in: %d", status)
		}
		if status, name := c.whoami(t); status != http.StatusOK || name != "plain" {
			t.Fatalf("whoami: %d %q", status, name)
		}
	}
}

// TestEscapeClientServiceAccount: a service account logs in with its name
// and token through the service-account method; another account's token,
// or a password, does not work.
func TestEscapeClientServiceAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustTeam(t, b.userTok, "builders")
	p := "/escape/api/v1/teams/builders/service-accounts/ci/"
	if res := b.do(t, call{method: "POST", path: p, token: b.userTok}); res.status != http.StatusOK {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	res := b.do(t, call{method: "POST", path: p + "token/", token: b.userTok})
	var secret string
	res.decode(t, &secret)
	c := &cli{b: b, server: b.srv.URL + "/escape"}
	sa := c.methods(t)["service-account"]
	for _, tt := range []struct {
		name, user, secret string
		want               int
	}{
		{"another name", "plain", secret, http.StatusUnauthorized},
		{"a personal token", "plain", b.userTok, http.StatusUnauthorized},
		{"a password", "plain", password, http.StatusUnauthorized},
		{"its own token", "ci", secret, http.StatusOK},
	} {
		if status := c.login(t, sa, tt.user, tt.secret); status != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, status, tt.want)
		}
	}
	if status, name := c.whoami(t); status != http.StatusOK || name != "ci" {
		t.Fatalf("whoami: %d %q", status, name)
	}
}

// TestEscapeClientOAuth follows the client's OAuth log-in: the method's
// redeem URL answers 404 while the person is in the browser, then the raw
// token once, then 404 again.
func TestEscapeClientOAuth(t *testing.T) {
	t.Parallel()
	testEscapeClientOAuth(t, setup(t))
}

// TestEscapeClientOAuthPostgres is TestEscapeClientOAuth on PostgreSQL.
func TestEscapeClientOAuthPostgres(t *testing.T) {
	t.Parallel()
	testEscapeClientOAuth(t, setupPostgres(t))
}

func testEscapeClientOAuth(t *testing.T, b *bundle) {
	b.idp.SetUser(oidctest.User{Subject: "sub-7", Email: "grace@corp.example", EmailVerified: true, Username: "grace"})
	c := &cli{b: b, server: b.srv.URL + "/escape"}
	corp := c.methods(t)["corp"]
	if status := c.redeem(t, corp); status != http.StatusNotFound {
		t.Fatalf("before the browser: %d", status)
	}
	if strings.Contains(corp.URL, corp.RedeemToken) {
		t.Fatalf("the browser's URL %s holds the client's redeem token", corp.URL)
	}

	// The browser opens the method's URL: usher's device page with the code
	// filled in. The person submits it, checks the client and confirms: the
	// page's two steps, as the native face's device page takes them (its
	// tests play them over HTTP), then the provider and the callback.
	if want := b.srv.URL + "/v1/auth/device?user_code="; !strings.HasPrefix(corp.URL, want) {
		t.Fatalf("the method's URL %s; want the device page %s…", corp.URL, want)
	}
	ctx := context.Background()
	info, err := b.env.Core.Auth.DescribeDevice(ctx, corp.UserCode(), "viewer")
	if err != nil || info.Provider != "corp" || info.Approval == "" {
		t.Fatalf("the page's description: %+v, %v", info, err)
	}
	st, err := b.env.Core.Auth.ApproveDevice(ctx, corp.UserCode(), info.Approval, "viewer")
	if err != nil {
		t.Fatalf("the person's confirmation: %v", err)
	}
	callback, err := b.idp.Login(ctx, st.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	res := b.do(t, call{method: "GET", path: callback.String(), header: map[string]string{"Cookie": "usher_oauth=" + st.Binding}})
	if res.status != http.StatusFound || res.header.Get("Location") != "/device/done" || res.header.Get("X-Escape-Token") == "" {
		t.Fatalf("callback: %d %v %s", res.status, res.header, res.body)
	}
	// The code is used up.
	if _, err := b.env.Core.Auth.DescribeDevice(ctx, corp.UserCode(), ""); usher.ErrorKind(err) != usher.KindNotFound {
		t.Fatalf("the code again: %v", err)
	}

	if status := c.redeem(t, corp); status != http.StatusOK || !strings.HasPrefix(c.token, "us") {
		t.Fatalf("after the browser: %d %q", status, c.token)
	}
	if status, name := c.whoami(t); status != http.StatusOK || name != "grace" {
		t.Fatalf("whoami: %d %q", status, name)
	}
	if status := c.redeem(t, corp); status != http.StatusNotFound {
		t.Fatalf("a second redeem: %d", status)
	}
	// The token works as the cookie too.
	res = b.do(t, call{method: "GET", path: "/escape/api/v1/user/", header: map[string]string{"Cookie": "X-Escape-Token=" + c.token}})
	if res.status != http.StatusOK {
		t.Fatalf("by cookie: %d %s", res.status, res.body)
	}
	var u struct {
		Username string `json:"username"`
		Provider string `json:"provider"`
	}
	res.decode(t, &u)
	if u.Username != "grace" || u.Provider != "corp" {
		t.Fatalf("the account: %+v", u)
	}

	// The person chooses another username for the account the log-in
	// made; an account of another provider may not.
	finish := func(provider, token string, body any) *response {
		return b.do(t, call{method: "POST", path: "/escape/api/v1/auth/oauth/" + provider + "/finish-signup/", token: token, body: body})
	}
	res = finish("corp", c.token, map[string]any{"username": "grace-h"})
	res.decode(t, &u)
	if res.status != http.StatusOK || u.Username != "grace-h" {
		t.Fatalf("finish sign-up: %d %s", res.status, res.body)
	}
	for _, tt := range []struct {
		name, provider, token string
		body                  any
		status                int
		code, field           string
	}{
		{"another provider", "github", c.token, map[string]any{"username": "x"}, 400, usher.CodeNotExternal, ""},
		{"an e-mail account", "corp", b.userTok, map[string]any{"username": "x"}, 400, usher.CodeNotExternal, ""},
		{"a bad username", "corp", c.token, map[string]any{"username": "has space"}, 400, usher.CodeValidationFailed, "username"},
		{"a taken username", "corp", c.token, map[string]any{"username": "plain"}, 409, usher.CodeUsernameTaken, "username"},
		{"invalid JSON", "corp", c.token, "{", 400, usher.CodeMalformedJSON, ""},
		{"anonymous", "corp", "", map[string]any{"username": "x"}, 401, usher.CodeUnauthenticated, ""},
	} {
		res := finish(tt.provider, tt.token, tt.body)
		e, field := res.problem(t)
		if res.status != tt.status || e.Code != tt.code || field != tt.field {
			t.Errorf("%s: %d %s, want %d %s naming %q", tt.name, res.status, res.body, tt.status, tt.code, tt.field)
		}
	}
}
