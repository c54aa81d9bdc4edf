package sqldb_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"usher/store/postgres"
	"usher/store/postgres/pgtest"
	"usher/store/sqldb"
	"usher/store/sqlite"
)

// TestMigrateAttachmentSetting: migration 0015 gives each file of kind
// setting made before it the first setting whose value refers to it, and
// no setting to a file none refers to.
func TestMigrateAttachmentSetting(t *testing.T) {
	t.Parallel()
	type opened struct {
		db  *sqldb.DB
		raw *sql.DB
		// ph is the dialect's placeholder for the nth argument.
		ph func(n int) string
	}
	open := map[string]func(t *testing.T) opened{
		"sqlite": func(t *testing.T) opened {
			path := filepath.Join(t.TempDir(), "usher.db")
			db, err := sqlite.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			return opened{db, raw, func(int) string { return "?" }}
		},
	}
	if os.Getenv(pgtest.EnvURL) != "" || os.Getenv("CI") == "true" {
		open["postgres"] = func(t *testing.T) opened {
			url := pgtest.URL(t)
			db, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			return opened{db, raw, func(n int) string { return "$" + strconv.Itoa(n) }}
		}
	}
	for name, open := range open {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			o := open(t)
			t.Cleanup(func() { o.raw.Close(); o.db.Close() })
			if _, err := o.db.MigrateTo(ctx, time.Now(), 14); err != nil {
				t.Fatal(err)
			}
			var at any = time.Now()
			if name == "sqlite" {
				at = time.Now().UnixNano()
			}
			for i, key := range []string{"a/1", "a/2", "a/3"} {
				_, err := o.raw.ExecContext(ctx, "INSERT INTO attachments (id, kind, name, size, content_type, checksum, blob_key, created_at) VALUES ("+
					o.ph(1)+", 'setting', 'f', 1, 'image/png', 'x', "+o.ph(2)+", "+o.ph(3)+")", i+1, key, at)
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, v := range [][2]string{
				{"ui.logo", `{"attachment":1,"name":"f","size":1,"content_type":"image/png"}`},
				{"ui.z-copy", `{"attachment":1,"name":"f","size":1,"content_type":"image/png"}`},
				{"ui.icon", `{"attachment":2,"name":"f","size":1,"content_type":"image/png"}`},
				{"ui.plain", `{"attachment":3}`}, // not a file's value
				{"ui.text", `"a/3"`},
			} {
				_, err := o.raw.ExecContext(ctx, "INSERT INTO instance_settings (name, value, updated_at) VALUES ("+
					o.ph(1)+", "+o.ph(2)+", "+o.ph(3)+")", v[0], v[1], at)
				if err != nil {
					t.Fatal(err)
				}
			}
			if _, err := o.db.Migrate(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
			for id, want := range map[int64]string{1: "ui.logo", 2: "ui.icon", 3: ""} {
				a, err := o.db.AttachmentGet(ctx, id)
				if err != nil || a.Setting != want {
					t.Errorf("attachment %d: %+v, %v; want setting %q", id, a, err, want)
				}
			}
		})
	}
}
