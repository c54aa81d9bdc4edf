package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"usher"
	"usher/store"
)

// Users manages accounts.
type Users struct{ *env }

// errNoChange ends an update closure that found nothing to change; the
// update then writes nothing and records nothing.
var errNoChange = errors.New("no change")

// MayCreate says whether the caller may create users at all, before a
// body is read: a face whose product authorizes a write before it
// validates the write's body (Pterodactyl's form requests) asks first, so
// that one who may not is not told what the body lacks. Create decides
// again.
//
// Errors: Unauthenticated, Forbidden.
func (s *Users) MayCreate(ctx context.Context) error {
	return s.authorize(ctx, actUserCreate, nil)
}

// MayUpdate says whether the caller's credential may change users at all
// — its scopes — before a body is read, as MayCreate does for a creation.
// Whether it may change a given user is Update's to decide.
//
// Errors: Unauthenticated, Forbidden.
func (s *Users) MayUpdate(ctx context.Context) error {
	return precheck(usher.PrincipalFrom(ctx), actUserUpdate, nil)
}

// Create creates a user. Only an administrator may create it with its
// address confirmed (EmailConfirmed, SkipConfirmation) or as an
// administrator; its kind, limits, plan, external id and identities need
// user.privileges (see requirePrivileges). With
// SendConfirmation, an address not marked confirmed is mailed a code that
// confirms it, and the account is pending until then (see confirming).
// With SendInvitation, the address is mailed a link that sets the
// password instead, which confirms the address too. The account returned
// is as the caller may read it (Get's view).
//
// Errors: Unauthenticated, Forbidden, Unprocessable (a field breaks a rule),
// Conflict (username, e-mail, external id or identity taken), RateLimited
// (the password hashing queue is full, or the address was mailed codes
// resendsPerAddress times within the failure window).
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
	if in.Admin {
		if err := checkAdminBound(usher.PrincipalFrom(ctx)); err != nil {
			return nil, err
		}
	}
	if p := usher.PrincipalFrom(ctx); p == nil || p.Kind != usher.PrincipalSystem {
		// usher itself (an import, the CLI) may make one alone, as an
		// export of one has it; a caller through an API makes one with
		// its team.
		if err := kindChange("", &in.Kind); err != nil {
			return nil, err
		}
	}
	mail := s.confirming(&in)
	if in.SendInvitation {
		var c checker
		if in.Email == "" {
			c.add("email", usher.CodeRequired, "is required to send an invitation")
		}
		if in.Password != "" || in.PasswordHash != "" {
			c.add("password", usher.CodeConflict, "give a password or send an invitation, not both")
		}
		if err := c.err(); err != nil {
			return nil, err
		}
	}
	would, err := s.buildUser(in, nil)
	if err != nil {
		return nil, err
	}
	would.Plan = in.Plan
	if err := s.createsNoMore(ctx, would); err != nil {
		return nil, err
	}
	if err := s.checkRaiseBound(ctx, usher.PrincipalFrom(ctx), nil, would); err != nil {
		return nil, err
	}
	// A code mailed at creation is counted per address: making and
	// deleting an account with someone's address in a loop (a user.create
	// and user.delete rule) mailed them each time. usher's own creations
	// are not counted.
	p := usher.PrincipalFrom(ctx)
	counted := (mail || in.SendInvitation) && (p == nil || p.Kind != usher.PrincipalSystem)
	return s.creatingMailed(ctx, in.Email, counted, func() (*usher.User, error) { return s.create(ctx, in, mail) })
}

// create makes the account in describes, mailing its address a
// confirmation (mail) or an invitation as in asks.
func (s *Users) create(ctx context.Context, in usher.UserCreate, mail bool) (*usher.User, error) {
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
		switch {
		case in.SendInvitation:
			return s.sendInvitation(ctx, tx, u)
		case mail:
			return s.sendConfirmation(ctx, tx, u)
		}
		return nil
	})
	if err != nil {
		return nil, userWriteError(err)
	}
	if mail || in.SendInvitation {
		s.mailQueued()
	}
	// As the caller may read it, as a change's answer is: a delegate
	// made the account, and is shown no more of it than reading it shows
	// (what a user.before_create script set, its address).
	return s.redact(ctx, usher.PrincipalFrom(ctx), u)
}

