package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the dialect's migrations in order. File names are
// "NNNN_name.sql"; numbers must be unique.
func Migrations(fsys fs.FS) ([]Migration, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, file := range files {
		base := strings.TrimSuffix(path.Base(file), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqldb: migration file %q is not NNNN_name.sql", file)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqldb: migrations %q and %q share version %d", prev, file, v)
		}
		seen[v] = file
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(data)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies the migrations not applied yet, each in its own
// transaction together with its record, and returns the versions it applied.
// It holds the dialect's migration lock (a session lock on PostgreSQL) on one
// connection throughout, so replicas starting together take turns.
func (db *DB) Migrate(ctx context.Context, now time.Time) (applied []int, err error) {
	return db.MigrateTo(ctx, now, math.MaxInt)
}

// MigrateTo is Migrate that stops after the migration numbered last, for
// tests of what a migration does to data made before it.
func (db *DB) MigrateTo(ctx context.Context, now time.Time, last int) (applied []int, err error) {
	defer func() {
		if err != nil {
			err = db.d.Classify(err)
		}
	}()
	all, err := Migrations(db.migrations)
	if err != nil {
		return nil, err
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, db.queries["MigrateLock"]); err != nil {
		return nil, fmt.Errorf("MigrateLock: %w", err)
	}
	defer func() {
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), db.queries["MigrateUnlock"]); uerr != nil && err == nil {
			err = fmt.Errorf("MigrateUnlock: %w", uerr)
		}
	}()
	if _, err := conn.ExecContext(ctx, db.queries["MigrateInit"]); err != nil {
		return nil, fmt.Errorf("MigrateInit: %w", err)
	}
	for _, m := range all {
		if m.Version > last {
			break
		}
		done, err := db.migrate(ctx, conn, m, now)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

// migrate applies one migration on conn unless it was applied already.
func (db *DB) migrate(ctx context.Context, conn *sql.Conn, m Migration, now time.Time) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, db.queries["MigrateApplied"], m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("MigrateApplied: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
	}
	if step := steps[m.Version]; step != nil {
		if err := step(ctx, db, tx); err != nil {
			return false, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, db.queries["MigrateRecord"], m.Version, m.Name, db.d.TimeArg(now)); err != nil {
		return false, fmt.Errorf("MigrateRecord: %w", err)
	}
	return true, tx.Commit()
}

// MigrationStatus is what a database holds of the dialect's migrations.
type MigrationStatus struct {
	// Applied lists the migrations the database records, in order.
	Applied []Migration
	// Pending lists the migrations this build has that the database has
	// not applied yet.
	Pending []Migration
	// Unknown lists the applied versions this build does not have: the
	// database was migrated by a newer usher.
	Unknown []int
}

// Status reports which migrations the database has applied and which are
// pending, without changing anything: a database never migrated has them
// all pending.
func (db *DB) Status(ctx context.Context) (*MigrationStatus, error) {
	all, err := Migrations(db.migrations)
	if err != nil {
		return nil, err
	}
	var n int
	if err := db.read.QueryRowContext(ctx, db.queries["MigrateTableExists"]).Scan(&n); err != nil {
		return nil, fmt.Errorf("MigrateTableExists: %w", err)
	}
	applied := map[int]string{}
	if n > 0 {
		rows, err := db.read.QueryContext(ctx, db.queries["MigrateList"])
		if err != nil {
			return nil, fmt.Errorf("MigrateList: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var m Migration
			if err := rows.Scan(&m.Version, &m.Name); err != nil {
				return nil, fmt.Errorf("MigrateList: %w", err)
			}
			applied[m.Version] = m.Name
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("MigrateList: %w", err)
		}
	}
	st := &MigrationStatus{}
	for _, m := range all {
		if _, ok := applied[m.Version]; ok {
			st.Applied = append(st.Applied, m)
			delete(applied, m.Version)
		} else {
			st.Pending = append(st.Pending, m)
		}
	}
	for v := range applied {
		st.Unknown = append(st.Unknown, v)
	}
	sort.Ints(st.Unknown)
	return st, nil
}

// ErrNoBackup is Backup's error on a dialect that cannot copy itself
// (PostgreSQL: pg_dump does).
var ErrNoBackup = errors.New("this database is not backed up by usher")

// Backup writes a consistent copy of the whole database to the file at
// path, which must not exist, while the database stays in use (SQLite's
// VACUUM INTO). Dialects without it return ErrNoBackup. The file is made
// first, readable and writable by its owner alone, and SQLite writes into
// it: made by SQLite, it was readable by everyone (0644) for as long as
// the copy took, and to whoever opened it then.
func (db *DB) Backup(ctx context.Context, path string) error {
	q, ok := db.queries["Backup"]
	if !ok {
		return ErrNoBackup
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, q, path); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
