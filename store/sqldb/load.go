package sqldb

import (
	"context"
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
// LoadFinish builds them.
func (db *DB) LoadStart(ctx context.Context) (bool, error) {
	db.loadMu.Lock()
	defer db.loadMu.Unlock()
	if err := db.loadFinish(ctx); err != nil {
		return false, err
	}
	var n int
	if err := db.write.QueryRowContext(ctx, db.queries["LoadTableSize"], store.LoadSmallTable+1).Scan(&n); err != nil {
		return false, fmt.Errorf("LoadTableSize: %w", err)
	}
	if n > store.LoadSmallTable {
		return false, nil
	}
	if err := db.ddl(ctx, "LoadSetAside"); err != nil {
		return false, err
	}
	if _, err := db.write.ExecContext(ctx, db.queries["LoadConnStart"]); err != nil {
		return false, fmt.Errorf("LoadConnStart: %w", err)
	}
	db.loading.Store(true)
	return true, nil
}

// LoadFinish builds what a load set aside, when the dialect's
// LoadUnfinished finds it missing, and then refreshes the planner's
// statistics; it restores the writing connection's settings either way.
func (db *DB) LoadFinish(ctx context.Context) error {
	db.loadMu.Lock()
	defer db.loadMu.Unlock()
	return db.loadFinish(ctx)
}

// LoadRecover finishes a load that a process cut short — usher import
// killed, or its machine lost — as LoadFinish does, and reports whether
// there was one. A load this store is running is left alone; one that
// another process is running is finished too, and goes on with what it
// set aside built, slower but with the same result.
func (db *DB) LoadRecover(ctx context.Context) (bool, error) {
	db.loadMu.Lock()
	defer db.loadMu.Unlock()
	if db.loading.Load() {
		return false, nil
	}
	unfinished, err := db.loadUnfinished(ctx)
	if err != nil || !unfinished {
		return false, err
	}
	return true, db.loadFinish(ctx)
}

// loadUnfinished reports whether the dialect's LoadUnfinished finds what
// a load sets aside missing.
func (db *DB) loadUnfinished(ctx context.Context) (bool, error) {
	var unfinished bool
	if err := db.write.QueryRowContext(ctx, db.queries["LoadUnfinished"]).Scan(&unfinished); err != nil {
		return false, fmt.Errorf("LoadUnfinished: %w", err)
	}
	return unfinished, nil
}

// loadFinish is LoadFinish, under loadMu.
func (db *DB) loadFinish(ctx context.Context) error {
	db.loading.Store(false)
	if _, err := db.write.ExecContext(ctx, db.queries["LoadConnFinish"]); err != nil {
		return fmt.Errorf("LoadConnFinish: %w", err)
	}
	unfinished, err := db.loadUnfinished(ctx)
	if err != nil || !unfinished {
		return err
	}
	if err := db.restoreBeside(ctx); err != nil {
		return db.restoreFailed(ctx, err)
	}
	if err := db.ddl(ctx, "LoadRestore"); err != nil {
		return db.restoreFailed(ctx, err)
	}
	return db.Analyze(ctx)
}

// restoreBeside runs the dialect's LoadRestoreBeside and
// LoadRestoreIndexes, those that are not empty, at once, each in a
// transaction of its own: the bulk of a load's end, which LoadRestore
// then completes.
func (db *DB) restoreBeside(ctx context.Context) error {
	var wg sync.WaitGroup
	var errs [2]error
	for i, name := range []string{"LoadRestoreBeside", "LoadRestoreIndexes"} {
		if strings.TrimSpace(db.queries[name]) == "" {
			continue
		}
		wg.Go(func() { errs[i] = db.ddl(ctx, name) })
	}
	wg.Wait()
	return errors.Join(errs[:]...)
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
	return fmt.Errorf("the load cannot finish: %s; every loaded user is kept, but searches miss them "+
		"until the address of one user of each pair is changed and the import run again: %w",
		strings.Join(pairs, "; "), err)
}

// ddl runs the named statements in one transaction.
func (db *DB) ddl(ctx context.Context, name string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, db.queries[name]); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", name, err)
	}
	db.changes.add()
	return nil
}
