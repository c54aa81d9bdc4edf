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
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"usher"
	"usher/store"
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

// File returns the file a path of Open names: the path itself, or a
// file: URI's path as SQLite reads it — its authority (none, or
// localhost) dropped, its %-escapes decoded, its query and fragment cut.
// A URI it cannot read is returned as it is, for SQLite to refuse.
func File(path string) string {
	uri, ok := strings.CutPrefix(path, "file:")
	if !ok {
		return path
	}
	uri, _, _ = strings.Cut(uri, "?")
	uri, _, _ = strings.Cut(uri, "#")
	if rest, ok := strings.CutPrefix(uri, "//"); ok {
		host, p, _ := strings.Cut(rest, "/")
		if host != "" && host != "localhost" {
			return path
		}
		uri = "/" + p
	}
	file, err := url.PathUnescape(uri)
	if err != nil {
		return path
	}
	return file
}

// uriEscaper escapes what a URI's path may not hold as itself.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// createPrivate makes the database's file, when it does not exist yet and
// mode lets SQLite make it, readable and writable by its owner alone: it
// holds password and token hashes, and SQLite would make it 0644, as its
// write-ahead log and shared memory, which take the database's mode. An
// empty file is a new database to SQLite.
func createPrivate(path, mode string) error {
	if mode != "" && mode != "rwc" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	return f.Close()
}

// Open opens (creating it if needed) the database file at path. It does not
// migrate; call Migrate on the result. path may be a SQLite URI filename,
// "file:PATH?mode=ro", whose parameters go to SQLite along with usher's.
func Open(path string) (*sqldb.DB, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.Contains(path, "mode=memory") {
		return nil, errors.New("sqlite: an in-memory database cannot be shared by the reader pool; give a file path")
	}
	params, original := url.Values{}, path
	if uri, ok := strings.CutPrefix(path, "file:"); ok {
		// SQLite reads no further than a fragment: neither is the
		// query read past one (a mode there is no mode).
		uri, _, _ = strings.Cut(uri, "#")
		var query string
		path, query, _ = strings.Cut(uri, "?")
		var err error
		if params, err = url.ParseQuery(query); err != nil {
			return nil, fmt.Errorf("sqlite: the parameters of %s: %w", uri, err)
		}
	} else {
		// A plain path goes to SQLite in a URI, which would read its %,
		// ? and # as a URI's, and a path's leading // as an authority:
		// the file opened is the one named.
		path = uriEscaper.Replace(path)
		if strings.HasPrefix(path, "/") {
			path = "//" + path
		}
	}
	if err := createPrivate(File(original), params.Get("mode")); err != nil {
		return nil, err
	}
	params.Set("_busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10))
	params.Set("_foreign_keys", "1")
	params.Set("_synchronous", "NORMAL")
	params.Set("_txlock", "immediate")
	// Statement journals and temporary tables in memory, not in files.
	params.Add("_pragma", "temp_store(2)")
	write, err := sql.Open("sqlite", "file:"+path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", original, err)
	}
	// One writer: SQLite serialises writes anyway, and a single connection
	// turns lock contention into an orderly queue in the pool.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.Ping(); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", original, err)
	}
	if err := walMode(write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", original, err)
	}
	params.Del("_txlock")
	params.Set("_query_only", "1")
	read, err := sql.Open("sqlite", "file:"+path+"?"+params.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", original, err)
	}
	n := max(4, runtime.NumCPU())
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	q, err := fs.Sub(queries, "queries")
	if err != nil {
		return nil, err
	}
	return sqldb.Open(sqldb.Config{
		Dialect:    dialect{path: path},
		Write:      write,
		Read:       read,
		Queries:    q,
		Migrations: Migrations(),
		Prepare:    true,
	})
}

