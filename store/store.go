// Package store defines the storage contract of usher. The store persists and
// queries; it decides no policy. Backends live in the subpackages sqlite and
// postgres and must pass the conformance suite in storetest.
//
// Errors: a missing row is usher.ErrNotFound; a write that breaks a uniqueness
// constraint is a *usher.UniqueError naming the field (it matches
// usher.ErrExists); a write that waited longer than the store waits for
// a lock another process held on the whole database (SQLite's) matches
// ErrLocked. Any other error is a fault.
//
// Lists (UserList, GroupList, GroupMembers, OrgList, AppList, ReminderList,
// AuditList) take a usher.PageRequest and return a usher.Page in their
// order: up to Limit rows (every match when it is 0), after the cursor
// After or past the first Offset rows, with the cursor of the last row
// when more follow. With WithTotal a page counts the rows of the whole
// list, exactly up to CountUpTo; past it Total is a count kept for up to
// a minute, or made then, and TotalEstimated is set. Otherwise Total is -1.
package store

import (
	"context"
	"errors"
	"time"

	"usher"
)

// Pruned counts the rows one PruneEnded call deleted.
type Pruned struct {
	Tokens, ScriptRuns, Mail, Reminders, JWTs int
}

// ErrLocked is a write that waited longer than the store waits for the
// database's write lock, which another process held: on SQLite, an
// import's end of a load does, for tens of seconds at a million users.
var ErrLocked = errors.New("another process held the database's write lock too long")

// LoadSmallTable is the most users a table may hold for LoadStart to set
// its indexes aside: rebuilding them costs what the table holds, which
// for a table this small is nothing beside the load.
const LoadSmallTable = 1000

