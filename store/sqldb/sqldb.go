// Package sqldb is the database/sql implementation of store.Store that the
// SQLite and PostgreSQL backends share. A backend supplies a Dialect: its own
// SQL text (written for its engine, one named query per statement), its
// migrations, how its driver reports errors and how it searches. This package
// holds only what is the same for both: running statements, scanning rows and
// building the few queries whose shape depends on a filter.
package sqldb

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"usher"
	"usher/store"
)

// Dialect is what a backend supplies.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Placeholder returns the parameter marker of the n-th argument (from 1).
	Placeholder(n int) string
	// PlaceholderInOrder returns the marker of the n-th argument of a
	// statement whose markers stand in the order of their arguments; it
	// may be anonymous.
	PlaceholderInOrder(n int) string
	// Classify turns a driver error into usher.ErrNotFound (a foreign key
	// naming a row that does not exist) or a *usher.UniqueError by its code;
	// other errors are returned as they are.
	// A UniqueError may leave Field empty when the driver does not say which
	// constraint failed; the engine then finds out itself.
	Classify(err error) error
	// TimeArg returns how a time is passed as a statement argument.
	TimeArg(t time.Time) any
	// ListArg returns how a list of values (a slice of int64 or of
	// string) is passed as one statement argument, for the dialect's
	// queries to read as a set.
	ListArg(items any) (any, error)
	// SearchUsers adds to b the conditions of s: each of its strings is
	// contained, case-insensitively and literally, in its columns, through
	// the engine's indexes where it has them, as conditions or with
	// Builder.From.
	SearchUsers(b *Builder, s UserSearch)
	// FailedStatementAbortsTx reports whether a failed statement aborts its
	// transaction, so that nothing more can be read in it (PostgreSQL),
	// rather than undoing that statement only (SQLite).
	FailedStatementAbortsTx() bool
	// Analyze is the statement that refreshes the planner's statistics;
	// empty when the engine's plans do not depend on them.
	Analyze() string
	// SearchWindow is how many users, in id order, a page of a search
	// ordered by id reads first before it asks the search indexes for the
	// rest of the page (see UserList); 0 when the indexes themselves give
	// their matches in id order.
	SearchWindow() int
	// WalkAt is how many matches a search sorted other than by id must
	// have, at the least, for its page to walk the index in the page's
	// order with the search as a condition on each user (Builder.Walks),
	// rather than read every match and sort them; and how many users of
	// an uncommon value (uncommonIndex) a page of them must have for it to
	// walk the order's index, rather than read them through their own
	// (UsersThrough). See UserList. 0 when the engine's planner chooses
	// between the two itself.
	WalkAt() int
	// UsersThrough is the FROM clause of a statement that reads users
	// through index, a partial index that holds every user it keeps.
	UsersThrough(index string) string
	// WeakSearch reports whether the search index finds the users holding
	// v only among many more it must read and recheck: a string the
	// index's trigrams cannot pin down. Such a search reads wider windows
	// in id order before it turns to the index (see UserList).
	WeakSearch(v string) bool
	// SearchInIDOrder reports whether the statement SearchUsers writes for
	// s reads its matches in id order, either way, with no sort: then a
	// page of it can read each user's identities in its own statement, a
	// subquery run once per row returned (see foldsIdentities).
	SearchInIDOrder(s UserSearch) bool
	// UsersInOrder is the FROM clause of a page of users ordered by col
	// (id, created_at, username_key or uuid, then id) whose conditions are
	// on kind, state and deletion alone, which no index narrows much, and
	// the condition that keeps live users in it: the statement walks the
	// primary key, or the index that holds that order, and stops after a
	// page. live says the page holds live users only, which a partial
	// index may need.
	UsersInOrder(col string, live bool) (from, liveCond string)
	// PackedUser reports whether the dialect's UserWithIdentities selects
	// its row as one column, a JSON array of the user's columns and then
	// the identities, which UserGet unpacks (see packedRow), and a page of
	// users (userRows) each row likewise. For a driver
	// whose cost is per column and per query — modernc's SQLite reads
	// every column's name and declared type at each query and locks the
	// connection at each column it hands over — one column is cheaper
	// than 43.
	PackedUser() bool
}

