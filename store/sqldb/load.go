package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"

	"usher/store"
)

// LoadStart finishes a load left unfinished, then, when the users table
// is small, sets aside the indexes the dialect's LoadSetAside names, in
// one transaction, and readies the writing connection for a load
// (LoadConnStart). A load that ends without LoadFinish — the process
// killed — leaves the indexes set aside: the next LoadStart or
// LoadFinish builds them. From LoadStart to LoadFinish the writing
// connection waits for another process's write lock as long as the
// dialect's LoadWaitStart says: for a server finishing this load
// (LoadRecover), or one that another import cut short.
func (db *DB) LoadStart(ctx context.Context) (loading bool, err error) {
	db.loadMu.Lock()
	defer db.loadMu.Unlock()
	if err := db.loadWait(ctx, "LoadWaitStart"); err != nil {
		return false, err
	}
	defer func() {
		if !loading {
			err = errors.Join(err, db.loadWait(context.WithoutCancel(ctx), "LoadWaitFinish"))
		}
	}()
	if _, err := db.loadFinish(ctx); err != nil {
		return false, err
	}
	var n int
	if err := db.write.QueryRowContext(ctx, db.queries["LoadTableSize"], store.LoadSmallTable+1).Scan(&n); err != nil {
		return false, fmt.Errorf("LoadTableSize: %w", err)
	}
	if n > store.LoadSmallTable {
		return false, nil
	}
	if _, err := db.ddl(ctx, db.write, "LoadLock", "LoadSetAside", ""); err != nil {
		return false, err
	}
	if _, err := db.write.ExecContext(ctx, db.queries["LoadConnStart"]); err != nil {
		return false, fmt.Errorf("LoadConnStart: %w", err)
	}
	db.loading.Store(true)
	return true, nil
}

// loadWait runs the dialect's named LoadWaitStart or LoadWaitFinish on
// the writing connection.
func (db *DB) loadWait(ctx context.Context, name string) error {
	if _, err := db.write.ExecContext(ctx, db.queries[name]); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// LoadFinish builds what a load set aside, when the dialect's
// LoadUnfinished finds it missing, and then refreshes the planner's
// statistics; it restores the writing connection's settings either way.
// The statistics are refreshed too when this store was loading and
// another process finished the load meanwhile (LoadRecover): their
// users came after it.
func (db *DB) LoadFinish(ctx context.Context) error {
	db.loadMu.Lock()
	defer db.loadMu.Unlock()
	loading := db.loading.Load()
	finished, err := db.loadFinish(ctx)
	if err == nil && !finished && loading {
		err = db.Analyze(ctx)
	}
	return errors.Join(err, db.loadWait(context.WithoutCancel(ctx), "LoadWaitFinish"))
}

// LoadRecover finishes a load that a process cut short — usher import
// killed, or its machine lost — as LoadFinish does, and reports whether
// it did. A load this store is running is left alone, and so is the
// database of a standby, which takes no writes (its primary finishes
// the load); one that another process is running is finished too, and
// goes on with what it set aside built. Of two processes that recover
// one load at once, one finishes it and the other finds it finished.
func (db *DB) LoadRecover(ctx context.Context) (bool, error) {
	db.loadMu.Lock()
	defer db.loadMu.Unlock()
	if db.loading.Load() {
		return false, nil
	}
	var standby bool
	if err := db.write.QueryRowContext(ctx, db.queries["ReadyStandby"]).Scan(&standby); err != nil {
		return false, fmt.Errorf("ReadyStandby: %w", err)
	}
	if standby {
		return false, nil
	}
	finished, err := db.loadFinish(ctx)
	if err != nil {
		if locked := db.d.Classify(err); errors.Is(locked, store.ErrLocked) {
			return false, locked
		}
	}
	return finished, err
}

// loadFinish is LoadFinish, under loadMu, without the statistics of a
// load that another process finished; it reports whether it finished
// one. Each step of the end takes the dialect's lock for it and then
// asks again whether it has work, so that of two processes finishing one
// load at once the later skips what the other finished (restoreEnd).
func (db *DB) loadFinish(ctx context.Context) (bool, error) {
	db.loading.Store(false)
	if _, err := db.write.ExecContext(ctx, db.queries["LoadConnFinish"]); err != nil {
		return false, fmt.Errorf("LoadConnFinish: %w", err)
	}
	var unfinished bool
	if err := db.write.QueryRowContext(ctx, db.queries["LoadUnfinished"]).Scan(&unfinished); err != nil {
		return false, fmt.Errorf("LoadUnfinished: %w", err)
	}
	if !unfinished {
		return false, nil
	}
	if err := db.restoreBeside(ctx); err != nil {
		return false, db.restoreFailed(ctx, err)
	}
	finished, err := db.restoreEnd(ctx)
	if err != nil {
		return false, db.restoreFailed(ctx, err)
	}
	if !finished {
		return false, nil
	}
	if err := db.Analyze(ctx); err != nil {
		return true, fmt.Errorf("the load is finished, but its statistics are not: %w", err)
	}
	return true, nil
}

// restoreBeside runs the dialect's LoadRestoreBeside and
// LoadRestoreIndexes, those that are not empty, at once, each in a
// transaction of its own under its own lock, when LoadBesideNeeded says
// so then: the bulk of a load's end, which restoreEnd then completes.
func (db *DB) restoreBeside(ctx context.Context) error {
	var wg sync.WaitGroup
	var errs [2]error
	for i, step := range [][2]string{{"LoadRestoreBesideLock", "LoadRestoreBeside"}, {"LoadRestoreIndexesLock", "LoadRestoreIndexes"}} {
		wg.Go(func() { _, errs[i] = db.ddl(ctx, db.write, step[0], step[1], "LoadBesideNeeded") })
	}
	wg.Wait()
	return errors.Join(errs[:]...)
}

// restoreEnd runs the dialect's LoadRestore, when LoadRestoreNeeded says
// so, and then LoadValidate, when the load is still unfinished, each in a
// transaction under LoadLock, and reports whether either ran. They run
// on one connection that holds the dialect's LoadEndLock meanwhile (on
// PostgreSQL a session's advisory lock; LoadLock takes it too), so that
// a process finishing the load at once waits for both and then finds
// neither to do. LoadRestore puts back what a load set aside and must be
// done at once; LoadValidate, what can be done after it without holding
// back reads.
func (db *DB) restoreEnd(ctx context.Context) (ran bool, err error) {
	c, err := db.write.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("LoadEndLock: %w", err)
	}
	defer c.Close()
	if q := db.queries["LoadEndLock"]; strings.TrimSpace(q) != "" {
		if _, err := c.ExecContext(ctx, q); err != nil {
			return false, fmt.Errorf("LoadEndLock: %w", err)
		}
		defer func() {
			var held bool
			uerr := c.QueryRowContext(context.WithoutCancel(ctx), db.queries["LoadEndUnlock"]).Scan(&held)
			if uerr == nil && !held {
				uerr = errors.New("the session did not hold the lock: is a pooler running each statement on another session?")
			}
			if uerr != nil {
				// A connection that may still hold the lock is closed, not
				// handed back to the pool.
				c.Raw(func(any) error { return driver.ErrBadConn })
				err = errors.Join(err, fmt.Errorf("LoadEndUnlock: %w", uerr))
			}
		}()
	}
	restored, err := db.ddl(ctx, c, "LoadLock", "LoadRestore", "LoadRestoreNeeded")
	if err != nil {
		return false, err
	}
	validated, err := db.ddl(ctx, c, "LoadLock", "LoadValidate", "LoadUnfinished")
	if err != nil {
		return false, err
	}
	return restored || validated, nil
}

