// Package coretest builds a real core on a fresh database for tests: no
// mocks, the same store and rules the server runs.
package coretest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/password"
	"usher/store"
	"usher/store/postgres"
	"usher/store/postgres/pgtest"
	"usher/store/sqldb"
	"usher/store/sqlite"

	"github.com/medama-io/go-useragent"
)

// FastParams are argon2id parameters cheap enough for tests that hash many
// passwords. Tests that measure hashing use password.DefaultParams.
var FastParams = password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// Env is a core over its own database.
type Env struct {
	Core  *core.Core
	Store *sqldb.DB
	// Hasher is the core's password hasher, whose Stats tell how many
	// hashes were made.
	Hasher *password.Hasher
	// path is the SQLite file, for ScanTables.
	path string
}

// Options change what New builds.
type Options struct {
	// Postgres runs on a database of the test PostgreSQL server, copied
	// from a migrated template, instead of a temporary SQLite file; the
	// test skips when none is configured.
	Postgres bool
	Params   password.Params
	// HashQueue bounds the password hashes waiting for a CPU (64 when 0).
	HashQueue  int
	Policy     core.Policy
	Now        func() time.Time
	Transport  usher.Transport
	Connectors []usher.Connector
	// Blobs keeps files' bytes; in memory when nil.
	Blobs usher.BlobStore
	// Observer is told of the core's events; none when nil.
	Observer usher.Observer
	// Letters writes the mails' texts; the built-in templates when nil.
	Letters usher.Letters
	// WrapStore, when set, wraps the store the core is given, for a test
	// that watches what the core asks of it.
	WrapStore func(store.Store) store.Store
}

// New returns a core on a new, migrated database that lives as long as t.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	var db *sqldb.DB
	var err error
	path := ""
	if opts.Postgres {
		db, err = postgres.Open(ctx, pgtest.MigratedURL(t))
	} else {
		path = filepath.Join(t.TempDir(), "usher.db")
		var migrated []byte
		if migrated, err = migratedSQLite(); err == nil {
			err = os.WriteFile(path, migrated, 0o600)
		}
		if err == nil {
			db, err = sqlite.Open(path)
		}
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
	if opts.HashQueue == 0 {
		opts.HashQueue = 64
	}
	hasher := password.NewHasher(opts.Params, password.Pool{Queue: opts.HashQueue})
	t.Cleanup(hasher.Close)
	var st store.Store = db
	if opts.WrapStore != nil {
		st = opts.WrapStore(db)
	}
	c := core.New(core.Config{
		Store:      st,
		Hasher:     hasher,
		Policy:     opts.Policy,
		Now:        opts.Now,
		Transport:  opts.Transport,
		Letters:    opts.Letters,
		Connectors: opts.Connectors,
		Blobs:      opts.Blobs,
		Observer:   opts.Observer,
		UserAgents: userAgents(),
	})
	return &Env{Core: c, Store: db, Hasher: hasher, path: path}
}

// migratedSQLite returns the bytes of a migrated SQLite database, made once
// per test binary and copied into each test's file, as PostgreSQL's tests
// copy a migrated template: under the race detector a migration takes a
// third of a second, and a package's tests make hundreds of databases.
var migratedSQLite = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "usher-coretest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "usher.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.Migrate(ctx, time.Now()); err != nil {
		return nil, fmt.Errorf("coretest: migrate the template: %w", err)
	}
	// A copy in one file, with nothing left in a write-ahead log.
	copyPath := filepath.Join(dir, "copy.db")
	if err := db.Backup(ctx, copyPath); err != nil {
		return nil, fmt.Errorf("coretest: copy the template: %w", err)
	}
	return os.ReadFile(copyPath)
})

// userAgents is the user-agent parser every test core of a test binary
// shares: building one takes a third of a second, and a package's tests
// make hundreds of cores.
var userAgents = sync.OnceValue(useragent.NewParser)

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

// MustOwnedServiceAccount makes owner the owner of a new team named
// team, with a service account named name, and returns the team, the
// account and a token the owner minted for it.
func (e *Env) MustOwnedServiceAccount(t testing.TB, owner *usher.User, team, name string) (*usher.Group, *usher.User, string) {
	t.Helper()
	ctx := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: owner})
	g, err := e.Core.Groups.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: team})
	if err != nil {
		t.Fatalf("create team %q: %v", team, err)
	}
	sa, err := e.Core.Groups.CreateServiceAccount(ctx, usher.GroupRef{ID: g.ID}, name, "")
	if err != nil {
		t.Fatalf("create service account %q: %v", name, err)
	}
	_, tok, err := e.Core.Groups.ServiceAccountToken(ctx, usher.GroupRef{ID: g.ID}, usher.UserKey{ID: sa.ID}, false)
	if err != nil {
		t.Fatalf("mint for %q: %v", name, err)
	}
	return g, sa, tok
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

// Replica opens the environment's SQLite file a second time, as another
// usher process on the same database would, for tests of what one process
// sees of another's writes.
func (e *Env) Replica(t testing.TB) *sqldb.DB {
	t.Helper()
	if e.path == "" {
		t.Fatal("coretest: Replica needs a SQLite environment")
	}
	db, err := sqlite.Open(e.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// readOnly opens a SQLite environment's database to read, for what, a
// helper that needs one.
func (e *Env) readOnly(t testing.TB, what string) *sql.DB {
	t.Helper()
	if e.path == "" {
		t.Fatal("coretest: " + what + " needs a SQLite environment")
	}
	db, err := sql.Open("sqlite", "file:"+e.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// Rows counts the rows of a table of the environment's SQLite database,
// for tests of what a request writes or leaves.
func (e *Env) Rows(t testing.TB, table string) int {
	t.Helper()
	db := e.readOnly(t, "Rows")
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// ScanTables calls fn with every value of every column of every table of a
// SQLite environment, as text, for tests that look for what must not be
// stored.
func (e *Env) ScanTables(t testing.TB, fn func(table, column, value string)) {
	t.Helper()
	db := e.readOnly(t, "ScanTables")
	defer db.Close()
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				switch v := v.(type) {
				case []byte:
					fn(table, cols[i], string(v))
				case nil:
				default:
					fn(table, cols[i], fmt.Sprint(v))
				}
			}
		}
		rows.Close()
	}
}
