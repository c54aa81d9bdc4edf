package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"usher"
)

// scanUser reads the columns of {{user_columns}}.
func scanUser(s scanner) (*usher.User, error) {
	u, dests, finish := userDests()
	if err := s.Scan(dests...); err != nil {
		return nil, err
	}
	finish()
	return u, nil
}

// userColumns is the number of columns in {{user_columns}}.
const userColumns = 42

// userDests returns a user, the scan destinations of {{user_columns}} for
// it, and a function to call after the scan, for queries that read a user
// beside other columns.
func userDests() (*usher.User, []any, func()) {
	u := new(usher.User)
	var state, kind, externalID string
	// Room for the two columns a page may read beside the user's
	// (userRows): appending them must not copy the slice for every row.
	dests := append(make([]any, 0, userColumns+2), &u.ID, &u.UUID, &u.Username, &u.Email, &u.Name, &u.FirstName, &u.LastName,
		&u.DisplayName, &u.Handle, &u.Bio, &u.Location, &u.GitLab.Skype, &u.GitLab.LinkedIn, &u.GitLab.Twitter,
		&u.WebsiteURL, &u.Language, &state, &kind, &u.Admin, &u.External, &u.GitLab.CanCreateGroup,
		&u.GitLab.ProjectsLimit, &u.GitLab.ThemeID, &u.GitLab.ColorSchemeID, &u.TwoFactorEnabled,
		nullString{&externalID}, jsonCol{&u.Metadata}, nullTime{&u.EmailConfirmedAt},
		nullTime{&u.LastSignInAt}, nullTime{&u.CurrentSignInAt}, nullTime{&u.LastSeenAt},
		timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, nullTime{&u.SuspendedAt},
		nullTime{&u.DeletedAt}, &u.Version, nullString{&u.Plan}, &u.AvatarETag, nullTime{&u.CredentialsSince},
		&u.UnconfirmedEmail, nullInt{&u.OrganisationID}, rawObject{&u.Meta})
	return u, dests, func() {
		u.State, u.Kind, u.ExternalID = usher.UserState(state), usher.UserKind(kind), externalID
	}
}

// userBriefDests is userDests for {{user_brief_columns}}.
func userBriefDests() (*usher.User, []any, func()) {
	u := new(usher.User)
	var state, kind, externalID string
	dests := append(make([]any, 0, 20), &u.ID, &u.UUID, &u.Username, &u.Email, &u.Name, &state, &kind, &u.Admin,
		nullInt{&u.OrganisationID}, timeCol{&u.CreatedAt}, nullTime{&u.DeletedAt}, &u.Version,
		&u.FirstName, &u.LastName, &u.Language, &u.TwoFactorEnabled, nullString{&externalID}, timeCol{&u.UpdatedAt})
	return u, dests, func() {
		u.State, u.Kind, u.ExternalID = usher.UserState(state), usher.UserKind(kind), externalID
	}
}

// userArgs returns the values of the mutable user columns, in the order the
// UserInsert and UserWrite statements take them.
func (c *conn) userArgs(u *usher.User) ([]any, error) {
	pairs := u.Metadata
	if pairs == nil {
		pairs = map[string]string{}
	}
	metaJSON, err := jsonArg(pairs)
	if err != nil {
		return nil, err
	}
	meta := "{}"
	if len(u.Meta) > 0 {
		if meta, err = jsonArg(u.Meta); err != nil {
			return nil, err
		}
	}
	return []any{
		u.Username, usernameKey(u), u.Email, textOrNull(usher.EmailKey(u.Email)),
		u.Name, u.FirstName, u.LastName, u.DisplayName, u.Handle, u.Bio, u.Location, u.GitLab.Skype,
		u.GitLab.LinkedIn, u.GitLab.Twitter, u.WebsiteURL, u.Language, string(u.State), string(u.Kind),
		u.Admin, u.External, u.GitLab.CanCreateGroup, u.GitLab.ProjectsLimit, u.GitLab.ThemeID, u.GitLab.ColorSchemeID,
		u.TwoFactorEnabled, textOrNull(u.ExternalID), metaJSON, c.timeArg(u.EmailConfirmedAt),
		c.timeArg(u.LastSignInAt), c.timeArg(u.CurrentSignInAt), c.timeArg(u.LastSeenAt),
		c.d.TimeArg(u.UpdatedAt), c.timeArg(u.SuspendedAt), c.timeArg(u.DeletedAt), u.Version,
		textOrNull(u.Plan), u.AvatarETag, c.timeArg(u.CredentialsSince), u.UnconfirmedEmail,
		textOrNull(strings.ToLower(u.Handle)), intOrNull(u.OrganisationID), meta,
	}, nil
}

// insertArgs returns the values of UserInsert's columns for a new user,
// whose version starts at 1.
func (c *conn) insertArgs(u *usher.User) ([]any, error) {
	if u.Version == 0 {
		u.Version = 1
	}
	args, err := c.userArgs(u)
	if err != nil {
		return nil, err
	}
	return append([]any{u.UUID, c.d.TimeArg(u.CreatedAt)}, args...), nil
}

// usernameKey is the username_key of u: the username lower-cased, or, for
// a user without one, "#" and the user's UUID. No username holds a "#", so
// users without a username collide with no one, and the unique index on
// the column stays whole.
func usernameKey(u *usher.User) string {
	if u.Username == "" {
		return "#" + u.UUID
	}
	return strings.ToLower(u.Username)
}

