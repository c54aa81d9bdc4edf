package usher

import "time"

// TokenKind is the kind of a bearer credential. Each kind has its own prefix
// in the token text, so a leaked token says what it is.
type TokenKind string

// The token kinds.
const (
	TokenSession        TokenKind = "session"
	TokenPersonal       TokenKind = "personal"
	TokenServiceAccount TokenKind = "service_account"
	TokenApplication    TokenKind = "application"
	// TokenJWT names JWTs among the kinds of credential a face takes; JWTs
	// are signed, not stored, so no stored token is of this kind.
	TokenJWT TokenKind = "jwt"
	// TokenSharedJWT names the JWTs signed with the instance's shared
	// secret (HS256), as Corteza's clients expect; only faces that name it
	// take one.
	TokenSharedJWT TokenKind = "shared_jwt"
)

// Valid reports whether k is one of the defined kinds.
func (k TokenKind) Valid() bool {
	switch k {
	case TokenSession, TokenPersonal, TokenServiceAccount, TokenApplication:
		return true
	}
	return false
}

// The token scopes. A token without scopes may do whatever its account may.
const (
	ScopeAPI      = "api"       // everything the account may do
	ScopeReadAPI  = "read_api"  // read everything the account may read
	ScopeReadUser = "read_user" // read the account's own profile
	ScopeSudo     = "sudo"      // act as another user (admins only)
)

// Scopes lists every defined scope.
var Scopes = []string{ScopeAPI, ScopeReadAPI, ScopeReadUser, ScopeSudo}

// Token is a stored bearer credential: a session, a personal access token, a
// service-account token or an application API key. Only a hash of the token
// text is stored; the text itself is shown once, when the token is minted.
type Token struct {
	ID     int64
	Kind   TokenKind
	UserID int64
	Name   string
	Scopes []string
	// Hint is the token's prefix and first characters, enough to recognise it
	// in a list without revealing it.
	Hint       string
	Hash       []byte
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
	RevokedAt  *time.Time
	// Address and UserAgent are those of the log-in that opened a session.
	Address   string
	UserAgent string
	// ImpersonatorID is the admin who opened an impersonation session.
	ImpersonatorID int64
	// MintedByAdmin is, for a service account's token, the administrator
	// whose rights alone let it be minted (no owner of its team): it ends
	// when they stop being an administrator. Zero otherwise.
	MintedByAdmin int64
	// MintedByOwner is, for a service account's token, the owner of its
	// team who minted it: it works only while that owner could mint it
	// again, the account holding no right they lack. Zero otherwise, and
	// for tokens minted before it was kept.
	MintedByOwner int64
}

// Active reports whether the token is neither revoked nor expired at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// TokenCreate is the input to mint a token.
type TokenCreate struct {
	UserID    int64
	Kind      TokenKind // personal, service_account or application; sessions come from a log-in
	Name      string
	Scopes    []string
	ExpiresAt *time.Time
}
