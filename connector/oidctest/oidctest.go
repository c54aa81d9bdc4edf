// Package oidctest runs an OAuth2 and OpenID Connect provider in the test
// process, so that log-in connectors and the flows around them can be
// tested against the real protocol: discovery, an authorize endpoint that
// redirects back with a code, a token endpoint that authenticates the client
// and checks the code, redirect URI and PKCE verifier, ID tokens signed with
// RS256 under a key the JWKS endpoint serves, and UserInfo. The same server
// also answers GitHub's OAuth endpoints and the two REST calls a GitHub
// log-in needs.
//
// The provider has no log-in page: whoever is set with [Provider.SetUser] is
// logged in, and [Provider.Login] plays the browser. Codes are single-use,
// PKCE with S256 is required, and [Provider.FailNextToken] and
// [Provider.TamperNextIDToken] make it misbehave on purpose so a client's
// checks can be proven.
//
// Endpoints, relative to [Provider.URL]:
//
//	GET  /.well-known/openid-configuration   discovery
//	GET  /authorize                          OpenID Connect authorization
//	POST /token                              OpenID Connect token
//	GET  /userinfo (or POST)                 UserInfo, Bearer access token
//	GET  /jwks                               signing keys
//	GET  /login/oauth/authorize              GitHub authorization
//	POST /login/oauth/access_token           GitHub token
//	GET  /user, /user/emails                 GitHub REST API
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// User is the person the provider considers logged in.
type User struct {
	Subject       string // "sub" in ID tokens and UserInfo
	Email         string
	EmailVerified bool
	Username      string // "preferred_username"; GitHub's "login"
	Name          string
	GitHubID      int64 // GitHub's numeric user id; must be set for GitHub log-ins
}

// Tamper spoils the next ID token the provider issues.
type Tamper struct {
	// Claims, if set, edits the ID token's claims just before signing,
	// e.g. to replace "nonce", "aud", "iss" or "exp", or delete "email".
	Claims func(claims map[string]any)
	// ForeignKey signs the token with a key the JWKS endpoint does not
	// serve, under the served key's id.
	ForeignKey bool
}

// Provider is an OAuth2 and OpenID Connect provider on an httptest server,
// with one registered client. It is safe for concurrent use.
type Provider struct {
	t            testing.TB
	srv          *httptest.Server
	clientID     string
	clientSecret string
	key          *rsa.PrivateKey
	kid          string

	mu           sync.Mutex
	user         User
	redirectURIs []string
	codes        map[string]*grant // codes not yet redeemed
	used         map[string]string // redeemed code → the access token it bought
	tokens       map[string]*grant // live access tokens
	failNext     int               // status for the next token request, 0 for none
	tamper       *Tamper           // applied to the next ID token
}

// flow tells the OpenID Connect endpoints from the GitHub ones: a code or
// token from one is no good at the other.
type flow int

const (
	flowOIDC flow = iota + 1
	flowGitHub
)

// grant is what an authorization request was granted: the code's and then
// the access token's meaning.
type grant struct {
	flow        flow
	clientID    string
	redirectURI string
	scopes      []string
	nonce       string
	challenge   string
	user        User
	authTime    time.Time
	expires     time.Time
}

const (
	codeLifetime  = 10 * time.Minute
	tokenLifetime = time.Hour
)

