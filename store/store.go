// Package store defines the storage contract of usher. The store persists and
// queries; it decides no policy. Backends live in the subpackages sqlite and
// postgres and must pass the conformance suite in storetest.
//
// Errors: a missing row is usher.ErrNotFound; a write that breaks a uniqueness
// constraint is a *usher.UniqueError naming the field (it matches
// usher.ErrExists). Any other error is a fault.
package store

import (
	"context"
	"time"

	"usher"
)

// Store is a database. Its Tx methods run outside any transaction; use InTx to
// write more than one row atomically.
type Store interface {
	Tx
	// InTx runs fn in one transaction and commits it when fn returns nil. The
	// Tx passed to fn must not be used after fn returns.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// Tx is what can be done inside (or outside) a transaction.
type Tx interface {
	// UserCreate inserts u and sets u.ID. u.Identities are inserted with it;
	// passwordHash, when not empty, is stored as the account's password.
	UserCreate(ctx context.Context, u *usher.User, passwordHash string) error
	// UserGet returns one user with its identities. By ID it returns deleted
	// users too; by any other key only users that are not deleted.
	UserGet(ctx context.Context, key usher.UserKey) (*usher.User, error)
	// UserList returns one page of users matching f, ordered by f.Sort.
	UserList(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error)
	// UserUpdate reads the user with the given id, deleted or not, locks it
	// for the rest of the transaction where the backend can, and calls fn with
	// it. When fn returns nil the user's fields, as fn left them, are written
	// back with Version incremented; the written user is returned. fn must not
	// change ID, UUID, CreatedAt or Identities.
	UserUpdate(ctx context.Context, id int64, fn func(u *usher.User) error) (*usher.User, error)
	// UserPurge deletes the user and everything that belongs to it for good.
	UserPurge(ctx context.Context, id int64) error
	// UserCount returns the number of users, deleted ones included.
	UserCount(ctx context.Context) (int, error)

	// IdentitySet links the user to the identity, replacing the user's
	// identity at the same provider. An identity is unique across users.
	IdentitySet(ctx context.Context, userID int64, id usher.Identity, at time.Time) error
	// IdentityDelete unlinks the user's identity at provider.
	IdentityDelete(ctx context.Context, userID int64, provider string) error

	// PasswordGet returns the user's password hash; ErrNotFound when the
	// account has none.
	PasswordGet(ctx context.Context, userID int64) (string, error)
	// PasswordSet stores the user's password hash; an empty hash removes it.
	PasswordSet(ctx context.Context, userID int64, hash string, at time.Time) error

	// TokenCreate inserts t and sets t.ID. A hash is unique.
	TokenCreate(ctx context.Context, t *usher.Token) error
	// TokenGet returns a token by id.
	TokenGet(ctx context.Context, id int64) (*usher.Token, error)
	// TokenByHash returns the token with the given hash, revoked or not.
	TokenByHash(ctx context.Context, hash []byte) (*usher.Token, error)
	// TokenList returns the tokens matching f, newest first.
	TokenList(ctx context.Context, f TokenFilter) ([]*usher.Token, error)
	// TokenRevoke marks the tokens matching f revoked at the given time and
	// returns how many it revoked. Revoked tokens are left alone. The filter
	// must name a user or a token.
	TokenRevoke(ctx context.Context, f TokenFilter, at time.Time) (int, error)
	// TokenTouch records that the token was used at the given time, unless
	// a use since notBefore is recorded already.
	TokenTouch(ctx context.Context, id int64, at, notBefore time.Time) error

	// CodeCreate inserts c and sets c.ID. A hash is unique.
	CodeCreate(ctx context.Context, c *usher.Code) error
	// CodeByHash returns the code of the kind with the hash, used, expired
	// or not.
	CodeByHash(ctx context.Context, kind usher.CodeKind, hash []byte) (*usher.Code, error)
	// CodeUse marks the code used at the given time, if it was neither used
	// nor expired then; ErrNotFound otherwise. Of two concurrent uses, one
	// wins.
	CodeUse(ctx context.Context, id int64, at time.Time) error
	// CodeSetUser records the account an unused code is for.
	CodeSetUser(ctx context.Context, id, userID int64) error
	// CodeDeleteUser deletes the user's unused codes of the kind.
	CodeDeleteUser(ctx context.Context, userID int64, kind usher.CodeKind) error
	// CodeDeleteExpired deletes codes that expired before the given time and
	// returns how many.
	CodeDeleteExpired(ctx context.Context, before time.Time) (int, error)

	// OutboxAdd inserts m and sets m.ID.
	OutboxAdd(ctx context.Context, m *usher.Mail) error
	// OutboxClaim returns up to limit unsent mails due at now, oldest first,
	// and makes them due again only at leaseUntil, so that concurrent senders
	// claim different mails.
	OutboxClaim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*usher.Mail, error)
	// OutboxSent records a delivery and wipes the body.
	OutboxSent(ctx context.Context, id int64, at time.Time) error
	// OutboxFailed records a failed attempt and when to try again.
	OutboxFailed(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error
	// OutboxGet returns one mail.
	OutboxGet(ctx context.Context, id int64) (*usher.Mail, error)

	// ThrottleGet returns the throttle of the key; ErrNotFound when it has
	// no failures.
	ThrottleGet(ctx context.Context, key string) (*usher.Throttle, error)
	// ThrottleFail counts a failure under the key at now and returns the
	// throttle. Failures before windowStart no longer count.
	ThrottleFail(ctx context.Context, key string, now, windowStart time.Time) (*usher.Throttle, error)
	// ThrottleLock locks the key until the given time.
	ThrottleLock(ctx context.Context, key string, until time.Time) error
	// ThrottleClear forgets the key's failures and lock.
	ThrottleClear(ctx context.Context, key string) error

	// SigningKeyAdd inserts a signing key.
	SigningKeyAdd(ctx context.Context, k *usher.SigningKey) error
	// SigningKeyList returns every signing key, oldest first.
	SigningKeyList(ctx context.Context) ([]*usher.SigningKey, error)
	// SigningKeyRetire marks the key retired at the given time.
	SigningKeyRetire(ctx context.Context, id string, at time.Time) error

	// AuditAppend appends e and sets e.ID.
	AuditAppend(ctx context.Context, e *usher.AuditEvent) error
	// AuditList returns a page of the events matching f, newest first.
	AuditList(ctx context.Context, f usher.AuditFilter) (*usher.AuditPage, error)
	// AuditCount returns the number of events recorded.
	AuditCount(ctx context.Context) (int, error)
}

// TokenFilter selects tokens. Zero fields do not filter.
type TokenFilter struct {
	ID     int64
	UserID int64
	Kinds  []usher.TokenKind
	// Active keeps only tokens that are neither revoked nor expired at Now.
	Active bool
	Now    time.Time
	// ExceptID leaves one token out (the session that asks to end the others).
	ExceptID int64
}
