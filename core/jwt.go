package core

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"usher"
	"usher/store"
)

// jwtAudience is the audience of the JWTs usher signs.
const jwtAudience = "usher"

// jwtLeeway is the clock skew allowed when checking when a JWT was issued
// (a replica whose clock is behind the issuer's). Its expiry is kept as
// given: a replica whose clock is ahead ends it early, which is safe, where
// the leeway would let it, an impersonation with it, live on past the end
// it was given.
const jwtLeeway = 30 * time.Second

// signKey is a loaded signing key.
type signKey struct {
	id      string
	pub     ed25519.PublicKey
	priv    ed25519.PrivateKey
	created time.Time
	retired *time.Time
	until   time.Time // when a retired key stops verifying (verifyUntil)
	// shared is the secret of an HS256 key (see sharedjwt.go); such a key
	// has no public half and signs none of usher's own JWTs.
	shared []byte
}

// keyring caches the signing keys of the store. Other replicas may rotate
// keys, so a JWT signed by an unknown key makes it reload (at most once a
// few seconds).
type keyring struct {
	env  *env
	mu   sync.RWMutex
	keys map[string]*signKey
	// loadedAt is when the read of keys began: they are as fresh as that.
	loadedAt time.Time
	// loads counts the reads begun, and loaded is the number of the one
	// keys holds.
	loads, loaded uint64
}

// reloadEvery is how old the cached keys may get: a rotation by another
// process takes effect within it, and an unknown key id reloads at most
// this often.
const reloadEvery = 5 * time.Second

// load reads the keys from the store, opening their private halves. A key
// the secret key does not open is left out and logged: a server keeps
// verifying with the keys it can open. A read that a later one overtook
// is dropped: begun before a rotation committed and ended after the
// rotation's own, it would bring back the retired key, signing with it
// and taking what it signed after its retirement, for as long as the keys
// count as fresh — which they do from when their read began, not ended.
func (k *keyring) load(ctx context.Context) error {
	k.mu.Lock()
	k.loads++
	seq, start := k.loads, time.Now()
	k.mu.Unlock()
	stored, err := k.env.store.SigningKeyList(ctx)
	if err != nil {
		return err
	}
	keys := make(map[string]*signKey, len(stored))
	for _, s := range stored {
		key, err := k.env.openKey(s)
		if err != nil {
			k.env.log.ErrorContext(ctx, "signing key cannot be opened", "kid", s.ID, "err", err)
			continue
		}
		keys[s.ID] = key
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if seq > k.loaded {
		k.keys, k.loadedAt, k.loaded = keys, start, seq
	}
	return nil
}

// openKey opens a stored signing key with the secret key.
func (e *env) openKey(s *usher.SigningKey) (*signKey, error) {
	seed, err := e.seal.Open(s.Private)
	if s.Algorithm == sharedAlg {
		if err != nil || len(seed) != sharedKeyBytes {
			return nil, fmt.Errorf("signing key %s cannot be opened with this secret key: use the secret key the server uses", s.ID)
		}
		return &signKey{id: s.ID, shared: seed, created: s.CreatedAt, retired: s.RetiredAt, until: e.verifyUntil(s)}, nil
	}
	if err != nil || len(seed) != ed25519.SeedSize || len(s.Public) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("signing key %s cannot be opened with this secret key: use the secret key the server uses", s.ID)
	}
	return &signKey{id: s.ID, pub: ed25519.PublicKey(s.Public), priv: ed25519.NewKeyFromSeed(seed),
		created: s.CreatedAt, retired: s.RetiredAt, until: e.verifyUntil(s)}, nil
}

// fresh reloads the keys when they were loaded longer ago than
// reloadEvery, so that a rotation by another process takes effect here.
func (k *keyring) fresh(ctx context.Context) error {
	k.mu.RLock()
	stale := time.Since(k.loadedAt) > reloadEvery
	k.mu.RUnlock()
	if stale {
		return k.load(ctx)
	}
	return nil
}

