package postgres_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"usher"
	"usher/store/postgres"
	"usher/store/postgres/pgtest"
	"usher/store/sqldb"
)

// TestSearchWindow: a search ordered by id reads a window of users first
// (widened when it holds some matches but not a page) and the matches past
// it through the trigram index; paged by cursor, ascending and descending,
// at page sizes that end inside the window, across its edge and past it,
// searching username and name or those and the e-mail address, it answers
// every match once, in order, as one statement of ILIKEs without a window
// does — weak strings too (a comma inside, which search_key does not
// spell), which widen the window for any match, and strings with a space,
// which search_key makes strong. The table holds more users than the
// widest window, with matches on both sides of its edges. A string
// holding chr(1), which parts the columns in search_text and which
// search_key leaves as it is, matches no user whose columns it straddles.
func TestSearchWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := openWithSQL(t)
	if _, err := db.ExecContext(ctx, `INSERT INTO users (uuid, username, username_key, email, email_key, name, state, kind, created_at, updated_at)
		SELECT gen_random_uuid(), 'w' || i, 'w' || i, 'w' || i || '@example.com', 'w' || i || '@example.com',
		       CASE WHEN i <= 2000 AND i % 200 = 5 THEN 'Early, Reed' WHEN i % 5000 = 4321 THEN 'Late, Reed'
		            WHEN i % 1000 = 7 THEN 'Rare Needle' WHEN i % 250 = 3 THEN 'Odd Straw' WHEN i % 3 = 0 THEN 'Common Hay' ELSE 'Plain' END,
		       CASE WHEN i % 1000 = 7 AND i > 4000 THEN 'suspended' ELSE 'active' END, 'normal', now(), now()
		FROM generate_series(1, 30000) AS i`); err != nil {
		t.Fatal(err)
	}
	want := func(q string, desc, email bool) []int64 {
		t.Helper()
		order := "ASC"
		if desc {
			order = "DESC"
		}
		return queryIDs(t, db, `SELECT id FROM users WHERE deleted_at IS NULL AND state <> 'suspended'
			AND (username ILIKE $1 OR name ILIKE $1 OR ($2 AND email ILIKE $1)) ORDER BY id `+order, "%"+q+"%", email)
	}
	for _, tt := range []struct {
		q     string
		sort  usher.UserSort
		limit int
		email bool
	}{
		{"needle", usher.SortIDAsc, 1, false},
		{"needle", usher.SortIDAsc, 2, false},
		{"needle", usher.SortIDAsc, 20, false},
		{"needle", usher.SortIDDesc, 2, false},
		{"hay", usher.SortIDAsc, 400, false},
		{"hay", usher.SortIDAsc, 700, false},
		{"hay", usher.SortIDDesc, 500, false},
		{"straw", usher.SortIDAsc, 20, false},
		{"straw", usher.SortIDAsc, 7, true},
		{"straw", usher.SortIDAsc, 12, false},
		{"reed", usher.SortIDAsc, 12, false},
		{"reed", usher.SortIDAsc, 12, true},
		{"straw", usher.SortIDDesc, 12, true},
		{"straw", usher.SortIDDesc, 20, true},
		{"W2999", usher.SortIDAsc, 3, true},
		{"9@EXAMPLE", usher.SortIDAsc, 50, true},
		// Strings with a space, which search_key spells as letters
		// and digits: strong, through the index past the window.
		{"d s", usher.SortIDAsc, 20, false},
		{"d s", usher.SortIDAsc, 50, true},
		{"d s", usher.SortIDDesc, 20, false},
		{"e n", usher.SortIDAsc, 20, false},
		{"e n", usher.SortIDDesc, 3, true},
		// Weak strings (a comma inside: the index holds no trigram
		// with it), read through windows widened up to 50,000 users
		// for any match: matches in the first window only; none there.
		{"y, r", usher.SortIDAsc, 20, false},
		{"e, r", usher.SortIDAsc, 2, true},
		{"e, r", usher.SortIDDesc, 20, false},
	} {
		expected := want(tt.q, tt.sort == usher.SortIDDesc, tt.email)
		var got []int64
		var after *usher.Cursor
		for pages := 0; pages < 100; pages++ {
			p, err := s.UserList(ctx, usher.UserFilter{Query: tt.q, SearchEmail: tt.email, Sort: tt.sort, Deleted: usher.Exclude, Suspended: usher.Exclude,
				Page: usher.PageRequest{Limit: tt.limit, After: after}})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Items) > tt.limit {
				t.Fatalf("%s %s by %d: a page of %d", tt.q, tt.sort, tt.limit, len(p.Items))
			}
			for _, u := range p.Items {
				got = append(got, u.ID)
			}
			if after = p.Next; after == nil {
				break
			}
		}
		if len(expected) < 4 || !slices.Equal(got, expected) {
			t.Errorf("%s %s by %d: %d ids %v…, want %d %v…", tt.q, tt.sort, tt.limit, len(got), head(got), len(expected), head(expected))
		}
	}
	// Each user's search_text is "w5" chr(1) "plain" chr(1) "w5@example.com";
	// the string below is in it, in no column.
	for _, email := range []bool{false, true} {
		p, err := s.UserList(ctx, usher.UserFilter{Query: "5\x01plain", SearchEmail: email, Page: usher.PageRequest{Limit: 20}})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 0 {
			t.Errorf("a string across columns (email %v): %d users, first %q", email, len(p.Items), p.Items[0].Username)
		}
	}
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 6)] }

// openWithSQL opens a migrated store on a database of its own and a plain
// connection to the same database, for a test to fill and check.
func openWithSQL(t *testing.T) (*sqldb.DB, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return s, db
}

// queryIDs returns the ids query selects, in its order.
func queryIDs(t *testing.T, db *sql.DB, query string, args ...any) []int64 {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
