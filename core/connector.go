package core

import (
	"context"

	"usher"
)

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
	Exchange(ctx context.Context, code, verifier, nonce string) (*usher.ExternalIdentity, error)
}

// Transport delivers one mail. Implementations live in package mail.
type Transport interface {
	Send(ctx context.Context, m *usher.Mail) error
}
