package main

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"strings"
)

// The search_scan scenario is the baseline usher's search index must beat:
// the same queries over the same rows, done as a LIKE scan. It goes to the
// database directly, so that usher needs no scan mode of its own; having
// no HTTP, JSON or authentication to do, it flatters the scan.

// scanSQL is the unindexed search: the condition usher's search adds for
// an administrator (username, name or e-mail holds the query, case
// aside; not deleted, not suspended), in id order, one page of 20 and one
// row to learn whether more follow — done as a LIKE over the table.
func scanSQL(kind string) string {
	if kind == "sqlite" {
		return `SELECT * FROM users WHERE deleted_at IS NULL AND state <> 'suspended'
AND (username LIKE ?1 ESCAPE '\' OR name LIKE ?1 ESCAPE '\' OR email LIKE ?1 ESCAPE '\')
ORDER BY id LIMIT 21`
	}
	return `SELECT * FROM users WHERE deleted_at IS NULL AND state <> 'suspended'
AND (username ILIKE $1 OR name ILIKE $1 OR email ILIKE $1)
ORDER BY id LIMIT 21`
}

// likePattern makes q a LIKE pattern that matches it anywhere, its own
// wildcards taken literally.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// scanOp returns an operation that runs the unindexed search for a query
// drawn from queries and reads every row.
func scanOp(db *sql.DB, kind string, queries []string) op {
	query := scanSQL(kind)
	return func(ctx context.Context, rng *rand.Rand) error {
		rows, err := db.QueryContext(ctx, query, likePattern(queries[rng.IntN(len(queries))]))
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		dest := make([]any, len(cols))
		for i := range dest {
			dest[i] = new(sql.RawBytes)
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}
