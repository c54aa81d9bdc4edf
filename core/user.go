package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"usher"
	"usher/password"
	"usher/store"
)

// Users manages accounts.
type Users struct{ *env }

// errNoChange ends an update closure that found nothing to change; the
// update then writes nothing and records nothing.
var errNoChange = errors.New("no change")

// Create creates a user. Only an administrator may create it with its
// address confirmed (EmailConfirmed, SkipConfirmation) or as an
// administrator; its kind, limits, plan, external id and identities need
// user.privileges (see requirePrivileges). With
// SendConfirmation, an address not marked confirmed is mailed a code that
// confirms it, and the account is pending until then (see confirming).
//
// Errors: Unauthenticated, Forbidden, Unprocessable (a field breaks a rule),
// Conflict (username, e-mail, external id or identity taken), RateLimited
// (the password hashing queue is full).
func (s *Users) Create(ctx context.Context, in usher.UserCreate) (*usher.User, error) {
	if err := s.authorize(ctx, actUserCreate, nil); err != nil {
		return nil, err
	}
	if err := vouch(usher.PrincipalFrom(ctx), in); err != nil {
		return nil, err
	}
	if err := s.createPrivileges(ctx, in); err != nil {
		return nil, err
	}
	mail := s.confirming(&in)
	if _, err := s.buildUser(in); err != nil {
		return nil, err
	}
	hash := in.PasswordHash
	if in.Password != "" {
		var err error
		if hash, err = s.hash(ctx, in.Password); err != nil {
			return nil, err
		}
	}
	var u *usher.User
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if u, err = s.newUser(ctx, tx, in, hash); err != nil {
			return err
		}
		changes := userChanges(&usher.User{}, u)
		if hash != "" {
			changes["password"] = usher.Change{New: "[set]"}
		}
		if err := s.record(ctx, tx, u.CreatedAt, event{action: "user.create", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), changes: changes}); err != nil {
			return err
		}
		if mail {
			return s.sendConfirmation(ctx, tx, u)
		}
		return nil
	})
	if err != nil {
		return nil, userWriteError(err)
	}
	if mail {
		s.mailQueued()
	}
	return u, nil
}

// confirming reports whether a new user's address is to be mailed a
// confirmation code: it was asked for, and the address is neither empty nor
// marked confirmed. The account is then pending, as after a sign-up, unless
// the policy skips e-mail confirmation or the caller chose its state.
func (e *env) confirming(in *usher.UserCreate) bool {
	if !in.SendConfirmation || in.Email == "" || in.EmailConfirmed || in.SkipConfirmation {
		return false
	}
	if in.State == "" && !e.policy.SkipEmailConfirmation {
		in.State = usher.StatePending
	}
	return true
}