// Copier is a Dialect whose driver loads rows in bulk (PostgreSQL's COPY)
// on a connection with a transaction open, faster than any INSERT.
type Copier interface {
	// CopyFrom writes rows, each of columns' values in order, into table
	// on driverConn, the driver's connection as sql.Conn.Raw gives it,
	// and returns how many it wrote.
	CopyFrom(ctx context.Context, driverConn any, table string, columns []string, rows [][]any) (int64, error)
}

// UserSearch is what a user list matches by substring. Each set string
// must be contained in its columns; empty ones match everything.
type UserSearch struct {
	// Query is contained in the username or the name, or with QueryEmail
	// also the e-mail address.
	Query      string
	QueryEmail bool
	// Each of these is contained in its own column.
	Username, Email, UUID, ExternalID string
}

// Config describes one database to open.
type Config struct {
	Dialect Dialect
	// Write is the pool that runs transactions; Read serves reads outside a
	// transaction and may be the same pool.
	Write, Read *sql.DB
	// Queries holds the dialect's named statements: files of blocks that each
	// start with a line "-- name: QueryName".
	Queries fs.FS
	// Migrations holds the dialect's migrations, "NNNN_name.sql", applied in
	// order of their number.
	Migrations fs.FS
	// Prepare keeps statements prepared, for a driver that does not cache
	// them itself (pgx does; modernc's SQLite parses every call afresh).
	Prepare bool
	// Wrote, when set, is called after each write this process commits
	// (each that Changes counts) and must return at once: a backend that
	// tells the other processes on the database of them sets it.
	Wrote func()
	// Stop, when set, is called first by Close, to end what the backend
	// runs beside the pools; the pools are still open while it runs.
	Stop func()
}

// DB is a store.Store over database/sql.
type DB struct {
	conn
	write, read *sql.DB
	migrations  fs.FS
	// prepared holds the statement caches of the pools, when prepared.
	prepared []*stmtCache
	// changes counts committed writes, for Changes.
	changes changeCount
	// loading is true from a LoadStart that reported true to the
	// LoadFinish after it.
	loading atomic.Bool
	// loadMu makes LoadStart, LoadFinish and LoadRecover one at a time,
	// so that two of them never build what a load set aside at once.
	loadMu sync.Mutex
	stop   func()
}

var _ store.Store = (*DB)(nil)

// Open prepares a DB over the pools in cfg. It does not migrate: call Migrate.
func Open(cfg Config) (*DB, error) {
	queries, err := loadQueries(cfg.Queries)
	if err != nil {
		return nil, err
	}
	for _, name := range queryNames {
		if _, ok := queries[name]; !ok {
			return nil, fmt.Errorf("sqldb: %s dialect lacks query %s", cfg.Dialect.Name(), name)
		}
	}
	withIdentities := strings.Replace(queries["UserWithIdentities"], "{{identities}}", queries["UserIdentitiesColumn"], 1)
	for _, name := range userGetQueries {
		queries[name] = strings.Replace(withIdentities, "{{user}}", queries[name], 1)
	}
	db := &DB{write: cfg.Write, read: cfg.Read, migrations: cfg.Migrations, stop: cfg.Stop}
	db.changes.wrote = cfg.Wrote
	db.conn = conn{q: cfg.Read, w: cfg.Write, d: cfg.Dialect, queries: queries, write: cfg.Write}
	if cfg.Prepare {
		read, write := newStmtCache(cfg.Read), newStmtCache(cfg.Write)
		db.prepared = []*stmtCache{read, write}
		db.conn.q, db.conn.w, db.conn.writeStmts = preparedPool{read}, preparedPool{write}, write
	}
	db.conn.quiet = db.conn.w
	db.conn.w = counted{db.conn.w, &db.changes}
	db.conn.changes = &db.changes
	db.conn.counts = newCountCache()
	return db, nil
}

// InTx runs fn in a transaction on the write pool.
func (db *DB) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.conn.atomic(ctx, func(c *conn) error { return fn(c) })
}

// InLoadTx runs fn in a transaction on the write pool; while a load is
// under way (LoadStart), with the dialect's LoadBatchStart in force on
// its connection for its length, and LoadBatchFinish run after it. When
// ctx carries an import's turn (usher.ImportTurnFrom), the transaction
// begins once the turn before it is done, and the turn is done when it
// ends, if UserCreateMany has not done it before.
func (db *DB) InLoadTx(ctx context.Context, fn func(tx store.Tx) error) error {
	turn := usher.ImportTurnFrom(ctx)
	if err := turn.Wait(ctx); err != nil {
		return err
	}
	defer turn.Done()
	var set connSetting
	if db.loading.Load() {
		set = connSetting{db.queries["LoadBatchStart"], db.queries["LoadBatchFinish"]}
	}
	return db.conn.atomicWith(ctx, set, func(c *conn) error { return fn(c) })
}

