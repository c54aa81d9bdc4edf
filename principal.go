package usher

import (
	"context"
	"sync/atomic"
)

// PrincipalKind tells what kind of caller a principal is.
type PrincipalKind string

// The principal kinds. The zero value is the anonymous caller.
const (
	PrincipalAnonymous      PrincipalKind = ""
	PrincipalUser           PrincipalKind = "user"
	PrincipalServiceAccount PrincipalKind = "service_account"
	PrincipalApplication    PrincipalKind = "application"
	// PrincipalSystem is usher itself: the CLI run by an operator, imports,
	// background work. It is allowed everything.
	PrincipalSystem PrincipalKind = "system"
)

// Principal is whoever calls. For users and service accounts User is their
// account; for application keys it is the account that minted the key.
type Principal struct {
	Kind PrincipalKind
	User *User
	// Token is the credential the call came with; nil for sessions-less
	// principals such as the system.
	Token *Token
	// JWT is the JWT the call came with, when it came with one.
	JWT *JWTClaims
	// Scopes limits what a token may do; empty means the account's full rights.
	Scopes []string
	// Impersonator is the admin acting as User, when this principal came from
	// an impersonation (or a GitLab Sudo header).
	Impersonator *User
	// Via is the principal whose credential this one acts with when it has
	// none of its own (no Token, no JWT): the administrator behind GitLab's
	// Sudo header. What bounds that credential — its expiry, its end —
	// bounds this principal too.
	Via *Principal
}

// Anonymous reports whether p is nobody.
func (p *Principal) Anonymous() bool { return p == nil || p.Kind == PrincipalAnonymous }

// UserID returns the id of the principal's account, or 0.
func (p *Principal) UserID() int64 {
	if p == nil || p.User == nil {
		return 0
	}
	return p.User.ID
}

// IsAdmin reports whether the principal has administrator rights.
func (p *Principal) IsAdmin() bool {
	if p == nil {
		return false
	}
	return p.Kind == PrincipalSystem || (p.User != nil && p.User.Admin)
}

// HasScope reports whether the principal's token allows scope. A principal
// without scopes (a session, a token with no scope limits) has them all;
// the "api" scope grants every other one but sudo, as GitLab's does.
func (p *Principal) HasScope(scope string) bool {
	if p == nil || len(p.Scopes) == 0 {
		return true
	}
	for _, s := range p.Scopes {
		if s == scope || (s == ScopeAPI && scope != ScopeSudo) {
			return true
		}
	}
	return false
}

// Request describes the HTTP request (or CLI run) a change came from; it is
// what the audit log records beside the principal.
type Request struct {
	ID        string
	Address   string
	UserAgent string
	Secure    bool // served over TLS, or so a trusted proxy says
	// Languages is the request's Accept-Language header: the languages
	// mails about it are written in when the recipient chose none.
	Languages string
}

type principalKey struct{}
type requestKey struct{}
type noteKey struct{}

// WithPrincipal returns a context carrying p, and notes p's account where
// WithPrincipalNote asked for it.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	if n, ok := ctx.Value(noteKey{}).(*atomic.Int64); ok {
		n.Store(p.UserID())
	}
	return context.WithValue(ctx, principalKey{}, p)
}

// WithPrincipalNote returns a context under which WithPrincipal notes the
// account of the principal it carries, and a function that returns the id
// of the account noted last, or 0: the access log names who a request
// turned out to be, which only the face that checked its credential knows.
func WithPrincipalNote(ctx context.Context) (context.Context, func() int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, noteKey{}, n), n.Load
}

// PrincipalFrom returns the principal in ctx, or an anonymous one.
func PrincipalFrom(ctx context.Context) *Principal {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok && p != nil {
		return p
	}
	return &Principal{}
}

// WithRequest returns a context carrying r.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request in ctx, or the zero Request.
func RequestFrom(ctx context.Context) Request {
	r, _ := ctx.Value(requestKey{}).(Request)
	return r
}
