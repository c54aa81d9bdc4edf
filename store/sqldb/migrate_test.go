package sqldb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"usher/store/postgres"
	"usher/store/postgres/pgtest"
	"usher/store/sqldb"
	"usher/store/sqlite"
)

// backends opens a fresh, unmigrated database of each dialect: SQLite
// always, PostgreSQL when the test server is configured.
func backends(t *testing.T) map[string]func(t *testing.T) *sqldb.DB {
	open := map[string]func(t *testing.T) *sqldb.DB{
		"sqlite": func(t *testing.T) *sqldb.DB {
			db, err := sqlite.Open(filepath.Join(t.TempDir(), "usher.db"))
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	}
	if os.Getenv(pgtest.EnvURL) != "" || os.Getenv("CI") == "true" {
		open["postgres"] = func(t *testing.T) *sqldb.DB {
			db, err := postgres.Open(context.Background(), pgtest.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
	}
	return open
}

// TestStatus: a fresh database has every migration pending and gains no
// table by being asked; after a partial migration Status splits them at
// the right version, and after a full one nothing is pending.
func TestStatus(t *testing.T) {
	t.Parallel()
	all, err := sqldb.Migrations(sqlite.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			t.Cleanup(func() { db.Close() })
			for _, tt := range []struct {
				migrateTo        int
				applied, pending int
			}{
				{0, 0, len(all)},
				{0, 0, len(all)}, // asking created nothing
				{3, 3, len(all) - 3},
				{all[len(all)-1].Version, len(all), 0}, // numbers may leave gaps
			} {
				if tt.migrateTo > 0 {
					if _, err := db.MigrateTo(ctx, time.Now(), tt.migrateTo); err != nil {
						t.Fatal(err)
					}
				}
				st, err := db.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(st.Applied) != tt.applied || len(st.Pending) != tt.pending || len(st.Unknown) != 0 {
					t.Fatalf("after migrating to %d: %d applied, %d pending, unknown %v; want %d and %d",
						tt.migrateTo, len(st.Applied), len(st.Pending), st.Unknown, tt.applied, tt.pending)
				}
				if tt.pending > 0 && st.Pending[0].Version != all[tt.applied].Version {
					t.Fatalf("first pending %d, want %d", st.Pending[0].Version, all[tt.applied].Version)
				}
			}
			// PostgreSQL is not backed up by usher; SQLite copies itself.
			out := filepath.Join(t.TempDir(), "copy.db")
			err := db.Backup(ctx, out)
			if name == "postgres" {
				if !errors.Is(err, sqldb.ErrNoBackup) {
					t.Fatalf("Backup on PostgreSQL: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cp, err := sqlite.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer cp.Close()
			if st, err := cp.Status(ctx); err != nil || len(st.Pending) != 0 || len(st.Applied) != len(all) {
				t.Fatalf("the copy's status: %+v %v", st, err)
			}
		})
	}
}