// New starts a provider that lives as long as t, with one client
// registered under clientID and clientSecret. An empty clientSecret makes
// it a public client, which authenticates by client_id and PKCE alone.
//
// Until [Provider.SetUser] is called, the logged-in user is Ada Lovelace:
// subject "oidctest-ada", ada@example.com (verified), username "ada",
// GitHub id 1815.
func New(t testing.TB, clientID, clientSecret string) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generate signing key: %v", err)
	}
	p := &Provider{
		t:            t,
		clientID:     clientID,
		clientSecret: clientSecret,
		key:          key,
		kid:          randomString(8),
		user: User{
			Subject:       "oidctest-ada",
			Email:         "ada@example.com",
			EmailVerified: true,
			Username:      "ada",
			Name:          "Ada Lovelace",
			GitHubID:      1815,
		},
		codes:  make(map[string]*grant),
		used:   make(map[string]string),
		tokens: make(map[string]*grant),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	mux.HandleFunc("POST /userinfo", p.userinfo)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /login/oauth/authorize", p.githubAuthorize)
	mux.HandleFunc("POST /login/oauth/access_token", p.githubToken)
	mux.HandleFunc("GET /user", p.githubUser)
	mux.HandleFunc("GET /user/emails", p.githubEmails)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// URL returns the server's base URL, without a trailing slash. GitHub's
// endpoints hang off it: URL()+"/login/oauth/authorize",
// URL()+"/login/oauth/access_token", and URL() as the API root.
func (p *Provider) URL() string { return p.srv.URL }

// Issuer returns the OpenID Connect issuer, which is [Provider.URL].
func (p *Provider) Issuer() string { return p.srv.URL }

// SetUser sets who is logged in for authorization requests from now on.
// The zero User logs nobody in: the authorize endpoints then redirect back
// with error=access_denied, as when a person declines.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// SetRedirectURIs registers the client's redirect URIs. Authorization
// requests must then name one of them exactly; until this is called, any
// absolute http(s) URI without a fragment is accepted.
func (p *Provider) SetRedirectURIs(uris ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirectURIs = append([]string(nil), uris...)
}

// FailNextToken makes the next request to either token endpoint fail with
// status and an OAuth2 error body, before anything is checked or redeemed.
func (p *Provider) FailNextToken(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failNext = status
}

// TamperNextIDToken spoils the next ID token the token endpoint issues.
func (p *Provider) TamperNextIDToken(tm Tamper) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = &tm
}

// Login plays the browser: it GETs authURL, an authorization URL the client
// built for this provider, and returns where the provider redirects back to
// without following it, so the test can hand it to the client's callback.
// A refusal the provider redirects back with (error=...) is returned as a
// callback URL too; an error means the provider did not redirect at all.
func (p *Provider) Login(ctx context.Context, authURL string) (*url.URL, error) {
	c := &http.Client{
		Transport: p.srv.Client().Transport,
		Timeout:   10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, fmt.Errorf("oidctest: login: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidctest: login: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("oidctest: login: %s: %s", resp.Status, body)
	}
	loc, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("oidctest: login: %w", err)
	}
	return loc, nil
}

// takeFailure returns and clears the status FailNextToken set.
func (p *Provider) takeFailure() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	status := p.failNext
	p.failNext = 0
	return status
}

// takeTamper returns and clears the Tamper TamperNextIDToken set.
func (p *Provider) takeTamper() Tamper {
	p.mu.Lock()
	defer p.mu.Unlock()
	tm := p.tamper
	p.tamper = nil
	if tm == nil {
		return Tamper{}
	}
	return *tm
}

// authError is a refused authorization request. redirect says whether the
// refusal may go back to the client's redirect URI: it may not when the
// client or the redirect URI itself is in doubt.
type authError struct {
	redirect bool
	code     string // OAuth2 error code
	desc     string
}

func (e *authError) Error() string { return e.code + ": " + e.desc }

// authRequest checks an authorization request from the browser and, if it
// is good, records a grant under a new code. check, if set, adds the
// endpoint's own checks once the client and redirect URI are known good.
// redirectURI is where the answer goes, set whenever err allows a redirect.
func (p *Provider) authRequest(q url.Values, f flow, scopes []string, check func() *authError) (code, redirectURI string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if q.Get("client_id") != p.clientID {
		return "", "", &authError{code: "invalid_client", desc: "unknown client_id"}
	}
	redirectURI = q.Get("redirect_uri")
	if redirectURI == "" && f == flowGitHub && len(p.redirectURIs) == 1 {
		// GitHub falls back to the app's one callback URL.
		redirectURI = p.redirectURIs[0]
	}
	if err := p.checkRedirectURI(redirectURI); err != nil {
		return "", "", &authError{code: "invalid_request", desc: err.Error()}
	}
	if method := q.Get("code_challenge_method"); method != "S256" {
		return "", redirectURI, &authError{redirect: true, code: "invalid_request",
			desc: fmt.Sprintf("code_challenge_method %q: this provider requires PKCE with S256", method)}
	}
	challenge := q.Get("code_challenge")
	if !validChallenge(challenge) {
		return "", redirectURI, &authError{redirect: true, code: "invalid_request", desc: "code_challenge is not a base64url SHA-256"}
	}
	if check != nil {
		if ae := check(); ae != nil {
			return "", redirectURI, ae
		}
	}
	if p.user.Subject == "" {
		return "", redirectURI, &authError{redirect: true, code: "access_denied", desc: "nobody is logged in"}
	}
	now := time.Now()
	code = randomString(20)
	p.codes[code] = &grant{
		flow:        f,
		clientID:    p.clientID,
		redirectURI: q.Get("redirect_uri"),
		scopes:      scopes,
		nonce:       q.Get("nonce"),
		challenge:   challenge,
		user:        p.user,
		authTime:    now,
		expires:     now.Add(codeLifetime),
	}
	return code, redirectURI, nil
}

