package oidctest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"usher/connector/oidctest"
)

const (
	clientID     = "client-1"
	clientSecret = "secret-1"
	redirectURI  = "https://app.example/callback"
)

// setup starts a provider with the test client and its redirect URI.
func setup(t *testing.T) *oidctest.Provider {
	t.Helper()
	p := oidctest.New(t, clientID, clientSecret)
	p.SetRedirectURIs(redirectURI)
	return p
}

// authParams are a good OpenID Connect authorization request's parameters
// for verifier, which the caller may spoil.
func authParams(verifier string) url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {"openid email profile"},
		"state":                 {"st"},
		"nonce":                 {"nn"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
}

// mustCode logs in at path with params and returns the code.
func mustCode(t *testing.T, p *oidctest.Provider, path string, params url.Values) string {
	t.Helper()
	cb, err := p.Login(t.Context(), p.URL()+path+"?"+params.Encode())
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	code := cb.Query().Get("code")
	if code == "" {
		t.Fatalf("callback %s has no code", cb)
	}
	return code
}

// mustPost posts form to path and returns the status, Content-Type and
// body, decoded as JSON into a map when it is JSON.
func mustPost(t *testing.T, p *oidctest.Provider, path string, form url.Values, header http.Header) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL()+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	ct := resp.Header.Get("Content-Type")
	m := map[string]any{}
	if strings.HasPrefix(ct, "application/json") {
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
	} else {
		v, _ := url.ParseQuery(string(body))
		for k := range v {
			m[k] = v.Get(k)
		}
	}
	return resp.StatusCode, ct, m
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	p := setup(t)
	resp, err := http.Get(p.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"issuer":                 p.Issuer(),
		"authorization_endpoint": p.Issuer() + "/authorize",
		"token_endpoint":         p.Issuer() + "/token",
		"userinfo_endpoint":      p.Issuer() + "/userinfo",
		"jwks_uri":               p.Issuer() + "/jwks",
	} {
		if doc[k] != want {
			t.Errorf("%s = %v, want %s", k, doc[k], want)
		}
	}
}

// TestAuthorizeRefused proves the authorize endpoints refuse bad requests:
// by an error page when the client or redirect URI is in doubt, by a
// redirect with error=... otherwise.
func TestAuthorizeRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		path      string
		spoil     func(q url.Values)
		nobody    bool
		wantPage  bool   // an error page, no redirect
		wantError string // the error code redirected back
	}{
		{name: "unknown client", path: "/authorize", spoil: func(q url.Values) { q.Set("client_id", "other") }, wantPage: true},
		{name: "unregistered redirect URI", path: "/authorize",
			spoil: func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, wantPage: true},
		{name: "no PKCE", path: "/authorize", spoil: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") },
			wantError: "invalid_request"},
		{name: "plain PKCE", path: "/authorize", spoil: func(q url.Values) { q.Set("code_challenge_method", "plain") },
			wantError: "invalid_request"},
		{name: "no openid scope", path: "/authorize", spoil: func(q url.Values) { q.Set("scope", "email") },
			wantError: "invalid_scope"},
		{name: "implicit flow", path: "/authorize", spoil: func(q url.Values) { q.Set("response_type", "token") },
			wantError: "unsupported_response_type"},
		{name: "nobody logged in", path: "/authorize", spoil: func(url.Values) {}, nobody: true, wantError: "access_denied"},
		{name: "GitHub unknown client", path: "/login/oauth/authorize",
			spoil: func(q url.Values) { q.Set("client_id", "other") }, wantPage: true},
		{name: "GitHub no PKCE", path: "/login/oauth/authorize",
			spoil: func(q url.Values) { q.Del("code_challenge") }, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := setup(t)
			if tt.nobody {
				p.SetUser(oidctest.User{})
			}
			q := authParams(oauth2.GenerateVerifier())
			tt.spoil(q)
			cb, err := p.Login(t.Context(), p.URL()+tt.path+"?"+q.Encode())
			if tt.wantPage {
				if err == nil {
					t.Fatalf("redirected to %s, want an error page", cb)
				}
				return
			}
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			got := cb.Query()
			if got.Get("error") != tt.wantError || got.Get("state") != "st" || got.Has("code") {
				t.Errorf("callback %s, want error=%s with the state and no code", cb, tt.wantError)
			}
		})
	}
}

