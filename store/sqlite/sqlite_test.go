package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"usher"
	"usher/store"
	"usher/store/sqldb"
	"usher/store/sqlite"
	"usher/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return openMigrated(t) })
}

// openMigrated returns a migrated store in a temporary file, closed when
// the test ends.
func openMigrated(tb testing.TB) *sqldb.DB {
	tb.Helper()
	return openMigratedAt(tb, filepath.Join(tb.TempDir(), "usher.db"))
}

// openMigratedAt returns a migrated store in the file at path, closed
// when the test ends.
func openMigratedAt(tb testing.TB, path string) *sqldb.DB {
	tb.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background(), time.Now()); err != nil {
		tb.Fatal(err)
	}
	return db
}

// TestFilesArePrivate: a new database, its write-ahead log and shared
// memory, and a backup of it, are readable and writable by their owner
// alone. Under the usual umask (022) SQLite made each 0644: every local
// user read the password and token hashes, and a backup was made 0600
// only once it was written whole.
func TestFilesArePrivate(t *testing.T) {
	// Not parallel: the umask is the process's.
	defer syscall.Umask(syscall.Umask(0o022))
	dir := t.TempDir()
	path := filepath.Join(dir, "usher.db")
	db := openMigratedAt(t, path)
	copied := filepath.Join(dir, "copy.db")
	if err := db.Backup(context.Background(), copied); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm", copied} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %#o, want 0600", filepath.Base(f), st.Mode().Perm())
		}
	}
	// A backup onto a file that exists is refused, and leaves it be.
	if err := db.Backup(context.Background(), path+"-wal"); err == nil {
		t.Error("a backup onto the write-ahead log was made")
	}
	// A file: URI names the file its escapes decode to: the first
	// version made an empty file named with the escapes, and SQLite the
	// database, 0644, beside it.
	openMigratedAt(t, "file:"+filepath.ToSlash(dir)+"/a%20b.db?_txlock=immediate")
	if _, err := os.Stat(filepath.Join(dir, "a%20b.db")); err == nil {
		t.Error("a file named with the URI's escapes was made")
	}
	if st, err := os.Stat(filepath.Join(dir, "a b.db")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the database a URI names: %v, %v", st, err)
	}
	// A plain path is the file it names, whatever URI characters it
	// holds: SQLite read "a%41.db" as aA.db and "b.db#1" as b.db, 0644,
	// beside the empty file made private; and a URI's mode past a
	// fragment, which SQLite does not read, kept the file from being
	// made private.
	for _, name := range []string{"a%41.db", "b.db#1", "c?.db"} {
		openMigratedAt(t, filepath.Join(dir, name))
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != 0o600 || st.Size() == 0 {
			t.Errorf("%s: %v, %v", name, st, err)
		}
	}
	for _, name := range []string{"aA.db", "b.db", "c"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s was made", name)
		}
	}
	// A path's leading // was read as a URI's authority ("invalid uri
	// authority"), after the file was made.
	openMigratedAt(t, "/"+filepath.Join(dir, "e.db"))
	openMigratedAt(t, "file:"+filepath.ToSlash(dir)+"/d.db#?mode=ro")
	if st, err := os.Stat(filepath.Join(dir, "d.db")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("d.db, a fragment before the query: %v, %v", st, err)
	}
}

