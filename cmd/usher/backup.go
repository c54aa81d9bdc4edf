package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"usher/store/sqlite"
)

// errPostgresBackup is backup's and restore's answer on PostgreSQL, whose
// own tools do it better than usher could.
var errPostgresBackup = errors.New("usher backs up and restores SQLite only; for PostgreSQL use pg_dump and pg_restore (docs/operations.md)")

func (m *Main) backupCmd(cfg *config) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Copy the SQLite database to FILE, consistently, while usher runs",
		Long: "Copy the SQLite database to FILE, a new file, consistently and while usher serves (SQLite's\n" +
			"VACUUM INTO). The secret key file is not in the copy: back it up too. For PostgreSQL use pg_dump.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDatabase(cfg.database)
			if err != nil {
				return err
			}
			if d.url != "" {
				return errPostgresBackup
			}
			out, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			if _, err := os.Stat(out); err == nil {
				return fmt.Errorf("%s exists already; back up to a new file", args[0])
			}
			db, err := d.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := current(cmd.Context(), db); err != nil {
				return err
			}
			if err := db.Backup(cmd.Context(), out); err != nil {
				return err
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(m.Stdout, "backed up %s to %s (%d bytes); keep the secret key file with it\n", d.path, args[0], st.Size())
			return err
		},
	}
}

func (m *Main) restoreCmd(cfg *config) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the SQLite database with a backup; stop usher first",
		Long: "Replace the SQLite database with FILE, a copy usher backup made, after checking it is an usher\n" +
			"database this usher knows. The database replaced is kept beside it, renamed. A database in use\n" +
			"(its -wal or -shm file exists: usher runs, or stopped uncleanly) is not replaced without --force.\n" +
			"For PostgreSQL use pg_restore.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDatabase(cfg.database)
			if err != nil {
				return err
			}
			if d.url != "" {
				return errPostgresBackup
			}
			return m.restore(cmd.Context(), sqlite.File(d.path), args[0], force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace the database even if it looks in use")
	return cmd
}

// restore replaces the database file target with a checked copy of backup.
func (m *Main) restore(ctx context.Context, target, backup string, force bool) error {
	if _, err := os.Stat(backup); err != nil {
		return fmt.Errorf("the backup %s cannot be read: %w", backup, err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(target + suffix); err == nil && !force {
			return fmt.Errorf("the database %s is in use (%s exists): stop usher first, or give --force", target, target+suffix)
		}
	}
	// The copy is checked where it will live, then renamed into place.
	tmp := target + ".restore"
	if err := copyFile(backup, tmp); err != nil {
		return err
	}
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(tmp + suffix)
		}
	}()
	pending, err := checkBackup(ctx, tmp, backup)
	if err != nil {
		return err
	}
	if _, err := os.Stat(target); err == nil {
		old := target + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(target, old); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "the database replaced is kept as %s\n", old)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(target + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "restored %s from %s\n", target, backup)
	if pending > 0 {
		fmt.Fprintf(m.Stdout, "%d migration(s) are pending: usher migrate or usher serve applies them\n", pending)
	}
	return nil
}

// checkBackup opens the copy of a backup and checks that it is an usher
// database with no migration this usher does not know; it returns the
// number of migrations pending.
func checkBackup(ctx context.Context, path, name string) (int, error) {
	db, err := sqlite.Open(path)
	if err != nil {
		return 0, fmt.Errorf("%s is not a SQLite database: %w", name, err)
	}
	defer db.Close()
	st, err := db.Status(ctx)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%s is not a SQLite database: %w", name, err)
	case len(st.Applied) == 0 && len(st.Unknown) == 0:
		return 0, fmt.Errorf("%s is not an usher database: it records no usher migration", name)
	case len(st.Unknown) > 0:
		return 0, fmt.Errorf("%s has migration %d, which this usher does not know: restore it with the usher that made it", name, st.Unknown[0])
	}
	return len(st.Pending), nil
}

// copyFile copies the file src to dst, readable by its owner only, and
// syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
