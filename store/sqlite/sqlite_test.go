package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"usher/store"
	"usher/store/sqlite"
	"usher/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "usher.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(context.Background(), time.Now()); err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usher.db")
	storetest.RunConcurrentMigrate(t, func(t *testing.T) storetest.Migrator {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
