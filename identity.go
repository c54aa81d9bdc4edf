package usher

import "context"

// ExternalIdentity is who an external log-in provider says the person is.
type ExternalIdentity struct {
	Provider      string // the connector's name, e.g. "github" or "oidc"
	Subject       string // the provider's stable id for the person
	Email         string
	EmailVerified bool
	Username      string // a preferred username, if the provider has one
	Name          string
}

// LoginMethod is one way to log in, as GET /v1/auth/methods lists them.
type LoginMethod struct {
	Name string // "password", "github", "oidc", ...
	Type string // "secret-token" or "oauth"
	URL  string // where to start it
}

// Connector is an external log-in provider: GitHub, or any OpenID Connect
// provider. The core drives the flow; a connector only speaks its
// provider's protocol. Implementations live in package connector.
type Connector interface {
	// Name is the provider's name as identities record it ("github", "oidc").
	Name() string
	// AuthCodeURL returns where to send the browser to log in. state is
	// returned to the callback unchanged; nonce goes into an OpenID Connect
	// ID token; challenge is the PKCE S256 code challenge.
	AuthCodeURL(state, nonce, challenge string) string
	// Exchange trades the callback's code for the person's identity,
	// checking the nonce where the protocol carries one. verifier is the
	// PKCE code verifier matching the challenge.
	Exchange(ctx context.Context, code, verifier, nonce string) (*ExternalIdentity, error)
}
