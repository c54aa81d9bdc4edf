package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"usher/store/postgres"
	"usher/store/sqldb"
	"usher/store/sqlite"
)

// database is where --database points: a SQLite file or a PostgreSQL URL.
type database struct {
	// path is the SQLite file; empty for PostgreSQL.
	path string
	// url is the PostgreSQL URL; empty for SQLite.
	url string
}

// parseDatabase reads --database: a file path, sqlite:PATH or a
// postgres:// URL, which must name its database (without one, PostgreSQL
// would connect to the database named like the user, usually postgres).
func parseDatabase(s string) (database, error) {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil {
			return database{}, errors.New("--database: the PostgreSQL URL cannot be parsed")
		}
		if strings.Trim(u.Path, "/") == "" && u.Query().Get("dbname") == "" {
			return database{}, fmt.Errorf("--database: the PostgreSQL URL %s names no database; add it as the path, postgres://host/usher", redactSecretURL(s))
		}
		return database{url: s}, nil
	case strings.HasPrefix(s, "sqlite:"):
		return database{path: strings.TrimPrefix(s, "sqlite:")}, nil
	case strings.Contains(s, "://"):
		return database{}, fmt.Errorf("--database: unknown scheme in %q; use a file path, sqlite:PATH or postgres://", redactSecretURL(s))
	case strings.Contains(s, "=") && strings.Contains(s, " "):
		return database{}, errors.New("--database: keyword=value connection strings are not supported; use a postgres:// URL")
	}
	return database{path: s}, nil
}

// open opens the database without creating a missing SQLite file when
// mustExist is set, and without migrating.
func (d database) open(ctx context.Context, mustExist bool) (*sqldb.DB, error) {
	if d.url != "" {
		return postgres.Open(ctx, d.url)
	}
	if mustExist {
		if _, err := os.Stat(sqlite.File(d.path)); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("there is no database at %s; give --database, or create one with usher migrate", d.path)
		} else if err != nil {
			return nil, err
		}
	}
	return sqlite.Open(d.path)
}

// openDB opens the database the URL names, creating it if needed, and
// applies the migrations it lacks.
func openDB(ctx context.Context, url string, now time.Time) (*sqldb.DB, error) {
	d, err := parseDatabase(url)
	if err != nil {
		return nil, err
	}
	db, err := d.open(ctx, false)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx, now); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}

// openExisting opens a database that exists and is migrated, changing
// nothing: a missing SQLite file, a database never migrated or one with
// migrations pending is an error that says what to do.
func openExisting(ctx context.Context, url string, _ time.Time) (*sqldb.DB, error) {
	d, err := parseDatabase(url)
	if err != nil {
		return nil, err
	}
	db, err := d.open(ctx, true)
	if err != nil {
		return nil, err
	}
	if err := current(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// current checks that db holds every migration of this build and none
// newer.
func current(ctx context.Context, db *sqldb.DB) error {
	st, err := db.Status(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("read the schema version: %w", err)
	case len(st.Applied) == 0 && len(st.Unknown) == 0:
		return errors.New("the database is empty or not an usher database; create it with usher migrate")
	case len(st.Unknown) > 0:
		return fmt.Errorf("the database has migration %d, which this usher does not know: it was migrated by a newer usher", st.Unknown[0])
	case len(st.Pending) > 0:
		return fmt.Errorf("the database lacks %d migration(s) from %04d_%s on; run usher migrate", len(st.Pending), st.Pending[0].Version, st.Pending[0].Name)
	}
	return nil
}

func (m *Main) migrateCmd(cfg *config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations that are not applied yet, creating the database if needed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDatabase(cfg.database)
			if err != nil {
				return err
			}
			db, err := d.open(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer db.Close()
			applied, err := db.Migrate(cmd.Context(), time.Now())
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			for _, v := range applied {
				fmt.Fprintf(m.Stdout, "applied %04d\n", v)
			}
			fmt.Fprintln(m.Stdout, "database is up to date")
			return nil
		},
	}
	output := outputTable
	status := &cobra.Command{
		Use:   "status",
		Short: "List the migrations applied and pending; changes nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDatabase(cfg.database)
			if err != nil {
				return err
			}
			db, err := d.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := db.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("read the schema version: %w", err)
			}
			type row struct {
				Version int    `json:"version"`
				Name    string `json:"name"`
				State   string `json:"state"`
			}
			rows := []row{}
			for _, mg := range st.Applied {
				rows = append(rows, row{mg.Version, mg.Name, "applied"})
			}
			for _, v := range st.Unknown {
				rows = append(rows, row{v, "", "unknown to this usher"})
			}
			for _, mg := range st.Pending {
				rows = append(rows, row{mg.Version, mg.Name, "pending"})
			}
			return m.print(cmd, output, rows, func(t *table) {
				t.row("VERSION", "NAME", "STATE")
				for _, r := range rows {
					t.row(fmt.Sprintf("%04d", r.Version), r.Name, r.State)
				}
			})
		},
	}
	addOutputFlag(status, &output)
	cmd.AddCommand(status)
	return cmd
}