// buildUser makes the user in describes, with the defaults filled in, and
// checks every field, the password's too.
func (e *env) buildUser(in usher.UserCreate) (*usher.User, error) {
	now := e.now()
	u := &usher.User{
		UUID: uuid.Must(uuid.NewV7()).String(), Username: in.Username, Email: in.Email,
		Name: in.Name, FirstName: in.FirstName, LastName: in.LastName, DisplayName: in.DisplayName,
		Handle: in.Handle, Bio: in.Bio, Location: in.Location, Skype: in.Skype, LinkedIn: in.LinkedIn,
		Twitter: in.Twitter, WebsiteURL: in.WebsiteURL, Language: in.Language,
		State: in.State, Kind: in.Kind, Admin: in.Admin, External: in.External,
		CanCreateGroup: true, ProjectsLimit: e.policy.DefaultProjectsLimit, ThemeID: 1, ColorSchemeID: 1,
		ExternalID: in.ExternalID, Metadata: in.Metadata, Identities: in.Identities,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if u.Kind == "" {
		u.Kind = usher.KindNormal
	}
	if u.State == "" {
		u.State = usher.StateActive
	}
	if u.State == usher.StateSuspended {
		u.SuspendedAt = &now
	}
	if u.Language == "" {
		u.Language = "en"
	}
	if in.CanCreateGroup != nil {
		u.CanCreateGroup = *in.CanCreateGroup
	}
	if in.ProjectsLimit != nil {
		u.ProjectsLimit = *in.ProjectsLimit
	}
	if in.EmailConfirmed || in.SkipConfirmation {
		u.EmailConfirmedAt = &now
	}
	var c checker
	c.user(u)
	if !slices.ContainsFunc(c.errs, func(f usher.FieldError) bool { return f.Field == "username" }) {
		c.nameRule(in.NameRule, u.Username)
	}
	c.identities(u.Identities)
	if in.Password != "" && in.PasswordHash != "" {
		c.add("password", usher.CodeConflict, "give a password or a password hash, not both")
	}
	if in.Password != "" {
		c.errs = append(c.errs, e.passwordProblems(in.Password, in.Username, in.Email)...)
	}
	if in.PasswordHash != "" {
		if err := password.Check(in.PasswordHash); err != nil {
			c.add("password_hash", usher.CodeInvalid, "%v", err)
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	deriveNames(u)
	if u.DisplayName == "" {
		u.DisplayName = u.Name
		if u.DisplayName == "" {
			u.DisplayName = u.Username
		}
	}
	return u, nil
}

// newUser builds the user in describes and inserts it within tx, with the
// password hash when one is given. The caller records the event.
func (e *env) newUser(ctx context.Context, tx store.Tx, in usher.UserCreate, hash string) (*usher.User, error) {
	// The password, if any, was checked and hashed already.
	in.Password, in.PasswordHash = "", ""
	u, err := e.buildUser(in)
	if err != nil {
		return nil, err
	}
	if in.Plan != "" {
		p, err := tx.PlanGet(ctx, in.Plan)
		if errors.Is(err, usher.ErrNotFound) {
			return nil, usher.FieldErrors(usher.FieldError{Field: "plan", Code: usher.CodeUnknown, Message: "no plan has this name"})
		}
		if err != nil {
			return nil, err
		}
		u.Plan = p.Name
	}
	if err := tx.UserCreate(ctx, u, hash); err != nil {
		return nil, err
	}
	return u, nil
}

// deriveNames fills the full name from first and last names, or the first
// and last names from the full one, whichever is missing: products differ
// in which they ask for.
func deriveNames(u *usher.User) {
	switch {
	case u.Name == "" && (u.FirstName != "" || u.LastName != ""):
		u.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
		if r := []rune(u.Name); len(r) > maxName {
			u.Name = string(r[:maxName])
		}
	case u.Name != "" && u.FirstName == "" && u.LastName == "":
		name := strings.TrimSpace(u.Name)
		if i := strings.LastIndexByte(name, ' '); i > 0 {
			u.FirstName, u.LastName = strings.TrimSpace(name[:i]), name[i+1:]
		} else {
			u.FirstName = name
		}
	}
}

// uniqueFields are the user fields whose collisions the store reports: the
// field as the API names it, the code of a collision on it and its message.
var uniqueFields = map[string]struct{ field, code, message string }{
	"username":    {"username", usher.CodeUsernameTaken, "has already been taken"},
	"email":       {"email", usher.CodeEmailTaken, "has already been taken"},
	"external_id": {"external_id", usher.CodeExternalIDTaken, "has already been taken"},
	"identity":    {"extern_uid", usher.CodeExternUIDTaken, "is already linked to another account"},
}

// userWriteError turns the store's uniqueness errors into conflicts that
// name the field, or each of the fields when the write collided on several:
// a caller fixing one should learn of the others at once. The code names
// the first.
func userWriteError(err error) error {
	var ue *usher.UniqueError
	if !errors.As(err, &ue) {
		return err
	}
	names := ue.Fields
	if len(names) == 0 {
		names = []string{ue.Field}
	}
	var fields []usher.FieldError
	code := ""
	for _, name := range names {
		u, ok := uniqueFields[name]
		if !ok {
			// A UUID collides only by a fault of usher's.
			continue
		}
		if code == "" {
			code = u.code
		}
		fields = append(fields, usher.FieldError{Field: u.field, Code: usher.CodeTaken, Message: u.message})
	}
	if len(fields) == 0 {
		return fmt.Errorf("user write: %w", err)
	}
	first := fields[0]
	return &usher.Error{Kind: usher.KindConflict, Code: code, Message: first.Field + " " + first.Message,
		Fields: fields, Err: err}
}

// errUserNotFound is the answer for a user that does not exist or may not be
// seen.
func errUserNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeUserNotFound, Message: "user not found"}
}

// Limits on what a filter or key may hold.
const maxFilterText = 255

// filterText checks a string a caller looks users up by.
func filterText(field, v string) error {
	switch {
	case len(v) > maxFilterText:
		return invalid(field, "is longer than %d bytes", maxFilterText)
	case !utf8.ValidString(v):
		return invalid(field, "is not valid UTF-8")
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return invalid(field, "contains a control character")
	}
	return nil
}

// checkKey validates a user key and normalises it, refusing to those who may
// not see e-mail addresses and external ids the look-ups by them.
func checkKey(p *usher.Principal, key *usher.UserKey) error {
	for _, f := range []struct{ name, v string }{
		{"username", key.Username}, {"email", key.Email}, {"external_id", key.ExternalID},
	} {
		if err := filterText(f.name, f.v); err != nil {
			return err
		}
	}
	if key.ID < 0 {
		return invalid("id", "must be positive")
	}
	if key.UUID != "" {
		if !uuidRE.MatchString(key.UUID) {
			return invalid("uuid", "is not a UUID")
		}
		key.UUID = strings.ToLower(key.UUID)
	}
	if (key.Email != "" || key.ExternalID != "") && !p.IsAdmin() {
		return errForbidden("only administrators look users up by e-mail address or external id")
	}
	return checkKinds(key.Kinds)
}

// checkKinds refuses a list of user kinds that names an unknown one.
func checkKinds(kinds []usher.UserKind) error {
	for _, k := range kinds {
		if !k.Valid() {
			return invalid("kind", "must be one of normal, bot, service_account")
		}
	}
	return nil
}

// userReader is what a lookup reads users from: the store, or a
// transaction of it.
type userReader interface {
	UserGet(ctx context.Context, key usher.UserKey) (*usher.User, error)
}

// Which users a lookup finds: live ones only, or deleted ones too when the
// caller is an administrator.
const (
	liveOnly    = false
	withDeleted = true
)

// findUser is the one way a key becomes a user: it checks the key for p,
// reads the user from r, and answers a user that does not exist — or is
// deleted, unless deleted is withDeleted and p is an administrator, or is
// of a kind the key does not ask for — with the same NotFound. Suspended
// and blocked users are found: what may be done to them is authorize's to
// decide. Deciding whether p may see the user at all is the caller's
// (authorize with the action at hand).
func findUser(ctx context.Context, r userReader, p *usher.Principal, key usher.UserKey, deleted bool) (*usher.User, error) {
	if err := checkKey(p, &key); err != nil {
		return nil, err
	}
	u, err := r.UserGet(ctx, key)
	if errors.Is(err, usher.ErrNotFound) || (err == nil && (u.Deleted() && !(deleted && p.IsAdmin()) || !ofKinds(u, key.Kinds))) {
		return nil, errUserNotFound()
	}
	return u, err
}

// ofKinds reports whether u is of one of the kinds, or kinds is empty: the
// one test of "the accounts a product knows as users".
func ofKinds(u *usher.User, kinds []usher.UserKind) bool {
	return len(kinds) == 0 || slices.Contains(kinds, u.Kind)
}

// Get returns a user that is not deleted, whatever its state: a
// suspended or blocked user is found, and listed (see List).
//
// Errors: Unauthenticated, Forbidden, NotFound, Invalid (a malformed key).
// With key.Kinds set — a product that knows only some kinds of account as
// its users passes the same kinds to List — an account of another kind is
// not found.
func (s *Users) Get(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, errUnauthenticated()
	}
	u, err := findUser(ctx, s.store, p, key, liveOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, actUserRead, u); err != nil {
		return nil, err
	}
	return redact(p, u), nil
}

