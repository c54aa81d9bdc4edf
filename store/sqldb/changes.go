package sqldb

import (
	"context"
	"database/sql"
	"sync/atomic"
)

// counted is the write pool, counting its writes: an Exec counts once it
// has returned, when its autocommit is done. Writes in a transaction are
// counted once, at the commit (conn.atomic). A query that writes outside a
// transaction (an INSERT … RETURNING) counts when it returns its rows,
// which may be before its commit; those are inserts, which no cache of
// rows read earlier can hold stale.
type counted struct {
	q querier
	n *atomic.Uint64
}

func (c counted) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer c.n.Add(1)
	return c.q.ExecContext(ctx, query, args...)
}

func (c counted) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	defer c.n.Add(1)
	return c.q.QueryContext(ctx, query, args...)
}

func (c counted) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	defer c.n.Add(1)
	return c.q.QueryRowContext(ctx, query, args...)
}

// Changes counts the writes this process has committed.
func (db *DB) Changes() uint64 { return db.changes.Load() }
