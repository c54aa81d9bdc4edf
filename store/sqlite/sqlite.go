// Package sqlite is the SQLite backend of the store: a pure-Go driver
// (modernc.org/sqlite), WAL mode, foreign keys on, a busy timeout, one writer
// connection and a pool of readers.
package sqlite

import (
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"usher"
	"usher/store/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

//go:embed queries/*.sql
var queries embed.FS

// Migrations returns the embedded migrations.
func Migrations() fs.FS { return sub(migrations, "migrations") }

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the directory is embedded; it exists
	}
	return s
}

// Open opens (creating it if needed) the database file at path. It does not
// migrate; call Migrate on the result. path may be a SQLite URI filename,
// "file:PATH?mode=ro", whose parameters go to SQLite along with usher's.
func Open(path string) (*sqldb.DB, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.Contains(path, "mode=memory") {
		return nil, errors.New("sqlite: an in-memory database cannot be shared by the reader pool; give a file path")
	}
	params := url.Values{}
	if uri, ok := strings.CutPrefix(path, "file:"); ok {
		var query string
		path, query, _ = strings.Cut(uri, "?")
		var err error
		if params, err = url.ParseQuery(query); err != nil {
			return nil, fmt.Errorf("sqlite: the parameters of %s: %w", uri, err)
		}
	}
	params.Set("_busy_timeout", "10000")
	params.Set("_foreign_keys", "1")
	params.Set("_journal_mode", "WAL")
	params.Set("_synchronous", "NORMAL")
	params.Set("_txlock", "immediate")
	// Statement journals and temporary tables in memory, not in files.
	params.Add("_pragma", "temp_store(2)")
	write, err := sql.Open("sqlite", "file:"+path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One writer: SQLite serialises writes anyway, and a single connection
	// turns lock contention into an orderly queue in the pool.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.Ping(); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	params.Del("_txlock")
	params.Del("_journal_mode")
	params.Set("_query_only", "1")
	read, err := sql.Open("sqlite", "file:"+path+"?"+params.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	q, err := fs.Sub(queries, "queries")
	if err != nil {
		return nil, err
	}
	return sqldb.Open(sqldb.Config{
		Dialect:    dialect{},
		Write:      write,
		Read:       read,
		Queries:    q,
		Migrations: Migrations(),
		Prepare:    true,
	})
}

// dialect is SQLite's side of sqldb.Dialect.
type dialect struct{}

func (dialect) Name() string { return "sqlite" }

func (dialect) Placeholder(n int) string { return "?" + strconv.Itoa(n) }

// PlaceholderInOrder is anonymous: the driver looks each numbered marker up
// by a scan of the statement's markers, which for a statement of thousands
// of arguments costs more than running it.
func (dialect) PlaceholderInOrder(int) string { return "?" }

// TimeArg stores times as unix microseconds.
func (dialect) TimeArg(t time.Time) any { return t.UnixMicro() }

// ListArg passes a list as a JSON array, which the queries read with
// json_each: SQLite has no array type.
func (dialect) ListArg(items any) (any, error) {
	data, err := json.Marshal(items)
	return string(data), err
}

// Classify maps SQLite's extended result codes to the store's errors.
func (dialect) Classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		// The code does not say which index; the engine finds out.
		return &usher.UniqueError{Err: err}
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", usher.ErrNotFound, err)
	}
	return err
}

// Analyze is empty: usher's statements name the index that serves them, and
// SQLite plans them the same with statistics or without.
func (dialect) Analyze() string { return "" }

// SearchUsers matches through the trigram index, which needs at least three
// characters; shorter queries fall back to LIKE. The index drives the
// statement: it yields its matches in id order, so a page ordered by id
// reads a page of matches, not all of them (a three-letter query can match
// a tenth of all users).
func (dialect) SearchUsers(b *sqldb.Builder, q string, email bool) {
	if utf8.RuneCountInString(q) >= 3 {
		phrase := `"` + strings.ReplaceAll(q, `"`, `""`) + `"`
		if !email {
			phrase = "{username name} : " + phrase
		}
		b.From("(SELECT rowid AS fts_id FROM users_fts WHERE users_fts MATCH "+b.Arg(phrase)+") AS matches"+
			" CROSS JOIN users ON users.id = matches.fts_id", "fts_id")
		return
	}
	p := b.Arg("%" + sqldb.EscapeLike(q) + "%")
	cond := "(username LIKE " + p + ` ESCAPE '\' OR name LIKE ` + p + ` ESCAPE '\'`
	if email {
		cond += " OR email LIKE " + p + ` ESCAPE '\'`
	}
	b.Where(cond + ")")
}