// Me returns the caller's own account as it was read when the request's
// credential was checked, moments ago, without reading it again: the
// answer to "who is this token?", which every request of an application
// may ask. A caller that has just changed its account should answer with
// what the change returned instead.
//
// Errors: Unauthenticated, Forbidden (a token whose scopes do not allow
// reading the account).
func (s *Users) Me(ctx context.Context) (*usher.User, error) {
	return s.MeOfKinds(ctx, nil)
}

// MeOfKinds is Me for a product that knows only some kinds of account as
// its users: a caller whose account is of another kind (a service account
// where they are kept apart) is not found, as Get does not find it by name.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Users) MeOfKinds(ctx context.Context, kinds []usher.UserKind) (*usher.User, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, errUnauthenticated()
	}
	if p.User == nil {
		return s.Get(ctx, usher.UserKey{ID: p.UserID(), Kinds: kinds})
	}
	if err := s.authorize(ctx, actUserRead, p.User); err != nil {
		return nil, err
	}
	if !ofKinds(p.User, kinds) {
		return nil, errUserNotFound()
	}
	u := *p.User
	return &u, nil
}

// View says how much of u the caller may see: everything, as an
// administrator; the whole account, as u itself; else the public profile.
// The users the core returns are already cut to it; a face picks its
// product's representation by it. It reads nothing.
func (s *Users) View(ctx context.Context, u *usher.User) usher.UserView {
	return view(usher.PrincipalFrom(ctx), u)
}

// view is how much of u p may see.
func view(p *usher.Principal, u *usher.User) usher.UserView {
	switch {
	case p.IsAdmin():
		return usher.ViewAdmin
	case self(p, u):
		return usher.ViewOwn
	}
	return usher.ViewProfile
}

// redact returns u as p may see it (view): administrators and the user
// itself see everything; others see the public profile only.
func redact(p *usher.Principal, u *usher.User) *usher.User {
	if view(p, u) != usher.ViewProfile {
		return u
	}
	return &usher.User{
		ID: u.ID, UUID: u.UUID, Username: u.Username, Name: u.Name, FirstName: u.FirstName,
		LastName: u.LastName, DisplayName: u.DisplayName, Handle: u.Handle, Bio: u.Bio,
		Location: u.Location, Skype: u.Skype, LinkedIn: u.LinkedIn, Twitter: u.Twitter,
		WebsiteURL: u.WebsiteURL, Language: u.Language, State: u.State, Kind: u.Kind,
		Admin: u.Admin, AvatarETag: u.AvatarETag, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version,
	}
}

// List returns one page of users. It lists what Get finds: unless the
// filter says otherwise, users that are not deleted, in any state,
// suspended ones included. Only administrators see deleted users, filter
// by e-mail address or external id, or search e-mail addresses. With
// f.WithGroups the page holds its users' memberships, read at once and
// shown as UserGroups shows them.
//
// Errors: Unauthenticated, Forbidden, Invalid (an unknown sort, state or
// kind, a malformed UUID or cursor, a reversed range, a cursor with an
// offset, a filter string with control characters).
func (s *Users) List(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error) {
	if err := s.authorize(ctx, actUserList, nil); err != nil {
		return nil, err
	}
	p := usher.PrincipalFrom(ctx)
	if err := s.checkFilter(p, &f); err != nil {
		return nil, err
	}
	page, err := s.store.UserList(ctx, f)
	if err != nil {
		return nil, err
	}
	if len(f.WithGroups) > 0 {
		if page.Memberships, err = s.memberships(ctx, p, page.Items, f.WithGroups); err != nil {
			return nil, err
		}
	}
	for i, u := range page.Items {
		page.Items[i] = redact(p, u)
	}
	return page, nil
}