func TestFile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ path, want string }{
		{"usher.db", "usher.db"},
		{"/var/lib/usher/usher.db", "/var/lib/usher/usher.db"},
		{"file:usher.db?mode=rwc", "usher.db"},
		{"file:/var/lib/a%20b.db#x", "/var/lib/a b.db"},
		{"file:///var/lib/usher.db", "/var/lib/usher.db"},
		{"file://localhost/var/lib/usher.db?cache=shared", "/var/lib/usher.db"},
		{"file://elsewhere/usher.db", "file://elsewhere/usher.db"}, // SQLite's to refuse
		{"file:bad%zz.db", "file:bad%zz.db"},
	} {
		if got := sqlite.File(tt.path); got != tt.want {
			t.Errorf("File(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
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

// TestConcurrentFirstWrites: many transactions at once on a fresh pool,
// each running statements not prepared yet, all finish. Preparing one
// takes the write pool's only connection, which a transaction may hold
// while it looks statements up: a lock held across both hung them.
func TestConcurrentFirstWrites(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "usher.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.Migrate(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			now := time.Now()
			u := &usher.User{Username: fmt.Sprintf("user%d", i), UUID: uuid.NewString(), State: usher.StateActive, Kind: usher.KindNormal,
				CreatedAt: now, UpdatedAt: now}
			errs <- db.InTx(ctx, func(tx store.Tx) error {
				if err := tx.UserCreate(ctx, u, ""); err != nil {
					return err
				}
				_, err := tx.UserGet(ctx, usher.UserKey{ID: u.ID})
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestRekey(t *testing.T) {
	t.Parallel()
	storetest.RunRekeys(t, oldData, "0")
}

// TestHandleMigration: migration 13 keys valid handles and keeps every
// handle's text.
func TestHandleMigration(t *testing.T) {
	t.Parallel()
	db, exec := oldData(t)
	storetest.RunHandleMigration(t, db, exec, "0")
}

// oldData opens a new database, unmigrated, and a way to run literal
// statements on it, to write rows as the code before a migration did.
func oldData(t *testing.T) (storetest.RekeyTarget, func(query string) error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "usher.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return db, func(q string) error { _, err := raw.Exec(q); return err }
}

// TestReadyFailsOnReadOnlyFile: a store on a file it may only read (a URI
// filename with mode=ro, as a read-only mount leaves it) answers reads but
// is not ready, and says why in words an operator can act on; so does a
// write.
func TestReadyFailsOnReadOnlyFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usher.db")
	rw := openMigratedAt(t, path)
	ro, err := sqlite.Open("file:" + path + "?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	if err := ro.Ping(ctx); err != nil {
		t.Fatalf("the read-only store does not answer: %v", err)
	}
	if _, err := ro.UserCount(ctx); err != nil {
		t.Fatalf("the read-only store does not read: %v", err)
	}
	err = ro.Ready(ctx)
	if err == nil || !strings.Contains(err.Error(), "takes no writes") || !strings.Contains(err.Error(), "readonly") ||
		!strings.Contains(err.Error(), "the database file is read-only: check that the user usher runs as may write "+path) {
		t.Fatalf("Ready on a read-only file: %v", err)
	}
	// A write says so in the operator's words, naming the file and its
	// directory.
	err = ro.ThrottleClear(ctx, "user:1")
	if err == nil || !strings.Contains(err.Error(), "the database file is read-only") || !strings.Contains(err.Error(), filepath.Dir(path)) {
		t.Fatalf("a write to a read-only file: %v", err)
	}
	if err := rw.Ready(ctx); err != nil {
		t.Fatalf("Ready on the writable store: %v", err)
	}
	if _, err := sqlite.Open("file:" + path + "?mode=ro&%zz"); err == nil {
		t.Fatal("malformed URI parameters were accepted")
	}
}

// TestLoadRestoresSchema: what a load sets aside comes back as the
// migrations made it, after a finished load and after one a crash cut
// short.
func TestLoadRestoresSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usher.db")
	db := openMigratedAt(t, path)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	schema := func() string {
		t.Helper()
		var s string
		err := raw.QueryRow(`SELECT group_concat(type || ' ' || name || ': ' || ifnull(sql, ''), char(10))
			FROM (SELECT * FROM sqlite_master ORDER BY name)`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(strings.ReplaceAll(s, "IF NOT EXISTS ", "")), " ")
	}
	storetest.RunLoadSchema(t, db, func() storetest.Loader {
		db.Close()
		again, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { again.Close() })
		return again
	}, schema, "users_fts_insert")
}

// TestLoadBatchSkipsForeignKeys: a load's batch runs without SQLite's
// foreign-key checks, which would make its multi-row inserts journal
// every page they change; a batch outside a load keeps them.
func TestLoadBatchSkipsForeignKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMigrated(t)
	errUndo := errors.New("undo")
	orphan := func() error {
		err := db.InLoadTx(ctx, func(tx store.Tx) error {
			if err := tx.EmailAdd(ctx, &usher.Email{UserID: 1 << 40, Email: "orphan@load.test", CreatedAt: time.Now()}); err != nil {
				return err
			}
			return errUndo
		})
		if errors.Is(err, errUndo) {
			return nil
		}
		return err
	}
	if err := orphan(); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("outside a load, an address of no user in a batch: %v, want the foreign key's refusal", err)
	}
	if loading, err := db.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	if err := orphan(); err != nil {
		t.Fatalf("during a load, the batch checked foreign keys: %v", err)
	}
	if err := db.LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := orphan(); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("after the load, an address of no user in a batch: %v, want the foreign key's refusal", err)
	}
}