// restoreFailed explains a LoadRestore that failed: when loaded users'
// primary addresses are claimed by others, it names them, for the
// operator to change; the load stays unfinished, with every user kept.
func (db *DB) restoreFailed(ctx context.Context, err error) error {
	rows, qerr := db.write.QueryContext(ctx, db.queries["LoadClaimConflicts"])
	if qerr != nil {
		return errors.Join(err, fmt.Errorf("LoadClaimConflicts: %w", qerr))
	}
	defer rows.Close()
	var pairs []string
	for rows.Next() {
		var key string
		var id, other int64
		if err := rows.Scan(&key, &id, &other); err != nil {
			return fmt.Errorf("LoadClaimConflicts: %w", err)
		}
		pairs = append(pairs, fmt.Sprintf("user %d's address %s is user %d's secondary address", id, key, other))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("LoadClaimConflicts: %w", err)
	}
	if len(pairs) == 0 {
		return err
	}
	return fmt.Errorf("the load cannot finish: %s; every loaded user is kept, but the search index misses "+
		"them until the address of one user of each pair is changed and the import run again: %w",
		strings.Join(pairs, "; "), err)
}

// ddl runs the named statements in one transaction on on, after the
// dialect's lock statement (when it has one) and only if the condition,
// a named query of one boolean, holds then (when one is named); it
// reports whether they ran. Statements the dialect leaves empty do not.
func (db *DB) ddl(ctx context.Context, on interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, lock, name, cond string) (bool, error) {
	if strings.TrimSpace(db.queries[name]) == "" {
		return false, nil
	}
	tx, err := on.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("%s: begin: %w", name, err)
	}
	defer tx.Rollback()
	if q := db.queries[lock]; strings.TrimSpace(q) != "" {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return false, fmt.Errorf("%s: %w", lock, err)
		}
	}
	if cond != "" {
		var holds bool
		if err := tx.QueryRowContext(ctx, db.queries[cond]).Scan(&holds); err != nil {
			return false, fmt.Errorf("%s: %w", cond, err)
		}
		if !holds {
			return false, nil
		}
	}
	if _, err := tx.ExecContext(ctx, db.queries[name]); err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("%s: commit: %w", name, err)
	}
	db.changes.add()
	return true, nil
}