// busyTimeout is how long a statement waits for another connection's
// lock before it fails with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// walMode puts the database in WAL mode, which the file keeps. Making a
// new file WAL needs it alone for a moment, and SQLite answers a race for
// that (two processes opening one new file at once: usher serve beside
// usher import) with SQLITE_BUSY at once, without waiting out the busy
// timeout; so the pragma is tried again, for as long as that timeout.
func walMode(db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		_, err := db.Exec("PRAGMA journal_mode = WAL")
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

// dialect is SQLite's side of sqldb.Dialect.
type dialect struct {
	// path is the database file's, for errors an operator must act on.
	path string
}

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
func (d dialect) Classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		// The code does not say which index; the engine finds out.
		return &usher.UniqueError{Err: err}
	case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
		// A load's users_claim_load refuses an address claimed already.
		if strings.Contains(se.Error(), "email_claims:") {
			return &usher.UniqueError{Field: "email", Err: err}
		}
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", usher.ErrNotFound, err)
	}
	return d.explain(se.Code()&0xff, err)
}

// explain puts the failures an operator must act on, by their primary
// result code, in the operator's words; others are returned as they are.
func (d dialect) explain(code int, err error) error {
	dir := filepath.Dir(d.path)
	switch code {
	case sqlite3.SQLITE_READONLY:
		return fmt.Errorf("the database file is read-only: check that the user usher runs as may write %s "+
			"and the directory %s, where SQLite keeps its -wal and -shm files (or that it was not opened with mode=ro): %w",
			d.path, dir, err)
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("the disk holding the database %s is full: free space on it or move the database "+
			"to a larger one; usher takes no writes until then: %w", d.path, err)
	case sqlite3.SQLITE_BUSY:
		return fmt.Errorf("%w (%s): %w", store.ErrLocked, d.path, err)
	case sqlite3.SQLITE_CANTOPEN:
		return fmt.Errorf("SQLite cannot open the database %s or its -wal and -shm files: check that %s exists "+
			"and that the user usher runs as may read and write there: %w", d.path, dir, err)
	}
	return err
}

// FailedStatementAbortsTx is false: SQLite undoes the failed statement
// only, and the transaction goes on; except a multi-row insert
// (UserInsertMany), which fails without undoing the rows it wrote, and
// whose caller gives the transaction up.
func (dialect) FailedStatementAbortsTx() bool { return false }

// Analyze is empty: usher's statements name the index that serves them, and
// SQLite plans them the same with statistics or without.
func (dialect) Analyze() string { return "" }

// UsersInOrder keeps SQLite from the index on deletion: planning without
// statistics, it takes "deleted_at IS NULL" for a narrow condition, reads
// every live user through that index and sorts them all for a page of 20
// (30–250 ms at 100,000 users, seconds at a million) instead of walking
// the rowid, or the index in the page's order, and stopping after 21 (an
// index entry ends with the rowid, so each holds (col, id)). By id, the
// table is read NOT INDEXED; by uuid and by name, the unique indexes that
// hold them are named (the one of names is partial, of live users: it
// serves only their pages), which a load never sets aside; by creation,
// the condition is written so that no index serves it (+deleted_at), and
// the index in creation order wins: a load sets that index aside
// (LoadSetAside), and a statement naming one that is gone fails.
func (dialect) UsersInOrder(col string, live bool) (from, liveCond string) {
	switch {
	case col == "id":
		return "users NOT INDEXED", "deleted_at IS NULL"
	case col == "created_at":
		return "users", "+deleted_at IS NULL"
	case col == "uuid":
		return "users INDEXED BY sqlite_autoindex_users_1", "deleted_at IS NULL"
	case col == "username_key" && live:
		return "users INDEXED BY users_username_key", "deleted_at IS NULL"
	}
	return "users", "deleted_at IS NULL"
}

// PackedUser is true: modernc's driver reads every column's name and
// declared type at each query and enters the connection's mutex at each
// column it hands over, and converts each through database/sql; one
// column, a JSON array of 43 values, costs a fraction of that.
func (dialect) PackedUser() bool { return true }

// SearchWindow is 0: the full-text index yields its matches in id order
// (see SearchUsers), so a page of a search stops after a page of matches.
func (dialect) SearchWindow() int { return 0 }

