package sqldb

import (
	"context"
	"fmt"
	"io/fs"
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
// Concurrent callers are serialised by the dialect's MigrateLock statement.
func (db *DB) Migrate(ctx context.Context, now time.Time) ([]int, error) {
	all, err := Migrations(db.migrations)
	if err != nil {
		return nil, err
	}
	if _, err := db.write.ExecContext(ctx, db.queries["MigrateInit"]); err != nil {
		return nil, fmt.Errorf("MigrateInit: %w", err)
	}
	var applied []int
	for _, m := range all {
		done := false
		err := db.atomic(ctx, func(c *conn) error {
			if _, err := c.exec(ctx, "MigrateLock"); err != nil {
				return err
			}
			var n int
			if err := c.queryRow(ctx, "MigrateApplied", m.Version).Scan(&n); err != nil {
				return fmt.Errorf("MigrateApplied: %w", err)
			}
			if n > 0 {
				done = true
				return nil
			}
			if _, err := c.q.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
			_, err := c.exec(ctx, "MigrateRecord", m.Version, m.Name, c.d.TimeArg(now))
			return err
		})
		if err != nil {
			return applied, err
		}
		if !done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}