// current returns the newest key that is not retired.
func (k *keyring) current() *signKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var best *signKey
	for _, key := range k.keys {
		if key.shared == nil && key.retired == nil && (best == nil || key.created.After(best.created)) {
			best = key
		}
	}
	return best
}

// find returns the key with the id, reloading the keys first when they
// were loaded longer ago than reloadEvery: a key unknown here may be
// another process's new one, and a known one may have been retired since
// (usher keys rotate), which must stop it verifying what it signs after.
func (k *keyring) find(ctx context.Context, id string) (*signKey, error) {
	if err := k.fresh(ctx); err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[id], nil
}

// EnsureSigningKey makes sure a signing key exists, creating the first one,
// prunes retired keys that verify nothing any more, and records on the
// keys that sign this process's longest JWT lifetime, by which whoever
// retires them later keeps them verifying. The server calls it at
// start-up.
//
// Errors: only the store's, or a key sealed under another secret key.
func (a *Auth) EnsureSigningKey(ctx context.Context) error {
	if err := a.openAll(ctx, a.store); err != nil {
		return err
	}
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := a.prune(ctx, tx); err != nil {
			return err
		}
		return a.recordLifetime(ctx, tx)
	})
	if err != nil {
		return err
	}
	if err := a.keys.load(ctx); err != nil {
		return err
	}
	if a.keys.current() != nil {
		return nil
	}
	return a.addSigningKey(ctx, false)
}

// openAll proves that the secret key opens every stored signing key: a
// process with another secret key must not add keys the others cannot use.
func (a *Auth) openAll(ctx context.Context, tx store.Tx) error {
	stored, err := tx.SigningKeyList(ctx)
	if err != nil {
		return err
	}
	for _, s := range stored {
		if _, err := a.openKey(s); err != nil {
			return err
		}
	}
	return nil
}

// RotateSigningKey creates a new signing key and retires the others, the
// shared secret of shared JWTs too (the next shared JWT makes a new one).
// Retired keys still verify the JWTs they signed until the longest
// lifetime of usher's JWTs has passed; keys retired longer ago are pruned.
//
// Errors: Unauthenticated, Forbidden (administrators only), the store's.
func (a *Auth) RotateSigningKey(ctx context.Context) error {
	if err := a.authorize(ctx, actKeyRotate, nil); err != nil {
		return err
	}
	return a.addSigningKey(ctx, true)
}

// addSigningKey stores a new Ed25519 key, retiring the old ones if asked.
func (a *Auth) addSigningKey(ctx context.Context, retire bool) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	thumb, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return err
	}
	now := a.now()
	k := &usher.SigningKey{ID: base64.RawURLEncoding.EncodeToString(thumb), Algorithm: string(jose.EdDSA),
		Private: a.seal.Seal(priv.Seed()), Public: pub, CreatedAt: now, Lifetime: a.longest()}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		if err := a.openAll(ctx, tx); err != nil {
			return err
		}
		if retire {
			if _, err := a.prune(ctx, tx); err != nil {
				return err
			}
			old, err := tx.SigningKeyList(ctx)
			if err != nil {
				return err
			}
			for _, o := range old {
				if o.RetiredAt != nil {
					continue
				}
				if o.Algorithm != sharedAlg {
					// The new key signs for whoever signed with the old
					// one: it inherits the longest lifetime recorded.
					k.Lifetime = max(k.Lifetime, o.Lifetime)
				}
				// The shared secret is retired with the others: a rotation
				// is what a leaked backup calls for, and whoever holds the
				// secret signs a shared JWT for anyone. Its JWTs live with
				// their sessions, longer than the window: they stop at its
				// end, and their users log in again.
				if err := tx.SigningKeyRetire(ctx, o.ID, now, now.Add(a.window(o))); err != nil {
					return err
				}
			}
		}
		if err := tx.SigningKeyAdd(ctx, k); err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "auth.signing_key_create", resourceType: "signing_key", resourceID: k.ID})
	})
	if err != nil {
		return err
	}
	return a.keys.load(ctx)
}