// checkRedirectURI accepts a registered redirect URI, or while none is
// registered, any absolute http(s) URI without a fragment.
func (p *Provider) checkRedirectURI(uri string) error {
	if len(p.redirectURIs) > 0 {
		for _, r := range p.redirectURIs {
			if r == uri {
				return nil
			}
		}
		return fmt.Errorf("redirect_uri %q is not registered", uri)
	}
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("redirect_uri %q is not an absolute http(s) URI without a fragment", uri)
	}
	return nil
}

// redirectBack sends the browser to redirectURI with params added to its
// query.
func redirectBack(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Add(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// answerAuthorize redirects back with the code, or with the refusal, or
// shows the refusal when it may not redirect.
func (p *Provider) answerAuthorize(w http.ResponseWriter, r *http.Request, code, redirectURI string, err error) {
	state := r.URL.Query().Get("state")
	if err == nil {
		redirectBack(w, r, redirectURI, url.Values{"code": {code}, "state": {state}})
		return
	}
	p.t.Logf("oidctest: %s: refused: %v", r.URL.Path, err)
	var ae *authError
	if errors.As(err, &ae) && ae.redirect {
		redirectBack(w, r, redirectURI, url.Values{"error": {ae.code}, "error_description": {ae.desc}, "state": {state}})
		return
	}
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// redeem trades a code for an access token once. The code is spent by
// the first attempt whatever its outcome; a second attempt also revokes
// the access token the first one bought, as RFC 6749 section 4.1.2 asks.
func (p *Provider) redeem(f flow, clientID, code, redirectURI, verifier string) (*grant, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if token, ok := p.used[code]; ok {
		delete(p.tokens, token)
		return nil, "", errors.New("code was already used")
	}
	g, ok := p.codes[code]
	if !ok {
		return nil, "", errors.New("unknown code")
	}
	delete(p.codes, code)
	p.used[code] = ""
	switch {
	case g.flow != f:
		return nil, "", errors.New("code was issued at another endpoint")
	case g.clientID != clientID:
		return nil, "", errors.New("code was issued to another client")
	case time.Now().After(g.expires):
		return nil, "", errors.New("code expired")
	case redirectURI != g.redirectURI && (f == flowOIDC || redirectURI != ""):
		// GitHub lets the client leave redirect_uri out.
		return nil, "", errors.New("redirect_uri differs from the authorization request's")
	case !validVerifier(verifier):
		return nil, "", errors.New("code_verifier is missing or malformed")
	case !equal(s256(verifier), g.challenge):
		return nil, "", errors.New("code_verifier does not match the code_challenge")
	}
	token := randomString(20)
	if f == flowGitHub {
		token = "gho_" + token
	}
	granted := *g
	granted.expires = time.Now().Add(tokenLifetime)
	p.tokens[token] = &granted
	p.used[code] = token
	return &granted, token, nil
}

// lookupToken returns the grant behind a live access token of flow f.
func (p *Provider) lookupToken(f flow, token string) (*grant, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.tokens[token]
	if !ok || g.flow != f || time.Now().After(g.expires) {
		return nil, false
	}
	return g, true
}

// randomString returns n random bytes, hex-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
