package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"usher"
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
	db := openOnly(t, url)
	if _, err := db.Migrate(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	return db
}

// openOnly opens the database at url, closed when the test ends, as
// another process that finds it migrated (or cannot migrate it) would.
func openOnly(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
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
	storetest.RunRekeys(t, oldData, "now()")
}

// TestHandleMigration: migration 13 keys valid handles and keeps every
// handle's text.
func TestHandleMigration(t *testing.T) {
	t.Parallel()
	db, exec := oldData(t)
	storetest.RunHandleMigration(t, db, exec, "now()")
}

// oldData opens a new database, unmigrated, and a way to run literal
// statements on it, to write rows as the code before a migration did.
func oldData(t *testing.T) (storetest.RekeyTarget, func(query string) error) {
	t.Helper()
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
	return db, func(q string) error { _, err := raw.Exec(q); return err }
}

// TestReadyFailsOnReadOnlySession: a store whose sessions may not write (as
// on a standby, or with default_transaction_read_only set) answers reads
// but is not ready, and says why.
func TestReadyFailsOnReadOnlySession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.URL(t)
	rw := mustOpen(t, u)
	ro := openOnly(t, u+"&default_transaction_read_only=on")
	if _, err := ro.UserCount(ctx); err != nil {
		t.Fatalf("the read-only store does not read: %v", err)
	}
	err := ro.Ready(ctx)
	if err == nil || !strings.Contains(err.Error(), "takes no writes") || !strings.Contains(err.Error(), "read-only transaction") {
		t.Fatalf("Ready on a read-only session: %v", err)
	}
	if err := rw.Ready(ctx); err != nil {
		t.Fatalf("Ready on the writable store: %v", err)
	}
}