// checkFilter validates and normalises a user filter for p.
func (s *Users) checkFilter(p *usher.Principal, f *usher.UserFilter) error {
	for _, t := range []struct{ name, v string }{
		{"q", f.Query}, {"username", f.Username}, {"email", f.Email}, {"external_id", f.ExternalID},
		{"username", f.UsernameContains}, {"email", f.EmailContains}, {"uuid", f.UUIDContains},
		{"external_id", f.ExternalIDContains},
	} {
		if err := filterText(t.name, t.v); err != nil {
			return err
		}
	}
	if err := checkKinds(f.Kinds); err != nil {
		return err
	}
	switch {
	case f.Sort != "" && !f.Sort.Valid():
		return invalid("sort", "must be one of id, uuid, username, created_at, with an optional leading -")
	case f.State != "" && !f.State.Valid():
		return invalid("state", "is not a known state")
	case f.Kind != "" && !f.Kind.Valid():
		return invalid("kind", "must be one of normal, bot, service_account")
	case f.UUID != "" && !uuidRE.MatchString(f.UUID):
		return invalid("uuid", "is not a UUID")
	case f.CreatedAfter != nil && f.CreatedBefore != nil && !f.CreatedAfter.Before(*f.CreatedBefore):
		return invalid("created_after", "must be before created_before")
	case f.Page.After != nil && f.Offset > 0:
		return invalid("cursor", "cannot be combined with an offset")
	case f.Offset < 0:
		return invalid("offset", "must not be negative")
	case (f.Email != "" || f.ExternalID != "" || f.EmailContains != "" || f.ExternalIDContains != "") && !p.IsAdmin():
		return errForbidden("only administrators filter users by e-mail address or external id")
	}
	f.UUID = strings.ToLower(f.UUID)
	if f.Sort == "" {
		f.Sort = usher.SortIDAsc
	}
	if f.Page.After != nil {
		if err := checkCursor(f.Sort, f.Page.After); err != nil {
			return err
		}
	}
	// A list shows what Get finds: suspended users too, deleted ones not.
	if f.Suspended == usher.Default {
		f.Suspended = usher.Include
	}
	if f.State == usher.StateSuspended {
		f.Suspended = usher.Only
	}
	if f.Deleted == usher.Default || !p.IsAdmin() {
		f.Deleted = usher.Exclude
	}
	f.SearchEmail = p.IsAdmin()
	f.Page.Limit = s.pageSize(f.Page.Limit)
	return nil
}

// checkCursor checks that a cursor's key fits its sort column.
func checkCursor(sort usher.UserSort, c *usher.Cursor) error {
	bad := c.ID <= 0
	switch strings.TrimPrefix(string(sort), "-") {
	case "id":
		bad = bad || c.Key != ""
	case "uuid":
		bad = bad || !uuidRE.MatchString(c.Key)
	case "created_at":
		_, err := strconv.ParseInt(c.Key, 10, 64)
		bad = bad || err != nil
	case "username":
		bad = bad || filterText("cursor", c.Key) != nil
	}
	if bad {
		return errInvalidCursor()
	}
	return nil
}

