package connector_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"usher"
	"usher/connector"
	"usher/connector/oidctest"
)

var (
	_ usher.Connector = (*connector.GitHub)(nil)
	_ usher.Connector = (*connector.OIDC)(nil)
)

const (
	clientID     = "usher-test-client"
	clientSecret = "s3cret-that-must-never-show"
	redirectURL  = "https://usher.example/v1/auth/callback"
)

// bundle is what one test works with: its own provider and connectors
// configured for it.
type bundle struct {
	ctx    context.Context
	idp    *oidctest.Provider
	github *connector.GitHub
	oidc   *connector.OIDC
}

// setup starts a provider and builds both connectors against it.
func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := t.Context()
	idp := oidctest.New(t, clientID, clientSecret)
	idp.SetRedirectURIs(redirectURL)
	gh, err := connector.NewGitHub(connector.GitHubConfig{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURL,
		AuthURL:      idp.URL() + "/login/oauth/authorize",
		TokenURL:     idp.URL() + "/login/oauth/access_token",
		APIURL:       idp.URL(),
	})
	if err != nil {
		t.Fatalf("NewGitHub: %v", err)
	}
	oc, err := connector.NewOIDC(ctx, connector.OIDCConfig{
		Issuer:       idp.Issuer(),
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURL,
	})
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	return &bundle{ctx: ctx, idp: idp, github: gh, oidc: oc}
}

// connector returns one of the bundle's connectors by name, for tables
// that run against both.
func (b *bundle) connector(name string) usher.Connector {
	if name == "github" {
		return b.github
	}
	return b.oidc
}

// attempt is one log-in in progress: what the core would keep in its
// state between AuthCodeURL and the callback.
type attempt struct {
	state, nonce, verifier string
}

func newAttempt() attempt {
	return attempt{
		state:    oauth2.GenerateVerifier(),
		nonce:    oauth2.GenerateVerifier(),
		verifier: oauth2.GenerateVerifier(),
	}
}

// mustLogin sends the browser through the provider and returns the code
// it brings back to the callback.
func mustLogin(t *testing.T, b *bundle, c usher.Connector, a attempt) string {
	t.Helper()
	authURL := c.AuthCodeURL(a.state, a.nonce, oauth2.S256ChallengeFromVerifier(a.verifier))
	cb, err := b.idp.Login(b.ctx, authURL)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if got := cb.Scheme + "://" + cb.Host + cb.Path; got != redirectURL {
		t.Fatalf("redirected to %s, want %s", got, redirectURL)
	}
	q := cb.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("provider refused: %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != a.state {
		t.Fatalf("state = %q, want %q", q.Get("state"), a.state)
	}
	if q.Get("code") == "" {
		t.Fatalf("callback %s has no code", cb)
	}
	return q.Get("code")
}

func TestFlow(t *testing.T) {
	t.Parallel()
	user := oidctest.User{
		Subject:       "c0ffee-42",
		Email:         "grace@example.org",
		EmailVerified: true,
		Username:      "grace",
		Name:          "Grace Hopper",
		GitHubID:      1906,
	}
	tests := []struct {
		connector string
		want      usher.ExternalIdentity
	}{
		{
			connector: "github",
			want: usher.ExternalIdentity{Provider: "github", Subject: "1906", Email: "grace@example.org",
				EmailVerified: true, Username: "grace", Name: "Grace Hopper"},
		},
		{
			connector: "oidc",
			want: usher.ExternalIdentity{Provider: "oidc", Subject: "c0ffee-42", Email: "grace@example.org",
				EmailVerified: true, Username: "grace", Name: "Grace Hopper"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.connector, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.idp.SetUser(user)
			c := b.connector(tt.connector)
			if c.Name() != tt.connector {
				t.Errorf("Name() = %q, want %q", c.Name(), tt.connector)
			}
			a := newAttempt()
			code := mustLogin(t, b, c, a)
			got, err := c.Exchange(b.ctx, code, a.verifier, a.nonce)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if *got != tt.want {
				t.Errorf("identity = %+v\nwant       %+v", *got, tt.want)
			}
		})
	}
}

func TestAuthCodeURL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		connector string
		wantNonce bool
		wantScope string
	}{
		{connector: "github", wantNonce: false, wantScope: "read:user user:email"},
		{connector: "oidc", wantNonce: true, wantScope: "openid email profile"},
	}
	for _, tt := range tests {
		t.Run(tt.connector, func(t *testing.T) {
			t.Parallel()
			raw := b.connector(tt.connector).AuthCodeURL("the-state", "the-nonce", "the-challenge")
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			want := map[string]string{
				"client_id":             clientID,
				"redirect_uri":          redirectURL,
				"response_type":         "code",
				"state":                 "the-state",
				"scope":                 tt.wantScope,
				"code_challenge":        "the-challenge",
				"code_challenge_method": "S256",
			}
			for k, v := range want {
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
			if got := q.Has("nonce"); got != tt.wantNonce {
				t.Errorf("nonce sent: %v, want %v", got, tt.wantNonce)
			}
			if strings.Contains(raw, clientSecret) {
				t.Errorf("authorization URL carries the client secret: %s", raw)
			}
		})
	}
}