// JWKS returns the public keys that verify usher's JWTs, as a JSON Web Key
// Set: the current key and the retired ones whose JWTs may not have expired.
//
// Errors: only the store's.
func (a *Auth) JWKS(ctx context.Context) ([]byte, error) {
	if err := a.keys.fresh(ctx); err != nil {
		return nil, err
	}
	now := a.now()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	a.keys.mu.RLock()
	for _, k := range a.keys.keys {
		if k.shared == nil && (k.retired == nil || now.Before(k.until)) {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.pub, KeyID: k.id, Algorithm: string(jose.EdDSA), Use: "sig"})
		}
	}
	a.keys.mu.RUnlock()
	return json.Marshal(set)
}

// jwtExtra are usher's own claims.
type jwtExtra struct {
	Kind         string `json:"kind,omitempty"`
	Scope        string `json:"scope,omitempty"`
	Impersonator string `json:"imp,omitempty"`
	// Parent is the id of the session or token the JWT was made with.
	Parent string `json:"pid,omitempty"`
	// IssuedMicros is the microsecond of iat's second it was issued at:
	// a change that ends the JWTs made before it (CredentialsSince) tells
	// one made just before it from one made just after in the same second.
	IssuedMicros int64 `json:"ius,omitempty"`
}

// issuedMicros is the microsecond within its second t falls at.
func issuedMicros(t time.Time) int64 {
	return int64(t.Nanosecond() / 1000)
}

// issuedAt is a JWT's time of issue: iat, whole seconds, and the
// microsecond within it that ius says, when it says one.
func issuedAt(iat time.Time, micros int64) time.Time {
	if micros > 0 && micros < 1e6 {
		iat = iat.Add(time.Duration(micros) * time.Microsecond)
	}
	return iat.UTC()
}