// WalkAt is 2,000: a search sorted other than by id read every match
// through the full-text index, the users' rows with it, and sorted them
// all for a page (126 ms for 22,700 matches of 200,000 users); one of more
// matches than this walks the order's index instead, each user tested
// against the matches' rowids, which the full-text index gives at once,
// and stops after the page: at most 21 × users ÷ 2,000 users walked, 11,000
// at a million. Fewer are sorted, as before: a walk would pass every user
// for a string none holds. So for users of an uncommon value: a page of
// the administrators walked every user when there was one (250 ms at a
// million, 945 ms by creation), of blocked users when there were none
// (431 ms; 3.2 s by name); up to 2,000 are read through their index.
func (dialect) WalkAt() int { return 2000 }

// UsersThrough names the index: planning without statistics, SQLite may
// take "deleted_at IS NULL" for the narrower condition (see UsersInOrder).
func (dialect) UsersThrough(index string) string { return "users INDEXED BY " + index }

// WeakSearch is false: the full-text indexes hold every trigram of their
// columns, spaces and punctuation included, and read no windows.
func (dialect) WeakSearch(string) bool { return false }

// SearchInIDOrder is true when every string of s goes through the
// trigram index, which yields its matches in id order, either way (see
// SearchUsers); a string it does not take is matched with LIKE in
// whatever order the plan reads the table, which may sort.
func (dialect) SearchInIDOrder(s sqldb.UserSearch) bool {
	if s.UUID != "" || s.ExternalID != "" {
		return false
	}
	for _, v := range []string{s.Query, s.Username, s.Email} {
		if v != "" && !trigramIndexed(v) {
			return false
		}
	}
	return true
}

// trigramIndexed reports whether the trigram index can match v: it needs
// at least three characters.
func trigramIndexed(v string) bool { return utf8.RuneCountInString(v) >= 3 }

// SearchUsers matches through a trigram index, which needs at least three
// characters: users_fts covers username, name and e-mail address,
// users_names_fts the first two alone (migration 0034), which a search
// that looks at no address reads — users_fts would read the trigram lists
// of every address holding its string, the column filter applied after
// them. Shorter strings, and the UUID and external id, which no index
// holds, are matched with LIKE, which folds the case of ASCII letters
// only. The index drives the statement: it yields its matches in id
// order, so a page ordered by id reads a page of matches, not all of them
// (a three-letter query can match a tenth of all users). Every string an
// index takes is one phrase of one MATCH, so that they narrow one another
// inside it.
func (dialect) SearchUsers(b *sqldb.Builder, s sqldb.UserSearch) {
	var phrases, conds []string
	// search matches v in cols: through the index when it can, else with
	// LIKE on the users table.
	search := func(v string, indexed bool, cols ...string) {
		if v == "" {
			return
		}
		if indexed && trigramIndexed(v) {
			phrases = append(phrases, "{"+strings.Join(cols, " ")+"} : "+`"`+strings.ReplaceAll(v, `"`, `""`)+`"`)
			return
		}
		p := b.Arg("%" + sqldb.EscapeLike(v) + "%")
		alts := make([]string, len(cols))
		for i, col := range cols {
			alts[i] = "users." + col + " LIKE " + p + ` ESCAPE '\'`
		}
		conds = append(conds, "("+strings.Join(alts, " OR ")+")")
	}
	if s.QueryEmail {
		search(s.Query, true, "username", "name", "email")
	} else {
		search(s.Query, true, "username", "name")
	}
	search(s.Username, true, "username")
	search(s.Email, true, "email")
	search(s.UUID, false, "uuid")
	search(s.ExternalID, false, "external_id")
	index := "users_names_fts"
	if (s.QueryEmail && trigramIndexed(s.Query)) || trigramIndexed(s.Email) {
		index = "users_fts"
	}
	switch {
	case len(phrases) > 0 && b.Walks():
		// The rowid is written +users.id so that no plan looks the
		// matches up one by one: the statement walks its order's index.
		b.Where("+users.id IN (SELECT rowid FROM " + index + " WHERE " + index + " MATCH " +
			b.Arg(strings.Join(phrases, " AND ")) + ")")
	case len(phrases) > 0:
		b.From("(SELECT rowid AS fts_id FROM "+index+" WHERE "+index+" MATCH "+b.Arg(strings.Join(phrases, " AND "))+") AS matches"+
			" CROSS JOIN users ON users.id = matches.fts_id", "fts_id")
	}
	for _, c := range conds {
		b.Where(c)
	}
}