// TestRefused proves each connector refuses what the protocol says it must,
// and that its errors never show the client secret.
func TestRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		connectors []string
		// spoil runs between the log-in and the exchange; it may change
		// the provider, the code or the attempt.
		spoil   func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt)
		wantErr string
	}{
		{
			name:       "wrong PKCE verifier",
			connectors: []string{"github", "oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				a.verifier = oauth2.GenerateVerifier()
			},
			wantErr: "exchange code: token endpoint refused",
		},
		{
			name:       "no PKCE verifier",
			connectors: []string{"github", "oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				a.verifier = ""
			},
			wantErr: "no PKCE code verifier",
		},
		{
			name:       "reused code",
			connectors: []string{"github", "oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				if _, err := c.Exchange(b.ctx, *code, a.verifier, a.nonce); err != nil {
					t.Fatalf("first Exchange: %v", err)
				}
			},
			wantErr: "exchange code: token endpoint refused",
		},
		{
			name:       "unknown code",
			connectors: []string{"github", "oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				*code = "not-a-code-the-provider-issued"
			},
			wantErr: "exchange code: token endpoint refused",
		},
		{
			name:       "token endpoint fails",
			connectors: []string{"github", "oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				b.idp.FailNextToken(http.StatusServiceUnavailable)
			},
			wantErr: "token endpoint refused (503 Service Unavailable): temporarily_unavailable",
		},
		{
			name:       "wrong nonce expected",
			connectors: []string{"oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				a.nonce = oauth2.GenerateVerifier()
			},
			wantErr: "nonce does not match",
		},
		{
			name:       "no nonce expected",
			connectors: []string{"oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				a.nonce = ""
			},
			wantErr: "no nonce to check",
		},
		{
			name:       "ID token with another nonce",
			connectors: []string{"oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				b.idp.TamperNextIDToken(oidctest.Tamper{Claims: func(c map[string]any) { c["nonce"] = "replayed" }})
			},
			wantErr: "nonce does not match",
		},
		{
			name:       "ID token without nonce",
			connectors: []string{"oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				b.idp.TamperNextIDToken(oidctest.Tamper{Claims: func(c map[string]any) { delete(c, "nonce") }})
			},
			wantErr: "nonce does not match",
		},
		{
			name:       "ID token for another audience",
			connectors: []string{"oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				b.idp.TamperNextIDToken(oidctest.Tamper{Claims: func(c map[string]any) { c["aud"] = "another-client" }})
			},
			wantErr: "expected audience",
		},
		{
			name:       "ID token from another issuer",
			connectors: []string{"oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				b.idp.TamperNextIDToken(oidctest.Tamper{Claims: func(c map[string]any) { c["iss"] = "https://evil.example" }})
			},
			wantErr: "id token issued by a different provider",
		},
		{
			name:       "expired ID token",
			connectors: []string{"oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				b.idp.TamperNextIDToken(oidctest.Tamper{Claims: func(c map[string]any) { c["exp"] = 1_000_000_000 }})
			},
			wantErr: "token is expired",
		},
		{
			name:       "ID token signed with a foreign key",
			connectors: []string{"oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				b.idp.TamperNextIDToken(oidctest.Tamper{ForeignKey: true})
			},
			wantErr: "failed to verify signature",
		},
		{
			name:       "ID token bound to another access token",
			connectors: []string{"oidc"},
			spoil: func(t *testing.T, b *bundle, c usher.Connector, code *string, a *attempt) {
				b.idp.TamperNextIDToken(oidctest.Tamper{Claims: func(c map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" }})
			},
			wantErr: "access token hash does not match",
		},
	}
	for _, tt := range tests {
		for _, name := range tt.connectors {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				c := b.connector(name)
				a := newAttempt()
				code := mustLogin(t, b, c, a)
				tt.spoil(t, b, c, &code, &a)
				id, err := c.Exchange(b.ctx, code, a.verifier, a.nonce)
				if err == nil {
					t.Fatalf("Exchange = %+v, want an error", id)
				}
				t.Logf("refused: %v", err)
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "connector: "+name+": ") {
					t.Errorf("error = %q, want it to name the connector", err)
				}
				if strings.Contains(err.Error(), clientSecret) {
					t.Errorf("error shows the client secret: %q", err)
				}
			})
		}
	}
}

func TestUnverifiedEmail(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"github", "oidc"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.idp.SetUser(oidctest.User{Subject: "s-7", Email: "maybe@example.net", EmailVerified: false,
				Username: "maybe", GitHubID: 7})
			c := b.connector(name)
			a := newAttempt()
			id, err := c.Exchange(b.ctx, mustLogin(t, b, c, a), a.verifier, a.nonce)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if id.Email != "maybe@example.net" || id.EmailVerified {
				t.Errorf("email = %q verified %v, want maybe@example.net unverified", id.Email, id.EmailVerified)
			}
			if id.Name != "" {
				t.Errorf("name = %q, want none", id.Name)
			}
		})
	}
}

func TestGitHubNoEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.idp.SetUser(oidctest.User{Subject: "s-8", Username: "hidden", GitHubID: 8})
	a := newAttempt()
	id, err := b.github.Exchange(b.ctx, mustLogin(t, b, b.github, a), a.verifier, a.nonce)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	want := usher.ExternalIdentity{Provider: "github", Subject: "8", Username: "hidden"}
	if *id != want {
		t.Errorf("identity = %+v, want %+v", *id, want)
	}
}

// TestOIDCUserInfo proves the connector asks UserInfo when the ID token has
// no e-mail claim.
func TestOIDCUserInfo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.idp.TamperNextIDToken(oidctest.Tamper{Claims: func(c map[string]any) {
		for _, k := range []string{"email", "email_verified", "name", "preferred_username"} {
			delete(c, k)
		}
	}})
	a := newAttempt()
	id, err := b.oidc.Exchange(b.ctx, mustLogin(t, b, b.oidc, a), a.verifier, a.nonce)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	want := usher.ExternalIdentity{Provider: "oidc", Subject: "oidctest-ada", Email: "ada@example.com",
		EmailVerified: true, Username: "ada", Name: "Ada Lovelace"}
	if *id != want {
		t.Errorf("identity = %+v\nwant       %+v", *id, want)
	}
}

func TestOIDCConfig(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, "")
	tests := []struct {
		name    string
		cfg     connector.OIDCConfig
		wantErr string
	}{
		{
			name: "named public client",
			cfg:  connector.OIDCConfig{Name: "corp", Issuer: idp.Issuer(), ClientID: clientID, RedirectURL: redirectURL},
		},
		{
			name:    "no client id",
			cfg:     connector.OIDCConfig{Issuer: idp.Issuer(), RedirectURL: redirectURL},
			wantErr: "connector: oidc: client id is required",
		},
		{
			name:    "relative redirect URL",
			cfg:     connector.OIDCConfig{Issuer: idp.Issuer(), ClientID: clientID, RedirectURL: "/callback"},
			wantErr: "connector: oidc: redirect URL",
		},
		{
			name: "issuer differs from the discovered one",
			cfg: connector.OIDCConfig{Issuer: idp.Issuer() + "/", ClientID: clientID,
				RedirectURL: redirectURL},
			wantErr: "did not match the issuer URL returned by provider",
		},
		{
			name: "no discovery document",
			cfg: connector.OIDCConfig{Issuer: idp.Issuer() + "/nowhere", ClientID: clientID,
				RedirectURL: redirectURL},
			wantErr: "connector: oidc: discovery: 404 Not Found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := connector.NewOIDC(t.Context(), tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewOIDC error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewOIDC: %v", err)
			}
			if c.Name() != tt.cfg.Name {
				t.Errorf("Name() = %q, want %q", c.Name(), tt.cfg.Name)
			}
			b := &bundle{ctx: t.Context(), idp: idp}
			a := newAttempt()
			id, err := c.Exchange(b.ctx, mustLogin(t, b, c, a), a.verifier, a.nonce)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if id.Provider != tt.cfg.Name || id.Subject != "oidctest-ada" {
				t.Errorf("identity = %+v, want provider %q, subject oidctest-ada", *id, tt.cfg.Name)
			}
		})
	}
}

func TestNewGitHub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     connector.GitHubConfig
		wantErr string
	}{
		{name: "defaults", cfg: connector.GitHubConfig{ClientID: "id", ClientSecret: "secret", RedirectURL: redirectURL}},
		{name: "no secret", cfg: connector.GitHubConfig{ClientID: "id", RedirectURL: redirectURL},
			wantErr: "connector: github: client id and secret are required"},
		{name: "no redirect URL", cfg: connector.GitHubConfig{ClientID: "id", ClientSecret: "secret"},
			wantErr: "connector: github: redirect URL"},
		{name: "relative API URL", cfg: connector.GitHubConfig{ClientID: "id", ClientSecret: "secret",
			RedirectURL: redirectURL, APIURL: "api.github.com"}, wantErr: "connector: github: API URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := connector.NewGitHub(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewGitHub error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewGitHub: %v", err)
			}
			u, err := url.Parse(c.AuthCodeURL("s", "n", "c"))
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != connector.GitHubAuthURL {
				t.Errorf("authorize URL %s, want %s", got, connector.GitHubAuthURL)
			}
		})
	}
}

// countingTransport counts the requests it passes on to the real transport.
type countingTransport struct {
	n atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(req)
}

// TestContextClient proves the connectors talk through the HTTP client the
// context carries.
func TestContextClient(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"github", "oidc"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var ct countingTransport
			ctx := context.WithValue(b.ctx, oauth2.HTTPClient, &http.Client{Transport: &ct})
			c := b.connector(name)
			a := newAttempt()
			if _, err := c.Exchange(ctx, mustLogin(t, b, c, a), a.verifier, a.nonce); err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			// GitHub: token, /user, /user/emails. OIDC: token; the key set
			// is fetched with the client NewOIDC was given.
			want := map[string]int64{"github": 3, "oidc": 1}[name]
			if got := ct.n.Load(); got != want {
				t.Errorf("%d requests through the context's client, want %d", got, want)
			}
		})
	}
}
