package postgres_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"usher"
)

// TestListCost times a page of users with its total on a large table, as
// docs/performance.md reports it. It runs only when USHER_LIST_COST_USERS
// names how many users to fill in (the fill is one INSERT … SELECT, not
// usher import, without the search indexes), and asserts nothing but that
// the pages are read:
//
//	USHER_LIST_COST_USERS=1000000 USHER_TEST_POSTGRES_URL=… go test -run TestListCost -v ./store/postgres/
func TestListCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("USHER_LIST_COST_USERS"))
	if n <= 0 {
		t.Skip("USHER_LIST_COST_USERS is not set")
	}
	ctx := context.Background()
	s, db := openWithSQL(t)
	// The lists timed here do not search: the trigram index, which makes
	// a fill of a million rows take most of an hour, are left out.
	if _, err := db.ExecContext(ctx, `DROP INDEX users_search_trgm, users_names_trgm`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := db.ExecContext(ctx, `INSERT INTO users (uuid, username, username_key, email, email_key, name, state, kind, created_at, updated_at)
		SELECT gen_random_uuid(), 'user' || i, 'user' || i, 'user' || i || '@example.com', 'user' || i || '@example.com',
		       'User ' || i, 'active', 'normal', now(), now()
		FROM generate_series(1, $1) AS i`, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("filled %d users in %v", n, time.Since(start).Round(time.Millisecond))

	page := func(name string, req usher.PageRequest) {
		t.Helper()
		const runs = 20
		var first, rest time.Duration
		var p *usher.UserPage
		for i := range runs {
			began := time.Now()
			var err error
			p, err = s.UserList(ctx, usher.UserFilter{Suspended: usher.Include, Deleted: usher.Exclude, Page: req})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if i == 0 {
				first = time.Since(began)
			} else {
				rest += time.Since(began)
			}
		}
		t.Logf("%-44s first %8.2f ms, then %7.2f ms a page; total %d, estimated %v",
			name, ms(first), ms(rest)/(runs-1), p.Total, p.TotalEstimated)
	}
	page("first page of 20, no total", usher.PageRequest{Limit: 20})
	page("first page of 20, exact total (every row)", usher.PageRequest{Limit: 20, WithTotal: true})
	page("first page of 20, total bounded at 10,000", usher.PageRequest{Limit: 20, WithTotal: true, CountUpTo: 10000})
	page("page 50 (offset 980), bounded total", usher.PageRequest{Limit: 20, Offset: 980, WithTotal: true, CountUpTo: 10000})
	page("page 5,000 (offset 99,980), bounded total", usher.PageRequest{Limit: 20, Offset: 99980, WithTotal: true, CountUpTo: 10000})
	page("after a cursor at row 99,980, no total", usher.PageRequest{Limit: 20, After: &usher.Cursor{ID: 99980}})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
