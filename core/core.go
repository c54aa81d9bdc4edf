// Package core holds every rule of usher: validation, authorization, state
// transitions, audit records. Faces, the CLI and imports call it; it calls the
// store. Each exported method's comment names the error kinds it returns.
package core

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"usher"
	"usher/password"
	"usher/store"
)

// Policy is the configurable part of the rules.
type Policy struct {
	// DefaultProjectsLimit is given to new users that do not name one.
	DefaultProjectsLimit int
	// PasswordMinLength and PasswordMaxBytes bound new passwords.
	PasswordMinLength int
	PasswordMaxBytes  int
	// MaxPageSize caps any list; DefaultPageSize is used when none is asked.
	MaxPageSize     int
	DefaultPageSize int
}

// DefaultPolicy returns the policy usher runs with unless configured.
func DefaultPolicy() Policy {
	return Policy{
		DefaultProjectsLimit: 100000,
		PasswordMinLength:    8,
		PasswordMaxBytes:     256,
		MaxPageSize:          1000,
		DefaultPageSize:      20,
	}
}

// withDefaults fills each zero field of p from DefaultPolicy.
func withDefaults(p Policy) Policy {
	d := DefaultPolicy()
	fill := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&p.DefaultProjectsLimit, d.DefaultProjectsLimit)
	fill(&p.PasswordMinLength, d.PasswordMinLength)
	fill(&p.PasswordMaxBytes, d.PasswordMaxBytes)
	fill(&p.MaxPageSize, d.MaxPageSize)
	fill(&p.DefaultPageSize, d.DefaultPageSize)
	p.DefaultPageSize = min(p.DefaultPageSize, p.MaxPageSize)
	return p
}

// Config holds what the core is built from.
type Config struct {
	Store  store.Store
	Hasher *password.Hasher
	Policy Policy
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Core is the set of services. Faces take the services they use.
type Core struct {
	Users *Users
	Auth  *Auth
	Audit *Audit
}

// env is what every service shares.
type env struct {
	store  store.Store
	hasher *password.Hasher
	policy Policy
	clock  func() time.Time
	log    *slog.Logger
}

// New builds the core.
func New(cfg Config) *Core {
	e := &env{store: cfg.Store, hasher: cfg.Hasher, policy: cfg.Policy, clock: cfg.Now, log: cfg.Logger}
	if e.clock == nil {
		e.clock = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.hasher == nil {
		e.hasher = password.NewHasher(password.DefaultParams, 0, 0)
	}
	e.policy = withDefaults(e.policy)
	return &Core{
		Users: &Users{env: e},
		Auth:  &Auth{env: e},
		Audit: &Audit{env: e},
	}
}

// now returns the current time in UTC at the precision the store keeps.
func (e *env) now() time.Time { return e.clock().UTC().Truncate(time.Microsecond) }

// hash hashes a password, turning a full hashing queue into KindRateLimited.
func (e *env) hash(ctx context.Context, pw string) (string, error) {
	h, err := e.hasher.Hash(ctx, pw)
	if errors.Is(err, password.ErrBusy) {
		return "", errBusy()
	}
	return h, err
}

func errBusy() error {
	return &usher.Error{Kind: usher.KindRateLimited, Code: "busy",
		Message: "too many password operations at once; retry shortly", RetryAfter: time.Second}
}

// pageSize returns the limit to use for a requested one.
func (e *env) pageSize(limit int) int {
	switch {
	case limit <= 0:
		return e.policy.DefaultPageSize
	case limit > e.policy.MaxPageSize:
		return e.policy.MaxPageSize
	}
	return limit
}
