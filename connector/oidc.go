package connector

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"usher"
)

// OIDCConfig configures an OpenID Connect connector.
type OIDCConfig struct {
	Name         string // the provider's name in identities, default "oidc"
	Issuer       string // the issuer URL; discovery reads Issuer/.well-known/openid-configuration
	ClientID     string
	ClientSecret string // empty for a public client, which PKCE alone protects
	RedirectURL  string
	Scopes       []string // default openid, email, profile; openid is always asked for
}

// OIDC logs people in with any OpenID Connect provider that supports the
// authorization-code flow with PKCE.
type OIDC struct {
	name     string
	oauth    oauth2.Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// NewOIDC reads the provider's discovery document and returns a connector
// for it. The HTTP client in ctx, if any, is kept for fetching the
// provider's signing keys later; ctx's deadline is not.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	name := cfg.Name
	if name == "" {
		name = "oidc"
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("connector: %s: client id is required", name)
	}
	if err := checkAbsURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("connector: %s: issuer: %w", name, err)
	}
	if err := checkAbsURL(cfg.RedirectURL); err != nil {
		return nil, fmt.Errorf("connector: %s: redirect URL: %w", name, err)
	}

	ctx, _ = withClient(ctx)
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("connector: %s: discovery: %w", name, err)
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("connector: %s: discovery: %w", name, err)
	}

	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = authStyle(cfg.ClientSecret, meta.AuthMethods)

	return &OIDC{
		name: name,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       scopes,
			Endpoint:     endpoint,
		},
		provider: provider,
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
	}, nil
}

// authStyle picks how to authenticate at the token endpoint from the
// methods the provider lists. Naming one also stops oauth2 from retrying a
// refused request the other way.
func authStyle(secret string, methods []string) oauth2.AuthStyle {
	switch {
	case secret == "":
		// A public client only names itself in the form.
		return oauth2.AuthStyleInParams
	case len(methods) == 0, slices.Contains(methods, "client_secret_basic"):
		// client_secret_basic is the default when none is listed.
		return oauth2.AuthStyleInHeader
	case slices.Contains(methods, "client_secret_post"):
		return oauth2.AuthStyleInParams
	default:
		return oauth2.AuthStyleInHeader
	}
}

// Name returns the configured name, "oidc" by default.
func (c *OIDC) Name() string { return c.name }

// AuthCodeURL returns the provider's authorization URL for state, the ID
// token nonce and the PKCE S256 challenge.
func (c *OIDC) AuthCodeURL(state, nonce, challenge string) string {
	return c.oauth.AuthCodeURL(state, append(pkceOptions(challenge), oidc.Nonce(nonce))...)
}

// Exchange trades code and the PKCE verifier for tokens and returns the
// person the ID token names. The ID token must be signed with one of the
// provider's keys, issued by the configured issuer for this client, unexpired,
// and carry nonce. If it has no e-mail claim, the provider's UserInfo
// endpoint is asked, and must name the same subject.
func (c *OIDC) Exchange(ctx context.Context, code, verifier, nonce string) (*usher.ExternalIdentity, error) {
	if nonce == "" {
		return nil, fmt.Errorf("connector: %s: no nonce to check the ID token against", c.name)
	}
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	ctx, _ = withClient(ctx)

	tok, err := exchange(ctx, &c.oauth, code, verifier)
	if err != nil {
		return nil, fmt.Errorf("connector: %s: %w", c.name, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("connector: %s: token response has no id_token", c.name)
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("connector: %s: verify ID token: %w", c.name, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("connector: %s: verify ID token: nonce does not match", c.name)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, fmt.Errorf("connector: %s: verify ID token: %w", c.name, err)
		}
	}

	var cl claims
	if err := idt.Claims(&cl); err != nil {
		return nil, fmt.Errorf("connector: %s: ID token claims: %w", c.name, err)
	}
	if cl.Email == "" && c.provider.UserInfoEndpoint() != "" {
		info, err := c.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, fmt.Errorf("connector: %s: user info: %w", c.name, err)
		}
		if info.Subject != idt.Subject {
			return nil, fmt.Errorf("connector: %s: user info is about another subject", c.name)
		}
		var more claims
		if err := info.Claims(&more); err != nil {
			return nil, fmt.Errorf("connector: %s: user info claims: %w", c.name, err)
		}
		cl.Email, cl.EmailVerified = more.Email, more.EmailVerified
		if cl.PreferredUsername == "" {
			cl.PreferredUsername = more.PreferredUsername
		}
		if cl.Name == "" {
			cl.Name = more.Name
		}
	}
	return &usher.ExternalIdentity{
		Provider:      c.name,
		Subject:       idt.Subject,
		Email:         cl.Email,
		EmailVerified: cl.Email != "" && bool(cl.EmailVerified),
		Username:      cl.PreferredUsername,
		Name:          cl.Name,
	}, nil
}

// claims are the standard claims an identity is filled from.
type claims struct {
	Email             string   `json:"email"`
	EmailVerified     flexBool `json:"email_verified"`
	PreferredUsername string   `json:"preferred_username"`
	Name              string   `json:"name"`
}

// flexBool is a JSON boolean that some providers send as a string.
type flexBool bool

// UnmarshalJSON implements [encoding/json.Unmarshaler].
func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return errors.New("email_verified is not a boolean")
	}
	return nil
}
