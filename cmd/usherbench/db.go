package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver
)

// poolParam is the parameter of usher's PostgreSQL URL that sizes its
// connection pools, which usher takes out before connecting.
const poolParam = "pool_max_conns"

// redacted is s with the password of a URL replaced by "xxxxx", for
// printing; s itself when it is no URL.
func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// database is the fresh database a run fills: a SQLite file in the run's
// directory, or a schema of its own on the PostgreSQL server -database
// names, dropped at the end.
type database struct {
	kind string   // "sqlite" or "postgres"
	url  string   // what usher's --database gets
	path string   // the SQLite file
	env  []string // what usher's processes need in their environment
	note string   // what the report should say about the database, if anything
	drop func(ctx context.Context) error
}

// newDatabase makes the run's database. spec is empty for SQLite, else a
// postgres:// URL: each run starts empty, so it never takes an existing
// database or schema.
func newDatabase(ctx context.Context, spec, dir string) (*database, error) {
	if spec == "" {
		path := filepath.Join(dir, "usher.db")
		return &database{kind: "sqlite", url: path, path: path, drop: func(context.Context) error { return nil }}, nil
	}
	if !strings.HasPrefix(spec, "postgres://") && !strings.HasPrefix(spec, "postgresql://") {
		return nil, fmt.Errorf("-database: want a postgres:// URL, got %q", redacted(spec))
	}
	u, err := url.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("-database: %w", err)
	}
	// pool_max_conns is usher's (it sizes usher's pools); PostgreSQL
	// refuses it from the bench's own sessions.
	own := *u
	q := own.Query()
	q.Del(poolParam)
	own.RawQuery = q.Encode()
	spec = own.String()
	admin, err := sql.Open("pgx", spec)
	if err != nil {
		return nil, fmt.Errorf("-database: %w", err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("-database: %w", err)
	}
	var autovacuum, note string
	if err := admin.QueryRowContext(ctx, "SHOW autovacuum").Scan(&autovacuum); err == nil && autovacuum != "on" {
		// Then nothing gathers statistics after the import, and the
		// planner chooses as if the tables were nearly empty.
		note = "autovacuum is off on this PostgreSQL server: no ANALYZE runs after the import unless usher's import does one"
	}
	// The extension belongs to the database; make it once, in public, where
	// every schema's search path finds it. Without the privilege it must
	// be there already, and usher's migration says so if not.
	_, _ = admin.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
	schema := "usher_bench_" + randomHex(4)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("create schema: %w", err)
	}
	q = u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &database{
		kind: "postgres",
		url:  u.String(),
		note: note,
		env:  []string{"USHER_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key)},
		drop: func(ctx context.Context) error {
			db, err := sql.Open("pgx", spec)
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
			return err
		},
	}, nil
}

// openReadOnly opens the database beside usher, read-only, for the
// scenarios that go to it directly. On PostgreSQL its sessions cannot use
// bitmap scans, the only way the trigram (GIN) indexes are read, so a
// LIKE there is the scan it would be without them.
func (d *database) openReadOnly(conns int) (*sql.DB, error) {
	driver, dsn := "sqlite", "file:"+d.path+"?mode=ro&_pragma=busy_timeout(5000)"
	if d.kind == "postgres" {
		u, err := url.Parse(d.url)
		if err != nil {
			return nil, fmt.Errorf("open the database read-only: %w", err)
		}
		q := u.Query()
		q.Del(poolParam)
		q.Set("default_transaction_read_only", "on")
		q.Set("enable_bitmapscan", "off")
		u.RawQuery = q.Encode()
		driver, dsn = "pgx", u.String()
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open the database read-only: %w", err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}

// liveUsers returns the ids and usernames of the users that are not
// deleted and not the bench's administrator, in id order.
func liveUsers(ctx context.Context, db *sql.DB, admin string) (ids []int64, names []string, err error) {
	rows, err := db.QueryContext(ctx, "SELECT id, username FROM users WHERE deleted_at IS NULL ORDER BY id")
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, nil, err
		}
		if name != admin {
			ids, names = append(ids, id), append(names, name)
		}
	}
	return ids, names, rows.Err()
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
