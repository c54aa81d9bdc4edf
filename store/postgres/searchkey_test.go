package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"usher"
)

// TestSearchKey: a search through search_key, the spelling of search_text
// with spaces and common punctuation as "q" and a digit (migration 0020),
// finds exactly the users a plain ILIKE over the asked columns finds, for
// strings holding each spelled separator, "q" and "Q" (spelled "qq"), the
// codes themselves ("q1", "q4"), LIKE's escapes ("%", "_", "\") and
// characters left unspelled (","); over all three columns and over
// username and name only. Some users hold a spelling's code without its
// separator ("xqq1y" holds "qqq1", the spelling of "q "), so the index
// gives them as candidates and the exact check must refuse them.
func TestSearchKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := openWithSQL(t)
	users := [][3]string{ // username, name, e-mail address
		{"a_n", "A N", "a.n@x.io"},
		{"al_t", "Al T", "al-t+x@x.io"},
		{"obrien", "Miles O'Brien", "o'brien@x.io"},
		{"pct", "100% Sure", "pct@x.io"},
		{"back", `C:\dir\q4`, "back@x.io"},
		{"qq", "Q Q", "q.q@x.io"},
		{"xqq1y", "Qq1 Q4", "xqq1y@x.io"},
		{"q4x", "Quinn_Q", "quinn@q.io"},
		{"plus", "A+B", "a+b@x.io"},
		{"dash", "Jean-Luc", "j-l@x.io"},
		{"comma", "Doe, Jane", "doe@x.io"},
		{"anq", "Anq Qna", "anq.qna@x.io"},
		{"under_", "Under__Score", "u__s@x.io"},
	}
	for i, u := range users {
		if _, err := db.ExecContext(ctx, `INSERT INTO users (uuid, username, username_key, email, email_key, name, state, kind, created_at, updated_at)
			VALUES (gen_random_uuid(), $1, lower($1), $2, lower($2), $3, 'active', 'normal', now(), now())`, u[0], u[2], u[1]); err != nil {
			t.Fatalf("user %d: %v", i, err)
		}
	}
	want := func(q string, email bool) []int64 {
		t.Helper()
		return queryIDs(t, db, `SELECT id FROM users WHERE username ILIKE $1 OR name ILIKE $1 OR ($2 AND email ILIKE $1) ORDER BY id`,
			"%"+q+"%", email)
	}
	// want's pattern is q between %: it reads LIKE's special characters
	// as such. The strings below that hold one are written with it
	// escaped, as the store escapes what it is asked for, and literal
	// in the query the store is given.
	for _, tt := range []struct {
		query, pattern string // pattern: query as want's ILIKE reads it
		n              int    // matches over all three columns
	}{
		{" ", " ", 8},
		{"a n", "a n", 1},
		{"a_n", `a\_n`, 1},
		{"_", `\_`, 4},
		{"__", `\_\_`, 1},
		{"l_t", `l\_t`, 1},
		{".", ".", 13},
		{"a.n", "a.n", 1},
		{"@x", "@x", 12},
		{"t+x@", "t+x@", 1},
		{"+", "+", 2},
		{"a+b", "a+b", 1},
		{"-", "-", 2},
		{"jean-l", "jean-l", 1},
		{"'", "'", 1},
		{"o'b", "o'b", 1},
		{"s o'", "s o'", 1},
		{"%", `\%`, 1},
		{"0% s", `0\% s`, 1},
		{`\`, `\\`, 1},
		{`\q4`, `\\q4`, 1},
		{`dir\q`, `dir\\q`, 1},
		{"q", "q", 5},
		{"Q", "Q", 5},
		{"qq", "qq", 2},
		{"q q", "q q", 2},
		{"q.q", "q.q", 2},
		{"q ", "q ", 2},
		{" q", " q", 3},
		{"q1", "q1", 1},
		{"qq1", "qq1", 1},
		{"q4", "q4", 3},
		{"_q", `\_q`, 1},
		{"q_", `q\_`, 0},
		{"n_q", `n\_q`, 1},
		{"q2", "q2", 0},
		{"q3", "q3", 0},
		{",", ",", 1},
		{"e, j", "e, j", 1},
		{"e,j", "e,j", 0},
		{"A N", "A N", 1},
		{"x.io", "x.io", 12},
	} {
		for _, email := range []bool{true, false} {
			expected := want(tt.pattern, email)
			if email && len(expected) != tt.n {
				t.Errorf("%q: the ILIKE finds %d users, the table says %d", tt.query, len(expected), tt.n)
			}
			p, err := s.UserList(ctx, usher.UserFilter{Query: tt.query, SearchEmail: email, Sort: usher.SortIDAsc})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, u := range p.Items {
				got = append(got, u.ID)
			}
			if !slices.Equal(got, expected) {
				t.Errorf("%q (e-mail %v): %v, want %v", tt.query, email, got, expected)
			}
			// A page in id order reads a window first and then the
			// index; it finds the same.
			p, err = s.UserList(ctx, usher.UserFilter{Query: tt.query, SearchEmail: email, Sort: usher.SortIDAsc,
				Page: usher.PageRequest{Limit: 5}})
			if err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for _, u := range p.Items {
				got = append(got, u.ID)
			}
			if !slices.Equal(got, expected[:min(len(expected), 5)]) {
				t.Errorf("%q (e-mail %v), a page of 5: %v, want %v", tt.query, email, got, expected)
			}
		}
	}
	// Each user's search_key is spelled from search_text's value.
	var differ int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE search_key IS DISTINCT FROM
		replace(replace(replace(replace(replace(replace(replace(replace(search_text,
		'q', 'qq'), ' ', 'q1'), '.', 'q2'), '@', 'q3'), '_', 'q4'), '-', 'q5'), '+', 'q6'), '''', 'q7')`).Scan(&differ); err != nil {
		t.Fatal(err)
	}
	if differ != 0 {
		t.Errorf("%d users' search_key is not their search_text spelled", differ)
	}
}

// TestNameSearchReadsItsIndex: a search of usernames and names alone — a
// user's who is no administrator — is planned through the trigram index
// of those two (users_names_trgm, migration 0034), not search_key's,
// which holds the addresses too and gave every address holding the string
// as a candidate: 720 ms for q=example at a million users.
func TestNameSearchReadsItsIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := openWithSQL(t)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A table of a few rows is read whole; the plan's choice of index is
	// what this asks.
	if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, "EXPLAIN SELECT id FROM users WHERE "+
		"usher_search_key(lower(username || chr(1) || name)) LIKE usher_search_key(lower('%example%'))")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan += line + "\n"
	}
	if !strings.Contains(plan, "users_names_trgm") {
		t.Errorf("a search of names is not planned through users_names_trgm:\n%s", plan)
	}
}