// internalKey reports whether a username asked for is the form of the key
// usernameKey gives a user without one: no user has that username, so it
// finds no one.
func internalKey(username string) bool { return strings.HasPrefix(username, "#") }

// UserCreate inserts the user, its identities and its password in one
// transaction.
func (c *conn) UserCreate(ctx context.Context, u *usher.User, passwordHash string) error {
	args, err := c.insertArgs(u)
	if err != nil {
		return err
	}
	return c.atomic(ctx, func(c *conn) error {
		if err := c.writeRow(ctx, "UserInsert", args...).Scan(&u.ID); err != nil {
			return c.userConflict(ctx, "UserInsert", err, u)
		}
		for _, id := range u.Identities {
			if err := c.IdentitySet(ctx, u.ID, id, u.CreatedAt); err != nil {
				return err
			}
		}
		if passwordHash != "" {
			return c.PasswordSet(ctx, u.ID, passwordHash, u.CreatedAt)
		}
		return nil
	})
}

// manyRows bounds the rows of one multi-row insert: 40 arguments a user
// stay under SQLite's 32,766 and PostgreSQL's 65,535.
const manyRows = 400

// UserCreateMany inserts users with multi-row statements: one statement
// for up to manyRows users, one for their passwords. Besides the round
// trips it saves, SQLite opens a statement journal for each statement that
// fires triggers, and the full-text index writes out what it holds at each:
// once per user, the import's largest cost, becomes once per statement.
func (c *conn) UserCreateMany(ctx context.Context, users []*usher.User, passwordHashes []string) error {
	if len(passwordHashes) != len(users) {
		return fmt.Errorf("UserCreateMany: %d users, %d password hashes", len(users), len(passwordHashes))
	}
	return c.atomic(ctx, func(c *conn) error {
		if cp, ok := c.d.(Copier); ok && c.raw != nil {
			return c.copyUsers(ctx, cp, users, passwordHashes)
		}
		// The rows take their ids as they go in, on the connection that
		// writes, which no other batch's transaction has meanwhile.
		defer usher.ImportTurnFrom(ctx).Done()
		for start := 0; start < len(users); start += manyRows {
			end := min(start+manyRows, len(users))
			if err := c.insertUsers(ctx, users[start:end]); err != nil {
				return err
			}
			if err := c.insertPasswords(ctx, users[start:end], passwordHashes[start:end]); err != nil {
				return err
			}
		}
		return nil
	})
}

