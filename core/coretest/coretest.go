// Package coretest builds a real core on a fresh database for tests: no
// mocks, the same store and rules the server runs.
package coretest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/password"
	"usher/store/postgres"
	"usher/store/postgres/pgtest"
	"usher/store/sqldb"
	"usher/store/sqlite"
)

// FastParams are argon2id parameters cheap enough for tests that hash many
// passwords. Tests that measure hashing use password.DefaultParams.
var FastParams = password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// Env is a core over its own database.
type Env struct {
	Core  *core.Core
	Store *sqldb.DB
}

// Options change what New builds.
type Options struct {
	// Postgres runs on a schema of the test PostgreSQL server instead of a
	// temporary SQLite file; the test skips when none is configured.
	Postgres bool
	Params   password.Params
	Policy   core.Policy
	Now      func() time.Time
}

// New returns a core on a new, migrated database that lives as long as t.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	var db *sqldb.DB
	var err error
	if opts.Postgres {
		db, err = postgres.Open(ctx, pgtest.URL(t))
	} else {
		db, err = sqlite.Open(filepath.Join(t.TempDir(), "usher.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if opts.Params == (password.Params{}) {
		opts.Params = FastParams
	}
	c := core.New(core.Config{
		Store:  db,
		Hasher: password.NewHasher(opts.Params, 0, 64),
		Policy: opts.Policy,
		Now:    opts.Now,
	})
	return &Env{Core: c, Store: db}
}

// System returns a context acting as usher itself, allowed everything.
func System() context.Context {
	return usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalSystem})
}

// MustCreateUser creates a user as the system.
func (e *Env) MustCreateUser(t testing.TB, in usher.UserCreate) *usher.User {
	t.Helper()
	u, err := e.Core.Users.Create(System(), in)
	if err != nil {
		t.Fatalf("create user %q: %v", in.Username, err)
	}
	return u
}

// MustToken mints a token for the user and returns its text.
func (e *Env) MustToken(t testing.TB, userID int64, kind usher.TokenKind, scopes ...string) string {
	t.Helper()
	_, text, err := e.Core.Auth.CreateToken(System(), usher.TokenCreate{UserID: userID, Kind: kind, Name: "test", Scopes: scopes})
	if err != nil {
		t.Fatalf("mint token: %v", err)
	}
	return text
}

// Counts returns how many users and audit events the database holds, for
// tests that assert a refused request wrote nothing.
func (e *Env) Counts(t testing.TB) (users, events int) {
	t.Helper()
	ctx := context.Background()
	users, err := e.Store.UserCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events, err = e.Store.AuditCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return users, events
}