// Update changes the fields of in that are set. With in.IfVersion set the
// update happens only if the user is still at that version. An
// administrator's new e-mail address replaces the old one, unconfirmed;
// anyone else's waits in UnconfirmedEmail, and a code is mailed to it that
// makes it the account's address (Auth.Confirm), as GitLab reconfirms.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable, Conflict,
// Precondition (a stale IfVersion), RateLimited.
func (s *Users) Update(ctx context.Context, key usher.UserKey, in usher.UserUpdate) (*usher.User, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actUserUpdate, nil); err != nil {
		return nil, err
	}
	hash := ""
	if in.Password != nil {
		if err := s.guardCredentials(ctx, p, actPasswordChange, nil); err != nil {
			return nil, err
		}
		if err := s.checkPassword(*in.Password, "", ""); err != nil {
			return nil, err
		}
		// Hash before the transaction: it is slow and needs no lock. Only
		// callers who may update some user get this far; the transaction
		// decides about this one.
		if err := s.authorize(ctx, actUserUpdate, nil); err != nil {
			if usher.ErrorKind(err) == usher.KindForbidden {
				return nil, errForbidden("a password is set by an administrator; users change their own with the current one")
			}
			return nil, err
		}
		var err error
		if hash, err = s.hash(ctx, *in.Password); err != nil {
			return nil, err
		}
	}
	// A change of address mails the new address a code: it is bounded like
	// any mail one may make usher send to an address (see addressMail).
	if in.Email != nil && !p.IsAdmin() {
		// Counted before the transaction (a throttle is a write of its
		// own), and only when the address would change: a client that
		// sends the whole account back with its address unchanged mails
		// nothing.
		if u, err := findUser(ctx, s.store, p, key, liveOnly); err == nil && *in.Email != u.Email {
			if err := s.addressMail(ctx, *in.Email); err != nil {
				return nil, err
			}
		}
	}
	mailed := false
	out, err := s.change(ctx, key, actUserUpdate, "user.update", live(func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		if in.IfVersion != nil && *in.IfVersion != u.Version {
			return nil, &usher.Error{Kind: usher.KindPrecondition, Code: usher.CodeVersionMismatch,
				Message: fmt.Sprintf("the user is at version %d, not %d", u.Version, *in.IfVersion)}
		}
		if err := s.checkPrivileges(ctx, u, in); err != nil {
			return nil, err
		}
		// A password, an identity, the external id an import matches by and
		// the address (even a change of case, which unconfirms it) are
		// credentials: they follow the one rule for them.
		for _, c := range []struct {
			changed bool
			act     action
		}{
			{in.Password != nil, actPasswordChange},
			{in.Identity != nil && !hasIdentity(u, *in.Identity), actPasswordChange},
			{in.ExternalID != nil && *in.ExternalID != u.ExternalID, actPasswordChange},
			{in.Email != nil && *in.Email != u.Email, actEmailWrite},
		} {
			if c.changed {
				if err := s.guardCredentials(ctx, p, c.act, u); err != nil {
					return nil, err
				}
			}
		}
		// Anyone but an administrator changes an address by proving the
		// new one: it waits, unconfirmed and claiming nothing, until the
		// code mailed to it comes back (see requestAddress).
		upd, pending := in, (*string)(nil)
		switch {
		case in.Email == nil:
		case p.IsAdmin():
			// An administrator's change takes effect at once and ends any
			// change the user was waiting for.
			if err := addressChanged(ctx, tx, u.ID, u.UnconfirmedEmail, ""); err != nil {
				return nil, err
			}
			u.UnconfirmedEmail = ""
		case !self(p, u) && *in.Email == u.Email:
			upd.Email = nil // the address as it is: nothing is asked of it
		case !self(p, u):
			// The confirmation would come later, on a public route that
			// knows nothing of who asked: no one but the user asks.
			return nil, errForbidden("a user changes their own address; an administrator may change anyone's")
		default:
			upd.Email, pending = nil, in.Email
		}
		old := *u
		applyUpdate(u, upd)
		if in.Name != nil && in.FirstName == nil && in.LastName == nil {
			u.FirstName, u.LastName = "", ""
		}
		if (in.FirstName != nil || in.LastName != nil) && in.Name == nil {
			u.Name = ""
		}
		var c checker
		c.user(u)
		if in.Identity != nil {
			c.identity(*in.Identity)
		}
		if in.Password != nil {
			c.errs = append(c.errs, s.passwordProblems(*in.Password, u.Username, u.Email)...)
		}
		if err := c.err(); err != nil {
			return nil, err
		}
		deriveNames(u)
		if err := addressChanged(ctx, tx, u.ID, old.Email, u.Email); err != nil {
			return nil, err
		}
		if pending != nil {
			var err error
			if mailed, err = s.requestAddress(ctx, tx, u, *pending); err != nil {
				return nil, err
			}
		}

		if in.Plan != nil && *in.Plan != old.Plan {
			if *in.Plan != "" {
				p, err := tx.PlanGet(ctx, *in.Plan)
				if errors.Is(err, usher.ErrNotFound) {
					return nil, usher.FieldErrors(usher.FieldError{Field: "plan", Code: usher.CodeUnknown, Message: "no plan has this name"})
				}
				if err != nil {
					return nil, err
				}
				u.Plan = p.Name
			} else {
				u.Plan = ""
			}
		}
		changes := userChanges(&old, u)
		if mailed && old.UnconfirmedEmail == u.UnconfirmedEmail {
			// A code mailed again for the same waiting address is a change
			// too: without it the transaction would write nothing.
			changes["unconfirmed_email"] = usher.Change{New: "[code sent again]"}
		}
		if in.Identity != nil && !hasIdentity(&old, *in.Identity) {
			if err := tx.IdentitySet(ctx, u.ID, *in.Identity, s.now()); err != nil {
				return nil, err
			}
			// The answer shows the account as it now is: the provider's
			// identity replaced.
			ids := []usher.Identity{*in.Identity}
			for _, have := range u.Identities {
				if have.Provider != in.Identity.Provider {
					ids = append(ids, have)
				}
			}
			slices.SortFunc(ids, func(a, b usher.Identity) int { return strings.Compare(a.Provider, b.Provider) })
			u.Identities = ids
			changes["identity."+in.Identity.Provider] = usher.Change{New: in.Identity.ExternUID}
		}
		if hash != "" {
			now := s.now()
			n, err := setPassword(ctx, tx, u.ID, hash, 0, now)
			if err != nil {
				return nil, err
			}
			changes["password"] = usher.Change{New: "[set]"}
			if n > 0 {
				changes["sessions_revoked"] = usher.Change{New: n}
			}
		}
		return changes, nil
	}))
	if err == nil && mailed {
		s.mailQueued()
	}
	return out, err
}

// checkPrivileges refuses changes to what a user may do unless the caller
// may make them: the admin flag only administrators change; kind, external
// flag, limits, plan, external id and identities need user.privileges,
// which only administrators have by default. Everyone may change the rest
// of their own profile.
func (s *Users) checkPrivileges(ctx context.Context, u *usher.User, in usher.UserUpdate) error {
	differs := func(set *string, have string) bool { return set != nil && *set != have }
	changed := (in.Kind != nil && *in.Kind != u.Kind) ||
		(in.External != nil && *in.External != u.External) ||
		(in.CanCreateGroup != nil && *in.CanCreateGroup != u.CanCreateGroup) ||
		(in.ProjectsLimit != nil && *in.ProjectsLimit != u.ProjectsLimit) ||
		differs(in.Plan, u.Plan) || differs(in.ExternalID, u.ExternalID) ||
		(in.Identity != nil && !hasIdentity(u, *in.Identity))
	return s.requirePrivileges(ctx, in.Admin != nil && *in.Admin != u.Admin, changed, strconv.FormatInt(u.ID, 10))
}

