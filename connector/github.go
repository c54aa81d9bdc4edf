package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"usher"
)

// GitHub's public endpoints, the defaults of GitHubConfig.
const (
	GitHubAuthURL  = "https://github.com/login/oauth/authorize"
	GitHubTokenURL = "https://github.com/login/oauth/access_token"
	GitHubAPIURL   = "https://api.github.com"
)

// GitHubConfig configures a GitHub connector. The URLs default to GitHub's;
// set them to use GitHub Enterprise Server or a test provider.
type GitHubConfig struct {
	ClientID     string
	ClientSecret string
	RedirectURL  string // the callback registered with the OAuth app

	AuthURL  string // default GitHubAuthURL
	TokenURL string // default GitHubTokenURL
	APIURL   string // REST API root, default GitHubAPIURL
}

// GitHub logs people in with a GitHub OAuth app. It asks for the scopes
// read:user and user:email.
type GitHub struct {
	oauth oauth2.Config
	api   string // API root without a trailing slash
}

// NewGitHub returns a GitHub connector. It fails if the client id, secret
// or redirect URL is missing, or if a URL is not absolute.
func NewGitHub(cfg GitHubConfig) (*GitHub, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("connector: github: client id and secret are required")
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = GitHubAuthURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = GitHubTokenURL
	}
	if cfg.APIURL == "" {
		cfg.APIURL = GitHubAPIURL
	}
	for _, u := range []struct{ name, value string }{
		{"redirect URL", cfg.RedirectURL},
		{"authorize URL", cfg.AuthURL},
		{"token URL", cfg.TokenURL},
		{"API URL", cfg.APIURL},
	} {
		if err := checkAbsURL(u.value); err != nil {
			return nil, fmt.Errorf("connector: github: %s: %w", u.name, err)
		}
	}
	return &GitHub{
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       []string{"read:user", "user:email"},
			Endpoint: oauth2.Endpoint{
				AuthURL:  cfg.AuthURL,
				TokenURL: cfg.TokenURL,
				// GitHub documents the client credentials as form
				// parameters. Naming the style also stops oauth2 from
				// retrying a refused request the other way.
				AuthStyle: oauth2.AuthStyleInParams,
			},
		},
		api: strings.TrimSuffix(cfg.APIURL, "/"),
	}, nil
}

// Name returns "github".
func (g *GitHub) Name() string { return "github" }

// AuthCodeURL returns GitHub's authorize URL for state and the PKCE S256
// challenge. GitHub has no ID token, so nonce is not used.
func (g *GitHub) AuthCodeURL(state, nonce, challenge string) string {
	return g.oauth.AuthCodeURL(state, pkceOptions(challenge)...)
}

// Exchange trades code and the PKCE verifier for an access token, then reads
// the person from GET /user and their primary e-mail address from GET
// /user/emails. The address is reported verified only if GitHub says so.
// nonce is not used.
func (g *GitHub) Exchange(ctx context.Context, code, verifier, nonce string) (*usher.ExternalIdentity, error) {
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	ctx, hc := withClient(ctx)

	tok, err := exchange(ctx, &g.oauth, code, verifier)
	if err != nil {
		return nil, fmt.Errorf("connector: github: %w", err)
	}

	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"` // null when unset
	}
	if err := g.get(ctx, hc, tok, "/user", &user); err != nil {
		return nil, fmt.Errorf("connector: github: %w", err)
	}
	if user.ID <= 0 {
		return nil, errors.New("connector: github: GET /user: no user id")
	}

	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := g.get(ctx, hc, tok, "/user/emails?per_page=100", &emails); err != nil {
		return nil, fmt.Errorf("connector: github: %w", err)
	}

	id := &usher.ExternalIdentity{
		Provider: g.Name(),
		Subject:  strconv.FormatInt(user.ID, 10),
		Username: user.Login,
		Name:     user.Name,
	}
	for _, e := range emails {
		if e.Primary {
			id.Email, id.EmailVerified = e.Email, e.Verified
			break
		}
	}
	return id, nil
}

// get reads one GitHub REST API resource into v.
func (g *GitHub) get(ctx context.Context, hc *http.Client, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.api+path, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "usher")
	tok.SetAuthHeader(req)

	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	if resp.StatusCode != http.StatusOK {
		// GitHub explains a failure in a JSON "message".
		var body struct {
			Message string `json:"message"`
		}
		_ = dec.Decode(&body)
		if body.Message != "" {
			return fmt.Errorf("GET %s: %s: %q", path, resp.Status, body.Message)
		}
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// checkAbsURL reports whether s is an absolute http or https URL.
func checkAbsURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}