// Ping checks both pools.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return err
	}
	return db.read.PingContext(ctx)
}

// Ready asks whether the database is a standby, then rewrites the one row
// of the ready table, uncounted (it changes nothing a cache holds), on the
// pool that writes. Its errors are *NotReadyError.
func (db *DB) Ready(ctx context.Context) error {
	var standby bool
	if err := db.quiet.QueryRowContext(ctx, db.queries["ReadyStandby"]).Scan(&standby); err != nil {
		return &NotReadyError{Reason: "the database does not answer", Err: db.d.Classify(err)}
	}
	if standby {
		return &NotReadyError{Reason: "the database is a standby in recovery: it takes no writes"}
	}
	res, err := db.quiet.ExecContext(ctx, db.queries["ReadyWrite"], db.d.TimeArg(time.Now().UTC()))
	if err != nil {
		return &NotReadyError{Reason: "the database takes no writes", Err: db.d.Classify(err)}
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return &NotReadyError{Reason: "the database takes no writes",
			Err: fmt.Errorf("the ready row was not written (%d rows, %v)", n, err)}
	}
	return nil
}

// NotReadyError is why the database is not ready. Reason names the kind
// of failure in plain words, safe to show anyone; Err, the cause, may name
// the database file, its directory or the server, and belongs in the log.
type NotReadyError struct {
	Reason string
	Err    error
}

func (e *NotReadyError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *NotReadyError) Unwrap() error { return e.Err }

// Public returns Reason: what /readyz may tell a caller it does not know.
func (e *NotReadyError) Public() string { return e.Reason }

// Pools returns the connection pools by name, "write" and "read", for
// their statistics (sql.DB.Stats); callers must not close them.
func (db *DB) Pools() map[string]*sql.DB {
	return map[string]*sql.DB{"write": db.write, "read": db.read}
}

