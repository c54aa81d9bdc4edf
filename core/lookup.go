package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"usher"
	"usher/store"
)

// Limits on what a filter or key may hold.
const maxFilterText = 255

// minSearch is the fewest characters a substring search of users takes:
// the search indexes (SQLite's FTS5 trigram tokenizer, PostgreSQL's
// pg_trgm) index runs of three characters, and a shorter string could only
// be looked for in every row.
const minSearch = 3

// searchText checks a substring a caller searches users by: filterText's
// rules, and none or at least minSearch characters.
func searchText(field, v string) error {
	if err := filterText(field, v); err != nil {
		return err
	}
	if v != "" && utf8.RuneCountInString(v) < minSearch {
		return invalid(field, "must be at least %d characters", minSearch)
	}
	return nil
}

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

// noSuchKey reports whether v, a key a caller looks something up by (a
// handle, a name), can be no stored row's: empty, longer than limit bytes,
// or text filterText refuses — not UTF-8, or holding a control character
// such as NUL, which PostgreSQL refuses in a statement where SQLite finds
// nothing. A look-up answers such a key as it answers an unknown one,
// without asking the store, so that no answer tells the two apart.
func noSuchKey(v string, limit int) bool {
	return v == "" || len(v) > limit || filterText("", v) != nil
}

// requestOf is the request in ctx as the core records it: its user agent,
// which a client writes as it likes, made valid UTF-8 without control
// characters, as a text column takes it (PostgreSQL refuses invalid UTF-8
// and NUL, which would fail every audited change and log-in of a client
// whose agent holds them).
func requestOf(ctx context.Context) usher.Request {
	req := usher.RequestFrom(ctx)
	// Control and format characters go too: a right-to-left override
	// turns around the text after it wherever the agent is shown (the
	// session list), and whoever signs in writes the header.
	if filterText("", req.UserAgent) != nil || strings.IndexFunc(req.UserAgent, isFormat) >= 0 {
		req.UserAgent = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || isFormat(r) {
				return -1
			}
			return r
		}, strings.ToValidUTF8(req.UserAgent, "\uFFFD"))
	}
	// An agent is kept with each session and audit event and shown in
	// their lists: a browser's is a few hundred bytes, and a longer one
	// is cut, at a character's start, rather than stored at the 64 KiB
	// a header may hold.
	if n := len(req.UserAgent); n > maxUserAgent {
		n = maxUserAgent
		for n > 0 && !utf8.RuneStart(req.UserAgent[n]) {
			n--
		}
		req.UserAgent = req.UserAgent[:n]
	}
	return req
}

// maxUserAgent is the most of a request's user agent, in bytes, the core
// keeps.
const maxUserAgent = 512

// isFormat reports whether r is a format character (Unicode's Cf: bidi
// overrides and isolates, zero-width joiners and the like).
func isFormat(r rune) bool { return unicode.Is(unicode.Cf, r) }

