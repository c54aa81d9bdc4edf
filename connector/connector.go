// Package connector speaks the log-in protocols of external identity
// providers: GitHub's OAuth2 flavour and OpenID Connect. Each connector
// turns an authorization code into an [usher.ExternalIdentity]; the core
// decides what that identity may do.
//
// Both connectors use PKCE (S256) and talk HTTP through the client stored in
// the context under [oauth2.HTTPClient] when there is one, with response
// sizes bounded and a timeout set. Errors never carry the client secret or
// an access token.
package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

const (
	// maxResponseBytes bounds every response body a connector reads.
	maxResponseBytes = 1 << 20
	// requestTimeout bounds one HTTP request when the caller's client has
	// no timeout of its own.
	requestTimeout = 10 * time.Second
	// exchangeTimeout bounds one whole Exchange: the token request and the
	// API, key set or user info requests after it.
	exchangeTimeout = 30 * time.Second
)

// errTooLarge is returned when a response body exceeds maxResponseBytes.
var errTooLarge = errors.New("response body larger than 1 MiB")

// httpClient returns the client a connector uses for ctx: the one stored
// under oauth2.HTTPClient, or http.DefaultTransport, either way with response
// bodies bounded and a timeout if the client has none.
func httpClient(ctx context.Context) *http.Client {
	c := &http.Client{}
	if base, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); ok && base != nil {
		*c = *base
	}
	if c.Timeout == 0 {
		c.Timeout = requestTimeout
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = limitTransport{base: base, max: maxResponseBytes}
	return c
}

// withClient returns ctx carrying the connector's client under
// oauth2.HTTPClient, where both oauth2 and go-oidc look for it, and the
// client itself.
func withClient(ctx context.Context) (context.Context, *http.Client) {
	hc := httpClient(ctx)
	return context.WithValue(ctx, oauth2.HTTPClient, hc), hc
}

// limitTransport makes every response body fail once it exceeds max bytes.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

// RoundTrip implements [http.RoundTripper].
func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), errTooLarge)
	}
	resp.Body = &limitBody{rc: resp.Body, remaining: t.max}
	return resp, nil
}

// limitBody reads at most remaining bytes and fails, rather than truncating
// silently, when the body goes on past them.
type limitBody struct {
	rc        io.ReadCloser
	remaining int64
}

// Read implements [io.Reader].
func (b *limitBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.remaining <= 0 {
		// The limit is reached: the body is acceptable only if it ends here.
		var probe [1]byte
		n, err := b.rc.Read(probe[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.rc.Read(p)
	b.remaining -= int64(n)
	return n, err
}

// Close implements [io.Closer].
func (b *limitBody) Close() error { return b.rc.Close() }

// tokenError describes a failed token request by its status and OAuth2
// error code only. oauth2.RetrieveError's own message quotes the response
// body, which is the provider's to fill and not ours to log.
type tokenError struct {
	err *oauth2.RetrieveError
}

// Error implements error.
func (e *tokenError) Error() string {
	msg := "token endpoint refused"
	if e.err.Response != nil {
		msg += " (" + e.err.Response.Status + ")"
	}
	if e.err.ErrorCode != "" {
		msg += ": " + e.err.ErrorCode
		if e.err.ErrorDescription != "" {
			msg += ": " + e.err.ErrorDescription
		}
	}
	return msg
}

// Unwrap returns the *oauth2.RetrieveError, for errors.As.
func (e *tokenError) Unwrap() error { return e.err }

// exchange runs the authorization-code grant with the PKCE verifier and
// returns the token, its failure described without the response body.
func exchange(ctx context.Context, cfg *oauth2.Config, code, verifier string) (*oauth2.Token, error) {
	if code == "" {
		return nil, errors.New("no authorization code")
	}
	if verifier == "" {
		return nil, errors.New("no PKCE code verifier")
	}
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
			return nil, fmt.Errorf("exchange code: %w", &tokenError{err: re})
		}
		return nil, fmt.Errorf("exchange code: %w", err)
	}
	return tok, nil
}

// pkceOptions sends a ready-made S256 challenge. oauth2.S256ChallengeOption
// derives the challenge from the verifier, which a connector never sees when
// the browser is sent off: the core keeps the verifier and passes only the
// challenge.
func pkceOptions(challenge string) []oauth2.AuthCodeOption {
	return []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("code_challenge_method", "S256"),
		oauth2.SetAuthURLParam("code_challenge", challenge),
	}
}
