package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"usher"
	"usher/store/postgres/pgtest"
	"usher/store/sqldb"
)

// heardWithin is how long a change may take to reach another process in
// these tests: far more than the round trip it takes, far less than the
// caches' time limits.
const heardWithin = 5 * time.Second

// TestChangesAcrossProcesses: two stores on one schema, as two replicas
// hold it, count each other's committed writes (LISTEN/NOTIFY) — a write
// made just before Close included — and not their own twice, nor those of
// a store on another schema; a listening session that is cut off counts
// as a change once it is back, since what it missed is unknown.
func TestChangesAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	var id [6]byte
	_, _ = rand.Read(id[:])
	appB := "usher_b_" + hex.EncodeToString(id[:])
	a, b := mustOpen(t, url), mustOpen(t, url+"&application_name="+appB)
	other := mustOpen(t, pgtest.URL(t))
	n := 0
	write := func(t *testing.T, db *sqldb.DB) {
		t.Helper()
		n++
		now := time.Now().UTC()
		u := &usher.User{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), Username: fmt.Sprintf("user%d", n), State: usher.StateActive,
			Kind: usher.KindNormal, GitLab: usher.GitLabProfile{ThemeID: 1, ColorSchemeID: 1}, Language: "en", CreatedAt: now, UpdatedAt: now}
		if err := db.UserCreate(ctx, u, ""); err != nil {
			t.Fatal(err)
		}
	}
	// grows waits until db's count has passed before, and says how long
	// that took.
	grows := func(t *testing.T, db *sqldb.DB, before uint64, what string) time.Duration {
		t.Helper()
		start := time.Now()
		for db.Changes() <= before {
			if time.Since(start) > heardWithin {
				t.Fatalf("%s: not counted within %s", what, heardWithin)
			}
			time.Sleep(time.Millisecond)
		}
		return time.Since(start)
	}

	before := b.Changes()
	write(t, a)
	t.Logf("a write on A counted on B after %s", grows(t, b, before, "a write on A"))

	// B's own write counts once on B; it and another schema's write are
	// heard on A only. Both have reached A (in the order they were sent,
	// or after) once the next write of B has.
	time.Sleep(200 * time.Millisecond) // for a late notification of the migrations to arrive before counting
	beforeA, beforeB := a.Changes(), b.Changes()
	write(t, b)
	write(t, other)
	grows(t, a, beforeA, "a write on B")
	time.Sleep(200 * time.Millisecond) // for a second notification to arrive, were one sent
	if got := b.Changes() - beforeB; got != 1 {
		t.Errorf("B's own write and another schema's write counted %d times on B, want 1", got)
	}
	if got := a.Changes() - beforeA; got != 1 {
		t.Errorf("B's write and another schema's write counted %d times on A, want 1", got)
	}

	// A store that writes and closes at once, as a command-line run does,
	// still tells the others.
	c := mustOpen(t, url)
	before = b.Changes()
	write(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	grows(t, b, before, "a write just before Close")

	// Cut B's listening session: B counts a change when it is back, and
	// hears A again.
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	before = b.Changes()
	var cut int
	err = raw.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND (query LIKE 'LISTEN %' OR query LIKE 'SELECT pg_notify%')`, appB).Scan(&cut)
	if err != nil || cut != 1 {
		t.Fatalf("terminating B's listening session: %d sessions, %v", cut, err)
	}
	t.Logf("B counted its reconnection after %s", grows(t, b, before, "the reconnection"))
	before = b.Changes()
	write(t, a)
	grows(t, b, before, "a write on A after B reconnected")
}
