// Package postgres is the PostgreSQL backend of the store, through pgx. Any
// number of usher replicas may share one database.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver

	"usher"
	"usher/store/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

//go:embed queries/*.sql
var queries embed.FS

// Migrations returns the embedded migrations.
func Migrations() fs.FS {
	s, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded; it exists
	}
	return s
}

// Open connects to the database at dsn, a postgres:// URL. It does not
// migrate; call Migrate on the result.
//
// Each pool holds up to poolSize connections, or as many as the URL's
// pool_max_conns parameter says (postgres://host/usher?pool_max_conns=8).
//
// It keeps two pools: one for transactions and writes, one for reads
// outside a transaction. A transaction may read through the store while it
// runs (the core's rule cache does); from one pool, enough concurrent
// transactions would hold every connection and each wait for another,
// for ever. A read never waits for a transaction's connection, so with two
// pools nothing waits in a circle.
//
// Beside the pools it keeps one session that tells the other processes on
// the database of this one's writes and this one of theirs, through
// LISTEN/NOTIFY (see signal), so that Changes counts every process's
// writes and the caches that watch it drop within a round trip of a
// write anywhere. Close ends it.
func Open(ctx context.Context, dsn string) (*sqldb.DB, error) {
	dsn, size, err := poolConfig(dsn)
	if err != nil {
		return nil, err
	}
	open := func(n int) (*sql.DB, error) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(5 * time.Minute)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("postgres: %w", err)
		}
		return db, nil
	}
	write, err := open(size)
	if err != nil {
		return nil, err
	}
	read, err := open(size)
	if err != nil {
		write.Close()
		return nil, err
	}
	q, err := fs.Sub(queries, "queries")
	if err != nil {
		return nil, err
	}
	sig := newSignal(dsn)
	db, err := sqldb.Open(sqldb.Config{
		Dialect:    dialect{},
		Write:      write,
		Read:       read,
		Queries:    q,
		Migrations: Migrations(),
		Wrote:      sig.wrote,
		Stop:       sig.stop,
	})
	if err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	sig.start(ctx, db.ChangedElsewhere)
	return db, nil
}

// poolSize is each pool's number of connections unless the URL's
// pool_max_conns says otherwise. A replica holds at most two pools of it
// and its listening session: 49 connections, so that one replica stays
// under PostgreSQL's default max_connections (100) with room; more
// replicas need a larger max_connections or smaller pools (see
// docs/scaling.md).
const poolSize = 24

// poolParam is the URL's query parameter that sizes each pool, named as
// pgxpool names it. PostgreSQL would refuse it as a setting of the
// session, so it is taken out of the URL before connecting.
const poolParam = "pool_max_conns"

// maxPoolSize bounds pool_max_conns: PostgreSQL's own max_connections
// tops out far below it in practice.
const maxPoolSize = 1000

// poolConfig returns raw without pool_max_conns and the size it gives each
// pool, poolSize when it gives none.
func poolConfig(raw string) (string, int, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", 0, errors.New("postgres: the URL cannot be parsed")
	}
	q := u.Query()
	if !q.Has(poolParam) {
		return raw, poolSize, nil
	}
	v := q.Get(poolParam)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPoolSize {
		return "", 0, fmt.Errorf("postgres: %s must be a whole number from 1 to %d, not %q", poolParam, maxPoolSize, v)
	}
	q.Del(poolParam)
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// uniqueFields maps each unique constraint to the field it protects.
var uniqueFields = map[string]string{
	"users_username_key":                 "username",
	"users_email_key":                    "email",
	"users_external_id_key":              "external_id",
	"users_uuid_key":                     "uuid",
	"users_handle_key":                   "handle",
	"identities_provider_extern_uid_key": "identity",
	"identities_pkey":                    "identity",
	"tokens_hash_key":                    "hash",
	"codes_hash_key":                     "hash",
	"email_claims_pkey":                  "email",
	"ssh_keys_fingerprint_key":           "fingerprint",
	"groups_handle_key":                  "handle",
	"organisations_handle_key":           "handle",
	"plans_pkey":                         "name",
	"plans_name_key":                     "name",
	"plans_default":                      "default",
}

