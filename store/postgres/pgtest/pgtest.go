// Package pgtest gives tests a PostgreSQL schema of their own (URL), or a
// migrated database of their own copied from a template (MigratedURL).
// Tests find the server through USHER_TEST_POSTGRES_URL; without it they
// skip, unless CI=true, where a missing or unreachable server fails them.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"usher/store/postgres"
)

// EnvURL is the variable that names the test server.
const EnvURL = "USHER_TEST_POSTGRES_URL"

// EnvStandbyURL is the variable that names a streaming standby of the test
// server (its database test), which .ci/run starts.
const EnvStandbyURL = "USHER_TEST_POSTGRES_STANDBY_URL"

var extension struct {
	sync.Mutex
	done bool
}

// URL returns the connection URL of a new, empty schema that is dropped when
// the test ends. It skips the test when no server is configured.
func URL(t testing.TB) string {
	t.Helper()
	base := baseURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("pgtest: PostgreSQL at %s is unreachable: %v", EnvURL, err)
	}
	// Extensions belong to the database; create pg_trgm once, in public,
	// before tests race to do it from their migrations.
	extension.Lock()
	if !extension.done {
		if _, err := admin.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"); err != nil {
			extension.Unlock()
			t.Fatalf("pgtest: create pg_trgm: %v", err)
		}
		extension.done = true
	}
	extension.Unlock()

	var b [6]byte
	_, _ = rand.Read(b[:])
	// A name that must be quoted (capitals, a hyphen), as operators'
	// schemas may be: usher's statements must not take current_schema()
	// for an identifier.
	schema := `"Usher-` + hex.EncodeToString(b[:]) + `"`
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	dropAtEnd(t, base, "DROP SCHEMA "+schema+" CASCADE")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

// MigratedURL returns the connection URL of a new database, dropped when
// the test ends, that already holds usher's schema: a copy (CREATE
// DATABASE … TEMPLATE) of a template database the migrations ran on once.
// Migrating costs seconds of DDL on PostgreSQL and a copy a fraction of
// that, and tests that each need a fresh store make hundreds. Tests of the
// migrations themselves use URL, which gives an empty schema. It skips the
// test, or fails it under CI=true, as URL does.
func MigratedURL(t testing.TB) string {
	t.Helper()
	base := baseURL(t)
	tpl, err := templates.get(base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tpl); err != nil {
		t.Fatalf("pgtest: copy the migrated template: %v", err)
	}
	dropAtEnd(t, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// dropAtEnd runs drop on the server at base when the test ends.
func dropAtEnd(t testing.TB, base, drop string) {
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(drop)
	})
}

// StandbyURL returns the URL of primary, a URL that URL returned, on the
// standby: the same database and schema, read-only, as the standby has
// replayed them. It waits until the standby has replayed every write
// the primary had made when it was called. It skips the test when no
// standby is configured, or fails it under CI=true.
func StandbyURL(t testing.TB, primary string) string {
	t.Helper()
	u, err := url.Parse(configured(t, EnvStandbyURL, "the tests on a standby"))
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvStandbyURL, err)
	}
	p, err := url.Parse(primary)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = p.Path
	q := u.Query()
	if path := p.Query().Get("search_path"); path != "" {
		q.Set("search_path", path)
	} else {
		q.Del("search_path")
	}
	u.RawQuery = q.Encode()
	standby := u.String()
	CatchUp(t, primary, standby)
	return standby
}

// CatchUp waits, up to a minute, until standby has replayed every write
// primary had made when it was called.
func CatchUp(t testing.TB, primary, standby string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var lsn string
	if err := queryRow(ctx, primary, "SELECT pg_current_wal_lsn()::text", &lsn); err != nil {
		t.Fatalf("pgtest: the primary's position: %v", err)
	}
	db, err := sql.Open("pgx", standby)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvStandbyURL, err)
	}
	defer db.Close()
	var recovering bool
	if err := db.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering); err != nil || !recovering {
		t.Fatalf("pgtest: %s names no standby in recovery (%v)", EnvStandbyURL, err)
	}
	for {
		var replayed sql.NullString
		var caught bool
		err := db.QueryRowContext(ctx, `SELECT pg_last_wal_replay_lsn()::text,
			coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)`, lsn).Scan(&replayed, &caught)
		if err == nil && caught {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pgtest: the standby at %s replayed the primary's writes to %s, not to %s, in a minute (%v)",
				EnvStandbyURL, replayed.String, lsn, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// queryRow runs query once on a connection of its own to dsn.
func queryRow(ctx context.Context, dsn, query string, dest any) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.QueryRowContext(ctx, query).Scan(dest)
}

// baseURL returns the configured server's URL, or skips or fails the test
// when there is none, as URL does.
func baseURL(t testing.TB) string {
	t.Helper()
	return configured(t, EnvURL, "the PostgreSQL tests")
}

// configured returns the environment variable env, which names a server
// the tests described by what need. Unset, it skips the test, or under
// CI=true fails it: CI runs every test.
func configured(t testing.TB, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: %s cannot run", env, what)
		}
		t.Skipf("%s is not set; skipping %s", env, what)
	}
	return v
}

// withDatabase returns base with its database replaced by name.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// templates is the process's migrated template database, made once.
var templates template

// template makes the migrated template database once per process, and
// once per server and migration set across processes: its name carries a
// digest of the migrations, so a changed migration makes a new template.
type template struct {
	once sync.Once
	name string
	err  error
}

// templateLock is the advisory lock the test processes take turns on to
// make the template; it is not the migrations' lock.
const templateLock = 7340042

func (tp *template) get(base string) (string, error) {
	tp.once.Do(func() { tp.name, tp.err = makeTemplate(base) })
	return tp.name, tp.err
}

// makeTemplate returns the name of a database migrated to the migrations
// this binary embeds, making it if no process has yet. It is built under
// another name and renamed when done, so that a run cut short leaves no
// half-migrated template behind.
func makeTemplate(base string) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(postgres.Migrations(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(postgres.Migrations(), p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("digest the migrations: %w", err)
	}
	name := "usher_template_" + hex.EncodeToString(h.Sum(nil)[:6])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL at %s is unreachable: %w", EnvURL, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", templateLock)
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return name, nil
	}
	build := name + "_build"
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+build); err != nil {
		return "", err
	}
	u, err := withDatabase(base, build)
	if err != nil {
		return "", err
	}
	db, err := postgres.Open(ctx, u)
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx, time.Now())
	db.Close()
	if err != nil {
		return "", fmt.Errorf("migrate the template: %w", err)
	}
	// Renaming waits for no one, but fails while a session is still on the
	// database; the store's sessions end as Close returns, but the server
	// may see them go a moment later.
	for try := 0; ; try++ {
		_, err = conn.ExecContext(ctx, "ALTER DATABASE "+build+" RENAME TO "+name)
		if err == nil || try == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return "", fmt.Errorf("publish the template: %w", err)
	}
	return name, nil
}