// TestTokenEndpoint covers client authentication and code checks at the
// OpenID Connect token endpoint.
func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	basic := func(id, secret string) http.Header {
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(id, secret)
		return r.Header
	}
	tests := []struct {
		name       string
		form       func(code, verifier string) url.Values
		header     http.Header
		wantStatus int
		wantError  string
	}{
		{
			name: "client_secret_basic",
			form: func(code, verifier string) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
			},
			header:     basic(clientID, clientSecret),
			wantStatus: http.StatusOK,
		},
		{
			name: "client_secret_post",
			form: func(code, verifier string) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier},
					"client_id": {clientID}, "client_secret": {clientSecret}}
			},
			wantStatus: http.StatusOK,
		},
		{
			name: "wrong secret",
			form: func(code, verifier string) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
			},
			header:     basic(clientID, "guess"),
			wantStatus: http.StatusUnauthorized,
			wantError:  "invalid_client",
		},
		{
			name: "credentials twice",
			form: func(code, verifier string) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier},
					"client_secret": {clientSecret}}
			},
			header:     basic(clientID, clientSecret),
			wantStatus: http.StatusUnauthorized,
			wantError:  "invalid_client",
		},
		{
			name: "no client authentication",
			form: func(code, verifier string) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
			},
			wantStatus: http.StatusUnauthorized,
			wantError:  "invalid_client",
		},
		{
			name: "other redirect URI",
			form: func(code, verifier string) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI + "/x"}, "code_verifier": {verifier}}
			},
			header:     basic(clientID, clientSecret),
			wantStatus: http.StatusBadRequest,
			wantError:  "invalid_grant",
		},
		{
			name: "no verifier",
			form: func(code, verifier string) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
			},
			header:     basic(clientID, clientSecret),
			wantStatus: http.StatusBadRequest,
			wantError:  "invalid_grant",
		},
		{
			name: "other grant type",
			form: func(code, verifier string) url.Values {
				return url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"x"}}
			},
			header:     basic(clientID, clientSecret),
			wantStatus: http.StatusBadRequest,
			wantError:  "unsupported_grant_type",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := setup(t)
			verifier := oauth2.GenerateVerifier()
			code := mustCode(t, p, "/authorize", authParams(verifier))
			status, _, body := mustPost(t, p, "/token", tt.form(code, verifier), tt.header)
			if status != tt.wantStatus || (tt.wantError != "" && body["error"] != tt.wantError) {
				t.Fatalf("status %d, body %v; want %d, error %q", status, body, tt.wantStatus, tt.wantError)
			}
			if status == http.StatusOK {
				for _, k := range []string{"access_token", "id_token"} {
					if s, _ := body[k].(string); s == "" {
						t.Errorf("no %s in %v", k, body)
					}
				}
			}
		})
	}
}

// TestReusedCodeRevokes proves a second use of a code fails and revokes the
// access token the first use bought.
func TestReusedCodeRevokes(t *testing.T) {
	t.Parallel()
	p := setup(t)
	verifier := oauth2.GenerateVerifier()
	code := mustCode(t, p, "/authorize", authParams(verifier))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {clientID}, "client_secret": {clientSecret}}
	status, _, body := mustPost(t, p, "/token", form, nil)
	if status != http.StatusOK {
		t.Fatalf("first use: %d %v", status, body)
	}
	access, _ := body["access_token"].(string)

	userinfo := func() int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL()+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := userinfo(); got != http.StatusOK {
		t.Fatalf("userinfo before reuse: %d", got)
	}
	if status, _, body := mustPost(t, p, "/token", form, nil); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("second use: %d %v, want 400 invalid_grant", status, body)
	}
	if got := userinfo(); got != http.StatusUnauthorized {
		t.Errorf("userinfo after reuse: %d, want 401", got)
	}
}

// TestGitHubToken proves GitHub's token endpoint answers as GitHub does:
// JSON only when asked for, errors with status 200.
func TestGitHubToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		accept    string
		secret    string
		wantType  string
		wantError string
	}{
		{name: "form", wantType: "application/x-www-form-urlencoded"},
		{name: "JSON", accept: "application/json", wantType: "application/json"},
		{name: "wrong secret", accept: "application/json", secret: "guess", wantType: "application/json",
			wantError: "incorrect_client_credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := setup(t)
			verifier := oauth2.GenerateVerifier()
			q := authParams(verifier)
			q.Set("scope", "read:user user:email")
			code := mustCode(t, p, "/login/oauth/authorize", q)
			secret := clientSecret
			if tt.secret != "" {
				secret = tt.secret
			}
			form := url.Values{"client_id": {clientID}, "client_secret": {secret}, "code": {code}, "code_verifier": {verifier}}
			header := http.Header{}
			if tt.accept != "" {
				header.Set("Accept", tt.accept)
			}
			status, ct, body := mustPost(t, p, "/login/oauth/access_token", form, header)
			if status != http.StatusOK || !strings.HasPrefix(ct, tt.wantType) {
				t.Fatalf("status %d, Content-Type %q; want 200, %s", status, ct, tt.wantType)
			}
			if tt.wantError != "" {
				if body["error"] != tt.wantError {
					t.Errorf("body %v, want error %s", body, tt.wantError)
				}
				return
			}
			if tok, _ := body["access_token"].(string); !strings.HasPrefix(tok, "gho_") || body["scope"] != "read:user,user:email" {
				t.Errorf("body %v, want a gho_ token with scope read:user,user:email", body)
			}
		})
	}
}