// Analyze runs the dialect's statistics statement.
func (db *DB) Analyze(ctx context.Context) error {
	q := db.d.Analyze()
	if q == "" {
		return nil
	}
	if _, err := db.write.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// Close ends what the backend runs beside the pools (Config.Stop), then
// closes both pools.
func (db *DB) Close() error {
	if db.stop != nil {
		db.stop()
	}
	var err error
	for _, c := range db.prepared {
		err = errors.Join(err, c.close())
	}
	err = errors.Join(err, db.write.Close())
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn implements store.Tx over a pool or a transaction.
type conn struct {
	q querier // for reads
	w querier // for writes: the write pool, or the same transaction as q
	// quiet is w without the count of changes, for writes that change no
	// credential or account: a token's last-used time.
	quiet   querier
	d       Dialect
	queries map[string]string
	// write is the pool to begin transactions on; nil when q is a transaction.
	write *sql.DB
	// writeStmts holds the write pool's prepared statements, when prepared.
	writeStmts *stmtCache
	// changes counts committed writes; atomic adds one at each commit
	// of a transaction that made a counted write.
	changes *changeCount
	// counts keeps the counts of large lists for their estimated totals.
	counts *countCache
	// raw runs a function with the driver's connection of the
	// transaction, for a Copier; nil outside a transaction.
	raw func(func(driverConn any) error) error
}

// exec runs the named statement.
func (c *conn) exec(ctx context.Context, name string, args ...any) (sql.Result, error) {
	res, err := c.w.ExecContext(ctx, c.queries[name], args...)
	if err != nil {
		return nil, c.fail(name, err)
	}
	return res, nil
}

// quietExec runs the named statement, a write Changes does not count.
func (c *conn) quietExec(ctx context.Context, name string, args ...any) error {
	if _, err := c.quiet.ExecContext(ctx, c.queries[name], args...); err != nil {
		return c.fail(name, err)
	}
	return nil
}

// quietAffected runs the named statement, a write Changes does not count,
// and returns usher.ErrNotFound if it wrote no row.
func (c *conn) quietAffected(ctx context.Context, name string, args ...any) error {
	res, err := c.quiet.ExecContext(ctx, c.queries[name], args...)
	if err != nil {
		return c.fail(name, err)
	}
	return affected(res)
}

// queryRow runs the named statement and returns its one row.
func (c *conn) queryRow(ctx context.Context, name string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, c.queries[name], args...)
}

// count runs a named query that answers one count.
func (c *conn) count(ctx context.Context, name string, args ...any) (int, error) {
	var n int
	if err := c.queryRow(ctx, name, args...).Scan(&n); err != nil {
		return 0, c.fail(name, err)
	}
	return n, nil
}

// writeRow runs the named statement, a write that returns one row.
func (c *conn) writeRow(ctx context.Context, name string, args ...any) *sql.Row {
	return c.w.QueryRowContext(ctx, c.queries[name], args...)
}

// quietRow runs the named statement, a write that returns one row and
// that Changes does not count.
func (c *conn) quietRow(ctx context.Context, name string, args ...any) *sql.Row {
	return c.quiet.QueryRowContext(ctx, c.queries[name], args...)
}

// fail classifies a driver error and names the statement it came from.
func (c *conn) fail(name string, err error) error {
	err = c.d.Classify(err)
	if errors.Is(err, usher.ErrNotFound) || errors.Is(err, usher.ErrExists) {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// atomic runs fn in a transaction unless c already is one; store methods
// that write several rows use it so that they are atomic on their own.
func (c *conn) atomic(ctx context.Context, fn func(c *conn) error) error {
	return c.atomicWith(ctx, connSetting{}, fn)
}

// connSetting is a statement run on a transaction's connection just before
// the transaction begins, and its undoing, run just after it ends: for a
// setting SQLite takes only outside a transaction.
type connSetting struct {
	set, reset string
}

// atomicWith is atomic, with set in force on the transaction's connection
// for the transaction's length.
func (c *conn) atomicWith(ctx context.Context, set connSetting, fn func(c *conn) error) error {
	if c.write == nil {
		return fn(c)
	}
	tx, raw, release, err := c.begin(ctx, set)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// Rolls back when fn fails or panics; a no-op after a commit. The
	// connection goes back to the pool before the pool is used again.
	defer release()
	defer tx.Rollback()
	var q querier = tx
	var ptx *preparedTx
	if c.writeStmts != nil {
		ptx = &preparedTx{tx, c.writeStmts, map[string]bool{}}
		q = ptx
	}
	// The transaction's counted writes are counted here, and the
	// transaction once at its commit if there were any: one of reads and
	// uncounted bookkeeping alone is no change.
	var wrote changeCount
	if err := fn(&conn{q: q, w: counted{q, &wrote}, quiet: q, d: c.d, queries: c.queries, counts: c.counts, raw: raw}); err != nil {
		var late *lateProbe
		if errors.As(err, &late) {
			_ = tx.Rollback()
			release()
			// The write is refused either way; without the probe its
			// error names the field the driver named.
			_ = c.probeTaken(ctx, late.ue, late.args)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", c.d.Classify(err))
	}
	if wrote.n.Load() > 0 {
		c.changes.add()
	}
	release()
	if ptx != nil {
		ptx.prepareMissing(ctx)
	}
	return nil
}

// begin begins a transaction on the write pool. For a Copier, or with a
// setting, it begins it on a connection of its own, whose driver
// connection raw reaches, after running set.set on it; release, called
// once the transaction has ended, runs set.reset and returns that
// connection to the pool, and may be called again. A connection whose
// setting could not be undone is closed rather than returned.
func (c *conn) begin(ctx context.Context, set connSetting) (tx *sql.Tx, raw func(func(any) error) error, release func(), err error) {
	if _, ok := c.d.(Copier); !ok && set.set == "" {
		tx, err := c.write.BeginTx(ctx, nil)
		return tx, nil, func() {}, err
	}
	sc, err := c.write.Conn(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if set.reset != "" {
				if _, err := sc.ExecContext(context.WithoutCancel(ctx), set.reset); err != nil {
					_ = sc.Raw(func(any) error { return driver.ErrBadConn })
				}
			}
			_ = sc.Close()
		})
	}
	if set.set != "" {
		if _, err := sc.ExecContext(ctx, set.set); err != nil {
			release()
			return nil, nil, nil, err
		}
	}
	if tx, err = sc.BeginTx(ctx, nil); err != nil {
		release()
		return nil, nil, nil, err
	}
	return tx, sc.Raw, release, nil
}

// Builder assembles a statement whose shape depends on a filter. Arguments
// get the dialect's placeholders; text passed to Write is never user input.
type Builder struct {
	d     Dialect
	sb    strings.Builder
	args  []any
	conds []string
	// from and key, when set, replace the users table a user statement
	// reads from: see From.
	from, key string
	// inOrder says the arguments are written in the order they are
	// recorded, so their markers may be anonymous.
	inOrder bool
	// walks says the statement walks an index in its page's order: see
	// Walks.
	walks bool
}

// Walks reports whether a user statement walks the index that holds its
// page's order (Dialect.UsersInOrder, Dialect.WalkAt): a search is
// then a condition on each user it passes, not where the users come from.
func (b *Builder) Walks() bool { return b.walks }

// From makes a user statement read from source, a FROM clause that joins
// users to what narrows them, instead of from users alone. key is the
// column of source that equals users.id and that source yields in order,
// so that a statement ordered by it stops after a page of rows instead of
// sorting every match.
func (b *Builder) From(source, key string) { b.from, b.key = source, key }

// source returns the FROM clause of a user statement and its id column.
func (b *Builder) source() (from, key string) {
	if b.from == "" {
		return "users", "id"
	}
	return b.from, b.key
}

// Arg records an argument and returns its placeholder.
func (b *Builder) Arg(v any) string {
	b.args = append(b.args, v)
	if b.inOrder {
		return b.d.PlaceholderInOrder(len(b.args))
	}
	return b.d.Placeholder(len(b.args))
}

// IDs records each id as an argument and returns their markers,
// comma-separated, for an IN list.
func (b *Builder) IDs(ids []int64) string {
	marks := make([]string, len(ids))
	for i, id := range ids {
		marks[i] = b.Arg(id)
	}
	return strings.Join(marks, ", ")
}

// Time records a time argument in the dialect's encoding.
func (b *Builder) Time(t time.Time) string { return b.Arg(b.d.TimeArg(t)) }

// texts records each of vs (kinds, states and the like) as a string
// argument of b and returns their markers, comma-separated, for an IN
// list.
func texts[T ~string](b *Builder, vs []T) string {
	marks := make([]string, len(vs))
	for i, v := range vs {
		marks[i] = b.Arg(string(v))
	}
	return strings.Join(marks, ", ")
}

// Where adds a condition; conditions are joined with AND.
func (b *Builder) Where(cond string) { b.conds = append(b.conds, cond) }

// Write appends SQL text.
func (b *Builder) Write(s string) { b.sb.WriteString(s) }

// WriteWhere appends the WHERE clause of the conditions added so far.
func (b *Builder) WriteWhere() {
	if len(b.conds) > 0 {
		b.sb.WriteString(" WHERE ")
		b.sb.WriteString(strings.Join(b.conds, " AND "))
	}
}

// String returns the statement.
func (b *Builder) String() string { return b.sb.String() }

// Args returns the arguments in order.
func (b *Builder) Args() []any { return b.args }

// EscapeLike escapes the LIKE wildcards in s with a backslash, for a pattern
// used with ESCAPE '\'.
func EscapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// The column lists a dialect's queries name as {{user_columns}} and the like;
// {{user_columns_u}} is the same list qualified with the alias u. Scanning
// depends on their order, so they are written here once.
var columns = map[string]string{
	"user": "id, uuid, username, email, name, first_name, last_name, display_name, handle, " +
		"bio, location, skype, linkedin, twitter, website_url, language, state, kind, is_admin, " +
		"is_external, can_create_group, projects_limit, theme_id, color_scheme_id, two_factor_enabled, " +
		"external_id, metadata, email_confirmed_at, last_sign_in_at, current_sign_in_at, last_seen_at, " +
		"created_at, updated_at, suspended_at, deleted_at, version, plan, avatar_etag, credentials_since, " +
		"unconfirmed_email, organisation_id, meta",
	// user_brief is what a brief list reads of each user
	// (usher.UserFilter.Brief), in userBriefDests' order.
	"user_brief": "id, uuid, username, email, name, state, kind, is_admin, organisation_id, created_at, " +
		"deleted_at, version, first_name, last_name, language, two_factor_enabled, external_id, updated_at",
	// user_insert is what UserInsert writes, in userArgs' order after uuid
	// and created_at.
	"user_insert": "uuid, created_at, username, username_key, email, email_key, name, first_name, " +
		"last_name, display_name, handle, bio, location, skype, linkedin, twitter, website_url, language, " +
		"state, kind, is_admin, is_external, can_create_group, projects_limit, theme_id, color_scheme_id, " +
		"two_factor_enabled, external_id, metadata, email_confirmed_at, last_sign_in_at, " +
		"current_sign_in_at, last_seen_at, updated_at, suspended_at, deleted_at, version, plan, avatar_etag, " +
		"credentials_since, unconfirmed_email, handle_key, organisation_id, meta",
	"token": "id, kind, user_id, name, scopes, hint, hash, expires_at, last_used_at, " +
		"created_at, revoked_at, address, user_agent, impersonator_id, minted_by_admin, minted_by_owner",
	"audit": "id, at, actor_kind, actor_id, actor_name, impersonator_id, action, " +
		"resource_type, resource_id, changes, meta, address, user_agent, request_id",
	"code": "id, kind, hash, user_id, data, email_key, expires_at, used_at, created_at",
	"mail": "id, kind, recipient, subject, body, created_at, attempts, next_attempt_at, sent_at, last_error, lang, user_id, author_id",
	"org":  "id, handle, name, created_at, updated_at, archived_at, deleted_at",
	"app": "id, name, owner_id, enabled, unify_name, unify_listed, unify_icon, unify_logo, unify_url, " +
		"unify_config, unify_order, created_at, updated_at, deleted_at",
	"group": "id, kind, handle, name, description, logo, organisation_id, created_at, updated_at, archived_at, deleted_at, version",
	"plan": "name, can_create_team, can_create_state_project, can_manage_project_acl, can_manage_project_hooks, " +
		"project_limit, is_default, created_at, updated_at",
	"key":   "id, user_id, title, key, fingerprint, created_at, expires_at, added_by_admin",
	"email": "id, user_id, email, confirmed_at, created_at",
	"reminder": "id, resource, payload, assigned_to, created_by, remind_at, snooze_count, dismissed_at, " +
		"delivered_at, created_at, updated_at, deleted_at, written_by",
	"attachment": "id, kind, owner_id, name, size, content_type, checksum, width, height, blob_key, " +
		"preview_key, preview_type, created_at, setting",
	"script": "id, name, kind, source, triggers, bundle, enabled, compile_error, directory, version, created_by, " +
		"created_at, updated_at",
}

// macros expands the column lists, plain and qualified with the first
// letter of their name.
var macros = func() map[string]string {
	m := map[string]string{}
	for name, cols := range columns {
		m["{{"+name+"_columns}}"] = cols
		alias := name[:1]
		parts := strings.Split(cols, ", ")
		for i, p := range parts {
			parts[i] = alias + "." + p
		}
		m["{{"+name+"_columns_"+alias+"}}"] = strings.Join(parts, ", ")
	}
	return m
}()

// queryNames lists every statement a dialect must define.
var queryNames = []string{
	"MigrateInit", "MigrateLock", "MigrateUnlock", "MigrateApplied", "MigrateRecord", "MigrateTableExists", "MigrateList",
	"RekeyCandidates", "RekeyTaken", "RekeyUser", "RekeyEmail", "RekeyClaimMove", "RekeyClaimAdd",
	"UserInsert", "UserByID", "UserByIDForUpdate", "UserByUsername", "UserByHandle", "UserByEmail", "UserByUUID",
	"UserByExternalID", "UserByIdentity", "UserFind", "UserWrite", "UserPurge", "UsersDeletedBefore", "UserCount", "UserTaken", "UserNamesLock", "UserSeen",
	"AdministratorsLock", "OtherAdministrator",
	"UserSignIn", "UserWithIdentities",
	"IdentitiesOf", "UserIdentitiesColumn", "IdentityUpsert", "IdentityDelete",
	"PasswordGet", "PasswordUpsert", "PasswordDelete",
	"TokenInsert", "TokenByID", "TokenByHash", "TokenTouch",
	"AuditInsert", "AuditCount", "StatsUsers", "StatsGroups", "StatsApplications",
	"CodeInsert", "CodeByHash", "CodeUse", "CodeSetUser", "CodeDeleteUser", "CodeDeleteAddress", "CodeDeleteExpired",
	"OutboxInsert", "OutboxClaim", "OutboxSent", "OutboxFailed", "OutboxByID",
	"KnownDeviceGet", "KnownDeviceCount", "KnownDevicePut", "KnownDeviceTrim",
	"UsernamesHeld", "ThrottleGet", "ThrottleFail", "ThrottleLock", "ThrottleRelock", "ThrottleUnlock", "ThrottleClear", "ThrottleForgive", "ThrottlePrune",
	"JWTEnd", "JWTEnded",
	"SigningKeyInsert", "SigningKeyList", "SigningKeyRetire", "SigningKeyLifetime",
	"OrgInsert", "OrgByID", "OrgByIDForUpdate", "OrgByIDForShare", "OrgByHandle", "OrgWrite",
	"AppInsert", "AppByID", "AppWrite",
	"GroupInsert", "GroupByID", "GroupByIDForUpdate", "GroupByHandle", "GroupHandleLock", "GroupWrite",
	"GroupsDeletedBefore", "GroupPurge", "GroupMakerSet", "DeletedTeamsMadeBy", "UserMakerSet", "ServiceAccountsMadeBy",
	"MembershipUpsert", "MembershipDelete", "MembershipGet", "GroupMembers", "UserGroups", "MembershipsOf",
	"MembershipDeleteGroup", "SoleOwnerTeams", "OwnedTeamCount", "OwnedServiceAccountLock",
	"RuleList", "RuleUpsert", "RuleDeleteOne", "RuleDeleteAll", "RulesFor", "RulesKept",
	"PlanInsert", "PlanByName", "PlanDefault", "PlanList", "PlanWrite", "PlanDelete",
	"KeyInsert", "KeyByID", "KeyList", "KeySetExpiry", "KeyDelete",
	"EmailInsert", "EmailByID", "EmailList", "EmailDelete", "EmailConfirm", "EmailDeleteStale", "EmailHolder",
	"SettingList", "SettingUpsert", "SettingDelete", "AvatarGet", "AvatarUpsert", "AvatarDelete",
	"ReminderInsert", "ReminderByID", "ReminderByIDForUpdate", "ReminderWrite", "ReminderClaim", "ReminderDeliver",
	"AttachmentInsert", "AttachmentByID", "AttachmentsOf", "AttachmentSetPreview", "AttachmentDelete",
	"ScriptInsert", "ScriptByName", "ScriptByNameForUpdate", "ScriptWrite", "ScriptDelete", "ScriptRunInsert",
	"ScriptRunByID", "ScriptRunsClaimed", "ScriptRunDone", "ScriptRunClaim",
	"ReadyStandby", "ReadyWrite", "BacklogMail", "BacklogReminders", "PruneTokens", "PruneScriptRuns", "PruneMail", "PruneJWTs",
	"LoadTableSize", "LoadSetAside", "LoadConnStart", "LoadConnFinish", "LoadUnfinished", "LoadRestore",
	"LoadRestoreBeside", "LoadRestoreIndexes", "LoadLock", "LoadRestoreBesideLock", "LoadRestoreIndexesLock",
	"LoadWaitStart", "LoadWaitFinish", "LoadEndLock", "LoadEndUnlock", "LoadBesideNeeded", "LoadRestoreNeeded", "LoadValidate",
	"LoadBatchStart", "LoadBatchFinish", "UserInsertMany", "PasswordInsertMany",
}

// loadQueries reads every "*.sql" file of fsys and splits it into named
// statements, expanding the column macros.
func loadQueries(fsys fs.FS) (map[string]string, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	queries := make(map[string]string)
	for _, file := range files {
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, err
		}
		var name string
		var body strings.Builder
		flush := func() error {
			if name == "" {
				return nil
			}
			if _, dup := queries[name]; dup {
				return fmt.Errorf("sqldb: query %s defined twice", name)
			}
			q := strings.TrimSpace(body.String())
			for k, v := range macros {
				q = strings.ReplaceAll(q, k, v)
			}
			queries[name] = strings.TrimSuffix(q, ";")
			body.Reset()
			return nil
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "-- name: "); ok {
				if err := flush(); err != nil {
					return nil, err
				}
				name = strings.TrimSpace(n)
				continue
			}
			if name != "" {
				body.WriteString(line)
				body.WriteByte('\n')
			}
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return queries, nil
}