// copyUsers writes users and their passwords with the dialect's bulk
// load, after taking their ids from the table's sequence, which the load
// cannot return. The load is not counted as a change (Changes): it adds
// rows, which no cache of rows read before can hold stale.
func (c *conn) copyUsers(ctx context.Context, cp Copier, users []*usher.User, hashes []string) error {
	if _, err := c.w.ExecContext(ctx, c.queries["UserCopyStart"]); err != nil {
		return c.fail("UserCopyStart", err)
	}
	rows, err := c.q.QueryContext(ctx, c.queries["UserIDsNext"], len(users))
	if err != nil {
		return c.fail("UserIDsNext", err)
	}
	defer rows.Close()
	ids := make([]int64, 0, len(users))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("UserIDsNext: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return c.fail("UserIDsNext", err)
	}
	if len(ids) != len(users) {
		return fmt.Errorf("UserIDsNext: %d ids for %d users", len(ids), len(users))
	}
	// The next batch of an import may take its ids now, and be copied
	// beside this one.
	usher.ImportTurnFrom(ctx).Done()
	userRows := make([][]any, len(users))
	var passwordRows [][]any
	for i, u := range users {
		args, err := c.insertArgs(u)
		if err != nil {
			return err
		}
		userRows[i] = append([]any{ids[i]}, args...)
		if hashes[i] != "" {
			passwordRows = append(passwordRows, []any{ids[i], hashes[i], c.d.TimeArg(u.CreatedAt)})
		}
	}
	userCols := append([]string{"id"}, strings.Split(macros["{{user_insert_columns}}"], ", ")...)
	err = c.raw(func(dc any) error {
		if _, err := cp.CopyFrom(ctx, dc, "users", userCols, userRows); err != nil {
			return c.fail("UserCopy", err)
		}
		if len(passwordRows) == 0 {
			return nil
		}
		if _, err := cp.CopyFrom(ctx, dc, "passwords", []string{"user_id", "hash", "updated_at"}, passwordRows); err != nil {
			return c.fail("PasswordCopy", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, u := range users {
		u.ID = ids[i]
	}
	return nil
}

// insertUsers inserts users in one statement and sets their IDs.
func (c *conn) insertUsers(ctx context.Context, users []*usher.User) error {
	b := &Builder{d: c.d, inOrder: true}
	b.Write(c.queries["UserInsertMany"] + " (" + macros["{{user_insert_columns}}"] + ") VALUES ")
	byUUID := make(map[string]*usher.User, len(users))
	for i, u := range users {
		args, err := c.insertArgs(u)
		if err != nil {
			return err
		}
		if i > 0 {
			b.Write(", ")
		}
		sep := "("
		for _, a := range args {
			b.Write(sep + b.Arg(a))
			sep = ", "
		}
		b.Write(")")
		byUUID[u.UUID] = u
	}
	// Neither engine promises RETURNING's order: each id comes with its
	// uuid.
	b.Write(" RETURNING id, uuid")
	rows, err := c.w.QueryContext(ctx, b.String(), b.Args()...)
	if err != nil {
		return c.fail("UserInsertMany", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var uuid string
		if err := rows.Scan(&id, &uuid); err != nil {
			return fmt.Errorf("UserInsertMany: %w", err)
		}
		if u := byUUID[uuid]; u != nil {
			u.ID = id
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return c.fail("UserInsertMany", err)
	}
	if n != len(users) {
		return fmt.Errorf("UserInsertMany: %d ids returned for %d users", n, len(users))
	}
	return nil
}

// insertPasswords stores the non-empty hashes of new users in one
// statement.
func (c *conn) insertPasswords(ctx context.Context, users []*usher.User, hashes []string) error {
	b := &Builder{d: c.d, inOrder: true}
	b.Write(c.queries["PasswordInsertMany"] + " (user_id, hash, updated_at) VALUES ")
	n := 0
	for i, h := range hashes {
		if h == "" {
			continue
		}
		if n > 0 {
			b.Write(", ")
		}
		b.Write("(" + b.Arg(users[i].ID) + ", " + b.Arg(h) + ", " + b.Time(users[i].CreatedAt) + ")")
		n++
	}
	if n == 0 {
		return nil
	}
	if _, err := c.w.ExecContext(ctx, b.String(), b.Args()...); err != nil {
		return c.fail("PasswordInsertMany", err)
	}
	return nil
}

// userConflict classifies an error of a user write. A unique violation is
// completed with every unique field of u that collides with another user,
// which the UserTaken probe asks the engine: at once, in the write's
// transaction, where a failed statement leaves it usable (SQLite, whose
// error does not even name the index); otherwise (PostgreSQL, which
// aborts the transaction) once the transaction is rolled back, by atomic.
func (c *conn) userConflict(ctx context.Context, name string, err error, u *usher.User) error {
	err = c.fail(name, err)
	var ue *usher.UniqueError
	if !errors.As(err, &ue) {
		return err
	}
	args := []any{strings.ToLower(u.Username), textOrNull(usher.EmailKey(u.Email)), textOrNull(u.ExternalID), u.UUID, u.ID,
		textOrNull(strings.ToLower(u.Handle))}
	if c.d.FailedStatementAbortsTx() {
		return &lateProbe{ue: ue, args: args}
	}
	if err := c.probeTaken(ctx, ue, args); err != nil {
		return err
	}
	return ue
}

// takenFields are the fields the UserTaken probe answers for, in its order.
var takenFields = [...]string{"username", "email", "external_id", "handle", "uuid"}

// probeTaken runs the UserTaken probe and sets the fields of ue to those
// that collide, keeping the one the driver named, if any, among them.
func (c *conn) probeTaken(ctx context.Context, ue *usher.UniqueError, args []any) error {
	var taken [len(takenFields)]bool
	if err := c.queryRow(ctx, "UserTaken", args...).Scan(&taken[0], &taken[1], &taken[2], &taken[3], &taken[4]); err != nil {
		return fmt.Errorf("UserTaken: %w", err)
	}
	var fields []string
	for i, f := range takenFields {
		if taken[i] || f == ue.Field {
			fields = append(fields, f)
		}
	}
	if len(fields) > 0 {
		ue.Field, ue.Fields = fields[0], fields
	}
	return nil
}

// lateProbe is a unique violation of a user write whose transaction the
// failure aborted: the probe for the other colliding fields waits until
// atomic has rolled the transaction back, and then reads what is
// committed.
type lateProbe struct {
	ue   *usher.UniqueError
	args []any
}

func (e *lateProbe) Error() string { return e.ue.Error() }

// Unwrap returns the unique violation, which the probe completes.
func (e *lateProbe) Unwrap() error { return e.ue }

// UserGet finds one user by the key's one field, with its identities,
// in one statement.
func (c *conn) UserGet(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	var name string
	var arg any
	switch {
	case key.ID != 0:
		name, arg = "UserByID", key.ID
	case key.Username != "":
		if internalKey(key.Username) {
			return nil, usher.ErrNotFound
		}
		name, arg = "UserByUsername", strings.ToLower(key.Username)
	case key.Email != "":
		name, arg = "UserByEmail", usher.EmailKey(key.Email)
	case key.Handle != "":
		name, arg = "UserByHandle", strings.ToLower(key.Handle)
	case key.UUID != "":
		name, arg = "UserByUUID", key.UUID
	case key.ExternalID != "":
		name, arg = "UserByExternalID", key.ExternalID
	case key.Provider != "" && key.ExternUID != "":
		name = "UserByIdentity"
	default:
		return nil, usher.ErrNotFound
	}
	args := []any{arg}
	if name == "UserByIdentity" {
		args = []any{key.Provider, key.ExternUID}
	}
	u, dests, finish := userDests()
	var identities string
	dests = append(dests, &identities)
	if c.d.PackedUser() {
		dests = []any{packedRow{dests}}
	}
	if err := c.queryRow(ctx, name, args...).Scan(dests...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, usher.ErrNotFound
		}
		return nil, c.fail(name, err)
	}
	finish()
	if err := setIdentities(u, identities); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return u, nil
}

// setIdentities sets u's identities from the JSON array of [provider,
// extern_uid] pairs that UserWithIdentities and UserIdentitiesColumn
// select; an empty array leaves them nil.
func setIdentities(u *usher.User, pairs string) error {
	if pairs == "[]" {
		return nil
	}
	var ps [][2]string
	if err := json.Unmarshal([]byte(pairs), &ps); err != nil {
		return fmt.Errorf("identities: %w", err)
	}
	for _, p := range ps {
		u.Identities = append(u.Identities, usher.Identity{Provider: p[0], ExternUID: p[1]})
	}
	return nil
}

// userGetQueries are the statements UserGet reads one user by, each
// wrapped at load in the dialect's UserWithIdentities: one statement,
// one index look-up and the identities' index range, per read.
var userGetQueries = []string{"UserByID", "UserByUsername", "UserByEmail", "UserByHandle", "UserByUUID",
	"UserByExternalID", "UserByIdentity"}

// UserFind returns the live users with one of the usernames or external
// ids, in one statement.
func (c *conn) UserFind(ctx context.Context, usernames, externalIDs []string) ([]*usher.User, error) {
	keys := make([]string, 0, len(usernames))
	for _, name := range usernames {
		if name != "" && !internalKey(name) {
			keys = append(keys, strings.ToLower(name))
		}
	}
	ids := make([]string, 0, len(externalIDs))
	for _, id := range externalIDs {
		if id != "" {
			ids = append(ids, id)
		}
	}
	if len(keys)+len(ids) == 0 {
		return nil, nil
	}
	keyArg, err := c.d.ListArg(keys)
	if err != nil {
		return nil, err
	}
	idArg, err := c.d.ListArg(ids)
	if err != nil {
		return nil, err
	}
	rows, err := c.q.QueryContext(ctx, c.queries["UserFind"], keyArg, idArg)
	if err != nil {
		return nil, c.fail("UserFind", err)
	}
	defer rows.Close()
	var users []*usher.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("UserFind: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, c.fail("UserFind", err)
	}
	if err := c.attachIdentities(ctx, users); err != nil {
		return nil, err
	}
	return users, nil
}

// UserUpdate reads the user (locking it where the dialect can), lets fn
// change it and writes it back.
func (c *conn) UserUpdate(ctx context.Context, id int64, fn func(u *usher.User) error) (*usher.User, error) {
	var out *usher.User
	err := c.atomic(ctx, func(c *conn) error {
		u, err := scanUser(c.queryRow(ctx, "UserByIDForUpdate", id))
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return usher.ErrNotFound
			}
			return c.fail("UserByIDForUpdate", err)
		}
		if err := c.attachIdentities(ctx, []*usher.User{u}); err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
		u.ID = id
		u.Version++
		args, err := c.userArgs(u)
		if err != nil {
			return err
		}
		if _, err := c.w.ExecContext(ctx, c.queries["UserWrite"], append(args, id)...); err != nil {
			return c.userConflict(ctx, "UserWrite", err, u)
		}
		out = u
		return nil
	})
	return out, err
}

// UserPurge deletes the user; its identities, password and tokens go with it
// through the schema's cascades.
func (c *conn) UserPurge(ctx context.Context, id int64) error {
	res, err := c.exec(ctx, "UserPurge", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return usher.ErrNotFound
	}
	return nil
}

// UserMakerSet records who made the user.
func (c *conn) UserMakerSet(ctx context.Context, userID, makerID int64) error {
	_, err := c.exec(ctx, "UserMakerSet", userID, makerID)
	return err
}

// ServiceAccountsMadeBy counts the service accounts the user made, deleted
// ones too until they are purged.
func (c *conn) ServiceAccountsMadeBy(ctx context.Context, userID int64) (int, error) {
	return c.count(ctx, "ServiceAccountsMadeBy", userID)
}

// UsersDeletedBefore returns the ids of up to limit users of kind that
// were deleted before the time, those deleted first first.
func (c *conn) UsersDeletedBefore(ctx context.Context, kind usher.UserKind, before time.Time, limit int) ([]int64, error) {
	return collectNamed(ctx, c, "UsersDeletedBefore", scanID, string(kind), c.d.TimeArg(before), limit)
}

// UserSeen records when the user was last seen, unless a recent time is
// recorded.
func (c *conn) UserSeen(ctx context.Context, id int64, at, notBefore time.Time) error {
	// Uncounted, like TokenTouch: who a credential stands for is the same
	// after it, and counting it would empty the caches of token checks
	// once a minute per account in use.
	if _, err := c.quiet.ExecContext(ctx, c.queries["UserSeen"], c.d.TimeArg(at), id, c.d.TimeArg(notBefore)); err != nil {
		return c.fail("UserSeen", err)
	}
	return nil
}

// UserSignIn records a sign-in and returns the user as written.
func (c *conn) UserSignIn(ctx context.Context, id int64, at time.Time) (*usher.User, error) {
	var out *usher.User
	err := c.atomic(ctx, func(c *conn) error {
		// Uncounted: the new times are no credential, and counting them
		// would empty every cached token check at each log-in. The core
		// drops this user's own cached checks itself.
		res, err := c.quiet.ExecContext(ctx, c.queries["UserSignIn"], c.d.TimeArg(at), id)
		if err != nil {
			return c.fail("UserSignIn", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return usher.ErrNotFound
		}
		out, err = c.UserGet(ctx, usher.UserKey{ID: id})
		return err
	})
	return out, err
}

// UserCount counts every user row.
func (c *conn) UserCount(ctx context.Context) (int, error) {
	return c.count(ctx, "UserCount")
}

// sortColumn returns the column a sort order uses and whether it descends.
func sortColumn(s usher.UserSort) (col string, desc bool) {
	desc = strings.HasPrefix(string(s), "-")
	switch strings.TrimPrefix(string(s), "-") {
	case "uuid":
		return "uuid", desc
	case "username":
		return "username_key", desc
	case "created_at":
		return "created_at", desc
	}
	return "id", desc
}

// liveUsers is the condition that keeps the users not deleted.
const liveUsers = "deleted_at IS NULL"

// userWhere adds the filter's conditions, except the cursor, to b; live
// is the condition that keeps live users.
func (c *conn) userWhere(b *Builder, f usher.UserFilter, live string) {
	classWhere(b, f, func(deleted bool) string {
		if deleted {
			return "deleted_at IS NOT NULL"
		}
		return live
	})
	search := userSearch(f)
	if isUUID(search.UUID) {
		// Every UUID is 36 characters long, so one that contains another
		// is that one: the unique index finds it.
		b.Where("uuid = " + b.Arg(strings.ToLower(search.UUID)))
		search.UUID = ""
	}
	if search != (UserSearch{QueryEmail: search.QueryEmail}) {
		c.d.SearchUsers(b, search)
	}
	if f.Username != "" {
		if internalKey(f.Username) {
			b.Where("1 = 0")
		}
		b.Where("username_key = " + b.Arg(strings.ToLower(f.Username)))
	}
	if f.Email != "" {
		b.Where("email_key = " + b.Arg(usher.EmailKey(f.Email)))
	}
	if f.Handle != "" {
		b.Where("handle_key = " + b.Arg(strings.ToLower(f.Handle)))
	}
	if f.OrganisationID != 0 {
		b.Where("organisation_id = " + b.Arg(f.OrganisationID))
	}
	if f.UUID != "" {
		b.Where("uuid = " + b.Arg(f.UUID))
	}
	if f.ExternalID != "" {
		b.Where("external_id = " + b.Arg(f.ExternalID))
	}
	if len(f.IDs) > 0 {
		b.Where("id IN (" + b.IDs(f.IDs) + ")")
	}
	if f.Admin != nil {
		b.Where("is_admin = " + b.Arg(*f.Admin))
	}
	if _, cond := uncommonIndex(f); cond != "" {
		b.Where(cond)
	}
	if f.CreatedAfter != nil {
		b.Where("created_at >= " + b.Time(*f.CreatedAfter))
	}
	if f.CreatedBefore != nil {
		b.Where("created_at < " + b.Time(*f.CreatedBefore))
	}
}

// isUUID reports whether s is a UUID in its text form, in either case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", r):
			return false
		}
	}
	return true
}

// UserList returns one page of users. It asks for one row more than the
// limit to learn whether another page follows; without a limit it reads
// every match.
func (c *conn) UserList(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error) {
	page := &usher.UserPage{Page: usher.Page[*usher.User]{Total: -1, Limit: f.Page.Limit}}
	var err error
	folded := -1
	switch {
	case foldsTotal(f, windowNone):
		// userRows reads the total with the page; see below.
	case f.Page.WithTotal && countable(f):
		page.Total, err = c.userCount(ctx, f)
	default:
		page.Total, page.TotalEstimated, err = c.total(ctx, "UserList", f.Page, func(b *Builder, cols string) {
			c.userWhere(b, f, liveUsers)
			from, _ := b.source()
			b.Write("SELECT " + cols + " FROM " + from)
			b.WriteWhere()
		})
	}
	if err != nil {
		return nil, err
	}
	col, desc := sortColumn(f.Sort)
	if w := c.d.SearchWindow(); w > 0 && col == "id" && f.Page.Offset == 0 && f.Page.Limit > 0 && searches(f) {
		// The window's users first, then, when they do not fill the page,
		// the matches after the window through the search indexes.
		page.Items, _, err = c.userRows(ctx, f, col, desc, w, windowFirst)
		k := len(page.Items)
		widen, most := k*searchWidenAt >= f.Page.Limit+1, searchWindowMax
		if c.weakSearch(f) {
			// The index would read and recheck far more users than
			// match: any match in the window is worth a wider one.
			widen, most = k >= 1, searchWindowMaxWeak
		}
		if err == nil && widen && k <= f.Page.Limit {
			// The window holds a quarter page or more, not a whole one: the
			// string is about k in w users. A wider window that should
			// hold two pages costs as much whatever the table's size,
			// where the indexes would read every match and sort them,
			// k/w of the table. Fewer matches foretell the string's
			// share too roughly, and the wider window would near the
			// cost of the indexes' few matches.
			w = min(w*(2*(f.Page.Limit+1)/k+1), most)
			page.Items, _, err = c.userRows(ctx, f, col, desc, w, windowFirst)
		}
		if err == nil && len(page.Items) <= f.Page.Limit {
			var rest []*usher.User
			g := f
			// At least one row: a window that filled the page exactly
			// still asks whether a match follows it (a limit of 0 would
			// read every one).
			g.Page.Limit = max(f.Page.Limit-len(page.Items), 1)
			rest, _, err = c.userRows(ctx, g, col, desc, w, windowRest)
			page.Items = append(page.Items, rest...)
		}
	} else {
		part := windowNone
		if walks, werr := c.searchWalks(ctx, f, col); werr != nil {
			return nil, werr
		} else if walks {
			part = windowWalk
		} else if few, ferr := c.fewUncommon(ctx, f); ferr != nil {
			return nil, ferr
		} else if few {
			part = windowUncommon
		}
		page.Items, folded, err = c.userRows(ctx, f, col, desc, 0, part)
	}
	if err != nil {
		return nil, err
	}
	if foldsTotal(f, windowNone) {
		if page.Total = folded; folded < 0 {
			// No row came to carry the total: an empty list, or a page
			// past its end.
			if page.Total, err = c.userCount(ctx, f); err != nil {
				return nil, err
			}
		}
	}
	if limit := f.Page.Limit; limit > 0 && len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.Next = &usher.Cursor{ID: last.ID, Key: cursorKey(col, last)}
	}
	if !c.foldsIdentities(f, col, windowNone) && !f.Brief {
		if err := c.attachIdentities(ctx, page.Items); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// foldsIdentities reports whether userRows reads the users' identities in
// the page's own statement (UserIdentitiesColumn) rather than leaving them
// to attachIdentities' second one. It does for the rows of a list in id
// order from its start, which the id index or rowid scan reads in order,
// or a search whose index yields its matches in id order
// (Dialect.SearchInIDOrder), so the column's subquery runs once per row
// returned; not under a sort, which would run it for every row sorted,
// nor past an offset, which on PostgreSQL would run it for every row
// skipped. A brief list reads no identities at all.
func (c *conn) foldsIdentities(f usher.UserFilter, col string, part int) bool {
	if part != windowNone || col != "id" || f.Page.Offset != 0 || f.Brief {
		return false
	}
	return !searches(f) || c.d.SearchInIDOrder(userSearch(f))
}

// foldsTotal reports whether userRows reads the list's exact total from
// user_counts in the page's own statement, as a column of every row (an
// uncorrelated subquery, which both engines run once), rather than
// userCount's statement of its own: for a page of a countable list that
// asks for its total.
func foldsTotal(f usher.UserFilter, part int) bool {
	return part == windowNone && f.Page.WithTotal && countable(f)
}

// A search's first window that holds at least 1/searchWidenAt of a page
// but not a page is widened, up to searchWindowMax users; a weak search's
// (Dialect.WeakSearch) that holds any match, up to searchWindowMaxWeak
// (UserList). A window stops reading once it has a page, so a wide one
// costs its whole width only for a string rarer than it foretold.
const (
	searchWidenAt       = 4
	searchWindowMax     = 10_000
	searchWindowMaxWeak = 50_000
)

// weakSearch reports whether every string f looks for by substring is
// weak for the dialect's index, or has no index (the UUID, the external
// id): then the index narrows the search little or not at all.
func (c *conn) weakSearch(f usher.UserFilter) bool {
	for _, v := range []string{f.Query, f.UsernameContains, f.EmailContains} {
		if v != "" && !c.d.WeakSearch(v) {
			return false
		}
	}
	return true
}

// userSearch is the substring search of f, for the dialect.
func userSearch(f usher.UserFilter) UserSearch {
	return UserSearch{Query: f.Query, QueryEmail: f.SearchEmail, Username: f.UsernameContains,
		Email: f.EmailContains, UUID: f.UUIDContains, ExternalID: f.ExternalIDContains}
}

// searches reports whether f looks for a substring.
func searches(f usher.UserFilter) bool {
	return f.Query != "" || f.UsernameContains != "" || f.EmailContains != "" || f.UUIDContains != "" ||
		f.ExternalIDContains != ""
}

// The parts of a search ordered by id that reads a window of users first
// (Dialect.SearchWindow): every row (no window), the rows of the window,
// the rows after it; and a search sorted otherwise that walks the index
// in its order (Dialect.WalkAt); and a page of users of an uncommon value
// read through their index (uncommonIndex).
const (
	windowNone = iota
	windowFirst
	windowRest
	windowWalk
	windowUncommon
)

// ordered reports whether a page of f walks the index that holds its order
// (Dialect.UsersInOrder): its filters are on kind, state and deletion
// (countable), the admin flag or a range of creation, which no index
// narrows better than the order's own. The last two went unordered, and on
// SQLite a page with either sorted every live user (round 11's reviewer:
// admin=false, created_after, created_before, 20–24 ms at 50,000 users).
func ordered(f usher.UserFilter) bool {
	g := f
	g.Admin, g.CreatedAfter, g.CreatedBefore = nil, nil, nil
	return countable(g)
}

// uncommonIndex is the partial index that holds every user f keeps when f
// keeps live users of an uncommon value alone — administrators, a state
// other than active, kinds other than normal (migration 33) — and the
// condition, written with its value as the index's is, that lets a
// planner prove so; "" when f keeps others too.
func uncommonIndex(f usher.UserFilter) (index, cond string) {
	if f.Deleted != usher.Default && f.Deleted != usher.Exclude {
		return "", ""
	}
	switch {
	case f.Admin != nil && *f.Admin:
		return "users_admins", "is_admin"
	case f.State != "" && f.State != usher.StateActive, f.Suspended == usher.Only:
		return "users_uncommon_state", "state <> 'active'"
	case f.Kind != "" && f.Kind != usher.KindNormal,
		f.Kind == "" && len(f.Kinds) > 0 && !slices.Contains(f.Kinds, usher.KindNormal):
		return "users_uncommon_kind", "kind <> 'normal'"
	}
	return "", ""
}

// fewUncommon reports whether a page of f, which would walk the index in
// its order (ordered), keeps users of an uncommon value (uncommonIndex)
// of whom there are at most Dialect.WalkAt, counted no further: the page
// then reads them through their index, in id order, and sorts them for
// another order (windowUncommon). A walk would pass every user to find
// the few, or none; more of them are dense enough for one to stop soon,
// after at most 21 × users ÷ WalkAt users.
func (c *conn) fewUncommon(ctx context.Context, f usher.UserFilter) (bool, error) {
	at := c.d.WalkAt()
	index, _ := uncommonIndex(f)
	if at == 0 || index == "" || !ordered(f) || f.Page.Limit == 0 {
		return false, nil
	}
	n, err := c.matchesUpTo(ctx, f, c.d.UsersThrough(index), at, "UserUncommonMatches")
	return n <= at, err
}

// matchesUpTo counts the users f keeps, read from from (the users table
// when ""), no further than at + 1.
func (c *conn) matchesUpTo(ctx context.Context, f usher.UserFilter, from string, at int, what string) (int, error) {
	b := &Builder{d: c.d}
	if from != "" {
		b.From(from, "id")
	}
	c.userWhere(b, f, liveUsers)
	src, _ := b.source()
	b.Write("SELECT count(*) FROM (SELECT 1 FROM " + src)
	b.WriteWhere()
	b.Write(" LIMIT " + b.Arg(at+1) + ") AS matches")
	var n int
	if err := c.q.QueryRowContext(ctx, b.String(), b.Args()...).Scan(&n); err != nil {
		return 0, c.fail(what, err)
	}
	return n, nil
}

// searchWalks reports whether a page of f sorted by col walks the index in
// that order (windowWalk): for a search sorted other than by id, in a
// dialect that does not choose so itself, that matches more than
// Dialect.WalkAt users, counted no further.
func (c *conn) searchWalks(ctx context.Context, f usher.UserFilter, col string) (bool, error) {
	at := c.d.WalkAt()
	if at == 0 || col == "id" || !searches(f) || f.Page.Limit == 0 {
		return false, nil
	}
	n, err := c.matchesUpTo(ctx, f, "", at, "UserSearchMatches")
	return n > at, err
}

// userRows reads the rows of a page of users, one more than its limit,
// sorted by col. part says which rows of a search with a window of w
// users it reads: in the window, the statement reads the first w users
// after the cursor by their primary key and keeps those that match; after
// it, the matches past the window's last user, which the statement bounds
// and orders by an expression of the id, so that the planner finds them
// through the search indexes and sorts them rather than walking the
// primary key.
//
// It also returns the list's total when foldsTotal, taken from the first
// row, and -1 otherwise or when no row came.
func (c *conn) userRows(ctx context.Context, f usher.UserFilter, col string, desc bool, w, part int) ([]*usher.User, int, error) {
	b := &Builder{d: c.d}
	op, dir, edge := ">", " ASC", "max"
	if desc {
		op, dir, edge = "<", " DESC", "min"
	}
	// window writes the first w users after the cursor, in order.
	window := func(cols string) string {
		cond := ""
		if after := f.Page.After; after != nil {
			cond = " WHERE id " + op + " " + b.Arg(after.ID)
		}
		return "SELECT " + cols + " FROM users" + cond + " ORDER BY id" + dir + " LIMIT " + b.Arg(w)
	}
	live := liveUsers
	switch {
	case part == windowNone && ordered(f), part == windowWalk:
		var from string
		from, live = c.d.UsersInOrder(col, f.Deleted == usher.Default || f.Deleted == usher.Exclude)
		b.From(from, "id")
		b.walks = part == windowWalk
	case part == windowUncommon:
		index, _ := uncommonIndex(f)
		b.From(c.d.UsersThrough(index), "id")
	case part == windowFirst:
		b.From("("+window("*")+") AS users", "id")
	case part == windowRest:
		b.Where("id + 0 " + op + " (SELECT " + edge + "(id) FROM (" + window("id") + ") AS win)")
	}
	c.userWhere(b, f, live)
	from, idCol := b.source()
	if after := f.Page.After; after != nil {
		key, err := c.cursorArg(col, after)
		if err != nil {
			return nil, -1, err
		}
		if col == "id" {
			b.Where(idCol + " " + op + " " + b.Arg(after.ID))
		} else {
			b.Where(fmt.Sprintf("(%s, id) %s (%s, %s)", col, op, b.Arg(key), b.Arg(after.ID)))
		}
	}
	fold := c.foldsIdentities(f, col, part)
	cols, dests := macros["{{user_columns}}"], userDests
	if f.Brief {
		cols, dests = macros["{{user_brief_columns}}"], userBriefDests
	}
	if fold {
		cols += ", " + c.queries["UserIdentitiesColumn"]
	}
	withTotal := foldsTotal(f, part)
	if withTotal {
		cols += ", (" + userCountQuery(b, f) + ")"
	}
	packed := c.d.PackedUser()
	if packed {
		// One column a row, as UserWithIdentities reads a user: the
		// driver's cost is per column, and a page is many rows.
		cols = "json_array(" + cols + ") AS packed"
	}
	b.Write("SELECT " + cols + " FROM " + from)
	b.WriteWhere()
	switch {
	case part == windowRest:
		b.Write(" ORDER BY (id + 0)" + dir)
	case col == "id":
		b.Write(" ORDER BY " + idCol + dir)
	default:
		b.Write(" ORDER BY " + col + dir + ", id" + dir)
	}
	writePage(b, f.Page)
	rows, err := c.q.QueryContext(ctx, b.String(), b.Args()...)
	if err != nil {
		return nil, -1, c.fail("UserList", err)
	}
	defer rows.Close()
	var users []*usher.User
	total := -1
	for rows.Next() {
		u, into, finish := dests()
		var identities string
		if fold {
			into = append(into, &identities)
		}
		if withTotal {
			into = append(into, &total)
		}
		if packed {
			into = []any{packedRow{into}}
		}
		if err := rows.Scan(into...); err != nil {
			return nil, -1, fmt.Errorf("UserList: %w", err)
		}
		finish()
		if fold {
			if err := setIdentities(u, identities); err != nil {
				return nil, -1, fmt.Errorf("UserList: %w", err)
			}
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, -1, c.fail("UserList", err)
	}
	return users, total, nil
}

// writeLimit ends a page's query of limit rows: it reads one more, to learn
// whether another page follows, or every row when there is no limit.
func writeLimit(b *Builder, limit int) {
	n := int64(math.MaxInt64)
	if limit > 0 {
		n = int64(limit) + 1
	}
	b.Write(" LIMIT " + b.Arg(n))
}

// cursorKey is the sort column's value of u, as the cursor keeps it.
func cursorKey(col string, u *usher.User) string {
	switch col {
	case "uuid":
		return u.UUID
	case "username_key":
		return usernameKey(u)
	case "created_at":
		return strconv.FormatInt(u.CreatedAt.UnixMicro(), 10)
	}
	return ""
}

// cursorArg turns a cursor's key back into an argument for col.
func (c *conn) cursorArg(col string, cur *usher.Cursor) (any, error) {
	if col != "created_at" {
		return cur.Key, nil
	}
	us, err := strconv.ParseInt(cur.Key, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("sqldb: bad created_at cursor %q: %w", cur.Key, err)
	}
	return c.d.TimeArg(time.UnixMicro(us).UTC()), nil
}

// attachIdentities loads the identities of users in one query.
func (c *conn) attachIdentities(ctx context.Context, users []*usher.User) error {
	if len(users) == 0 {
		return nil
	}
	byID := make(map[int64]*usher.User, len(users))
	b := &Builder{d: c.d}
	marks := make([]string, len(users))
	for i, u := range users {
		byID[u.ID] = u
		u.Identities = nil
		marks[i] = b.Arg(u.ID)
	}
	b.Write(strings.Replace(c.queries["IdentitiesOf"], "{{ids}}", strings.Join(marks, ", "), 1))
	rows, err := c.q.QueryContext(ctx, b.String(), b.Args()...)
	if err != nil {
		return c.fail("IdentitiesOf", err)
	}
	defer rows.Close()
	for rows.Next() {
		var userID int64
		var id usher.Identity
		if err := rows.Scan(&userID, &id.Provider, &id.ExternUID); err != nil {
			return fmt.Errorf("IdentitiesOf: %w", err)
		}
		if u := byID[userID]; u != nil {
			u.Identities = append(u.Identities, id)
		}
	}
	return rows.Err()
}

// IdentitySet links an identity, replacing the user's one at its provider.
func (c *conn) IdentitySet(ctx context.Context, userID int64, id usher.Identity, at time.Time) error {
	_, err := c.exec(ctx, "IdentityUpsert", userID, id.Provider, id.ExternUID, c.d.TimeArg(at))
	var ue *usher.UniqueError
	if errors.As(err, &ue) {
		ue.Field = "identity"
	}
	return err
}

// IdentityDelete unlinks the user's identity at provider.
func (c *conn) IdentityDelete(ctx context.Context, userID int64, provider string) error {
	res, err := c.exec(ctx, "IdentityDelete", userID, provider)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return usher.ErrNotFound
	}
	return nil
}

// PasswordGet returns the user's password hash.
func (c *conn) PasswordGet(ctx context.Context, userID int64) (string, error) {
	var hash string
	err := c.queryRow(ctx, "PasswordGet", userID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", usher.ErrNotFound
	}
	if err != nil {
		return "", c.fail("PasswordGet", err)
	}
	return hash, nil
}

// PasswordSet stores or, with an empty hash, removes the user's password.
func (c *conn) PasswordSet(ctx context.Context, userID int64, hash string, at time.Time) error {
	if hash == "" {
		_, err := c.exec(ctx, "PasswordDelete", userID)
		return err
	}
	_, err := c.exec(ctx, "PasswordUpsert", userID, hash, c.d.TimeArg(at))
	return err
}

// AdministratorsLock holds the set of the administrators who may sign in
// until the transaction ends, where the dialect has a statement for it;
// SQLite has none, its one writer's transaction holding the database
// already.
func (c *conn) AdministratorsLock(ctx context.Context) error {
	if c.queries["AdministratorsLock"] == "" {
		return nil
	}
	return c.quietExec(ctx, "AdministratorsLock")
}

// OtherAdministrator reports whether a live person other than the user is
// an administrator who may sign in.
func (c *conn) OtherAdministrator(ctx context.Context, userID int64) (bool, error) {
	n, err := c.count(ctx, "OtherAdministrator", userID)
	return n > 0, err
}

// UserNamesLock holds the keys, in one statement taking them in ascending
// order, where the dialect has a statement for it; SQLite has none, its one
// writer's transaction holding the database already.
func (c *conn) UserNamesLock(ctx context.Context, keys []string) error {
	if c.queries["UserNamesLock"] == "" || len(keys) == 0 {
		return nil
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	arg, err := c.d.ListArg(slices.Compact(keys))
	if err != nil {
		return err
	}
	return c.quietExec(ctx, "UserNamesLock", arg)
}
