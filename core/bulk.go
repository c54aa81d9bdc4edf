package core

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// importing is one checked user of an import, ready to write.
type importing struct {
	in   usher.ImportUser
	user *usher.User // built from in, with the defaults
	keys []*usher.SSHKey
}

// Import creates or updates a batch of users: a user with the record's
// external id, or else its username (its address, for a record without
// one), is updated, so that an import run twice changes nothing the
// second time. Each record goes in whole or not
// at all: the batch is written in one transaction, and when that fails
// on one record, each record is written in its own, so the failure stays
// with its record. The results are in the batch's order.
//
// The record is the truth for what it names: its non-empty fields, its
// state (active when empty) and admin flag; SSH keys and addresses are
// added to those the user has. A password hash is set only for a user
// who has no password: one the user has (changed since an earlier import,
// or rehashed at log-in) is never overwritten by a file. A record that
// finds its user by username alone, without the user's confirmed address,
// may change no more than the profile and state (importProved).
// Blocking or suspending through an import ends the user's sessions.
//
// Errors (of the call; a record's are in its result): Unauthenticated,
// Forbidden (imports are for administrators).
func (s *Users) Import(ctx context.Context, batch []usher.ImportUser) ([]usher.ImportResult, error) {
	if err := importer(ctx); err != nil {
		return nil, err
	}
	p := usher.PrincipalFrom(ctx)
	if err := s.stillImporter(ctx, p); err != nil {
		return nil, err
	}
	// An import sets passwords and adds keys and addresses.
	if err := s.guardCredentials(ctx, p, actPasswordChange, nil); err != nil {
		return nil, err
	}
	results := make([]usher.ImportResult, len(batch))
	todo := make([]*importing, len(batch))
	for i := range batch {
		todo[i], results[i].Err = s.checkImport(batch[i])
	}
	err := s.store.InLoadTx(ctx, func(tx store.Tx) error {
		if err := s.importBatch(ctx, tx, todo, results); err != nil {
			return err
		}
		return s.recordImport(ctx, tx, results)
	})
	if err == nil {
		return results, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	for i, im := range todo {
		if im == nil {
			continue
		}
		var res usher.ImportResult
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			existing, err := s.importTarget(ctx, tx, im.in)
			if err != nil {
				return err
			}
			if res.ID, res.Outcome, err = s.importOne(ctx, tx, im, existing); err != nil {
				return err
			}
			return s.recordImport(ctx, tx, []usher.ImportResult{res})
		})
		if err != nil {
			res = usher.ImportResult{Err: importError(err)}
		}
		results[i] = res
	}
	return results, nil
}

// AnalyzeImport brings the database's query statistics up to date during
// and after an import: plans made while the table looked empty (a scan
// rather than an index) grow slower with every user an import adds, and
// searches after it would run on them until the engine's upkeep caught up.
// Call it as the import grows, at doubling sizes, and at its end.
//
// Errors: Unauthenticated, Forbidden (imports are for administrators).
func (s *Users) AnalyzeImport(ctx context.Context) error {
	if err := importer(ctx); err != nil {
		return err
	}
	return s.store.Analyze(ctx)
}

// ImportStart readies the database for an import: when its users table
// is empty or nearly (store.LoadSmallTable), the indexes that enforce
// nothing and the search indexes are set aside, to be built once at the
// end, and it returns true; the caller must then call ImportFinish, after
// the import or a failure of it. It first finishes an import a crash left
// unfinished. Searches may miss users imported until ImportFinish.
//
// Errors: Unauthenticated, Forbidden (imports are for administrators).
func (s *Users) ImportStart(ctx context.Context) (bool, error) {
	if err := importer(ctx); err != nil {
		return false, err
	}
	return s.store.LoadStart(ctx)
}

// ImportFinish builds what ImportStart set aside and refreshes the
// query statistics. It is idempotent.
//
// Errors: Unauthenticated, Forbidden (imports are for administrators).
func (s *Users) ImportFinish(ctx context.Context) error {
	if err := importer(ctx); err != nil {
		return err
	}
	return s.store.LoadFinish(ctx)
}