// requirePrivileges is the one rule for what only some callers may set on
// an account, new or not: the admin flag only administrators; its kind,
// external flag, limits, plan, external id and identities need
// user.privileges, which only administrators have by default. instance is
// the account's id, "" for one being created. An account made by a
// user.create rule is a plain account, never an administrator or one
// linked in advance to someone's external log-in.
func (e *env) requirePrivileges(ctx context.Context, setsAdmin, setsPrivileged bool, instance string) error {
	p := usher.PrincipalFrom(ctx)
	switch {
	case p.IsAdmin():
		return nil
	case setsAdmin:
		return errForbidden("only administrators make and unmake administrators")
	case !setsPrivileged:
		return nil
	}
	return e.decide(ctx, p, actUserPrivileges, instance, false)
}

// createPrivileges refuses what in sets that the caller may not.
func (s *Users) createPrivileges(ctx context.Context, in usher.UserCreate) error {
	privileged := (in.Kind != "" && in.Kind != usher.KindNormal) || in.External || in.CanCreateGroup != nil ||
		in.ProjectsLimit != nil || in.Plan != "" || in.ExternalID != "" || len(in.Identities) > 0
	return s.requirePrivileges(ctx, in.Admin, privileged, "")
}

func hasIdentity(u *usher.User, id usher.Identity) bool {
	for _, have := range u.Identities {
		if have == id {
			return true
		}
	}
	return false
}

// applyUpdate copies the set fields of in onto u.
func applyUpdate(u *usher.User, in usher.UserUpdate) {
	if in.Email != nil && *in.Email != u.Email {
		// A new address is not confirmed yet, even one that differs only
		// in case: a confirmation proves the address as it was sent.
		u.EmailConfirmedAt = nil
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&u.Username, in.Username)
	set(&u.Email, in.Email)
	set(&u.Name, in.Name)
	set(&u.FirstName, in.FirstName)
	set(&u.LastName, in.LastName)
	set(&u.DisplayName, in.DisplayName)
	set(&u.Handle, in.Handle)
	set(&u.Bio, in.Bio)
	set(&u.Location, in.Location)
	set(&u.Skype, in.Skype)
	set(&u.LinkedIn, in.LinkedIn)
	set(&u.Twitter, in.Twitter)
	set(&u.WebsiteURL, in.WebsiteURL)
	set(&u.Language, in.Language)
	set(&u.ExternalID, in.ExternalID)
	if in.Kind != nil {
		u.Kind = *in.Kind
	}
	if in.Admin != nil {
		u.Admin = *in.Admin
	}
	if in.External != nil {
		u.External = *in.External
	}
	if in.CanCreateGroup != nil {
		u.CanCreateGroup = *in.CanCreateGroup
	}
	if in.ProjectsLimit != nil {
		u.ProjectsLimit = *in.ProjectsLimit
	}
	if in.ThemeID != nil {
		u.ThemeID = *in.ThemeID
	}
	if in.ColorSchemeID != nil {
		u.ColorSchemeID = *in.ColorSchemeID
	}
	if in.Metadata != nil {
		u.Metadata = *in.Metadata
	}
}

// change runs one read-modify-write of a user in a transaction: it finds the
// user, authorizes act on it, lets fn change it, and writes the user and its
// audit event together. fn returns the changes to record; none means there
// was nothing to do, and nothing is written.
func (s *Users) change(ctx context.Context, key usher.UserKey, act action, auditAction string,
	fn func(tx store.Tx, u *usher.User) (map[string]usher.Change, error)) (*usher.User, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, act, nil); err != nil {
		return nil, err
	}
	if err := checkKey(p, &key); err != nil {
		return nil, err
	}
	if err := s.mayAny(ctx, p, act); err != nil {
		return nil, err
	}
	var out *usher.User
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		found, err := findUser(ctx, tx, p, key, withDeleted)
		if err != nil {
			return err
		}
		now := s.now()
		var changes map[string]usher.Change
		u, err := tx.UserUpdate(ctx, found.ID, func(u *usher.User) error {
			if (u.Deleted() && !p.IsAdmin()) || !ofKinds(u, key.Kinds) {
				return errUserNotFound()
			}
			if err := s.authorize(ctx, act, u); err != nil {
				return err
			}
			var err error
			if changes, err = fn(tx, u); err != nil {
				return err
			}
			if len(changes) == 0 {
				out = u
				return errNoChange
			}
			u.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		out = u
		return s.record(ctx, tx, now, event{action: auditAction, resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), changes: changes})
	})
	switch {
	case errors.Is(err, errNoChange):
		return redact(p, out), nil
	case errors.Is(err, usher.ErrNotFound):
		return nil, errUserNotFound()
	case err != nil:
		return nil, userWriteError(err)
	}
	return redact(p, out), nil
}

// live wraps a change function so that it refuses deleted users.
func live(fn func(tx store.Tx, u *usher.User) (map[string]usher.Change, error)) func(store.Tx, *usher.User) (map[string]usher.Change, error) {
	return func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		if u.Deleted() {
			return nil, errUserNotFound()
		}
		return fn(tx, u)
	}
}