// sign makes a JWT of the claims with the current key.
func (a *Auth) sign(ctx context.Context, c *usher.JWTClaims) (string, error) {
	if err := a.keys.fresh(ctx); err != nil {
		return "", err
	}
	key := a.keys.current()
	if key == nil {
		if err := a.EnsureSigningKey(ctx); err != nil {
			return "", err
		}
		if key = a.keys.current(); key == nil {
			return "", errors.New("no signing key")
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: key.priv, KeyID: key.id}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	std := jwt.Claims{
		Issuer: a.policy.PublicURL, Subject: strconv.FormatInt(c.Subject, 10), Audience: jwt.Audience{jwtAudience},
		IssuedAt: jwt.NewNumericDate(c.IssuedAt), NotBefore: jwt.NewNumericDate(c.IssuedAt),
		Expiry: jwt.NewNumericDate(c.ExpiresAt), ID: c.ID,
	}
	extra := jwtExtra{Kind: string(c.Kind), Scope: strings.Join(c.Scopes, " "), Parent: strconv.FormatInt(c.Parent, 10),
		IssuedMicros: issuedMicros(c.IssuedAt)}
	if c.ImpersonatorID != 0 {
		extra.Impersonator = strconv.FormatInt(c.ImpersonatorID, 10)
	}
	return jwt.Signed(signer).Claims(std).Claims(extra).Serialize()
}

// verify checks a JWT's signature, algorithm, issuer, audience and times and
// returns its claims.
func (a *Auth) verify(ctx context.Context, raw string) (*usher.JWTClaims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 {
		return nil, errBadToken()
	}
	key, err := a.keys.find(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	if key == nil || key.shared != nil {
		return nil, errBadToken()
	}
	var std jwt.Claims
	var extra jwtExtra
	if err := tok.Claims(key.pub, &std, &extra); err != nil {
		return nil, errBadToken()
	}
	now := a.now()
	expired := &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeInvalidToken, Message: "the token is not valid or has expired"}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: a.policy.PublicURL, AnyAudience: jwt.Audience{jwtAudience}, Time: now}, jwtLeeway)
	if err != nil || std.Expiry == nil || std.IssuedAt == nil || std.NotBefore == nil || !now.Before(std.Expiry.Time()) {
		return nil, expired
	}
	// No JWT lives longer than the longest lifetime usher gives, and a
	// retired key signs nothing new and verifies nothing older than that.
	longest := a.longest()
	iat, exp := std.IssuedAt.Time(), std.Expiry.Time()
	if exp.Sub(iat) > longest+jwtLeeway {
		return nil, expired
	}
	if key.retired != nil && (iat.After(key.retired.Add(jwtLeeway)) || now.After(key.until)) {
		return nil, expired
	}
	sub, err := strconv.ParseInt(std.Subject, 10, 64)
	if err != nil {
		return nil, errBadToken()
	}
	c := &usher.JWTClaims{Subject: sub, Kind: usher.PrincipalKind(extra.Kind), IssuedAt: issuedAt(std.IssuedAt.Time(), extra.IssuedMicros),
		ExpiresAt: std.Expiry.Time().UTC(), ID: std.ID}
	if c.Retired = key.retired != nil; c.Retired && key.until.Before(c.ExpiresAt) {
		// As a shared JWT's (checkSharedJWT): taken until the retired
		// key's window ends, and nothing made from it outlives that.
		c.ExpiresAt = key.until.UTC()
	}
	if extra.Scope != "" {
		c.Scopes = strings.Fields(extra.Scope)
	}
	if extra.Impersonator != "" {
		if c.ImpersonatorID, err = strconv.ParseInt(extra.Impersonator, 10, 64); err != nil {
			return nil, errBadToken()
		}
	}
	// A JWT without the credential it was made with cannot be ended with
	// it: none such is taken.
	if c.Parent, err = strconv.ParseInt(extra.Parent, 10, 64); err != nil || c.Parent <= 0 {
		return nil, errBadToken()
	}
	return c, nil
}