// Store is a database. Its Tx methods run outside any transaction; use InTx to
// write more than one row atomically.
type Store interface {
	Tx
	// InTx runs fn in one transaction and commits it when fn returns nil. The
	// Tx passed to fn must not be used after fn returns.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// InLoadTx runs fn in one transaction, as InTx does, for one batch of
	// a bulk load: fn writes only its own users' rows (new users, their
	// passwords, addresses, keys, identities and audit events, or updates
	// of the users it names that set no reference to another row) and
	// gives the whole transaction up on any error. While a load is under
	// way (from a LoadStart that reported true to LoadFinish), SQLite
	// runs the batch without its foreign-key checks: a statement that
	// writes many rows into a table with foreign keys otherwise copies
	// each page it changes into a statement journal, to be able to undo
	// itself alone, which took a fifth of a million-user load's time. The
	// batch holds the one writing connection from its start to its end,
	// so no other transaction runs without the checks. Batches written at
	// once keep their order through the import's turn in ctx
	// (usher.ImportTurnFrom): the transaction begins once the turn before
	// it is done, UserCreateMany gives the turn up as soon as its users
	// have their ids, and the end of the transaction does if nothing did.
	InLoadTx(ctx context.Context, fn func(tx Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Ready checks that the database takes writes: it is no standby and a
	// write commits (it fails on a read-only database or a full disk). The
	// write is not counted by Changes. The error says why not; the SQL
	// backends' is a *sqldb.NotReadyError, whose Public reason names no path.
	Ready(ctx context.Context) error
	// PruneEnded deletes up to limit rows of each kind that ended before
	// the time and that nothing reads any more: tokens revoked or expired
	// (every list and look-up leaves them out, and a credential that
	// names one is refused as an unknown one is), script runs done, mail
	// sent (whose bodies are wiped already), reminders deleted (which
	// nothing finds, lists or delivers) and the ends of JWTs expired
	// (JWTEnd: the JWT's own expiry refuses it). The deletes are not
	// counted by Changes: no cached answer can hold what has ended.
	PruneEnded(ctx context.Context, before time.Time, limit int) (Pruned, error)
	// Changes counts the writes this process has committed to the
	// database. It grows after each write is visible to readers, so a
	// cache filled from reads made after calling it is stale once it has
	// grown. A transaction counts once, at its commit, and only when it
	// wrote something counted. Writes by other processes on the database
	// count when the backend hears of them: PostgreSQL's within a round
	// trip of their commit (LISTEN/NOTIFY), and once more whenever it may
	// have missed some; SQLite has one process. Not counted: Ready's
	// write, and the bookkeeping no cache holds a copy of that a write
	// could leave stale: TokenTouch and UserSeen, which change no
	// credential; UserSignIn (a caller that caches users drops that one
	// itself); the throttles' writes; KnownDevicePut; a new token (TokenCreate) and a new
	// audit event (AuditAppend), rows no one has read yet.
	Changes() uint64
	// Analyze brings the query planner's statistics up to date, after a
	// bulk change the engine's own upkeep has not caught up with yet.
	Analyze(ctx context.Context) error
	// LoadStart readies the database for a bulk load of users. It first
	// finishes a load that an earlier run started and never finished (as
	// LoadFinish). Then, when the users table holds no more than
	// LoadSmallTable users, it sets aside what is cheaper to build once
	// after the load than row by row during it — indexes that enforce
	// nothing, search indexes, the new users' e-mail claims and (SQLite)
	// the user counts — and sets the connection up for large
	// transactions, and reports true: the caller must call LoadFinish,
	// after the load or after a failure. Unique indexes stay: every
	// conflict is still refused row by row, and a new user's address
	// already claimed is refused; the caller must refuse an address that
	// two loaded users name (one as a secondary address). Reads meanwhile
	// give the same answers, only slower, except that (SQLite) a search
	// and list totals miss the users written since LoadStart. Until
	// LoadFinish the writing connection waits for another process's
	// write lock longer than it otherwise does (SQLite: up to 10 minutes
	// instead of 10 s), for a server finishing the load (LoadRecover).
	LoadStart(ctx context.Context) (bool, error)
	// LoadFinish builds what LoadStart set aside, restores the
	// connection's settings and refreshes the planner's statistics. On
	// PostgreSQL the claims and the indexes are built at once, on two
	// connections, the triggers and foreign keys put back after them, and
	// the keys checked last, holding back no read. It is
	// idempotent: when no load is unfinished it only refreshes the
	// statistics, if this store was loading (another process finished
	// its load, LoadRecover). When a loaded user's address is claimed by
	// another user it fails, naming both, and leaves the load unfinished
	// with every row kept.
	LoadFinish(ctx context.Context) error
	// LoadRecover finishes, as LoadFinish, a load that a process cut short
	// left unfinished, and reports whether it finished one. A load this
	// store is running (LoadStart to LoadFinish) is left alone, and so is
	// a standby's database, which takes no writes; a load that another
	// process is still running is finished too, and that process goes on
	// writing with everything in place, slower. Of processes that recover
	// one load at once, one finishes it and the others report false.
	LoadRecover(ctx context.Context) (bool, error)
	// Close releases the database.
	Close() error
}

// Tx is what can be done inside (or outside) a transaction.
type Tx interface {
	// UserCreate inserts u and sets u.ID. u.Identities are inserted with it;
	// passwordHash, when not empty, is stored as the account's password.
	UserCreate(ctx context.Context, u *usher.User, passwordHash string) error
	// UserCreateMany inserts users, sets their IDs, and stores each
	// non-empty passwordHashes[i] as users[i]'s password, in a few
	// statements rather than a few per user: for bulk imports. Identities
	// are not inserted. It is atomic on its own: on any error, a unique
	// violation among them, nothing is written. Within a transaction, an
	// error may leave some of the users written in it (SQLite), or end it
	// (PostgreSQL): give the transaction up. It gives up the import's turn
	// in ctx, if any, once the users have their ids (see InLoadTx).
	UserCreateMany(ctx context.Context, users []*usher.User, passwordHashes []string) error
	// UserFind returns the live users whose username, compared
	// case-insensitively, or external id is among those given, with their
	// identities, in no order: the users a batch of imported records
	// names, in one statement.
	UserFind(ctx context.Context, usernames, externalIDs []string) ([]*usher.User, error)
	// UserGet returns one user with its identities. By ID it returns deleted
	// users too; by any other key only users that are not deleted.
	UserGet(ctx context.Context, key usher.UserKey) (*usher.User, error)
	// UserList returns one page of users matching f, ordered by f.Sort.
	UserList(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error)
	// UserUpdate reads the user with the given id, deleted or not, locks it
	// for the rest of the transaction where the backend can, and calls fn with
	// it. When fn returns nil the user's fields, as fn left them, are written
	// back with Version incremented; the written user is returned. fn must not
	// change ID, UUID, CreatedAt or Identities.
	UserUpdate(ctx context.Context, id int64, fn func(u *usher.User) error) (*usher.User, error)
	// UserPurge deletes the user and everything that belongs to it for good.
	UserPurge(ctx context.Context, id int64) error
	// UserMakerSet records the user who made the user (a service
	// account's maker).
	UserMakerSet(ctx context.Context, userID, makerID int64) error
	// ServiceAccountsMadeBy counts the service accounts the user made,
	// deleted ones too until they are purged.
	ServiceAccountsMadeBy(ctx context.Context, userID int64) (int, error)
	// UsersDeletedBefore returns the ids of up to limit users of the kind
	// deleted before the time, those deleted first first.
	UsersDeletedBefore(ctx context.Context, kind usher.UserKind, before time.Time, limit int) ([]int64, error)
	// UserSeen records that the user was seen at the given time, unless a
	// time since notBefore is recorded already. It changes no credential
	// and is not counted by Changes.
	UserSeen(ctx context.Context, id int64, at, notBefore time.Time) error
	// UserSignIn records a sign-in at the given time: the last sign-in
	// time takes the current one, which becomes at. Version stays, as
	// UserSeen leaves it: everyone who reads the user reads its version,
	// and a version that grew at each sign-in told them when the user
	// signed in. It returns the user as written, or ErrNotFound. It is not counted by
	// Changes, so that log-ins leave others' cached credentials be: a
	// caller that caches the user must drop it.
	UserSignIn(ctx context.Context, id int64, at time.Time) (*usher.User, error)
	// UserCount returns the number of users, deleted ones included.
	UserCount(ctx context.Context) (int, error)

	// IdentitySet links the user to the identity, replacing the user's
	// identity at the same provider. An identity is unique across users.
	IdentitySet(ctx context.Context, userID int64, id usher.Identity, at time.Time) error
	// IdentityDelete unlinks the user's identity at provider.
	IdentityDelete(ctx context.Context, userID int64, provider string) error

	// PasswordGet returns the user's password hash; ErrNotFound when the
	// account has none.
	PasswordGet(ctx context.Context, userID int64) (string, error)
	// PasswordSet stores the user's password hash; an empty hash removes it.
	PasswordSet(ctx context.Context, userID int64, hash string, at time.Time) error

	// TokenCreate inserts t and sets t.ID. A hash is unique.
	TokenCreate(ctx context.Context, t *usher.Token) error
	// TokenGet returns a token by id.
	TokenGet(ctx context.Context, id int64) (*usher.Token, error)
	// TokenByHash returns the token with the given hash, revoked or not.
	TokenByHash(ctx context.Context, hash []byte) (*usher.Token, error)
	// TokenList returns the tokens matching f, newest first.
	TokenList(ctx context.Context, f TokenFilter) ([]*usher.Token, error)
	// TokenCount returns how many tokens match f.
	TokenCount(ctx context.Context, f TokenFilter) (int, error)
	// TokenRevoke marks the tokens matching f revoked at the given time and
	// returns how many it revoked. Revoked tokens are left alone. The filter
	// must name a user or a token.
	TokenRevoke(ctx context.Context, f TokenFilter, at time.Time) (int, error)
	// TokenTouch records that the token was used at the given time, unless
	// a use since notBefore is recorded already.
	TokenTouch(ctx context.Context, id int64, at, notBefore time.Time) error
	// JWTEnd records that the JWT of the id (its jti) has ended before its
	// expiry; recorded again, the end is kept until the later of the two
	// expiries. JWTEnded reports whether it has ended. A JWT is signed,
	// not stored: its end is all that is kept.
	JWTEnd(ctx context.Context, id string, expiresAt time.Time) error
	JWTEnded(ctx context.Context, id string) (bool, error)

	// CodeCreate inserts c and sets c.ID. A hash is unique.
	CodeCreate(ctx context.Context, c *usher.Code) error
	// CodeByHash returns the code of the kind with the hash, used, expired
	// or not.
	CodeByHash(ctx context.Context, kind usher.CodeKind, hash []byte) (*usher.Code, error)
	// CodeUse marks the code used at the given time, if it was neither used
	// nor expired then; ErrNotFound otherwise. Of two concurrent uses, one
	// wins.
	CodeUse(ctx context.Context, id int64, at time.Time) error
	// CodeSetUser records the account an unused code is for.
	CodeSetUser(ctx context.Context, id, userID int64) error
	// CodeDeleteUser deletes the user's unused codes of the kind.
	CodeDeleteUser(ctx context.Context, userID int64, kind usher.CodeKind) error
	// CodeDeleteAddress deletes the user's unused codes of the kinds that
	// were sent to the address with the key (Code.EmailKey).
	CodeDeleteAddress(ctx context.Context, userID int64, emailKey string, kinds ...usher.CodeKind) error
	// CodeDeleteExpired deletes codes that expired before the given time and
	// returns how many.
	CodeDeleteExpired(ctx context.Context, before time.Time) (int, error)

	// OutboxAdd inserts m and sets m.ID.
	OutboxAdd(ctx context.Context, m *usher.Mail) error
	// OutboxClaim returns up to limit unsent mails due at now, oldest first,
	// and makes them due again only at leaseUntil, so that concurrent senders
	// claim different mails.
	OutboxClaim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*usher.Mail, error)
	// OutboxSent records a delivery and wipes the body.
	OutboxSent(ctx context.Context, id int64, at time.Time) error
	// OutboxFailed records a failed attempt and when to try again.
	OutboxFailed(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error
	// OutboxDrop deletes a mail that will not be delivered, body and all.
	OutboxDrop(ctx context.Context, id int64) error
	// OutboxGet returns one mail.
	OutboxGet(ctx context.Context, id int64) (*usher.Mail, error)

	// KnownDeviceGet returns when the user last signed in from the device
	// with the hash; ErrNotFound for a device never seen.
	KnownDeviceGet(ctx context.Context, userID int64, hash string) (time.Time, error)
	// KnownDeviceCount counts the devices the user has signed in from.
	KnownDeviceCount(ctx context.Context, userID int64) (int, error)
	// KnownDevicePut records a sign-in from the device at at.
	KnownDevicePut(ctx context.Context, userID int64, hash string, at time.Time) error
	// KnownDeviceTrim deletes the user's devices last seen before the
	// time, and all but the keep seen last, and returns how many.
	KnownDeviceTrim(ctx context.Context, userID int64, before time.Time, keep int) (int, error)

	// ThrottleGet returns the throttle of the key; ErrNotFound when it has
	// no failures.
	ThrottleGet(ctx context.Context, key string) (*usher.Throttle, error)
	// ThrottleFail counts a failure under the key at now and returns the
	// throttle. Failures before windowStart no longer count, unless the
	// key is remembered past now: a key locked lately (ThrottleLock), or
	// failed lately with a remember time (not zero), which this failure
	// extends to remember, keeps its count, so that its locks go on
	// growing.
	ThrottleFail(ctx context.Context, key string, now, windowStart, remember time.Time) (*usher.Throttle, error)
	// ThrottleLock locks the key until the given time, and remembers its
	// count until remember, a time after it.
	ThrottleLock(ctx context.Context, key string, until, remember time.Time) error
	// ThrottleRelock locks the key until the given time unless a lock
	// that has not ended by now holds it: of the attempts that find a
	// lock ended, only the first locks the key again. It leaves the time
	// the key is remembered as it is. ErrNotFound when the key is locked
	// already (or has no throttle).
	ThrottleRelock(ctx context.Context, key string, now, until time.Time) error
	// ThrottleUnlock ends the key's lock at now if it ends at until, to
	// the microsecond: the lock an attempt took with ThrottleRelock, which
	// no failure has replaced since. A new window (ThrottleFail) has no
	// lock.
	ThrottleUnlock(ctx context.Context, key string, until, now time.Time) error
	// ThrottleClear forgets the key's failures and lock.
	ThrottleClear(ctx context.Context, key string) error
	// ThrottleForgive takes back one counted failure of the key, for an
	// attempt counted before it was known to succeed.
	ThrottleForgive(ctx context.Context, key string) error
	// ThrottlePrune deletes the throttles whose window started before the
	// given time, whose lock, if any, has ended by then, and that are
	// remembered no longer at now, and returns how many.
	ThrottlePrune(ctx context.Context, before, now time.Time) (int, error)

	// SigningKeyAdd inserts a signing key.
	SigningKeyAdd(ctx context.Context, k *usher.SigningKey) error
	// SigningKeyList returns every signing key, oldest first.
	SigningKeyList(ctx context.Context) ([]*usher.SigningKey, error)
	// SigningKeyRetire marks the key retired at the given time, to verify
	// until verifyUntil; ErrNotFound if there is no such unretired key.
	SigningKeyRetire(ctx context.Context, id string, at, verifyUntil time.Time) error
	// SigningKeyLifetime raises the key's Lifetime to lifetime (whole
	// seconds, rounded up) where it is shorter; a longer one, or an unknown
	// key, is left alone.
	SigningKeyLifetime(ctx context.Context, id string, lifetime time.Duration) error
	// SigningKeyDelete deletes a signing key; ErrNotFound if there is none.
	SigningKeyDelete(ctx context.Context, id string) error

	// OrgCreate inserts o and sets o.ID. A handle is unique
	// (case-insensitively) among organisations that are not deleted.
	OrgCreate(ctx context.Context, o *usher.Organisation) error
	// OrgGet returns an organisation by id (deleted or not) or by handle
	// (not deleted).
	OrgGet(ctx context.Context, id int64, handle string) (*usher.Organisation, error)
	// OrgList returns a page of the organisations f selects, in f.Sort's
	// order.
	OrgList(ctx context.Context, f usher.OrganisationFilter) (*usher.Page[*usher.Organisation], error)
	// OrgHold returns an organisation by id (deleted or not), holding it
	// until the transaction ends against OrgUpdate, which waits: what is
	// put into an organisation holds it, so that its deletion, which must
	// find it empty, counts what was put in before it, and what comes
	// after finds it deleted. Holders do not wait for one another.
	OrgHold(ctx context.Context, id int64) (*usher.Organisation, error)
	// OrgUpdate reads the organisation (locking it where the backend can),
	// lets fn change it and writes it back.
	OrgUpdate(ctx context.Context, id int64, fn func(o *usher.Organisation) error) (*usher.Organisation, error)

	// AppCreate inserts a and sets a.ID. An OwnerID of 0 stores no owner;
	// one naming no user is ErrNotFound.
	AppCreate(ctx context.Context, a *usher.Application) error
	// AppGet returns an application by id, deleted or not.
	AppGet(ctx context.Context, id int64) (*usher.Application, error)
	// AppList returns a page of the applications f selects, in f.Sort's
	// order.
	AppList(ctx context.Context, f usher.ApplicationFilter) (*usher.Page[*usher.Application], error)
	// AppUpdate reads the application, lets fn change it and writes it back.
	AppUpdate(ctx context.Context, id int64, fn func(a *usher.Application) error) (*usher.Application, error)

	// GroupCreate inserts g and sets g.ID. A handle is unique
	// (case-insensitively) within its kind among groups that are not deleted.
	GroupCreate(ctx context.Context, g *usher.Group) error
	// GroupsDeletedBefore returns the ids of up to limit groups of the
	// kind deleted before the time, those deleted first first.
	GroupsDeletedBefore(ctx context.Context, kind usher.GroupKind, before time.Time, limit int) ([]int64, error)
	// GroupPurge deletes a group for good, with its memberships and
	// rules; ErrNotFound when there is none.
	GroupPurge(ctx context.Context, id int64) error
	// GroupMakerSet records the user who made the group.
	GroupMakerSet(ctx context.Context, groupID, makerID int64) error
	// DeletedTeamsMadeBy counts the deleted teams the user made, until
	// they are purged.
	DeletedTeamsMadeBy(ctx context.Context, userID int64) (int, error)
	// GroupHandleLock holds handle (lower-cased) among the handles teams
	// and internal groups share until the transaction ends: another
	// transaction asking for it waits, so that of two setting one handle
	// at once, the later sees the earlier's group. The unique index holds
	// a handle once within a kind only. Outside a transaction it holds
	// nothing.
	GroupHandleLock(ctx context.Context, handle string) error
	// GroupGet returns a group by id (deleted or not) or by kind and handle
	// (not deleted).
	GroupGet(ctx context.Context, id int64, kind usher.GroupKind, handle string) (*usher.Group, error)
	// GroupList returns a page of the groups matching f in f.Sort's
	// order, each with its number of members.
	GroupList(ctx context.Context, f usher.GroupFilter) (*usher.Page[*usher.Group], error)
	// GroupUpdate reads the group (locking it where the backend can), lets fn
	// change it and writes it back with Version incremented.
	GroupUpdate(ctx context.Context, id int64, fn func(g *usher.Group) error) (*usher.Group, error)

	// MembershipSet adds the principal to the group at the level, or changes
	// its level.
	MembershipSet(ctx context.Context, m usher.Membership) error
	// MembershipDelete removes the principal from the group.
	MembershipDelete(ctx context.Context, groupID, userID int64) error
	// MembershipGet returns one membership.
	MembershipGet(ctx context.Context, groupID, userID int64) (*usher.Membership, error)
	// GroupMembers returns a page of a group's memberships, each with its
	// user, by user id; with live, only those of users who are not
	// deleted, counted so too.
	GroupMembers(ctx context.Context, groupID int64, live bool, req usher.PageRequest) (*usher.Page[*usher.Membership], error)
	// UserGroups returns a principal's memberships of groups that are not
	// deleted, each with its group, of the given kinds (all when none).
	UserGroups(ctx context.Context, userID int64, kinds ...usher.GroupKind) ([]*usher.Membership, error)
	// UserGroupsKept is UserGroups with the memberships of deleted groups
	// too, which their restoring brings back.
	UserGroupsKept(ctx context.Context, userID int64, kinds ...usher.GroupKind) ([]*usher.Membership, error)
	// MembershipDeleteGroup removes every membership of the group.
	MembershipDeleteGroup(ctx context.Context, groupID int64) error
	// MembershipsOf returns, in one query, the memberships of the users
	// with the given ids of groups that are not deleted, of the given kinds
	// (all when none), each with its group and the group's counts: Members,
	// ServiceAccounts and Roles. They come by user id, then by group kind
	// and handle.
	MembershipsOf(ctx context.Context, userIDs []int64, kinds ...usher.GroupKind) ([]*usher.Membership, error)
	// OwnedTeamCount counts the live teams the user owns.
	OwnedTeamCount(ctx context.Context, userID int64) (int, error)
	// OwnedServiceAccountCount counts the live service accounts of the
	// live teams the user owns, each once.
	OwnedServiceAccountCount(ctx context.Context, userID int64) (int, error)
	// OwnedServiceAccountLock holds, until the transaction ends, the count
	// of the service accounts in the teams the user owns: another
	// transaction asking for it waits, so that of two adding to it (a
	// service account made in a team of theirs, a team handed to them) the
	// later counts the earlier's. It is no lock on the user's row, which a
	// deletion takes before the teams the user owns, where a service
	// account's making holds its team first. Outside a transaction it
	// holds nothing.
	OwnedServiceAccountLock(ctx context.Context, userID int64) error
	// SoleOwnerTeams returns the live teams in which the user is the only
	// owner whose account is not deleted.
	SoleOwnerTeams(ctx context.Context, userID int64) ([]*usher.Group, error)

	// RuleList returns a role's rules.
	RuleList(ctx context.Context, roleID int64) ([]usher.Rule, error)
	// RuleSet adds or replaces one rule.
	RuleSet(ctx context.Context, r usher.Rule) error
	// RuleDelete deletes the rules of the role matching resource and
	// operation (all of the role's when both are empty) and returns how many.
	RuleDelete(ctx context.Context, roleID int64, resource, operation string) (int, error)
	// RulesFor returns, in one query, the rules of every live role the user
	// is a member of.
	RulesFor(ctx context.Context, userID int64) ([]usher.Rule, error)
	// RulesKept is RulesFor with the rules of the archived and deleted
	// roles the user is a member of too, which unarchiving or restoring
	// them switches back on.
	RulesKept(ctx context.Context, userID int64) ([]usher.Rule, error)

	// PlanCreate inserts a plan. A name is unique case-insensitively; at
	// most one plan is the default.
	PlanCreate(ctx context.Context, p *usher.Plan) error
	// PlanGet returns a plan by name, case-insensitively; with an empty
	// name, the default plan.
	PlanGet(ctx context.Context, name string) (*usher.Plan, error)
	// PlanList returns every plan by name.
	PlanList(ctx context.Context) ([]*usher.Plan, error)
	// PlanUpdate reads the plan, lets fn change it and writes it back; the
	// name does not change.
	PlanUpdate(ctx context.Context, name string, fn func(p *usher.Plan) error) (*usher.Plan, error)
	// PlanDelete deletes a plan; its users fall back to the default plan.
	PlanDelete(ctx context.Context, name string) error

	// KeyAdd inserts an SSH key and sets k.ID. A fingerprint is unique across
	// all users.
	KeyAdd(ctx context.Context, k *usher.SSHKey) error
	// KeyGet returns an SSH key.
	KeyGet(ctx context.Context, id int64) (*usher.SSHKey, error)
	// KeyList returns a user's SSH keys by id.
	KeyList(ctx context.Context, userID int64) ([]*usher.SSHKey, error)
	// KeysAddedByAdmin returns, by id, the SSH keys added on that
	// administrator's rights alone (usher.SSHKey.AddedByAdmin).
	KeysAddedByAdmin(ctx context.Context, adminID int64) ([]*usher.SSHKey, error)
	// KeySetExpiry sets when an SSH key expires; nil, never.
	KeySetExpiry(ctx context.Context, id int64, expires *time.Time) error
	// KeyDelete deletes an SSH key.
	KeyDelete(ctx context.Context, id int64) error

	// EmailAdd inserts a secondary address and sets e.ID. A user holds an
	// address once; a confirmed one is unique across the primary and
	// confirmed secondary addresses of all live users.
	EmailAdd(ctx context.Context, e *usher.Email) error
	// EmailGet returns a secondary address.
	EmailGet(ctx context.Context, id int64) (*usher.Email, error)
	// EmailList returns a user's secondary addresses by id.
	EmailList(ctx context.Context, userID int64) ([]*usher.Email, error)
	// EmailDelete deletes a secondary address.
	EmailDelete(ctx context.Context, id int64) error
	// EmailConfirm marks a secondary address confirmed. Only a confirmed
	// address claims its key: an unconfirmed one does not keep another
	// account from adding and confirming it, and confirming an address
	// another account holds confirmed fails with ErrExists.
	EmailConfirm(ctx context.Context, id int64, at time.Time) error
	// EmailHolder returns the live user whose primary or confirmed
	// secondary address has the key; ErrNotFound when none.
	EmailHolder(ctx context.Context, emailKey string) (int64, error)
	// UsernamesHeld returns which of the keys (lower-cased usernames)
	// live users hold, in one statement: an import asks it of a batch's
	// addresses, which no account's username may be.
	UsernamesHeld(ctx context.Context, keys []string) ([]string, error)
	// AdministratorsLock holds, until the transaction ends, the set of the
	// administrators who may sign in: a transaction that may take one of
	// them away takes it before any row, so that of two taking away the
	// last two at once the later sees the earlier's (OtherAdministrator).
	// Outside a transaction it holds nothing.
	AdministratorsLock(ctx context.Context) error
	// OtherAdministrator reports whether a live, active person other than
	// the user is an administrator.
	OtherAdministrator(ctx context.Context, userID int64) (bool, error)
	// UserNamesLock holds, until the transaction ends, texts that may
	// name an account — an address's key, an address-shaped username's —
	// so that of two transactions giving one text to two accounts at once,
	// one as a username and one as an address, the later sees the
	// earlier's: the unique indexes compare usernames with usernames and
	// addresses with addresses only. The texts are held in one order
	// whatever the order given, so that transactions holding two wait for
	// one another rather than deadlock. Each text is a lock of its own:
	// a transaction holding thousands would fill PostgreSQL's table of
	// locks (max_locks_per_transaction). Outside a transaction it holds
	// nothing.
	UserNamesLock(ctx context.Context, keys []string) error
	// EmailDeleteStale deletes the unconfirmed secondary addresses added
	// before the given time and returns how many.
	EmailDeleteStale(ctx context.Context, before time.Time) (int, error)

	// SettingList returns a user's settings by key.
	SettingList(ctx context.Context, userID int64) ([]usher.Setting, error)
	// SettingPut sets one of a user's settings.
	SettingPut(ctx context.Context, userID int64, s usher.Setting) error
	// SettingDelete removes one of a user's settings.
	SettingDelete(ctx context.Context, userID int64, key string) error

	// InstanceSettingList returns the instance settings whose names start
	// with prefix (every one when it is empty), by name.
	InstanceSettingList(ctx context.Context, prefix string) ([]*usher.InstanceSetting, error)
	// InstanceSettingGet returns one instance setting; ErrNotFound when
	// it is not set.
	InstanceSettingGet(ctx context.Context, name string) (*usher.InstanceSetting, error)
	// InstanceSettingPut sets one instance setting, inserting or replacing
	// it. An UpdatedBy naming no user is ErrNotFound.
	InstanceSettingPut(ctx context.Context, s *usher.InstanceSetting) error
	// InstanceSettingDelete removes one instance setting; removing one
	// that is not set is no error.
	InstanceSettingDelete(ctx context.Context, name string) error

	// AvatarGet returns a user's avatar.
	AvatarGet(ctx context.Context, userID int64) (*usher.Avatar, error)
	// AvatarPut stores a user's avatar, replacing any other.
	AvatarPut(ctx context.Context, a *usher.Avatar) error
	// AvatarDelete removes a user's avatar.
	AvatarDelete(ctx context.Context, userID int64) error

	// AttachmentAdd inserts a and sets a.ID. An OwnerID naming no user
	// is ErrNotFound.
	AttachmentAdd(ctx context.Context, a *usher.Attachment) error
	// AttachmentGet returns an attachment.
	AttachmentGet(ctx context.Context, id int64) (*usher.Attachment, error)
	// AttachmentsOf returns the attachments of a kind a user owns, by id.
	AttachmentsOf(ctx context.Context, ownerID int64, kind usher.AttachmentKind) ([]*usher.Attachment, error)
	// AttachmentSetPreview records an attachment's preview if it has none
	// yet; ErrNotFound when it has one (or no such attachment exists).
	AttachmentSetPreview(ctx context.Context, id int64, key, contentType string) error
	// AttachmentDelete removes an attachment's row; its blobs are the
	// caller's to remove.
	AttachmentDelete(ctx context.Context, id int64) error

	// ReminderAdd inserts r and sets r.ID.
	ReminderAdd(ctx context.Context, r *usher.Reminder) error
	// ReminderGet returns a reminder, deleted or not.
	ReminderGet(ctx context.Context, id int64) (*usher.Reminder, error)
	// ReminderUpdate reads the reminder (locking it where the backend can),
	// lets fn change it and writes it back; CreatedBy and CreatedAt do not
	// change. The write voids any claim on the reminder.
	ReminderUpdate(ctx context.Context, id int64, fn func(r *usher.Reminder) error) (*usher.Reminder, error)
	// ReminderList returns a page of the reminders matching f that are not
	// deleted, by id.
	ReminderList(ctx context.Context, f usher.ReminderFilter) (*usher.Page[*usher.Reminder], error)
	// ReminderClaim returns up to limit reminders due at now — with a
	// time at or before it, neither delivered, dismissed nor deleted, and
	// no live claim — earliest first, and claims them under claim until
	// leaseUntil, so that concurrent senders claim different reminders.
	ReminderClaim(ctx context.Context, now, leaseUntil time.Time, claim string, limit int) ([]*usher.Reminder, error)
	// ReminderDeliver marks the reminder delivered at the given time if it
	// is still held under claim and undelivered; ErrNotFound otherwise (the
	// claim was voided by a change or taken over after its lease).
	ReminderDeliver(ctx context.Context, id int64, claim string, at time.Time) error

	// ScriptAdd inserts s and sets s.ID; ErrExists when a script has its
	// name.
	ScriptAdd(ctx context.Context, s *usher.Script) error
	// ScriptGet returns a script by name.
	ScriptGet(ctx context.Context, name string) (*usher.Script, error)
	// ScriptUpdate reads the script (locking it where the backend can),
	// lets fn change it and writes it back; its name, kind, origin,
	// creator and creation time do not change.
	ScriptUpdate(ctx context.Context, name string, fn func(s *usher.Script) error) (*usher.Script, error)
	// ScriptDelete deletes a script and its runs; ErrNotFound when there is
	// none.
	ScriptDelete(ctx context.Context, name string) error
	// ScriptList returns a page of the scripts matching f by id: up to
	// f.Page.Limit of them (every match when it is 0), after the id of
	// f.Page.After.
	ScriptList(ctx context.Context, f usher.ScriptFilter) (*usher.Page[*usher.Script], error)
	// ScriptRunAdd queues an "after" run and sets r.ID.
	ScriptRunAdd(ctx context.Context, r *usher.ScriptRun) error
	// ScriptRunGet returns a run.
	ScriptRunGet(ctx context.Context, id int64) (*usher.ScriptRun, error)
	// ScriptRunClaim returns up to limit runs not done and with no live
	// claim at now, oldest first, and claims them under claim until
	// leaseUntil, so that concurrent senders claim different runs.
	ScriptRunClaim(ctx context.Context, now, leaseUntil time.Time, claim string, limit int) ([]*usher.ScriptRun, error)
	// ScriptRunDone marks the run done with its outcome and log if it is
	// still held under claim; ErrNotFound otherwise (the claim was taken
	// over after its lease).
	ScriptRunDone(ctx context.Context, id int64, claim string, at time.Time, outcome string, log []string) error

	// AuditAppend appends e and sets e.ID.
	AuditAppend(ctx context.Context, e *usher.AuditEvent) error
	// AuditList returns a page of the events matching f, newest first;
	// a cursor's events are older than its id. Each event carries its actor's current e-mail
	// address, read with the page in the same query.
	AuditList(ctx context.Context, f usher.AuditFilter) (*usher.Page[*usher.AuditEvent], error)
	// AuditCount returns the number of events recorded.
	AuditCount(ctx context.Context) (int, error)

	// StatsGet counts users, groups and applications by state: one
	// aggregate query per table.
	StatsGet(ctx context.Context) (*usher.Stats, error)
	// BacklogGet counts the mails not sent yet (with the oldest one's
	// time) and the reminders due at now and not delivered, through the
	// indexes their senders use.
	BacklogGet(ctx context.Context, now time.Time) (*usher.Backlog, error)
}

// TokenFilter selects tokens. Zero fields do not filter.
type TokenFilter struct {
	ID     int64
	UserID int64
	Kinds  []usher.TokenKind
	// Active keeps only tokens that are neither revoked nor expired at Now.
	Active bool
	Now    time.Time
	// ExceptID leaves one token out (the session that asks to end the others).
	ExceptID int64
	// MintedByAdmin keeps only the tokens minted on that administrator's
	// rights alone (usher.Token.MintedByAdmin).
	MintedByAdmin int64
	// CreatedBefore, when set, keeps only tokens made before it, and
	// CreatedAfter only those made at it or after.
	CreatedBefore, CreatedAfter time.Time
}