// Delete soft-deletes a user: the account stops working at once, its tokens
// are revoked, and its username and e-mail are free for others. It can be
// undone with Undelete (by id: a deleted user holds no name). The last owner
// of a team cannot be deleted: see DeleteWith.
//
// Errors: Unauthenticated, Forbidden, NotFound (also for a deleted user),
// Conflict (code usher.CodeLastTeamOwner).
func (s *Users) Delete(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.DeleteWith(ctx, key, usher.UserDelete{})
}

// DeleteWith deletes a user as Delete does. With in.SoleOwnedTeams the teams
// the user alone owns are deleted with it (as Groups.Delete deletes them,
// each allowed to the caller and recorded, in the same transaction);
// without, a team's last owner is refused.
//
// Errors: Unauthenticated, Forbidden (also to delete one of the teams),
// NotFound (also for a deleted user), Conflict (code
// usher.CodeLastTeamOwner).
func (s *Users) DeleteWith(ctx context.Context, key usher.UserKey, in usher.UserDelete) (*usher.User, error) {
	dropped := false
	u, err := s.change(ctx, key, actUserDelete, "user.delete", live(func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		// Deleting ends every credential of the account.
		if err := s.guardCredentials(ctx, usher.PrincipalFrom(ctx), actTokenEnd, u); err != nil {
			return nil, err
		}
		teams, err := tx.SoleOwnerTeams(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case len(teams) > 0 && !in.SoleOwnedTeams:
			return nil, errLastOwner(teams[0])
		case len(teams) > 0:
			if err := (&Groups{s.env}).deleteIn(ctx, tx, teams); err != nil {
				return nil, err
			}
			dropped = true
		}
		now := s.now()
		if err := markDeleted(ctx, tx, u, now); err != nil {
			return nil, err
		}
		return map[string]usher.Change{"deleted_at": {New: now}}, nil
	}))
	if dropped {
		s.rules.changed()
	}
	return u, err
}

// lastOwner refuses to delete an account that is the last owner of a team:
// the team would be orphaned.
func lastOwner(ctx context.Context, tx store.Tx, userID int64) error {
	teams, err := tx.SoleOwnerTeams(ctx, userID)
	if err != nil {
		return err
	}
	if len(teams) > 0 {
		return errLastOwner(teams[0])
	}
	return nil
}

func errLastOwner(team *usher.Group) error {
	return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeLastTeamOwner,
		Message: "the account is the last owner of team " + team.Handle + "; give it another owner or delete it first"}
}

// markDeleted soft-deletes u, which the caller writes, and ends every
// credential it holds: its tokens are revoked, and the JWTs issued before
// now stay refused should it be restored.
func markDeleted(ctx context.Context, tx store.Tx, u *usher.User, now time.Time) error {
	u.DeletedAt, u.CredentialsSince = &now, &now
	_, err := tx.TokenRevoke(ctx, store.TokenFilter{UserID: u.ID}, now)
	return err
}

// Undelete restores a soft-deleted user. Its revoked tokens stay revoked,
// and the JWTs issued before its deletion stay refused.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (the user is not
// deleted, or its username or e-mail was taken meanwhile).
func (s *Users) Undelete(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.change(ctx, key, actUserDelete, "user.undelete", func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		if !u.Deleted() {
			return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeUserNotDeleted, Message: "the user is not deleted"}
		}
		old := *u.DeletedAt
		u.DeletedAt = nil
		return map[string]usher.Change{"deleted_at": {Old: old}}, nil
	})
}

// Purge deletes a user for good, with everything that belongs to it. The
// audit log keeps its record.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Users) Purge(ctx context.Context, key usher.UserKey) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actUserPurge, nil); err != nil {
		return err
	}
	if err := checkKey(p, &key); err != nil {
		return err
	}
	if err := s.mayAny(ctx, p, actUserPurge); err != nil {
		return err
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		u, err := findUser(ctx, tx, p, key, withDeleted)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, actUserPurge, u); err != nil {
			return err
		}
		if err := s.guardCredentials(ctx, p, actTokenEnd, u); err != nil {
			return err
		}
		if err := tx.UserPurge(ctx, u.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, s.now(), event{action: "user.purge", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), meta: map[string]string{"username": u.Username}})
	})
	if errors.Is(err, usher.ErrNotFound) {
		return errUserNotFound()
	}
	return err
}

// errExternalBlock refuses a state change of an account that an external
// directory disabled.
func errExternalBlock() error {
	return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeBlockedExternally,
		Message: "the user was blocked by an external directory and can only be unblocked there"}
}

