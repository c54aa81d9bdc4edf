package oidctest

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxFormBytes bounds a token request's body.
const maxFormBytes = 64 << 10

// discovery serves the OpenID Provider Metadata.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	iss := p.Issuer()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"userinfo_endpoint":                     iss + "/userinfo",
		"jwks_uri":                              iss + "/jwks",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
			"email", "email_verified", "name", "preferred_username"},
	})
}

// authorize is the OpenID Connect authorization endpoint.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scopes := strings.Fields(q.Get("scope"))
	code, redirectURI, err := p.authRequest(q, flowOIDC, scopes, func() *authError {
		if q.Get("response_type") != "code" {
			return &authError{redirect: true, code: "unsupported_response_type", desc: "only response_type=code is supported"}
		}
		if !slices.Contains(scopes, "openid") {
			return &authError{redirect: true, code: "invalid_scope", desc: "scope must include openid"}
		}
		return nil
	})
	p.answerAuthorize(w, r, code, redirectURI, err)
}

// token is the OpenID Connect token endpoint.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if status := p.takeFailure(); status != 0 {
		writeOAuthError(w, status, failureCode(status), "failure requested by the test")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.refuseToken(w, http.StatusBadRequest, "invalid_request", "bad form: "+err.Error())
		return
	}
	clientID, basic, err := p.authenticate(r)
	if err != nil {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		p.refuseToken(w, http.StatusUnauthorized, "invalid_client", err.Error())
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		p.refuseToken(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+gt)
		return
	}
	g, access, err := p.redeem(flowOIDC, clientID, r.PostForm.Get("code"),
		r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier"))
	if err != nil {
		p.refuseToken(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	resp := map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   int(tokenLifetime / time.Second),
		"scope":        strings.Join(g.scopes, " "),
	}
	if slices.Contains(g.scopes, "openid") {
		idToken, err := p.idToken(g, access)
		if err != nil {
			p.refuseToken(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
		resp["id_token"] = idToken
	}
	writeJSON(w, http.StatusOK, resp)
}

// refuseToken answers a token request with an OAuth2 error and logs why.
func (p *Provider) refuseToken(w http.ResponseWriter, status int, code, desc string) {
	p.t.Logf("oidctest: token request refused: %s: %s", code, desc)
	writeOAuthError(w, status, code, desc)
}

// authenticate checks the client's credentials, sent either with HTTP Basic
// authentication (client_secret_basic) or in the form (client_secret_post),
// never both. basic reports which, so a refusal can say how to retry.
func (p *Provider) authenticate(r *http.Request) (clientID string, basic bool, err error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if r.PostForm.Has("client_secret") {
			return "", true, errors.New("client credentials both in the header and in the form")
		}
		// RFC 6749 section 2.3.1: both parts are form-encoded first.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return "", true, errors.New("bad Basic credentials")
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return "", basic, errors.New("no client authentication")
	}
	if !equal(id, p.clientID) || !equal(secret, p.clientSecret) {
		return "", basic, errors.New("wrong client id or secret")
	}
	if form := r.PostForm.Get("client_id"); form != "" && form != id {
		return "", basic, errors.New("client_id in the form differs from the authenticated client")
	}
	return id, basic, nil
}

// idToken issues the ID token for g, whose access token is access, and
// applies any Tamper set for it.
func (p *Provider) idToken(g *grant, access string) (string, error) {
	now := time.Now()
	claims := map[string]any{
		"iss":       p.Issuer(),
		"sub":       g.user.Subject,
		"aud":       g.clientID,
		"iat":       now.Unix(),
		"exp":       now.Add(tokenLifetime).Unix(),
		"auth_time": g.authTime.Unix(),
		"at_hash":   atHash(access),
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	for k, v := range userClaims(g) {
		claims[k] = v
	}
	tm := p.takeTamper()
	if tm.Claims != nil {
		tm.Claims(claims)
	}
	key := p.key
	if tm.ForeignKey {
		var err error
		if key, err = newKey(); err != nil {
			return "", err
		}
	}
	return signJWT(key, p.kid, claims)
}

// userClaims returns the claims about g's user that g's scopes allow.
func userClaims(g *grant) map[string]any {
	c := map[string]any{"sub": g.user.Subject}
	if slices.Contains(g.scopes, "email") && g.user.Email != "" {
		c["email"] = g.user.Email
		c["email_verified"] = g.user.EmailVerified
	}
	if slices.Contains(g.scopes, "profile") {
		if g.user.Name != "" {
			c["name"] = g.user.Name
		}
		if g.user.Username != "" {
			c["preferred_username"] = g.user.Username
		}
	}
	return c
}

// userinfo is the UserInfo endpoint.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g, live := p.lookupToken(flowOIDC, token)
	if !ok || !live {
		p.t.Logf("oidctest: userinfo: refused an unknown access token")
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, userClaims(g))
}

// jwks serves the public half of the signing key.
func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{publicJWK(&p.key.PublicKey, p.kid)}})
}

// failureCode is the OAuth2 error code FailNextToken answers with.
func failureCode(status int) string {
	switch {
	case status == http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request"
	}
}

// writeOAuthError writes an RFC 6749 section 5.2 error body.
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// writeJSON writes v as a JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client hung up, if anything
}

// equal compares two secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
