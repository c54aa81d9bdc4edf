package usher

import "time"

// SSHKey is a public key a user logs in to other services with.
type SSHKey struct {
	ID          int64
	UserID      int64
	Title       string
	Key         string // the authorized_keys line, normalised
	Fingerprint string // SHA256:…
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	// AddedByAdmin is, for a service account's key, the administrator
	// whose rights alone let it be added (no owner of its team): it goes
	// when they stop being an administrator. Zero otherwise.
	AddedByAdmin int64
}

// Email is a user's secondary e-mail address.
type Email struct {
	ID          int64
	UserID      int64
	Email       string
	ConfirmedAt *time.Time
	CreatedAt   time.Time
}

// Setting is one of a user's settings: a key and a JSON value.
type Setting struct {
	Key       string
	Value     []byte // JSON
	UpdatedAt time.Time
}

// Avatar is a user's picture.
type Avatar struct {
	UserID      int64
	ContentType string
	Data        []byte
	ETag        string
	UpdatedAt   time.Time
}