// dialect is PostgreSQL's side of sqldb.Dialect.
type dialect struct{}

func (dialect) Name() string { return "postgres" }

func (dialect) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

func (d dialect) PlaceholderInOrder(n int) string { return d.Placeholder(n) }

func (dialect) TimeArg(t time.Time) any { return t }

// ListArg passes a list as it is: pgx sends a slice as an array.
func (dialect) ListArg(items any) (any, error) { return items, nil }

// Classify maps SQLSTATE codes to the store's errors. A unique violation
// names its constraint, which gives the field.
func (dialect) Classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		field, ok := uniqueFields[pe.ConstraintName]
		if !ok {
			field = "constraint " + pe.ConstraintName
		}
		return &usher.UniqueError{Field: field, Err: err}
	case "23503": // foreign_key_violation
		return fmt.Errorf("%w: %w", usher.ErrNotFound, err)
	case "25006": // read_only_sql_transaction
		return fmt.Errorf("the PostgreSQL server takes no writes (a standby, or default_transaction_read_only is on): "+
			"point --database at the primary: %w", err)
	case "53100": // disk_full
		return fmt.Errorf("the disk of the PostgreSQL server is full: free space in its data directory; "+
			"usher takes no writes until then: %w", err)
	case "53300": // too_many_connections
		return fmt.Errorf("the PostgreSQL server has no connection left: raise its max_connections, "+
			"give each replica smaller pools (pool_max_conns in the URL; each holds two pools and one session) "+
			"or run fewer replicas: %w", err)
	}
	return err
}

// FailedStatementAbortsTx is true: after an error PostgreSQL refuses every
// statement of the transaction until it is rolled back.
func (dialect) FailedStatementAbortsTx() bool { return true }

// Analyze refreshes the statistics of the tables an import writes: after
// a bulk import, before autovacuum gets to it (or where it is off), the
// planner would otherwise guess, and a search by trigram can go from a
// millisecond to a scan of the table. It names them: a bare ANALYZE reads
// every table of the database, other schemas and other applications'
// included, which took seconds each time on a shared server and made an
// import of 30,000 users spend most of its 100 s there.
func (dialect) Analyze() string {
	return "ANALYZE users, passwords, email_claims, user_emails, ssh_keys, identities"
}

// UsersInOrder is the table: PostgreSQL's planner knows from its
// statistics that the conditions keep most users and walks the primary key
// or the index in the page's order.
func (dialect) UsersInOrder(string, bool) (from, liveCond string) {
	return "users", "deleted_at IS NULL"
}

// PackedUser is false: pgx decodes a row's columns from the one message
// that brings it, with no work per query for each column's name or type.
func (dialect) PackedUser() bool { return false }

// SearchWindow is the users a search ordered by id reads in id order
// before it turns to the trigram index. A GIN index answers with a bitmap
// of every match, in no order: for a common string (one user in ten holds
// "son") the page would sort tens of thousands of rows it reads at random
// places of the table. The window reads the first users after the cursor
// in id order and keeps the matches, which fills a page for any string that
// one user in 100 holds; one that the window holds but fewer than a page
// of widens it (sqldb's UserList), and a rarer one goes on through the
// index, which then has few matches to sort.
func (dialect) SearchWindow() int { return 2000 }

// WalkAt is 0: with the statistics an import leaves, PostgreSQL's planner
// walks the index in a sorted search's order when the search matches many
// users and sorts the matches when it matches few (plans in
// docs/performance.md); so for users of an uncommon value, whose index it
// finds itself once the statement names the value (uncommonIndex).
func (dialect) WalkAt() int { return 0 }

// UsersThrough is the table: the planner chooses the index (see WalkAt).
func (dialect) UsersThrough(string) string { return "users" }

