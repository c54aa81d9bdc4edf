package sqldb

import (
	"context"
	"database/sql"
	"sync/atomic"
)

// changeCount counts committed writes: this process's, and those of other
// processes on the database that the backend hears of.
type changeCount struct {
	n atomic.Uint64
	// wrote, when set, is told of each write this process commits; it
	// returns at once (see Config.Wrote).
	wrote func()
}

// add counts a write this process has committed.
func (c *changeCount) add() {
	c.n.Add(1)
	if c.wrote != nil {
		c.wrote()
	}
}

// counted is the write pool, counting its writes: an Exec counts once it
// has returned, when its autocommit is done, unless it changed no row. Writes in a transaction are
// counted once, at the commit (conn.atomic). A query that writes outside a
// transaction (an INSERT … RETURNING) counts when it returns its rows,
// which may be before its commit; those are inserts, which no cache of
// rows read earlier can hold stale.
type counted struct {
	q querier
	n *changeCount
}

func (c counted) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := c.q.ExecContext(ctx, query, args...)
	// A statement that took and changed no row is no change: the
	// background rounds' deletes of what has expired find nothing nearly
	// always, and every replica runs them every few seconds.
	if err == nil {
		if n, nerr := res.RowsAffected(); nerr == nil && n == 0 {
			return res, err
		}
	}
	c.n.add()
	return res, err
}

func (c counted) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	defer c.n.add()
	return c.q.QueryContext(ctx, query, args...)
}

func (c counted) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	defer c.n.add()
	return c.q.QueryRowContext(ctx, query, args...)
}

// Changes counts the writes this process has committed, and those of other
// processes it has heard of through ChangedElsewhere.
func (db *DB) Changes() uint64 { return db.changes.n.Load() }

// ChangedElsewhere counts a write that another process committed to the
// database, or the chance of one unheard of: every cache filled from reads
// made before is stale. The backend calls it when it hears of one.
func (db *DB) ChangedElsewhere() { db.changes.n.Add(1) }
