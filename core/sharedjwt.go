package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"usher"
	"usher/store"
)

// Shared JWTs are the credential of faces whose clients expect a JWT signed
// with a shared secret (HS256), as Corteza issues them: claims userID (a
// string), exp and memberOf (the ids of the account's roles, space
// separated). The secret is generated on first use, sealed with the server's
// secret key and stored among the signing keys; it is never a constant.
// Underneath, a shared JWT is usher's own credential: it is made with a
// session or token, and works only while that credential and its account
// do, so ending the session or blocking the user ends it.
const (
	sharedAlg      = "HS256"
	sharedKeyBytes = 32
)

// sharedClaims are the claims of a shared JWT.
type sharedClaims struct {
	UserID   string `json:"userID"`
	Exp      int64  `json:"exp"`
	MemberOf string `json:"memberOf"`
	IssuedAt int64  `json:"iat"`
	ID       string `json:"jti"`
	Parent   string `json:"pid"`
	Imp      string `json:"imp,omitempty"`
	// IssuedMicros is as a JWT's of usher's keys (jwtExtra).
	IssuedMicros int64 `json:"ius,omitempty"`
}

// IsSharedJWT reports whether text looks like a shared (HS256) JWT.
func IsSharedJWT(text string) bool {
	head, _, ok := strings.Cut(text, ".")
	if !ok || strings.Count(text, ".") != 2 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	return json.Unmarshal(raw, &h) == nil && h.Alg == sharedAlg
}

// sharedKey returns the newest shared secret, making the first one.
func (a *Auth) sharedKey(ctx context.Context) (*signKey, error) {
	if err := a.keys.fresh(ctx); err != nil {
		return nil, err
	}
	if k := a.keys.shared(); k != nil {
		return k, nil
	}
	secret := make([]byte, sharedKeyBytes)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(secret)
	k := &usher.SigningKey{ID: "hs-" + base64.RawURLEncoding.EncodeToString(sum[:12]), Algorithm: sharedAlg,
		Private: a.seal.Seal(secret), Public: []byte{}, CreatedAt: a.now()}
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		if err := a.openAll(ctx, tx); err != nil {
			return err
		}
		if err := tx.SigningKeyAdd(ctx, k); err != nil {
			return err
		}
		return a.record(ctx, tx, k.CreatedAt, event{action: "auth.signing_key_create", resourceType: "signing_key", resourceID: k.ID})
	})
	if err != nil {
		return nil, err
	}
	if err := a.keys.load(ctx); err != nil {
		return nil, err
	}
	if k := a.keys.shared(); k != nil {
		return k, nil
	}
	return nil, errors.New("no shared signing key")
}

// shared returns the newest shared secret that is not retired.
func (k *keyring) shared() *signKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var best *signKey
	for _, key := range k.keys {
		if key.shared != nil && key.retired == nil && (best == nil || key.created.After(best.created)) {
			best = key
		}
	}
	return best
}

