package core

import (
	"context"
	"crypto/subtle"
	"errors"
	"strconv"
	"time"

	"usher"
	"usher/store"
)

// Auth authenticates principals and manages their credentials.
type Auth struct{ *env }

// touchEvery is how often a token's last-used time is written: often enough
// to show, rarely enough that reads do not become writes.
const touchEvery = time.Minute

func errBadToken() error {
	return &usher.Error{Kind: usher.KindUnauthenticated, Code: "invalid_token", Message: "the token is not valid"}
}

// Authenticate returns the principal a token text stands for. The token
// must be well formed, known, not revoked, not expired, and belong to an
// account that may sign in.
//
// Errors: Unauthenticated.
func (a *Auth) Authenticate(ctx context.Context, text string) (*usher.Principal, error) {
	kind, hash, ok := parseSecret(text)
	if !ok {
		return nil, errBadToken()
	}
	tok, err := a.store.TokenByHash(ctx, hash)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errBadToken()
	}
	if err != nil {
		return nil, err
	}
	now := a.now()
	if subtle.ConstantTimeCompare(tok.Hash, hash) != 1 || tok.Kind != kind || !tok.Active(now) {
		return nil, errBadToken()
	}
	u, err := a.store.UserGet(ctx, usher.UserKey{ID: tok.UserID})
	if err != nil {
		if errors.Is(err, usher.ErrNotFound) {
			return nil, errBadToken()
		}
		return nil, err
	}
	if u.Deleted() || !u.State.CanSignIn() {
		return nil, &usher.Error{Kind: usher.KindUnauthenticated, Code: "account_inactive",
			Message: "the account is " + string(u.State) + "; its credentials do not work"}
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= touchEvery {
		if err := a.store.TokenTouch(ctx, tok.ID, now, now.Add(-touchEvery)); err != nil {
			a.log.WarnContext(ctx, "token touch failed", "token_id", tok.ID, "err", err)
		}
	}
	p := &usher.Principal{Kind: usher.PrincipalUser, User: u, Token: tok, Scopes: tok.Scopes}
	switch {
	case tok.Kind == usher.TokenApplication:
		p.Kind = usher.PrincipalApplication
	case tok.Kind == usher.TokenServiceAccount || u.Kind == usher.KindServiceAccount:
		p.Kind = usher.PrincipalServiceAccount
	}
	if tok.ImpersonatorID != 0 {
		imp, err := a.store.UserGet(ctx, usher.UserKey{ID: tok.ImpersonatorID})
		if err != nil || imp.Deleted() || !imp.Admin || !imp.State.CanSignIn() {
			return nil, errBadToken()
		}
		p.Impersonator = imp
	}
	return p, nil
}

// CreateToken mints a token for a user and returns it with its text, which
// is shown this once and never stored. A principal acting through an
// impersonation may not mint tokens: they would outlive it.
//
// Errors: Unauthenticated, Forbidden, NotFound (no such user),
// Unprocessable (a bad kind, scope, name or expiry).
func (a *Auth) CreateToken(ctx context.Context, in usher.TokenCreate) (*usher.Token, string, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actTokenMint, nil); err != nil {
		return nil, "", err
	}
	if p.Impersonator != nil {
		return nil, "", errForbidden("tokens cannot be minted while impersonating")
	}
	now := a.now()
	var tok *usher.Token
	var text string
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		u, err := tx.UserGet(ctx, usher.UserKey{ID: in.UserID})
		if errors.Is(err, usher.ErrNotFound) || (err == nil && u.Deleted()) {
			return errUserNotFound()
		}
		if err != nil {
			return err
		}
		if err := a.authorize(ctx, actTokenMint, u); err != nil {
			return err
		}
		if err := checkTokenCreate(p, u, in, now); err != nil {
			return err
		}
		var hint string
		var hash []byte
		text, hint, hash = newSecret(in.Kind)
		tok = &usher.Token{Kind: in.Kind, UserID: u.ID, Name: in.Name, Scopes: in.Scopes, Hint: hint,
			Hash: hash, ExpiresAt: in.ExpiresAt, CreatedAt: now}
		if tok.ExpiresAt != nil {
			t := tok.ExpiresAt.UTC().Truncate(time.Microsecond)
			tok.ExpiresAt = &t
		}
		if err := tx.TokenCreate(ctx, tok); err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "token.create", resourceType: "token",
			resourceID: strconv.FormatInt(tok.ID, 10),
			meta:       map[string]string{"kind": string(tok.Kind), "user_id": strconv.FormatInt(u.ID, 10), "name": tok.Name}})
	})
	if err != nil {
		return nil, "", err
	}
	return tok, text, nil
}

// checkTokenCreate checks a token request for user u by principal p.
func checkTokenCreate(p *usher.Principal, u *usher.User, in usher.TokenCreate, now time.Time) error {
	var c checker
	c.text("name", in.Name, maxName, false)
	switch in.Kind {
	case usher.TokenPersonal:
		if u.Kind == usher.KindServiceAccount {
			c.add("kind", "invalid", "service accounts get service_account tokens")
		}
	case usher.TokenServiceAccount:
		if u.Kind != usher.KindServiceAccount {
			c.add("kind", "invalid", "only service accounts get service_account tokens")
		}
	case usher.TokenApplication:
		if !p.IsAdmin() {
			return errForbidden("only administrators mint application keys")
		}
		if !u.Admin {
			c.add("user", "not_admin", "application keys belong to administrators")
		}
	default:
		c.add("kind", "invalid", "must be personal, service_account or application")
	}
	for _, s := range in.Scopes {
		switch {
		case !validScope(s):
			c.add("scopes", "invalid", "unknown scope %q", s)
		case s == usher.ScopeSudo && !u.Admin:
			c.add("scopes", "invalid", "only administrators' tokens may have the sudo scope")
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		c.add("expires_at", "in_past", "must be in the future")
	}
	return c.err()
}

func validScope(s string) bool {
	for _, v := range usher.Scopes {
		if s == v {
			return true
		}
	}
	return false
}