// CheckJWT validates a JWT and returns its principal and claims. The
// session or token it was made with must still work (it is read through
// the same short-lived cache as a token's check), and so must the account:
// revoking the token, ending the session, or deleting the account ends the
// JWT, and a JWT issued before its account was deleted stays dead when the
// account is restored. An impersonation's JWT works while the
// administrator's credential it was made with does.
//
// Errors: Unauthenticated.
func (a *Auth) CheckJWT(ctx context.Context, raw string) (*usher.Principal, *usher.JWTClaims, error) {
	c, err := a.verify(ctx, raw)
	if err != nil {
		return nil, nil, err
	}
	p, err := a.jwtPrincipal(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return p, c, nil
}

// jwtPrincipal returns who a verified JWT's claims stand for, while the
// session or token it was made with, and its account, still work.
func (a *Auth) jwtPrincipal(ctx context.Context, c *usher.JWTClaims) (*usher.Principal, error) {
	now := a.now()
	key := "id:" + strconv.FormatInt(c.Parent, 10)
	ent, err := a.tokenPrincipal(ctx, key, func() (*usher.Token, error) { return a.store.TokenGet(ctx, c.Parent) }, now)
	if err != nil {
		return nil, err
	}
	parent, err := a.principalOf(ctx, key, ent, now)
	if err != nil {
		return nil, err
	}
	var p *usher.Principal
	switch {
	case c.Subject == parent.UserID() && c.ImpersonatorID == impersonatorID(parent):
		// Made with the account's own session or token.
		p = &usher.Principal{Kind: parent.Kind, User: parent.User, Impersonator: parent.Impersonator}
		// A JWT's times are whole seconds.
		tok := ent.tok
		// One a retired key verified is not: a forger's would be.
		c.AsSession = tok.Kind == usher.TokenSession && tok.ExpiresAt != nil && !c.Retired &&
			!c.ExpiresAt.Before(tok.ExpiresAt.Truncate(time.Second))
	case c.ImpersonatorID != 0 && c.ImpersonatorID == parent.UserID() && parent.Impersonator == nil && parent.IsAdmin():
		// An administrator's impersonation, made with their credential.
		u, err := a.activeUser(ctx, c.Subject)
		if err != nil {
			return nil, err
		}
		if u.Admin {
			// Administrators are not impersonated: one made an
			// administrator since ends the impersonation.
			return nil, errBadToken()
		}
		// Ended by its administrator (EndImpersonation), whoever holds
		// a copy of it.
		if ended, err := a.store.JWTEnded(ctx, c.ID); err != nil {
			return nil, err
		} else if ended {
			return nil, errBadToken()
		}
		p = &usher.Principal{Kind: principalKind(u), User: u, Impersonator: parent.User}
	default:
		return nil, errBadToken()
	}
	if since := p.User.CredentialsSince; since != nil && c.IssuedAt.Before(*since) {
		return nil, errBadToken()
	}
	// Nor one its administrator made before losing the rights (endJWTs),
	// got back since.
	if imp := p.Impersonator; imp != nil && imp.CredentialsSince != nil && c.IssuedAt.Before(*imp.CredentialsSince) {
		return nil, errBadToken()
	}
	if c.Scopes == nil {
		// A shared JWT carries no scopes: it has its credential's.
		c.Scopes = parent.Scopes
	}
	if c.Retired {
		// Its claims are a forger's to write: it has the reading scopes
		// of the credential it names, and no JWT at all where that reads
		// nothing, or where the credential is younger than the JWT says
		// it is (beyond the clock skew): no JWT the key signed was made
		// with one opened after its retirement.
		if c.Scopes = readScopes(parent.Scopes); len(c.Scopes) == 0 || ent.tok.CreatedAt.After(c.IssuedAt.Add(jwtLeeway)) {
			return nil, errBadToken()
		}
	}
	p.Scopes, p.JWT = c.Scopes, c
	return p, nil
}

// readScopes are the scopes that read of those given (none: every scope),
// none when they read nothing: a JWT a retired key verified, within the
// key's window, has them alone. It reads as its credential does and
// changes nothing: whoever read the key from a leaked backup forges one
// for any live session, and what it changed — an account it made with a
// password of its choosing, a team's owner it named — would outlast the
// window.
func readScopes(scopes []string) []string {
	given := &usher.Principal{Scopes: scopes}
	var read []string
	for _, s := range []string{usher.ScopeReadAPI, usher.ScopeReadUser} {
		if given.HasScope(s) {
			read = append(read, s)
		}
	}
	return read
}

// credentialID is the id of the session or token p acts with: its own, or
// the one its JWT was made with; 0 for none.
func credentialID(p *usher.Principal) int64 {
	switch {
	case p.Token != nil:
		return p.Token.ID
	case p.JWT != nil:
		return p.JWT.Parent
	case p.Via != nil:
		return credentialID(p.Via)
	}
	return 0
}

// credentialExpiry is when the credential p acts with expires: its token's
// time or its JWT's; nil for one that does not.
func credentialExpiry(p *usher.Principal) *time.Time {
	switch {
	case p.JWT != nil:
		return &p.JWT.ExpiresAt
	case p.Token != nil:
		return p.Token.ExpiresAt
	case p.Via != nil:
		return credentialExpiry(p.Via)
	}
	return nil
}

// impersonatorID is the id of the administrator behind p, or 0.
func impersonatorID(p *usher.Principal) int64 {
	if p.Impersonator == nil {
		return 0
	}
	return p.Impersonator.ID
}

// principalKind is the kind of principal acting as u.
func principalKind(u *usher.User) usher.PrincipalKind {
	if u.Kind == usher.KindServiceAccount {
		return usher.PrincipalServiceAccount
	}
	return usher.PrincipalUser
}

// IssueJWT exchanges the caller's session or token for a short-lived JWT
// with the same account, kind, scopes and impersonator. A JWT cannot be
// exchanged for another: that would extend it without end.
//
// Errors: Unauthenticated, Forbidden.
func (a *Auth) IssueJWT(ctx context.Context) (string, *usher.JWTClaims, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() || p.User == nil {
		return "", nil, errUnauthenticated()
	}
	if p.Token == nil {
		return "", nil, errForbidden("a JWT cannot be exchanged for another; use a session or a token")
	}
	now := a.now()
	exp := now.Add(a.policy.JWTTTL)
	if p.Token.ExpiresAt != nil && p.Token.ExpiresAt.Before(exp) {
		exp = *p.Token.ExpiresAt
	}
	c := &usher.JWTClaims{Subject: p.UserID(), Kind: p.Kind, Scopes: p.Scopes, IssuedAt: now, ExpiresAt: exp,
		ID: randomBase62(22), Parent: p.Token.ID}
	if p.Impersonator != nil {
		c.ImpersonatorID = p.Impersonator.ID
	}
	raw, err := a.sign(ctx, c)
	if err != nil {
		return "", nil, err
	}
	return raw, c, nil
}

// Impersonate lets an administrator act as another user: it returns a JWT
// for the user that records the administrator, valid for ttl (the policy's
// ImpersonationTTL when zero; always under 24 hours). Everything done with
// it is audited under both.
//
// Errors: Unauthenticated, Forbidden (not an administrator, an
// impersonation already, oneself, or another administrator), NotFound,
// Unprocessable (a bad ttl).
func (a *Auth) Impersonate(ctx context.Context, key usher.UserKey, ttl time.Duration) (string, *usher.JWTClaims, *usher.User, error) {
	p := usher.PrincipalFrom(ctx)
	if err := a.authorize(ctx, actImpersonate, nil); err != nil {
		return "", nil, nil, err
	}
	if !p.IsAdmin() {
		// A rule allowing user.impersonate gives a non-administrator
		// nothing: an impersonation's JWT works only with an
		// administrator's credential behind it (jwtPrincipal), so one
		// made here would be refused at its first use.
		return "", nil, nil, errForbidden("impersonation is for administrators")
	}
	if !p.HasScope(usher.ScopeSudo) {
		return "", nil, nil, errForbidden("impersonation needs a token with the sudo scope")
	}
	if p.Impersonator != nil {
		return "", nil, nil, errForbidden("an impersonation cannot impersonate")
	}
	if ttl == 0 {
		ttl = a.policy.ImpersonationTTL
	}
	if ttl < time.Minute || ttl > a.policy.ImpersonationTTL {
		return "", nil, nil, usher.FieldErrors(usher.FieldError{Field: "expires_in", Code: usher.CodeOutOfRange,
			Message: fmt.Sprintf("must be between 1m and %s", a.policy.ImpersonationTTL)})
	}
	parent := credentialID(p)
	if parent == 0 {
		return "", nil, nil, errForbidden("an impersonation is made with a session or a token, and ends with it")
	}
	// The JWT is dated before the account is read: a deletion (or any
	// change that ends its credentials) committed after the read comes
	// after its date too, and ends it (CredentialsSince), as it ends the
	// JWTs made before.
	now := a.now()
	u, err := findUser(ctx, a.store, p, key, liveOnly)
	if err != nil {
		return "", nil, nil, err
	}
	if u.ID == p.UserID() {
		return "", nil, nil, errForbidden("one cannot impersonate oneself")
	}
	if u.Admin {
		// Acting as another administrator would do an administrator's
		// work under their name: each signs in as themselves.
		return "", nil, nil, errForbidden("administrators are not impersonated")
	}
	if !a.maySignIn(u) {
		return "", nil, nil, errInactive(u)
	}
	kind := usher.PrincipalUser
	if u.Kind == usher.KindServiceAccount {
		kind = usher.PrincipalServiceAccount
	}
	c := &usher.JWTClaims{Subject: u.ID, Kind: kind, Scopes: p.Scopes, IssuedAt: now, ExpiresAt: now.Add(ttl),
		ImpersonatorID: p.UserID(), ID: randomBase62(22), Parent: parent}
	if bound := credentialExpiry(p); bound != nil && bound.Before(c.ExpiresAt) {
		c.ExpiresAt = *bound
	}
	raw, err := a.sign(ctx, c)
	if err != nil {
		return "", nil, nil, err
	}
	err = a.recordAlone(ctx, event{action: "auth.impersonate", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
		meta: map[string]string{"expires_at": c.ExpiresAt.Format(time.RFC3339), "jwt_id": c.ID}})
	if err != nil {
		return "", nil, nil, err
	}
	return raw, c, u, nil
}

// EndImpersonation ends an impersonation before its expiry, given its
// JWT: the JWT, and a shared JWT made of it (which carries its id), are
// refused from then on, whoever holds a copy, and the end is audited. Its
// holder may end it whatever it acts as at the moment — a JWT refused
// while its user is blocked would act again once unblocked — and whoever
// holds it may, since whoever holds it may use it: no more is asked. The
// administrator's own session goes on. An end is kept until the latest
// expiry any JWT of its id claims, so that one made to look like it with
// an earlier expiry (a JWT a retired key verified) ends nothing sooner.
//
// Errors: Unauthenticated (the JWT does not verify, or has expired: it
// acts as no one already), Invalid (it is no impersonation's).
func (a *Auth) EndImpersonation(ctx context.Context, raw string) error {
	c, err := a.verify(ctx, raw)
	if err != nil {
		return err
	}
	if c.ImpersonatorID == 0 {
		return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeNotAnImpersonation,
			Message: "the JWT is no impersonation's"}
	}
	return a.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.JWTEnd(ctx, c.ID, c.ExpiresAt); err != nil {
			return err
		}
		return a.record(ctx, tx, a.now(), event{action: "auth.impersonate_end", resourceType: "user",
			resourceID: strconv.FormatInt(c.Subject, 10),
			meta:       map[string]string{"jwt_id": c.ID, "impersonator_id": strconv.FormatInt(c.ImpersonatorID, 10)}})
	})
}

