package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"usher/store"
	"usher/store/postgres"
	"usher/store/postgres/pgtest"
	"usher/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		ctx := context.Background()
		db, err := postgres.Open(ctx, pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		return db
	})
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
