// Package pgtest gives tests a PostgreSQL schema of their own. Tests find the
// server through USHER_TEST_POSTGRES_URL; without it they skip, unless CI=true,
// where a missing or unreachable server fails them.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// EnvURL is the variable that names the test server.
const EnvURL = "USHER_TEST_POSTGRES_URL"

var extension struct {
	sync.Mutex
	done bool
}

// URL returns the connection URL of a new, empty schema that is dropped when
// the test ends. It skips the test when no server is configured.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: the PostgreSQL suite cannot run", EnvURL)
		}
		t.Skipf("%s is not set; skipping the PostgreSQL tests", EnvURL)
	}
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
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}