// setState moves a live user to state to from one of the states from. Being
// in to already is no change. Leaving a state that may sign in ends the
// user's sessions; its other tokens stop working while the state lasts.
func (s *Users) setState(ctx context.Context, key usher.UserKey, auditAction string, to usher.UserState, from ...usher.UserState) (*usher.User, error) {
	return s.change(ctx, key, actUserState, auditAction, live(func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		if u.State == to {
			return nil, nil
		}
		// A state that may not sign in ends the account's sessions, and
		// any state change decides who may use the account: the rule for
		// another's credentials applies (a helpdesk blocks no
		// administrator).
		if err := s.guardCredentials(ctx, usher.PrincipalFrom(ctx), actTokenEnd, u); err != nil {
			return nil, err
		}
		if u.State == usher.StateBlockedExternal {
			return nil, errExternalBlock()
		}
		allowed := false
		for _, f := range from {
			allowed = allowed || u.State == f
		}
		if !allowed {
			return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeInvalidState,
				Message: fmt.Sprintf("a %s user cannot become %s this way", u.State, to)}
		}
		old := u.State
		u.State = to
		changes := map[string]usher.Change{"state": {Old: string(old), New: string(to)}}
		now := s.now()
		switch {
		case to == usher.StateSuspended:
			u.SuspendedAt = &now
			changes["suspended_at"] = usher.Change{New: now}
		case old == usher.StateSuspended:
			var was any
			if u.SuspendedAt != nil {
				was = *u.SuspendedAt
			}
			changes["suspended_at"] = usher.Change{Old: was}
			u.SuspendedAt = nil
		}
		if old.CanSignIn() && !to.CanSignIn() {
			n, err := endSessions(ctx, tx, u.ID, 0, now)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				changes["sessions_revoked"] = usher.Change{New: n}
			}
		}
		return changes, nil
	}))
}

// signInStates are the states whose users may sign in.
var signInStates = []usher.UserState{usher.StateActive, usher.StatePending}

// Block blocks a user: it can no longer sign in, its sessions end and its
// other tokens stop working until it is unblocked. Blocking a blocked user
// changes nothing.
//
// Errors: Unauthenticated, Forbidden (also for a user blocked by an external
// directory), NotFound.
func (s *Users) Block(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.setState(ctx, key, "user.block", usher.StateBlocked, append(signInStates, usher.StateSuspended)...)
}

// Unblock lifts a block. Unblocking a user that is not blocked changes
// nothing.
//
// Errors: Unauthenticated, Forbidden (also for a user blocked by an external
// directory), NotFound.
func (s *Users) Unblock(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.change(ctx, key, actUserState, "user.unblock", live(func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		switch u.State {
		case usher.StateBlockedExternal:
			return nil, errExternalBlock()
		case usher.StateBlocked:
			u.State = usher.StateActive
			return map[string]usher.Change{"state": {Old: string(usher.StateBlocked), New: string(usher.StateActive)}}, nil
		}
		return nil, nil
	}))
}

// Suspend suspends a user: its sessions end and its other tokens stop
// working until it is unsuspended. Suspending a suspended user changes
// nothing.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (a blocked user).
func (s *Users) Suspend(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.setState(ctx, key, "user.suspend", usher.StateSuspended, signInStates...)
}

// Unsuspend lifts a suspension. Unsuspending an active user changes nothing.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (a blocked user).
func (s *Users) Unsuspend(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.setState(ctx, key, "user.unsuspend", usher.StateActive, usher.StateSuspended)
}

// userFields lists the recorded fields of a user, for audit changes.
var userFields = []struct {
	name string
	get  func(u *usher.User) any
}{
	{"username", func(u *usher.User) any { return u.Username }},
	{"email", func(u *usher.User) any { return u.Email }},
	{"name", func(u *usher.User) any { return u.Name }},
	{"first_name", func(u *usher.User) any { return u.FirstName }},
	{"last_name", func(u *usher.User) any { return u.LastName }},
	{"display_name", func(u *usher.User) any { return u.DisplayName }},
	{"handle", func(u *usher.User) any { return u.Handle }},
	{"bio", func(u *usher.User) any { return u.Bio }},
	{"location", func(u *usher.User) any { return u.Location }},
	{"skype", func(u *usher.User) any { return u.Skype }},
	{"linkedin", func(u *usher.User) any { return u.LinkedIn }},
	{"twitter", func(u *usher.User) any { return u.Twitter }},
	{"website_url", func(u *usher.User) any { return u.WebsiteURL }},
	{"language", func(u *usher.User) any { return u.Language }},
	{"state", func(u *usher.User) any { return string(u.State) }},
	{"kind", func(u *usher.User) any { return string(u.Kind) }},
	{"admin", func(u *usher.User) any { return u.Admin }},
	{"external", func(u *usher.User) any { return u.External }},
	{"can_create_group", func(u *usher.User) any { return u.CanCreateGroup }},
	{"projects_limit", func(u *usher.User) any { return u.ProjectsLimit }},
	{"theme_id", func(u *usher.User) any { return u.ThemeID }},
	{"color_scheme_id", func(u *usher.User) any { return u.ColorSchemeID }},
	{"two_factor_enabled", func(u *usher.User) any { return u.TwoFactorEnabled }},
	{"external_id", func(u *usher.User) any { return u.ExternalID }},
	{"metadata", func(u *usher.User) any { return fmt.Sprint(u.Metadata) }},
	{"email_confirmed", func(u *usher.User) any { return u.EmailConfirmedAt != nil }},
	{"unconfirmed_email", func(u *usher.User) any { return u.UnconfirmedEmail }},
	{"plan", func(u *usher.User) any { return u.Plan }},
}

// userChanges lists the recorded fields that differ between old and u.
func userChanges(old, u *usher.User) map[string]usher.Change {
	changes := map[string]usher.Change{}
	for _, f := range userFields {
		if o, n := f.get(old), f.get(u); o != n {
			changes[f.name] = usher.Change{Old: o, New: n}
		}
	}
	if old.ID == 0 {
		// A creation records its values, not a comparison with nothing.
		for k, v := range changes {
			changes[k] = usher.Change{New: v.New}
		}
	}
	return changes
}
