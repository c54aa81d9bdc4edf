package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"usher/store"
	"usher/store/postgres"
	"usher/store/postgres/pgtest"
	"usher/store/sqldb"
	"usher/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t, pgtest.MigratedURL(t)) })
}

// mustOpen opens the database at url, closed when the test ends, and
// migrates it (nothing is left to do on a pgtest.MigratedURL).
func mustOpen(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	storetest.RunConcurrentMigrate(t, func(t *testing.T) storetest.Migrator {
		db, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestRekey(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	storetest.RunRekey(t, db, func(q string) error { _, err := raw.Exec(q); return err }, "now()")
}

// TestHandleMigration: migration 13 keys valid handles and keeps every
// handle's text.
func TestHandleMigration(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	storetest.RunHandleMigration(t, db, func(q string) error { _, err := raw.Exec(q); return err }, "now()")
}

// TestReadyFailsOnReadOnlySession: a store whose sessions may not write (as
// on a standby, or with default_transaction_read_only set) answers reads
// but is not ready, and says why.
func TestReadyFailsOnReadOnlySession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.URL(t)
	rw := mustOpen(t, u)
	ro, err := postgres.Open(ctx, u+"&default_transaction_read_only=on")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	if _, err := ro.UserCount(ctx); err != nil {
		t.Fatalf("the read-only store does not read: %v", err)
	}
	err = ro.Ready(ctx)
	if err == nil || !strings.Contains(err.Error(), "takes no writes") || !strings.Contains(err.Error(), "read-only transaction") {
		t.Fatalf("Ready on a read-only session: %v", err)
	}
	if err := rw.Ready(ctx); err != nil {
		t.Fatalf("Ready on the writable store: %v", err)
	}
}

// TestLoadRestoresSchema: the indexes a load sets aside come back as the
// migrations made them, after a finished load and after one a crash cut
// short.
func TestLoadRestoresSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	schema := func() string {
		t.Helper()
		var s string
		err := raw.QueryRow(`SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes
			WHERE schemaname = current_schema()`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storetest.RunLoadSchema(t, db, func() storetest.Loader {
		again, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { again.Close() })
		return again
	}, schema, "users_search_trgm")
}