// Sudo returns the principal of another user for an administrator acting
// as them (GitLab's Sudo header): the user, with the administrator recorded
// as impersonator, and the request is audited. The caller's token must
// allow sudo (no scopes, api, or sudo) and the caller must not be
// impersonating already.
//
// Errors: Unauthenticated, Forbidden (not an administrator, no sudo scope,
// an impersonation), NotFound (no such user), Invalid.
func (a *Auth) Sudo(ctx context.Context, key usher.UserKey) (*usher.Principal, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, errUnauthenticated()
	}
	if !p.IsAdmin() || !p.HasScope(usher.ScopeSudo) {
		return nil, errForbidden("Must be admin to use sudo")
	}
	if p.Impersonator != nil {
		return nil, errForbidden("an impersonation cannot use sudo")
	}
	u, err := findUser(ctx, a.store, p, key, liveOnly)
	if err != nil {
		return nil, err
	}
	if !a.maySignIn(u) {
		return nil, errInactive(u)
	}
	kind := usher.PrincipalUser
	if u.Kind == usher.KindServiceAccount {
		kind = usher.PrincipalServiceAccount
	}
	// The principal has no token of its own: the administrator's session or
	// token is not the user's to end or exchange. It acts with it all the
	// same (Via), bounded by its expiry and ended with it.
	sudo := &usher.Principal{Kind: kind, User: u, Scopes: p.Scopes, Impersonator: p.User, Via: p}
	err = a.recordAlone(ctx, event{action: "auth.sudo", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
		meta: map[string]string{"request_id": usher.RequestFrom(ctx).ID}})
	if err != nil {
		return nil, err
	}
	return sudo, nil
}