// sendInvitation mails u's address a link to the page that sets u's
// password: a reset token that lasts as long as a confirmation code.
func (e *env) sendInvitation(ctx context.Context, tx store.Tx, u *usher.User) error {
	token, _, err := e.issueCode(ctx, tx, usher.CodeReset, u.ID, u.Email, e.policy.ConfirmTTL, "")
	if err != nil {
		return err
	}
	data := e.codeLink(token, "/reset-password?token=", "/v1/auth/password-reset/exchange", e.policy.ConfirmTTL)
	return e.queueLetter(ctx, tx, "invitation", u.Email, u, data)
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
// checks every field, the password's too; the names kept holds are taken
// as they are (checker.user), nil for none.
func (e *env) buildUser(in usher.UserCreate, kept *usher.User) (*usher.User, error) {
	now := e.now()
	u := &usher.User{
		UUID: uuid.Must(uuid.NewV7()).String(), Username: in.Username, Email: in.Email,
		Name: in.Name, FirstName: in.FirstName, LastName: in.LastName, DisplayName: in.DisplayName,
		Handle: in.Handle, Bio: in.Bio, Location: in.Location, WebsiteURL: in.WebsiteURL, Language: in.Language,
		State: in.State, Kind: in.Kind, Admin: in.Admin, External: in.External,
		GitLab: usher.GitLabProfile{
			CanCreateGroup: true, ProjectsLimit: e.policy.DefaultProjectsLimit, ThemeID: 1, ColorSchemeID: 1,
		},
		ExternalID: in.ExternalID, Metadata: in.Metadata, Meta: compactJSON(in.Meta),
		OrganisationID: in.OrganisationID, Identities: in.Identities, CreatedAt: now, UpdatedAt: now, Version: 1,
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
	u.GitLab.Apply(in.GitLab)
	if in.EmailConfirmed || in.SkipConfirmation {
		u.EmailConfirmedAt = &now
	}
	var c checker
	c.user(u, kept)
	if u.Handle != "" {
		c.handle(u.Handle)
	}
	c.email("email", u.Email, in.EmailRequired)
	if u.Username == "" && (!in.UsernameOptional || (u.Email == "" && u.Handle == "" && handleBase(u) == "")) {
		// Without a username a user is found by address or handle.
		c.username("")
	}
	if !slices.ContainsFunc(c.errs, func(f usher.FieldError) bool { return f.Field == "username" }) {
		c.nameRule(in.NameRule, u.Username)
		c.freshUsername(u.Username)
	}
	c.identities(u.Identities)
	if in.Password != "" && in.PasswordHash != "" {
		c.add("password", usher.CodeConflict, "give a password or a password hash, not both")
	}
	if in.Password != "" {
		c.errs = append(c.errs, e.passwordProblems(in.Password, in.Username, in.Email)...)
	}
	if in.PasswordHash != "" {
		if err := e.hasher.Check(in.PasswordHash); err != nil {
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
	u, err := e.buildUser(in, nil)
	if err != nil {
		return nil, err
	}
	if err := e.fire(ctx, tx, usher.TriggerUserBeforeCreate, userSubject(u)); err != nil {
		return nil, err
	}
	if in.Plan != "" {
		p, err := userPlan(ctx, tx, in.Plan)
		if err != nil {
			return nil, err
		}
		u.Plan = p.Name
	}
	if err := e.checkOrganisation(ctx, tx, usher.PrincipalFrom(ctx), u.OrganisationID); err != nil {
		return nil, err
	}
	if err := e.authorizeOrgMove(ctx, usher.PrincipalFrom(ctx), 0, u.OrganisationID); err != nil {
		return nil, err
	}
	if u.Handle == "" {
		if u.Handle, err = freeHandle(ctx, tx, handleBase(u)); err != nil {
			return nil, err
		}
		if u.Username == "" && u.Email == "" && u.Handle == "" {
			// Every handle the name gives is taken: nothing would find it.
			return nil, usher.FieldErrors(usher.FieldError{Field: "username", Code: usher.CodeRequired, Message: "is required"})
		}
	}
	if err := nameOrAddressTaken(ctx, tx, 0, u.Username, u.Email); err != nil {
		return nil, err
	}
	if err := tx.UserCreate(ctx, u, hash); err != nil {
		return nil, err
	}
	if hash != "" {
		// Failures at the logins before anyone had them (anyone may try
		// any name) would keep the new account's owner out, as a new
		// password's clear for an account that had them (setPassword).
		for _, login := range []string{u.Username, u.Email} {
			if login == "" {
				continue
			}
			if err := tx.ThrottleClear(ctx, loginKey(login)); err != nil {
				return nil, err
			}
		}
	}
	return u, e.fire(ctx, tx, usher.TriggerUserAfterCreate, userSubject(u))
}

// deriveNames fills the full name from first and last names, or the first
// and last names from the full one, whichever is missing: products differ
// in which they ask for. A name it makes holds a space where the names it
// is made of held a line or paragraph separator, which an earlier release
// stored and a new name may not hold (checker.listedName).
func deriveNames(u *usher.User) {
	switch {
	case u.Name == "" && (u.FirstName != "" || u.LastName != ""):
		u.Name = strings.TrimSpace(unbroken(u.FirstName + " " + u.LastName))
		if r := []rune(u.Name); len(r) > maxName {
			u.Name = string(r[:maxName])
		}
	case u.Name != "" && u.FirstName == "" && u.LastName == "":
		name := strings.TrimSpace(unbroken(u.Name))
		if i := strings.LastIndexByte(name, ' '); i > 0 {
			u.FirstName, u.LastName = strings.TrimSpace(name[:i]), name[i+1:]
		} else {
			u.FirstName = name
		}
	}
}

// unbroken is s with a space for each line or paragraph separator.
func unbroken(s string) string {
	return strings.Map(func(r rune) rune {
		if lineSeparator(r) {
			return ' '
		}
		return r
	}, s)
}

// uniqueFields are the user fields whose collisions the store reports: the
// field as the API names it, the code of a collision on it and its message.
var uniqueFields = map[string]struct{ field, code, message string }{
	"username":    {"username", usher.CodeUsernameTaken, "has already been taken"},
	"email":       {"email", usher.CodeEmailTaken, "has already been taken"},
	"external_id": {"external_id", usher.CodeExternalIDTaken, "has already been taken"},
	"handle":      {"handle", usher.CodeHandleTaken, "has already been taken"},
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

// stale is the answer to a change of a what (a user, a group) at version
// current that holds it to version want: none when want is nil, which
// holds it to none, or current.
func stale(what string, current int64, want *int64) error {
	if want == nil || *want == current {
		return nil
	}
	return &usher.Error{Kind: usher.KindPrecondition, Code: usher.CodeVersionMismatch,
		Message: fmt.Sprintf("the %s is at version %d, not %d", what, current, *want)}
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
	{"skype", func(u *usher.User) any { return u.GitLab.Skype }},
	{"linkedin", func(u *usher.User) any { return u.GitLab.LinkedIn }},
	{"twitter", func(u *usher.User) any { return u.GitLab.Twitter }},
	{"website_url", func(u *usher.User) any { return u.WebsiteURL }},
	{"language", func(u *usher.User) any { return u.Language }},
	{"state", func(u *usher.User) any { return string(u.State) }},
	{"kind", func(u *usher.User) any { return string(u.Kind) }},
	{"admin", func(u *usher.User) any { return u.Admin }},
	{"external", func(u *usher.User) any { return u.External }},
	{"can_create_group", func(u *usher.User) any { return u.GitLab.CanCreateGroup }},
	{"projects_limit", func(u *usher.User) any { return u.GitLab.ProjectsLimit }},
	{"theme_id", func(u *usher.User) any { return u.GitLab.ThemeID }},
	{"color_scheme_id", func(u *usher.User) any { return u.GitLab.ColorSchemeID }},
	{"two_factor_enabled", func(u *usher.User) any { return u.TwoFactorEnabled }},
	{"external_id", func(u *usher.User) any { return u.ExternalID }},
	{"metadata", func(u *usher.User) any { return fmt.Sprint(u.Metadata) }},
	{"meta", func(u *usher.User) any { return string(u.Meta) }},
	{"organisation_id", func(u *usher.User) any { return u.OrganisationID }},
	{"email_confirmed", func(u *usher.User) any { return u.EmailConfirmedAt != nil }},
	{"unconfirmed_email", func(u *usher.User) any { return u.UnconfirmedEmail }},
	{"plan", func(u *usher.User) any { return u.Plan }},
}

// auditedField is what the audit log keeps of a field's value: a text
// longer than auditedValue (meta and metadata hold up to 16 KiB) by its
// size, as a setting's value is kept (auditValue), else the value.
func auditedField(v any) any {
	if s, ok := v.(string); ok && len(s) > auditedValue {
		return len(s)
	}
	return v
}

// userChanges lists the recorded fields that differ between old and u.
func userChanges(old, u *usher.User) map[string]usher.Change {
	changes := map[string]usher.Change{}
	for _, f := range userFields {
		if o, n := f.get(old), f.get(u); o != n {
			changes[f.name] = usher.Change{Old: auditedField(o), New: auditedField(n)}
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