// WeakSearch is true for a string with a character other than a letter,
// a digit or a separator search_key spells as letters and digits (space,
// ".", "@", "_", "-", "+", "'"; migration 0020). pg_trgm splits text
// into words at such characters and keeps only the trigrams inside words
// and at their edges, so for "a,b" or "x/y" the index holds no trigram
// with the comma or the slash: it answers every user with a word ending
// in "a" and one starting with "b", each read from the table and
// rechecked — for "l t" before search_key, 97,408 at a million users for
// 4,868 matches, seconds. Reading the users in id order finds the same
// page in a bounded number of rows.
func (dialect) WeakSearch(v string) bool {
	return strings.ContainsFunc(v, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(keySeparators, r)
	})
}

// SearchInIDOrder is false: a trigram index answers with a bitmap of its
// matches in no order, which the page sorts.
func (dialect) SearchInIDOrder(sqldb.UserSearch) bool { return false }

// keySeparators are the characters usher_search_key spells as "q" and a
// digit (migration 0020), so that pg_trgm keeps trigrams across them.
const keySeparators = " .@_-+'"

// CopyFrom loads rows with COPY on the transaction's connection.
func (dialect) CopyFrom(ctx context.Context, driverConn any, table string, columns []string, rows [][]any) (int64, error) {
	c, ok := driverConn.(*stdlib.Conn)
	if !ok {
		return 0, fmt.Errorf("postgres: COPY on a %T, not a pgx connection", driverConn)
	}
	return c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
}

// namesKey is the expression users_names_trgm indexes: search_key's
// spelling of the username and name alone (migration 0034).
const namesKey = "usher_search_key(lower(username || chr(1) || name))"

// SearchUsers matches with ILIKE. Each string is first looked for in
// search_key, through the one trigram index on it: search_key is
// search_text (the lower-cased username, name and e-mail address) spelled
// by usher_search_key with spaces and common punctuation as letters and
// digits, which pg_trgm keeps trigrams of (migration 0020), and the
// string's pattern is spelled alike. The spelling can match across its
// codes, so the string is then looked for in search_text itself, with
// LIKE, which compares bytes; ILIKE then keeps the rows whose asked
// columns hold it. A string without chr(1), which parts the columns in
// search_text, is in search_text exactly when it is in one of the three
// columns, so a search of all three needs no ILIKE. The UUID (as text) and
// the external id have no such index, and are compared row by row among
// the rows the other conditions leave. A string looked for in the
// username or name alone is looked for in their own spelling instead,
// through its own index (namesKey): search_key's holds the addresses'
// trigrams too, and a string every address holds made every user a
// candidate to read and refuse.
func (dialect) SearchUsers(b *sqldb.Builder, s sqldb.UserSearch) {
	search := func(v string, cols ...string) {
		if v == "" {
			return
		}
		p := b.Arg("%" + sqldb.EscapeLike(v) + "%")
		cond := "search_key LIKE usher_search_key(lower(" + p + ")) AND search_text LIKE lower(" + p + ")"
		if !slices.Contains(cols, "email") {
			// The index of names alone: search_key's would give every
			// address that holds v, each read and refused.
			cond = namesKey + " LIKE usher_search_key(lower(" + p + "))"
		}
		if len(cols) == 3 && !strings.ContainsRune(v, 1) {
			b.Where(cond)
			return
		}
		alts := make([]string, len(cols))
		for i, col := range cols {
			alts[i] = col + " ILIKE " + p
		}
		b.Where(cond + " AND (" + strings.Join(alts, " OR ") + ")")
	}
	if s.QueryEmail {
		search(s.Query, "username", "name", "email")
	} else {
		search(s.Query, "username", "name")
	}
	search(s.Username, "username")
	search(s.Email, "email")
	unindexed := func(v, col string) {
		if v != "" {
			b.Where(col + " ILIKE " + b.Arg("%"+sqldb.EscapeLike(v)+"%"))
		}
	}
	unindexed(s.UUID, "uuid::text")
	unindexed(s.ExternalID, "external_id")
}