// TestLoadRestoresSchema: the indexes, constraints and triggers a load
// sets aside come back as the migrations made them, after a finished load
// and after one a crash cut short.
func TestLoadRestoresSchema(t *testing.T) {
	t.Parallel()
	url, db, raw := openRaw(t)
	schema := func() string {
		t.Helper()
		var s string
		err := raw.QueryRow(`SELECT (SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes
				WHERE schemaname = current_schema()) || E'\n' ||
			(SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid), E'\n' ORDER BY conrelid::regclass::text, conname)
				FROM pg_constraint WHERE connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())) || E'\n' ||
			(SELECT string_agg(pg_get_triggerdef(t.oid), E'\n' ORDER BY c.relname, t.tgname)
				FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
				WHERE NOT t.tgisinternal AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()))`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storetest.RunLoadSchema(t, db, func() storetest.Loader { return openOnly(t, url) }, schema, "users_search_trgm")
}

// TestPoolMaxConns: the URL's pool_max_conns sizes both pools and is not
// sent to PostgreSQL as a setting (which refuses it); a bad value is an
// error that names the parameter.
func TestPoolMaxConns(t *testing.T) {
	t.Parallel()
	base := pgtest.URL(t)
	for _, tc := range []struct {
		param string
		want  int // each pool's size; 0: Open fails
		err   string
	}{
		{"", 24, ""},
		{"pool_max_conns=3", 3, ""},
		{"pool_max_conns=1", 1, ""},
		{"pool_max_conns=1000", 1000, ""},
		{"pool_max_conns=0", 0, `pool_max_conns must be a whole number from 1 to 1000, not "0"`},
		{"pool_max_conns=-2", 0, `not "-2"`},
		{"pool_max_conns=1001", 0, `not "1001"`},
		{"pool_max_conns=eight", 0, `not "eight"`},
		{"pool_max_conns=", 0, `not ""`},
	} {
		t.Run(tc.param, func(t *testing.T) {
			u := base
			if tc.param != "" {
				u += "&" + tc.param
			}
			ctx := context.Background()
			db, err := postgres.Open(ctx, u)
			if tc.want == 0 {
				if err == nil {
					db.Close()
					t.Fatal("Open succeeded")
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %q, want it to hold %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// A statement on each pool: the server took the session's
			// settings.
			if _, err := db.Migrate(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
			for name, p := range db.Pools() {
				if got := p.Stats().MaxOpenConnections; got != tc.want {
					t.Errorf("pool %s: %d connections at most, want %d", name, got, tc.want)
				}
				if err := p.PingContext(ctx); err != nil {
					t.Errorf("pool %s: %v", name, err)
				}
			}
		})
	}
}

// TestPoolMaxConnsHeard: with pool_max_conns in the URL, the listening
// session connects too (it takes the URL without the parameter), so a
// write through one store is counted on another, as replicas need. The
// session retries in the background, so only a write heard says it
// connected.
func TestPoolMaxConnsHeard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t) + "&pool_max_conns=2"
	a, b := mustOpen(t, url), mustOpen(t, url)
	time.Sleep(200 * time.Millisecond) // for the migrations' notifications to arrive before counting
	before := b.Changes()
	now := time.Now().UTC()
	u := &usher.User{UUID: "00000000-0000-4000-8000-000000000001", Username: "heard", State: usher.StateActive,
		Kind: usher.KindNormal, GitLab: usher.GitLabProfile{ThemeID: 1, ColorSchemeID: 1}, Language: "en", CreatedAt: now, UpdatedAt: now}
	if err := a.UserCreate(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); b.Changes() <= before; time.Sleep(time.Millisecond) {
		if time.Since(start) > heardWithin {
			t.Fatalf("a write through one store was not counted on the other within %s", heardWithin)
		}
	}
}

// TestLoadIntoEmptyDatabase: a load into a database with no user and no
// claim writes its users' claims at its end without reading email_claims
// again for each of them. With the statistics the import's ANALYZE
// gathered (email_claims empty), the planner chose a nested loop that
// scanned email_claims, the table the statement fills, once per loaded
// user: 41 s of the 49 an import of 100,000 users took.
func TestLoadIntoEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	open := func() *sqldb.DB {
		t.Helper()
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	// The server counts each scan of a table, a nested loop's rescans
	// included, and a session publishes its counts when it ends, those
	// of every table at once: scansOnceInserted closes db, waits until
	// table has published inserts of n rows and returns the scans of
	// email_claims then.
	scansOnceInserted := func(db *sqldb.DB, table string, n int64) (scans int64) {
		t.Helper()
		db.Close()
		var inserted int64
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			err := raw.QueryRowContext(ctx, `SELECT (SELECT n_tup_ins FROM pg_stat_user_tables
				WHERE schemaname = current_schema() AND relname = $1),
				(SELECT seq_scan FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'email_claims')`,
				table).Scan(&inserted, &scans)
			if err != nil {
				t.Fatal(err)
			}
			if inserted >= n {
				return scans
			}
		}
		t.Fatalf("%s counts %d rows inserted, want %d", table, inserted, n)
		return 0
	}
	db := open()
	if _, err := db.Migrate(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if loading, err := db.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	const batches, batch = 3, 500
	for b := range batches {
		users := make([]*usher.User, batch)
		for i := range users {
			name := fmt.Sprintf("empty%d_%d", b, i)
			users[i] = &usher.User{UUID: uuid.NewString(), Username: name, Email: name + "@load.test", State: usher.StateActive,
				CreatedAt: time.Now(), UpdatedAt: time.Now(), Version: 1}
		}
		err := db.InLoadTx(ctx, func(tx store.Tx) error { return tx.UserCreateMany(ctx, users, make([]string, batch)) })
		if err != nil {
			t.Fatal(err)
		}
		// As the import does at doubling sizes: email_claims is
		// analysed empty.
		if err := db.Analyze(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before := scansOnceInserted(db, "users", batches*batch)
	// The load is finished by a store opened afresh, as after a crash.
	db = open()
	if err := db.LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
	if scans := scansOnceInserted(db, "email_claims", batches*batch) - before; scans > 10 {
		t.Fatalf("email_claims was scanned %d times to claim the addresses of %d loaded users", scans, batches*batch)
	}
}

// TestLoadAnalyzesAfterOther: a load that another process finished
// while this store was loading (LoadRecover, a server starting) is still
// analyzed at this store's LoadFinish, since its users came after the
// other's ANALYZE.
func TestLoadAnalyzesAfterOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, loader, raw := openRaw(t)
	analyzed := func() int64 {
		t.Helper()
		var n int64
		if err := raw.QueryRow(`SELECT analyze_count FROM pg_stat_user_tables WHERE relid = 'users'::regclass`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if loading, err := loader.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	other := openOnly(t, url)
	if found, err := other.LoadRecover(ctx); err != nil || !found {
		t.Fatalf("LoadRecover of the load = %v, %v; want true", found, err)
	}
	before := analyzed()
	if err := loader.LoadFinish(ctx); err != nil {
		t.Fatal(err)
	}
	if after := analyzed(); after != before+1 {
		t.Fatalf("users analyzed %d times at the end of a load another process finished, want 1", after-before)
	}
}

// TestLoadEndKeepsReads: the end of a load removes the rows of users
// deleted during it and checks the foreign keys of passwords and e-mail
// claims after the transaction that locks users against every statement,
// so reads of users go on meanwhile. Here a row lock on the password of
// a user deleted during the load holds that removal up; the end is then
// cut short there, and a store opened afresh finishes it.
func TestLoadEndKeepsReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, db, raw := openRaw(t)
	if loading, err := db.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	// The foreign key is set aside: the password outlives its user.
	if _, err := raw.ExecContext(ctx, `INSERT INTO passwords (user_id, hash, updated_at) VALUES (424242, 'x', now())`); err != nil {
		t.Fatal(err)
	}
	holder, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	var holderPID int
	if err := holder.QueryRowContext(ctx, `SELECT pg_backend_pid() FROM passwords WHERE user_id = 424242 FOR UPDATE`).Scan(&holderPID); err != nil {
		t.Fatal(err)
	}
	fctx, cut := context.WithCancel(ctx)
	defer cut()
	done := make(chan error, 1)
	go func() { done <- db.LoadFinish(fctx) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var waiting bool
		err := raw.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE pg_blocking_pids(pid) @> ARRAY[$1::int] AND query LIKE '%DELETE FROM passwords%')`, holderPID).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the load ended (%v) without waiting for the password's row", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the end of the load never reached the password's row")
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var n int
	if err := raw.QueryRowContext(rctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Errorf("a read of users while the load's end removes and checks rows: %v", err)
	}
	cut()
	if err := holder.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("LoadFinish cut short while it checked the foreign keys returned no error")
	}
	left := func() (orphans, unchecked int) {
		t.Helper()
		err := raw.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM passwords WHERE user_id = 424242),
			(SELECT count(*) FROM pg_constraint WHERE conrelid IN ('passwords'::regclass, 'email_claims'::regclass)
				AND NOT convalidated)`).Scan(&orphans, &unchecked)
		if err != nil {
			t.Fatal(err)
		}
		return orphans, unchecked
	}
	if orphans, unchecked := left(); orphans != 1 || unchecked != 2 {
		t.Fatalf("after the end was cut short: %d passwords of no user, %d constraints unchecked; want 1, 2", orphans, unchecked)
	}
	if found, err := mustOpen(t, url).LoadRecover(ctx); err != nil || !found {
		t.Fatalf("LoadRecover of an end cut short = %v, %v; want true", found, err)
	}
	if orphans, unchecked := left(); orphans != 0 || unchecked != 0 {
		t.Fatalf("after the end was finished: %d passwords of no user, %d constraints unchecked; want 0, 0", orphans, unchecked)
	}
}

// TestStandbyLeavesLoad: a store on a streaming standby finishes no load.
// A load the primary's importer left cut short stays as it was on both
// until a store on the primary finishes it, which the standby replays;
// on the standby LoadRecover reports false and no error, and Migrate
// refuses with the reason, so usher serve does not start there.
func TestStandbyLeavesLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, loader, _ := openRaw(t)
	if loading, err := loader.LoadStart(ctx); err != nil || !loading {
		t.Fatalf("LoadStart = %v, %v", loading, err)
	}
	standbyURL := pgtest.StandbyURL(t, url)
	standby := openOnly(t, standbyURL)
	if _, err := standby.Migrate(ctx, time.Now()); err == nil || !strings.Contains(err.Error(), "takes no writes") {
		t.Fatalf("Migrate on a standby = %v; want it refused as a server that takes no writes", err)
	}
	if found, err := standby.LoadRecover(ctx); err != nil || found {
		t.Fatalf("LoadRecover on a standby = %v, %v; want false and no error", found, err)
	}
	setAside := func(dsn string) bool {
		t.Helper()
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var aside bool
		err = db.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'users'::regclass AND tgname = 'users_claims')
			OR NOT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'users_search_trgm')`).Scan(&aside)
		if err != nil {
			t.Fatal(err)
		}
		return aside
	}
	if !setAside(url) || !setAside(standbyURL) {
		t.Fatalf("after LoadRecover on the standby the load is set aside: %v on the primary, %v on the standby; want both", setAside(url), setAside(standbyURL))
	}
	if found, err := mustOpen(t, url).LoadRecover(ctx); err != nil || !found {
		t.Fatalf("LoadRecover on the primary = %v, %v; want true", found, err)
	}
	pgtest.CatchUp(t, url, standbyURL)
	if setAside(standbyURL) {
		t.Fatal("the standby has not replayed the load the primary finished")
	}
	if found, err := standby.LoadRecover(ctx); err != nil || found {
		t.Fatalf("LoadRecover on the standby of a finished load = %v, %v; want false and no error", found, err)
	}
}

// openRaw opens a migrated store in a schema of its own, and a plain
// connection pool to the same schema, for what the store does not show.
func openRaw(t *testing.T) (url string, db *sqldb.DB, raw *sql.DB) {
	t.Helper()
	url = pgtest.URL(t)
	db = mustOpen(t, url)
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return url, db, raw
}
