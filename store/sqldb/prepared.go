package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxPrepared bounds how many statement texts a pool keeps prepared. The
// named queries and the shapes the builders make are far fewer; the bound
// only keeps a surprise from growing without end.
const maxPrepared = 1000

// stmtCache keeps each statement text prepared once on a pool, so that the
// engine parses and plans it once rather than at every call.
//
// Its lock is never held while waiting for a connection: a transaction
// holding the one connection of a write pool looks statements up, so a
// lookup waiting behind a prepare that waits for that connection would
// never end.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// lookup returns the prepared statement of query, nil when there is none
// yet.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// get returns the prepared statement of query, preparing it the first
// time; nil (and no error) once the cache is full. Preparing takes a
// connection of the pool: never call it while holding one, as a
// transaction on a one-connection pool does.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	st, ok := c.m[query]
	full := len(c.m) >= maxPrepared
	c.mu.RUnlock()
	switch {
	case ok:
		return st, nil
	case full:
		return nil, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if have, ok := c.m[query]; ok {
		// Another caller prepared it meanwhile.
		st.Close()
		return have, nil
	}
	c.m[query] = st
	return st, nil
}

// close closes the prepared statements.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = map[string]*sql.Stmt{}
	return errors.Join(errs...)
}

// preparedPool is a querier over a pool that runs prepared statements.
type preparedPool struct{ cache *stmtCache }

func (p preparedPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.cache.get(ctx, query)
	if err != nil || st == nil {
		return p.cache.db.ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

func (p preparedPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.cache.get(ctx, query)
	if err != nil || st == nil {
		return p.cache.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (p preparedPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.cache.get(ctx, query)
	if err != nil || st == nil {
		return p.cache.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// preparedTx runs a pool's prepared statements in one of its
// transactions; database/sql reuses the statement already prepared on the
// transaction's connection. A statement not prepared yet runs as text,
// and is noted to be prepared once the transaction is over: the
// transaction holds the connection that preparing on the pool would need.
type preparedTx struct {
	tx      *sql.Tx
	cache   *stmtCache
	missing map[string]bool
}

func (t preparedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	st := t.cache.lookup(query)
	if st == nil {
		t.missing[query] = true
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

// prepareMissing prepares on the pool what the transaction ran as text;
// call it once the transaction is over.
func (t preparedTx) prepareMissing(ctx context.Context) {
	for q := range t.missing {
		// A statement that cannot be prepared goes on running as text.
		_, _ = t.cache.get(ctx, q)
	}
}

func (t preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