// checkKey validates a user key and normalises it, refusing to those who may
// not see e-mail addresses and external ids the look-ups by them.
func checkKey(p *usher.Principal, key *usher.UserKey) error {
	for _, f := range []struct{ name, v string }{
		{"username", key.Username}, {"email", key.Email}, {"handle", key.Handle}, {"external_id", key.ExternalID},
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
	if errors.Is(err, usher.ErrNotFound) || (err == nil && (u.Deleted() && !(deleted && p.IsAdmin()) || !fits(u, key))) {
		return nil, errUserNotFound()
	}
	return u, err
}

// seen answers whether ctx's caller may read u, a refusal as ErrNotFound:
// where a request names a user by id (an owner, a member, an assignee),
// one the caller may not read is no user to it.
func (e *env) seen(ctx context.Context, u *usher.User) error {
	err := e.authorize(ctx, actUserRead, u)
	if usher.ErrorKind(err) == usher.KindForbidden {
		return usher.ErrNotFound
	}
	return err
}

// seenOr is seen answering a user the caller may not read with notSeen:
// what the route says of no such user.
func (e *env) seenOr(ctx context.Context, u *usher.User, notSeen error) error {
	err := e.seen(ctx, u)
	if errors.Is(err, usher.ErrNotFound) {
		return notSeen
	}
	return err
}

// fits reports whether u is an account key may find: of one of its
// kinds, and without a username when it asks for a nameless one.
func fits(u *usher.User, key usher.UserKey) bool {
	return ofKinds(u, key.Kinds) && !(key.Nameless && u.Username != "")
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
	return s.redact(ctx, p, u)
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
	// A rule may hide the caller's own organisation from them: shown as
	// none, as everywhere (redact).
	org, err := s.orgShown(ctx, p, u.OrganisationID)
	if err != nil {
		return nil, err
	}
	u.OrganisationID = org
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
// itself see everything, others the public profile only, and none of them
// an organisation a rule hides from them (orgShown).
func (e *env) redact(ctx context.Context, p *usher.Principal, u *usher.User) (*usher.User, error) {
	org, err := e.orgShown(ctx, p, u.OrganisationID)
	if err != nil {
		return nil, err
	}
	if view(p, u) != usher.ViewProfile {
		// The whole account, the caller's own too, but for an
		// organisation a rule hides from them.
		if org == u.OrganisationID {
			return u, nil
		}
		shown := *u
		shown.OrganisationID = org
		return &shown, nil
	}
	return &usher.User{
		ID: u.ID, UUID: u.UUID, Username: u.Username, Name: u.Name, FirstName: u.FirstName,
		LastName: u.LastName, DisplayName: u.DisplayName, Handle: u.Handle, Bio: u.Bio,
		Location: u.Location, GitLab: usher.GitLabProfile{Skype: u.GitLab.Skype, LinkedIn: u.GitLab.LinkedIn, Twitter: u.GitLab.Twitter},
		WebsiteURL: u.WebsiteURL, Language: u.Language, State: u.State, Kind: u.Kind,
		Admin: u.Admin, OrganisationID: org, AvatarETag: u.AvatarETag, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version,
	}, nil
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
// offset, a filter string with control characters, a substring search
// of the username, the address or all three (q) of fewer than 3
// characters), NotFound (an organisation to filter by that the caller may
// not read: checkOrgFilter).
func (s *Users) List(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error) {
	if err := s.authorize(ctx, actUserList, nil); err != nil {
		return nil, err
	}
	p := usher.PrincipalFrom(ctx)
	if err := s.checkFilter(p, &f); err != nil {
		return nil, err
	}
	if err := s.checkOrgFilter(ctx, p, f.OrganisationID); err != nil {
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
		if page.Items[i], err = s.redact(ctx, p, u); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// checkFilter validates and normalises a user filter for p.
func (s *Users) checkFilter(p *usher.Principal, f *usher.UserFilter) error {
	// The UUID and the external id have no search index: a substring of
	// them of any length is looked for the same way, so it takes no
	// minimum.
	for _, t := range []struct{ name, v string }{
		{"username", f.Username}, {"email", f.Email}, {"handle", f.Handle}, {"external_id", f.ExternalID},
		{"uuid", f.UUIDContains}, {"external_id", f.ExternalIDContains},
	} {
		if err := filterText(t.name, t.v); err != nil {
			return err
		}
	}
	for _, t := range []struct{ name, v string }{
		{"q", f.Query}, {"username", f.UsernameContains}, {"email", f.EmailContains},
	} {
		if err := searchText(t.name, t.v); err != nil {
			return err
		}
	}
	if err := checkKinds(f.Kinds); err != nil {
		return err
	}
	if err := checkFilterIDs(f.IDs); err != nil {
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
	case (f.Email != "" || f.ExternalID != "" || f.EmailContains != "" || f.ExternalIDContains != "") && !p.IsAdmin():
		return errForbidden("only administrators filter users by e-mail address or external id")
	case f.Deleted == usher.Only && !p.IsAdmin():
		// Else the list would answer the live users it is left with, as
		// if they were the deleted ones asked for.
		return errForbidden("only administrators list deleted users")
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
	var err error
	f.Page, err = s.page(f.Page)
	return err
}

// The first and last microsecond of the years 1 to 9999, the bounds of a
// creation time in a cursor (checkCursor).
const (
	firstCursorMicro = -62135596800000000
	lastCursorMicro  = 253402300799999999
)

// checkCursor checks that a cursor's key fits its sort column.
func checkCursor(sort usher.UserSort, c *usher.Cursor) error {
	bad := c.ID <= 0
	switch strings.TrimPrefix(string(sort), "-") {
	case "id":
		bad = bad || c.Key != ""
	case "uuid":
		bad = bad || !uuidRE.MatchString(c.Key)
	case "created_at":
		// Microseconds within the years 1 to 9999, as the times usher
		// writes are: PostgreSQL's driver overflowed on one far outside
		// them and answered the page in reverse.
		us, err := strconv.ParseInt(c.Key, 10, 64)
		bad = bad || err != nil || us < firstCursorMicro || us > lastCursorMicro
	case "username":
		bad = bad || filterText("cursor", c.Key) != nil
	}
	if bad {
		return errInvalidCursor()
	}
	return nil
}

// owner finds a live user for an action on what belongs to them. Users are
// public, so whether one exists is no secret; what belongs to them is
// decided by authorize.
func (e *env) owner(ctx context.Context, key usher.UserKey, act action) (*usher.User, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, errUnauthenticated()
	}
	u, err := findUser(ctx, e.store, p, key, liveOnly)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, act, u); err != nil {
		return nil, err
	}
	return u, nil
}

// readGroupRef reads ref.Text, a group as a caller wrote it, into the ref
// it names: digits are an id (a positive one, else Invalid); kind:handle
// is a kind and a handle (an unknown kind or handle is then not found); a
// bare handle is a handle alone, which soleGroup resolves. A ref without
// Text is answered as it is. No handle is digits alone and no kind holds a
// colon, so the forms never overlap.
func readGroupRef(ref usher.GroupRef) (usher.GroupRef, error) {
	s := ref.Text
	if s == "" {
		return ref, nil
	}
	if kind, handle, ok := strings.Cut(s, ":"); ok {
		if kind == "" {
			return ref, errGroupNotFound()
		}
		return usher.GroupRef{Kind: usher.GroupKind(kind), Handle: handle}, nil
	}
	if strings.TrimLeft(s, "-+0123456789") == "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return ref, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidID, Message: "group: is not a valid id",
				Fields: []usher.FieldError{{Field: "group", Code: usher.CodeInvalidID, Message: "is not a valid id"}}}
		}
		return usher.GroupRef{ID: id}, nil
	}
	return usher.GroupRef{Handle: s}, nil
}

// soleGroup resolves a bare handle to the kind and handle of the one live
// group p may see of any kind that has it. None is not found; several (a
// team and a role may share a handle) are a Conflict naming the
// kind:handle forms that tell them apart.
func soleGroup(ctx context.Context, r store.Tx, p *usher.Principal, handle string) (usher.GroupRef, error) {
	if len(handle) > maxFilterText || filterText("group", handle) != nil {
		return usher.GroupRef{}, errGroupNotFound()
	}
	// Each kind holds a handle once among its live groups, so there are at
	// most as many as there are kinds.
	page, err := r.GroupList(ctx, usher.GroupFilter{Handle: handle, Archived: usher.Include, Deleted: usher.Exclude,
		Page: usher.PageRequest{Limit: len(usher.GroupKinds) + 1}})
	if err != nil {
		return usher.GroupRef{}, err
	}
	var forms []string
	var ref usher.GroupRef
	for _, g := range page.Items {
		if sightOf(p, g.Kind) != sightNone {
			forms = append(forms, string(g.Kind)+":"+g.Handle)
			ref = usher.GroupRef{Kind: g.Kind, Handle: g.Handle}
		}
	}
	switch len(forms) {
	case 0:
		return ref, errGroupNotFound()
	case 1:
		return ref, nil
	}
	return usher.GroupRef{}, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeGroupAmbiguous,
		Message: fmt.Sprintf("groups of several kinds have the handle %q: name one as %s", handle, strings.Join(forms, " or "))}
}