// IssueSharedJWT makes a shared JWT for the caller, with their session or
// token (or, for a JWT, the credential it was made with): it expires with
// that credential, or after the policy's JWTTTL when that never expires,
// and never later than a JWT it is made from. A JWT a retired key
// verified makes none.
//
// Errors: Unauthenticated.
func (a *Auth) IssueSharedJWT(ctx context.Context) (string, *usher.JWTClaims, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() || p.User == nil {
		return "", nil, errUnauthenticated()
	}
	now := a.now()
	c := &usher.JWTClaims{Subject: p.UserID(), Kind: p.Kind, Scopes: p.Scopes, IssuedAt: now, ID: randomBase62(22),
		ImpersonatorID: impersonatorID(p)}
	switch {
	case p.JWT != nil && p.JWT.Retired:
		// Made of a JWT a retired key verified, a JWT of the current key
		// would be taken as its session in another form where that one
		// is not: a forger's, from a leaked backup, would mint tokens that
		// never expire. Its holder logs in again, as after the window.
		return "", nil, &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeInvalidToken,
			Message: "the token was signed with a retired key; log in again"}
	case p.JWT != nil:
		c.Parent, c.ExpiresAt = p.JWT.Parent, p.JWT.ExpiresAt
		if c.ImpersonatorID != 0 {
			// The impersonation in another form: it ends with it
			// (EndImpersonation ends the id).
			c.ID = p.JWT.ID
		}
	case p.Token != nil:
		c.Parent, c.ExpiresAt = p.Token.ID, now.Add(a.policy.JWTTTL)
		if p.Token.ExpiresAt != nil {
			c.ExpiresAt = *p.Token.ExpiresAt
		}
	default:
		return "", nil, errUnauthenticated()
	}
	key, err := a.sharedKey(ctx)
	if err != nil {
		return "", nil, err
	}
	ms, err := a.store.UserGroups(ctx, c.Subject, usher.GroupRole)
	if err != nil {
		return "", nil, err
	}
	roles := make([]string, 0, len(ms))
	for _, m := range rolesInForce(ms) {
		roles = append(roles, strconv.FormatInt(m.GroupID, 10))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key.shared},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.id))
	if err != nil {
		return "", nil, err
	}
	claims := sharedClaims{UserID: strconv.FormatInt(c.Subject, 10), Exp: c.ExpiresAt.Unix(), MemberOf: strings.Join(roles, " "),
		IssuedAt: now.Unix(), ID: c.ID, Parent: strconv.FormatInt(c.Parent, 10), IssuedMicros: issuedMicros(now)}
	if c.ImpersonatorID != 0 {
		claims.Imp = strconv.FormatInt(c.ImpersonatorID, 10)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", nil, err
	}
	return raw, c, nil
}

// checkSharedJWT verifies a shared JWT and returns its principal.
func (a *Auth) checkSharedJWT(ctx context.Context, raw string) (*usher.Principal, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil || len(tok.Headers) != 1 {
		return nil, errBadToken()
	}
	key, err := a.keys.find(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	if key == nil || key.shared == nil {
		return nil, errBadToken()
	}
	var sc sharedClaims
	if err := tok.Claims(key.shared, &sc); err != nil {
		return nil, errBadToken()
	}
	now := a.now()
	exp, iat := time.Unix(sc.Exp, 0), time.Unix(sc.IssuedAt, 0)
	expired := &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeInvalidToken, Message: "the token is not valid or has expired"}
	if sc.Exp == 0 || !now.Before(exp) || iat.After(now.Add(jwtLeeway)) {
		return nil, expired
	}
	// A retired secret signs nothing new and verifies nothing past its
	// window, as verify rules for usher's own keys: whoever read it from a
	// leaked backup forges nothing once it is rotated and the window is over.
	if key.retired != nil && (iat.After(key.retired.Add(jwtLeeway)) || now.After(key.until)) {
		return nil, expired
	}
	c := &usher.JWTClaims{IssuedAt: issuedAt(iat, sc.IssuedMicros), ExpiresAt: exp.UTC(), ID: sc.ID}
	if c.Retired = key.retired != nil; c.Retired && key.until.Before(c.ExpiresAt) {
		// Taken until the retired secret's window ends, and no JWT made
		// from it (IssueSharedJWT: Corteza's auth check) outlives that:
		// a forger's, dated before the rotation, with an expiry of its
		// choosing, would be made one of the new secret's.
		c.ExpiresAt = key.until.UTC()
	}
	if c.Subject, err = strconv.ParseInt(sc.UserID, 10, 64); err != nil {
		return nil, errBadToken()
	}
	if c.Parent, err = strconv.ParseInt(sc.Parent, 10, 64); err != nil || c.Parent <= 0 {
		return nil, errBadToken()
	}
	if sc.Imp != "" {
		if c.ImpersonatorID, err = strconv.ParseInt(sc.Imp, 10, 64); err != nil {
			return nil, errBadToken()
		}
	}
	return a.jwtPrincipal(ctx, c)
}