// TestLoadTakesTurnsWithServer: while a process loads, another holds
// SQLite's write lock longer than a connection waits for it, as a server
// finishing the load at its start does (tens of seconds at a million
// users). The loader's batch waits and goes in; the server, which waits
// the usual 10 s for an import finishing the load, gives up with
// store.ErrLocked and leaves the load to the loader.
func TestLoadTakesTurnsWithServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "usher.db")
	loader := openMigratedAt(t, path)
	server, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	if loading, err := loader.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	holder, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	users := []*usher.User{{UUID: uuid.NewString(), Username: "turn", Email: "turn@load.test",
		State: usher.StateActive, Kind: usher.KindNormal, Language: "en", CreatedAt: now, UpdatedAt: now}}
	var wg sync.WaitGroup
	var batchErr, recoverErr error
	var recovered bool
	wg.Go(func() { batchErr = loader.UserCreateMany(ctx, users, []string{""}) })
	gaveUp := make(chan struct{})
	go func() {
		defer close(gaveUp)
		recovered, recoverErr = server.LoadRecover(ctx)
	}()
	// The lock is held until the server gives up, its 10 s of waiting
	// over: its busy handler counts the sleeps it asked for, which on a
	// loaded machine take longer than asked (a fixed 13 s was too short
	// beside other test runs). A minute bounds a server that never does.
	select {
	case <-gaveUp:
	case <-time.After(time.Minute):
		t.Error("LoadRecover behind a held lock waited a minute")
	}
	if _, err := holder.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	<-gaveUp
	wg.Wait()
	if batchErr != nil {
		t.Errorf("the loader's batch behind a lock held past the server's wait: %v", batchErr)
	}
	if recovered || !errors.Is(recoverErr, store.ErrLocked) {
		t.Errorf("LoadRecover behind a held lock = %v, %v; want false, store.ErrLocked", recovered, recoverErr)
	}
	if err := loader.LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
	if id, err := loader.EmailHolder(ctx, "turn@load.test"); err != nil || id != users[0].ID {
		t.Fatalf("EmailHolder(turn@load.test) = %d, %v; want %d", id, err, users[0].ID)
	}
}

// TestConcurrentOpenOfNewFile: processes started together on one new
// file (usher serve beside usher import, a test's export polling an
// import) all open it. Making a new file WAL needs it alone for a moment,
// and SQLite answers a race for that with SQLITE_BUSY at once, without
// waiting out the busy timeout. Goroutines do not show it: within one
// process SQLite shares the file's locks; so the test runs itself as
// four processes, which open the same new files at agreed moments.
func TestConcurrentOpenOfNewFile(t *testing.T) {
	const rounds, gap = 20, 60 * time.Millisecond
	if dir := os.Getenv("USHER_TEST_OPEN_DIR"); dir != "" {
		at, err := time.Parse(time.RFC3339Nano, os.Getenv("USHER_TEST_OPEN_AT"))
		if err != nil {
			t.Fatal(err)
		}
		for round := range rounds {
			start := at.Add(time.Duration(round) * gap)
			time.Sleep(time.Until(start))
			for time.Now().Before(start.Add(gap / 2)) {
				db, err := sqlite.Open(filepath.Join(dir, fmt.Sprintf("usher%d.db", round)))
				if err == nil {
					if os.Getenv("USHER_TEST_OPEN_CHILD") == "0" {
						_, err = db.Migrate(context.Background(), time.Now())
					} else {
						_, err = db.Status(context.Background())
					}
					db.Close()
				}
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}
		return
	}
	t.Parallel()
	dir, at := t.TempDir(), time.Now().Add(time.Second).Format(time.RFC3339Nano)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentOpenOfNewFile$", "-test.count=1")
			cmd.Env = append(os.Environ(), "USHER_TEST_OPEN_DIR="+dir, "USHER_TEST_OPEN_AT="+at, fmt.Sprintf("USHER_TEST_OPEN_CHILD=%d", i))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%v\n%s", err, out)
			}
		})
	}
	wg.Wait()
}