// ImportRecover finishes an import that was cut short before its end —
// usher import killed in the middle of loading an empty database —
// building what it set aside, and reports whether it finished one. An
// import this process is running is left alone, and so is a standby's
// database; of several processes recovering one import at once, one
// finishes it.
//
// Errors: Unauthenticated, Forbidden (imports are for administrators).
func (s *Users) ImportRecover(ctx context.Context) (bool, error) {
	if err := importer(ctx); err != nil {
		return false, err
	}
	return s.store.LoadRecover(ctx)
}

// importer refuses a caller who may not import.
func importer(ctx context.Context) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actUserCreate, nil); err != nil {
		return err
	}
	if !p.IsAdmin() {
		return errForbidden("imports are for administrators")
	}
	return nil
}

// stillImporter asks again, of a caller with an account, what the
// principal said when the import began: an import of a large file runs
// batch after batch in the background (the console's), with the principal
// it started with, and an administrator demoted, blocked, deleted or
// signed out since would otherwise go on importing — administrators and
// states included — past whoever stopped them. The command line's
// principal, the system, has no account to ask.
//
// Errors: Unauthenticated (the account or the credential ended),
// Forbidden (no longer an administrator).
func (s *Users) stillImporter(ctx context.Context, p *usher.Principal) error {
	u, err := s.stillCaller(ctx, s.store, p)
	switch {
	case err != nil:
		return err
	case u == nil:
		return nil
	case !u.Admin:
		return errForbidden("imports are for administrators")
	}
	if id := credentialID(p); id != 0 {
		tok, err := s.store.TokenGet(ctx, id)
		if errors.Is(err, usher.ErrNotFound) || (err == nil && !tok.Active(s.now())) {
			return errBadToken()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// importError names what a record collided with: a user's unique field
// (username, address, external id) as a create or an update names it,
// else an SSH key, the other unique thing a record adds.
func importError(err error) error {
	userField := false
	if ue := (*usher.UniqueError)(nil); errors.As(err, &ue) {
		for _, f := range append([]string{ue.Field}, ue.Fields...) {
			userField = userField || uniqueFields[f].field != ""
		}
	}
	if errors.Is(err, usher.ErrExists) && !userField {
		return usher.FieldErrors(usher.FieldError{Field: "ssh_keys", Code: usher.CodeTaken, Message: "a key is another user's"})
	}
	return userWriteError(err)
}

// Limits on what one imported record adds.
const (
	maxImportKeys   = 100
	maxImportEmails = 100
)

// checkImport checks a record as far as it can be without the database.
func (s *Users) checkImport(in usher.ImportUser) (*importing, error) {
	in.Password, in.SkipConfirmation = "", false
	// An account may have no username (the native and Corteza APIs make
	// such accounts): its record names it by its address instead.
	in.UsernameOptional = in.Username == "" && in.Email != ""
	// The names are taken as the file writes them, line separators an
	// earlier release stored and its export wrote included: an import is
	// an administrator's, and an import run again changes nothing
	// (listedName).
	u, err := s.buildUser(in.UserCreate, &usher.User{Name: in.Name, FirstName: in.FirstName, LastName: in.LastName, DisplayName: in.DisplayName})
	if err != nil {
		return nil, err
	}
	im := &importing{in: in, user: u}
	var c checker
	if len(in.SSHKeys) > maxImportKeys {
		c.add("ssh_keys", usher.CodeTooMany, "a record holds at most %d SSH keys", maxImportKeys)
	}
	if len(in.Emails) > maxImportEmails {
		c.add("emails", usher.CodeTooMany, "a record holds at most %d addresses", maxImportEmails)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	for i, k := range in.SSHKeys {
		normal, fp, err := parseKey(k.Key)
		if err != nil {
			c.add("ssh_keys", usher.CodeInvalid, "key %d: %s", i+1, fieldMessage(err))
			continue
		}
		title := k.Title
		if title == "" {
			title = "imported"
		}
		c.name("ssh_keys", title, maxProfile, true)
		var expires *time.Time
		if k.ExpiresAt != nil {
			// Past or future, as the key was; but a time RFC 3339 writes
			// (years 0 to 9999 in UTC), or no export could write it again.
			at := k.ExpiresAt.UTC().Truncate(time.Microsecond)
			if at.Year() < 0 || at.Unix() >= endOfTime {
				c.add("ssh_keys", usher.CodeOutOfRange, "key %d: expires_at must be in the years 0 to 9999", i+1)
				continue
			}
			expires = &at
		}
		im.keys = append(im.keys, &usher.SSHKey{Title: title, Key: normal, Fingerprint: fp, CreatedAt: u.CreatedAt, ExpiresAt: expires})
	}
	seen := map[string]bool{usher.EmailKey(u.Email): u.Email != ""}
	for _, e := range in.Emails {
		c.email("emails", e, true)
		if seen[usher.EmailKey(e)] {
			c.add("emails", usher.CodeDuplicate, "%s is named twice", e)
		}
		seen[usher.EmailKey(e)] = true
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return im, nil
}

// fieldMessage is the message of an error's first field, or its own.
func fieldMessage(err error) string {
	e := usher.AsError(err)
	if len(e.Fields) > 0 {
		return e.Fields[0].Message
	}
	return e.Message
}

// importBatch writes the checked records of a batch (nil for those that
// failed their checks) within tx and sets their results. Users that exist
// are updated one by one; the new ones are created together, after them,
// in a few statements.
func (s *Users) importBatch(ctx context.Context, tx store.Tx, todo []*importing, results []usher.ImportResult) error {
	var fresh []*importing
	var at []int
	targets, err := s.importTargets(ctx, tx, todo)
	if err != nil {
		return err
	}
	// Each user is looked up once for the batch; a user two records name
	// (one by external id, one by its old username) is looked up again,
	// after the first has changed it.
	named := map[int64]bool{}
	for i, im := range todo {
		if im == nil {
			continue
		}
		existing := targets[i]
		if existing != nil && named[existing.ID] {
			if existing, err = s.importTarget(ctx, tx, im.in); err != nil {
				return err
			}
		}
		if existing != nil {
			named[existing.ID] = true
		}
		if existing == nil && len(im.user.Identities) == 0 && im.in.Plan == "" {
			fresh, at = append(fresh, im), append(at, i)
			continue
		}
		id, outcome, err := s.importOne(ctx, tx, im, existing)
		if err != nil {
			return err
		}
		results[i] = usher.ImportResult{ID: id, Outcome: outcome}
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := freshNamesFree(ctx, tx, fresh); err != nil {
		return err
	}
	users, hashes := make([]*usher.User, len(fresh)), make([]string, len(fresh))
	for j, im := range fresh {
		users[j], hashes[j] = im.user, im.in.PasswordHash
	}
	if err := tx.UserCreateMany(ctx, users, hashes); err != nil {
		return err
	}
	now := s.now()
	for j, im := range fresh {
		if _, _, err := s.importExtras(ctx, tx, im.user.ID, im, true, now); err != nil {
			return err
		}
		results[at[j]] = usher.ImportResult{ID: im.user.ID, Outcome: usher.ImportCreated}
	}
	return nil
}

// errNamesClash fails a batch one of whose new users would be named by a
// text that names another account too: the batch is then written record
// by record (Import), where importOne tells which.
var errNamesClash = errors.New("a new user's username or address names another account")

// freshNamesFree checks, for the new users of a batch at once, what
// nameOrAddressTaken checks of one: that no address of theirs is another
// account's username — one statement for the batch — and that no
// username of theirs shaped like an address is another account's
// address, among the batch too.
func freshNamesFree(ctx context.Context, tx store.Tx, fresh []*importing) error {
	names := make(map[string]int, len(fresh)) // lower-cased username: its record
	for j, im := range fresh {
		names[strings.ToLower(im.user.Username)] = j
	}
	addrs := make(map[string]int, len(fresh))
	var keys []string
	for j, im := range fresh {
		for _, a := range append([]string{im.user.Email}, im.in.Emails...) {
			if a == "" {
				continue
			}
			k := usher.EmailKey(a)
			if n, ok := names[k]; ok && n != j {
				return errNamesClash
			}
			addrs[k] = j
			keys = append(keys, k)
		}
	}
	held, err := tx.UsernamesHeld(ctx, keys)
	if err != nil {
		return err
	}
	if len(held) > 0 {
		return errNamesClash
	}
	for j, im := range fresh {
		if !strings.Contains(im.user.Username, "@") {
			continue
		}
		if n, ok := addrs[usher.EmailKey(im.user.Username)]; ok && n != j {
			return errNamesClash
		}
		var ue *usher.UniqueError
		if err := namesTaken(ctx, tx, 0, im.user.Username, ""); errors.As(err, &ue) {
			return errNamesClash
		} else if err != nil {
			return err
		}
	}
	return nil
}

// importOne writes one checked record within tx, updating existing when it
// is not nil, and returns the user's id and what became of it.
func (s *Users) importOne(ctx context.Context, tx store.Tx, im *importing, existing *usher.User) (int64, usher.ImportOutcome, error) {
	var err error
	now := s.now()
	var u *usher.User
	var changes map[string]usher.Change
	created := existing == nil
	self := int64(0)
	if !created {
		self = existing.ID
	}
	// One text names one account, as for a user made or changed by hand.
	if err := namesTaken(ctx, tx, self, im.user.Username, im.user.Email); err != nil {
		return 0, usher.ImportFailed, err
	}
	if created {
		u = im.user
		if im.in.Plan != "" {
			p, err := userPlan(ctx, tx, im.in.Plan)
			if err != nil {
				return 0, usher.ImportFailed, err
			}
			u.Plan = p.Name
		}
		if err := tx.UserCreate(ctx, u, im.in.PasswordHash); err != nil {
			return 0, usher.ImportFailed, err
		}
	} else {
		u, changes, err = s.importUpdate(ctx, tx, existing, im, now)
		if err != nil {
			return 0, usher.ImportFailed, err
		}
	}
	gave, took, err := s.importExtras(ctx, tx, u.ID, im, created, now)
	if err != nil {
		return 0, usher.ImportFailed, err
	}
	if !created && !importProved(existing, im.in) && (gave > 0 || !profileOnly(changes, existing, u, im.in.State != "", s.policy.SkipEmailConfirmation)) {
		// What was written goes with the transaction (importBatch).
		return 0, usher.ImportFailed, usher.FieldErrors(usher.FieldError{Field: "username", Code: usher.CodeConflict,
			Message: "names an account by its username alone, whose confirmed address is not the record's: such a record may change " +
				"its profile and state, and take its rights away, but nothing else; give the account's external_id or its confirmed address"})
	}
	switch {
	case created:
		return u.ID, usher.ImportCreated, nil
	case len(changes) > 0 || gave > 0 || took > 0:
		return u.ID, usher.ImportUpdated, nil
	}
	return u.ID, usher.ImportUnchanged, nil
}

// importProved reports whether a record that names existing may change
// more than importUnproved allows: it found the account by its external
// id, or the account's confirmed address is the record's. Any user may
// take a free username for their own, and one who took that of someone an
// administrator was about to import got the record: its administrator
// flag, its address confirmed, its external id (and with it every later
// record of the person), its keys.
func importProved(existing *usher.User, in usher.ImportUser) bool {
	if in.ExternalID != "" && existing.ExternalID == in.ExternalID {
		return true
	}
	// One mailbox, as an external log-in's address must be to link
	// (sameMailbox): the e-mail key folds beyond ASCII, and straße@ and
	// strasse@ are two people's.
	return in.Email != "" && existing.EmailConfirmedAt != nil && sameMailbox(in.Email, existing.Email)
}

// importUnproved are the fields of an account a record that names it by
// its username alone may change: those its owner sets (the profile).
var importUnproved = map[string]bool{"username": true, "name": true, "first_name": true, "last_name": true, "display_name": true,
	"bio": true, "location": true, "skype": true, "linkedin": true, "twitter": true, "website_url": true, "language": true,
	"theme_id": true, "color_scheme_id": true}

// profileOnly reports whether changes, which made u of old, change
// nothing but importUnproved's fields, or take rights away: the
// administrator flag off, the external flag on, a state in which u may
// not sign in (and with it the end of a change of address). A state a
// record names (named) is the directory's word, which blocks and lifts
// accounts by name; a record that names none lifts a directory's block
// only, not an administrator's block or suspension. Neither makes active
// an account whose address nobody proved, where the policy makes such
// accounts pending (proved false): that would prove the address, which
// the record does not (one signed up with another's address and waiting
// for its proof signed in once a record of that person's name lifted it).
func profileOnly(changes map[string]usher.Change, old, u *usher.User, named, proved bool) bool {
	for k := range changes {
		switch {
		case k == "state" && !proved && u.State == usher.StateActive && u.Email != "" && u.EmailConfirmedAt == nil:
			return false
		case importUnproved[k], k == "admin" && !u.Admin, k == "external" && u.External,
			k == "unconfirmed_email" && u.UnconfirmedEmail == "",
			k == "state" && (named || !u.State.CanSignIn() || old.State == usher.StateBlockedExternal):
		default:
			return false
		}
	}
	return true
}

// recordImport audits what a transaction of an import did, in one event:
// an import of a million users is a million changes, but one act, and its
// log stays readable. The event names every user created and updated.
func (s *Users) recordImport(ctx context.Context, tx store.Tx, results []usher.ImportResult) error {
	var created, updated []int64
	for _, r := range results {
		switch r.Outcome {
		case usher.ImportCreated:
			created = append(created, r.ID)
		case usher.ImportUpdated:
			updated = append(updated, r.ID)
		}
	}
	if len(created)+len(updated) == 0 {
		return nil
	}
	return s.record(ctx, tx, s.now(), event{action: "user.import", resourceType: "user", meta: map[string]string{
		"created": strconv.Itoa(len(created)), "updated": strconv.Itoa(len(updated)),
		"created_ids": idRanges(created), "updated_ids": idRanges(updated)}})
}

// idRanges writes ids compactly: "4-9,12,15-16".
func idRanges(ids []int64) string {
	slices.Sort(ids)
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(ids[i], 10))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.FormatInt(ids[j], 10))
		}
		i = j + 1
	}
	return b.String()
}

// importTargets finds the live users the records of a batch update, as
// importTarget does for one, in one look-up: nil for a record that names
// none (or is nil).
func (s *Users) importTargets(ctx context.Context, tx store.Tx, todo []*importing) ([]*usher.User, error) {
	var names, ids []string
	for _, im := range todo {
		if im != nil {
			names, ids = append(names, im.in.Username), append(ids, im.in.ExternalID)
		}
	}
	found, err := tx.UserFind(ctx, names, ids)
	if err != nil {
		return nil, err
	}
	byName, byID := make(map[string]*usher.User, len(found)), make(map[string]*usher.User, len(found))
	for _, u := range found {
		byName[strings.ToLower(u.Username)] = u
		if u.ExternalID != "" {
			byID[u.ExternalID] = u
		}
	}
	targets := make([]*usher.User, len(todo))
	for i, im := range todo {
		switch {
		case im == nil:
		case im.in.ExternalID != "" && byID[im.in.ExternalID] != nil:
			targets[i] = byID[im.in.ExternalID]
		case im.in.Username != "":
			targets[i] = byName[strings.ToLower(im.in.Username)]
		default:
			// A record without a username, which an account without one
			// exports: by its address, one record at a time (they are few).
			if targets[i], err = s.importTarget(ctx, tx, im.in); err != nil {
				return nil, err
			}
		}
	}
	return targets, nil
}

// importTarget finds the live user a record updates: by external id, or
// else by username, or, for a record without one, by its address; nil
// when there is none.
func (s *Users) importTarget(ctx context.Context, tx store.Tx, in usher.ImportUser) (*usher.User, error) {
	keys := []usher.UserKey{{Username: in.Username}}
	if in.Username == "" {
		keys = []usher.UserKey{{Email: in.Email}}
	}
	if in.ExternalID != "" {
		keys = append([]usher.UserKey{{ExternalID: in.ExternalID}}, keys...)
	}
	for _, key := range keys {
		u, err := tx.UserGet(ctx, key)
		if errors.Is(err, usher.ErrNotFound) || (err == nil && u.Deleted()) {
			continue
		}
		return u, err
	}
	return nil, nil
}

// importUpdate applies a record to the user it names.
func (s *Users) importUpdate(ctx context.Context, tx store.Tx, existing *usher.User, im *importing, now time.Time) (*usher.User, map[string]usher.Change, error) {
	in, want := im.in, im.user
	plan := ""
	if in.Plan != "" {
		p, err := userPlan(ctx, tx, in.Plan)
		if err != nil {
			return nil, nil, err
		}
		plan = p.Name
	}
	var changes map[string]usher.Change
	u, err := tx.UserUpdate(ctx, existing.ID, func(u *usher.User) error {
		if in.Kind != "" {
			if err := kindChange(u.Kind, &in.Kind); err != nil {
				return err
			}
		}
		old := *u
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&u.Username, in.Username)
		switch {
		case in.Email != "" && in.Email != u.Email:
			u.Email, u.EmailConfirmedAt = in.Email, want.EmailConfirmedAt
		case in.Email == u.Email && u.EmailConfirmedAt == nil && want.EmailConfirmedAt != nil:
			// The record says the address it names, the account's, is
			// confirmed (a record by username alone may not: profileOnly).
			u.EmailConfirmedAt = want.EmailConfirmedAt
		}
		set(&u.Name, in.Name)
		set(&u.FirstName, in.FirstName)
		set(&u.LastName, in.LastName)
		set(&u.DisplayName, in.DisplayName)
		set(&u.ExternalID, in.ExternalID)
		set(&u.Plan, plan)
		if in.Kind != "" {
			u.Kind = in.Kind
		}
		if in.Metadata != nil {
			u.Metadata = in.Metadata
		}
		u.GitLab.Apply(in.GitLab)
		u.Admin = in.Admin
		// A record makes an account external; none lifts it (the API
		// does, with user.privileges), so a file written before the field
		// was, or by a tool that knows nothing of it, gives no one back
		// the right to make teams.
		u.External = u.External || in.External
		// An external directory's block is lifted by a record that names
		// a state, the directory's word, and not by one that names none.
		if u.State != want.State && (u.State != usher.StateBlockedExternal || in.State != "") {
			u.State, u.SuspendedAt = want.State, want.SuspendedAt
		}
		s.endJWTs(&old, u, now)
		ended := map[string]usher.Change{}
		if (old.State.CanSignIn() && !u.State.CanSignIn()) || u.Email != old.Email {
			// As a block or an administrator's change of address does.
			if err := endAddressChange(ctx, tx, u, ended); err != nil {
				return err
			}
		}
		deriveNames(u)
		changes = userChanges(&old, u)
		maps.Copy(changes, ended)
		if len(changes) == 0 {
			return errNoChange
		}
		u.UpdatedAt = now
		return nil
	})
	switch {
	case errors.Is(err, errNoChange):
		u, changes = existing, map[string]usher.Change{}
	case err != nil:
		return nil, nil, err
	}
	if err := addressChanged(ctx, tx, u.ID, existing.Email, u.Email); err != nil {
		return nil, nil, err
	}
	// A block or a suspension records the state before it, which lifting
	// it gives back (stateBefore): an import's too, as its own event.
	if action := stateActions[u.State]; action != "" && u.State != existing.State {
		if err := s.record(ctx, tx, now, event{action: action, resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			changes: map[string]usher.Change{"state": {Old: string(existing.State), New: string(u.State)}},
			meta:    map[string]string{"via": "import"}}); err != nil {
			return nil, nil, err
		}
	}
	// A user who may not sign in has no sessions, as after Block or Suspend,
	// and the tokens of the service accounts of the teams it owns end.
	if !u.State.CanSignIn() {
		if _, err := endSessions(ctx, tx, u.ID, 0, now); err != nil {
			return nil, nil, err
		}
		if existing.State.CanSignIn() {
			if err := s.endOwnedServiceAccountTokens(ctx, tx, u.ID, now); err != nil {
				return nil, nil, err
			}
		}
	} else if existing.Admin && !u.Admin {
		// As an administrator's demotion by an update does.
		if err := s.endAdminMints(ctx, tx, u.ID, "admin_removed", now); err != nil {
			return nil, nil, err
		}
	}
	if u.Kind == usher.KindServiceAccount && s.raisedPastDefaults(existing, u) {
		// As a raise by an update does.
		if err := s.endOwnerMints(ctx, tx, u.ID, now); err != nil {
			return nil, nil, err
		}
	}
	if in.PasswordHash != "" {
		_, err := tx.PasswordGet(ctx, u.ID)
		switch {
		case errors.Is(err, usher.ErrNotFound):
			if err := tx.PasswordSet(ctx, u.ID, in.PasswordHash, now); err != nil {
				return nil, nil, err
			}
			if err := endResets(ctx, tx, u.ID); err != nil {
				return nil, nil, err
			}
			if err := endAddressChangeOf(ctx, tx, u.ID, changes); err != nil {
				return nil, nil, err
			}
			changes["password"] = usher.Change{New: "[set]"}
		case err != nil:
			return nil, nil, err
		}
	}
	return u, changes, nil
}

// importExtras adds the record's SSH keys and addresses the user does not
// have, and sets the expiry of those it has to the record's, where the
// record names one (keyExpiryChange). It returns how many rights it gave
// (keys and addresses added, keys' lives made longer) and how many it
// took (keys' lives made shorter).
func (s *Users) importExtras(ctx context.Context, tx store.Tx, userID int64, im *importing, created bool, now time.Time) (gave, took int, err error) {
	haveKeys, haveEmails := map[string]*usher.SSHKey{}, map[string]bool{}
	if !created && (len(im.keys) > 0 || len(im.in.Emails) > 0) {
		keys, err := tx.KeyList(ctx, userID)
		if err != nil {
			return 0, 0, err
		}
		for _, k := range keys {
			haveKeys[k.Fingerprint] = k
		}
		emails, err := tx.EmailList(ctx, userID)
		if err != nil {
			return 0, 0, err
		}
		for _, e := range emails {
			haveEmails[usher.EmailKey(e.Email)] = true
		}
	}
	newKeys := 0
	for _, k := range im.keys {
		if haveKeys[k.Fingerprint] == nil {
			newKeys++
		}
	}
	if n := len(haveKeys) + newKeys; n > maxKeysPerUser {
		// A record alone holds no more than the cap; added to the keys
		// the account has, it must not pass it either.
		return 0, 0, usher.FieldErrors(usher.FieldError{Field: "ssh_keys", Code: usher.CodeTooMany,
			Message: "the account would hold " + strconv.Itoa(n) + " SSH keys, more than " + strconv.Itoa(maxKeysPerUser)})
	}
	newEmails := 0
	for _, addr := range im.in.Emails {
		if !haveEmails[usher.EmailKey(addr)] {
			newEmails++
		}
	}
	if n := len(haveEmails) + newEmails; n > maxEmailsPerUser {
		return 0, 0, usher.FieldErrors(usher.FieldError{Field: "emails", Code: usher.CodeTooMany,
			Message: "the account would hold " + strconv.Itoa(n) + " secondary addresses, more than " + strconv.Itoa(maxEmailsPerUser)})
	}
	// A key an administrator imports onto a service account answers to
	// them, as one they add by hand does (addingAdmin); an import run by
	// usher itself (the command line) names no one.
	var admin int64
	if p := usher.PrincipalFrom(ctx); len(im.keys) > 0 && (p.Impersonator != nil || p.UserID() != 0) {
		u, err := tx.UserGet(ctx, usher.UserKey{ID: userID})
		if err != nil {
			return 0, 0, err
		}
		if admin, err = addingAdmin(ctx, tx, p, u); err != nil {
			return 0, 0, err
		}
	}
	for _, k := range im.keys {
		if had := haveKeys[k.Fingerprint]; had != nil {
			switch keyExpiryChange(had.ExpiresAt, k.ExpiresAt) {
			case 0:
				continue
			case 1:
				gave++
			default:
				took++
			}
			if err := tx.KeySetExpiry(ctx, had.ID, k.ExpiresAt); err != nil {
				return 0, 0, err
			}
			continue
		}
		k := *k
		k.UserID, k.AddedByAdmin = userID, admin
		if err := tx.KeyAdd(ctx, &k); err != nil {
			return 0, 0, err
		}
		gave++
	}
	for _, addr := range im.in.Emails {
		if haveEmails[usher.EmailKey(addr)] {
			continue
		}
		if err := namesTaken(ctx, tx, userID, "", addr); err != nil {
			return 0, 0, err
		}
		if err := tx.EmailAdd(ctx, &usher.Email{UserID: userID, Email: addr, ConfirmedAt: &now, CreatedAt: now}); err != nil {
			return 0, 0, err
		}
		gave++
	}
	return gave, took, nil
}

// keyExpiryChange says what a record's expiry for a key the account holds
// does to it: 0 nothing (the record names none — a file that does not
// name the field leaves the key as it is — or the one it has), 1 it
// lengthens the key's life (a later time), -1 it shortens it (a key that
// never expired given a time, or an earlier one). A directory that ends a
// key by its expiry ends it here too.
func keyExpiryChange(had, record *time.Time) int {
	switch {
	case record == nil || had != nil && had.Equal(*record):
		return 0
	case had != nil && record.After(*had):
		return 1
	}
	return -1
}

// Export calls fn with every live user, by id, with what an import takes
// back: the password hash, SSH keys and secondary addresses. It reads page
// by page, so memory stays flat however many users there are. The audit
// log records the export before the first user is read (user.export): it
// hands out every password hash, and whoever holds an administrator's
// session must not take them unseen.
//
// Errors: Unauthenticated, Forbidden (exports are for administrators), and
// fn's.
func (s *Users) Export(ctx context.Context, fn func(*usher.ExportUser) error) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actUserList, nil); err != nil {
		return err
	}
	if !p.IsAdmin() {
		return errForbidden("exports are for administrators")
	}
	// The password hashes it hands over outlast a retired key's window:
	// changed since the rotation, a forger would crack them.
	if err := refuseRetired(p, "exports nothing"); err != nil {
		return err
	}
	if err := s.recordAlone(ctx, event{action: "user.export", resourceType: "user"}); err != nil {
		return err
	}
	f := usher.UserFilter{Sort: usher.SortIDAsc, Page: usher.PageRequest{Limit: 1000}, Suspended: usher.Include}
	for {
		page, err := s.store.UserList(ctx, f)
		if err != nil {
			return err
		}
		for _, u := range page.Items {
			out := &usher.ExportUser{User: u}
			if out.PasswordHash, err = s.store.PasswordGet(ctx, u.ID); err != nil && !errors.Is(err, usher.ErrNotFound) {
				return err
			}
			if out.SSHKeys, err = s.store.KeyList(ctx, u.ID); err != nil {
				return err
			}
			if out.Emails, err = s.store.EmailList(ctx, u.ID); err != nil {
				return err
			}
			if err := fn(out); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		f.Page.After = page.Next
	}
}
