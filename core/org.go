package core

import (
	"context"
	"errors"
	"strconv"

	"usher"
	"usher/store"
)

// Organisations manages organisations, which hold groups.
type Organisations struct{ *env }

func errOrgNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeOrganisationNotFound, Message: "organisation not found"}
}

// check checks an organisation's fields as it is about to be stored; was
// is the organisation as stored before the change, nil for a new one (see
// checker.listedName).
func (o *Organisations) check(org, was *usher.Organisation) error {
	var c checker
	if was != nil {
		c.kept = map[string]string{"name": was.Name}
	}
	c.handle(org.Handle)
	c.listedName("name", org.Name, maxName, false)
	return c.err()
}

// Create creates an organisation (administrators, or a rule allowing
// organisation.create).
//
// Errors: Unauthenticated, Forbidden, Unprocessable, Conflict (the handle is
// taken).
func (o *Organisations) Create(ctx context.Context, handle, name string) (*usher.Organisation, error) {
	if err := o.authorize(ctx, actOrgCreate, nil); err != nil {
		return nil, err
	}
	now := o.now()
	org := &usher.Organisation{Handle: handle, Name: name, CreatedAt: now, UpdatedAt: now}
	if org.Name == "" {
		org.Name = handle
	}
	if err := o.check(org, nil); err != nil {
		return nil, err
	}
	err := o.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.OrgCreate(ctx, org); err != nil {
			return err
		}
		return o.record(ctx, tx, now, event{action: "organisation.create", resourceType: "organisation",
			resourceID: strconv.FormatInt(org.ID, 10), changes: map[string]usher.Change{"handle": {New: handle}, "name": {New: org.Name}}})
	})
	if err != nil {
		return nil, orgWriteError(err)
	}
	return org, nil
}

func orgWriteError(err error) error {
	if errors.Is(err, usher.ErrExists) {
		return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeHandleTaken, Message: "an organisation already has the handle",
			Fields: []usher.FieldError{{Field: "handle", Code: usher.CodeTaken, Message: "has already been taken"}}, Err: err}
	}
	return err
}

// Get returns an organisation by id or handle; deleted ones only to
// administrators. One a rule on "organisation:<id>" denies the caller to
// read is not found, as a group so hidden is not.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (o *Organisations) Get(ctx context.Context, id int64, handle string) (*usher.Organisation, error) {
	if err := o.authorize(ctx, actOrgRead, nil); err != nil {
		return nil, err
	}
	if id == 0 && noSuchKey(handle, 200) {
		return nil, errOrgNotFound()
	}
	org, err := o.store.OrgGet(ctx, id, handle)
	if errors.Is(err, usher.ErrNotFound) || (err == nil && org.DeletedAt != nil && !usher.PrincipalFrom(ctx).IsAdmin()) {
		return nil, errOrgNotFound()
	}
	if err != nil {
		return nil, err
	}
	switch seen, err := o.seesOrg(ctx, org); {
	case err != nil:
		return nil, err
	case !seen:
		return nil, errOrgNotFound()
	}
	return org, nil
}

// seesOrg reports whether the caller may read org: a rule on
// "organisation:<id>" decides for that one, in Get and List alike.
func (o *Organisations) seesOrg(ctx context.Context, org *usher.Organisation) (bool, error) {
	err := o.authorizeOrg(ctx, actOrgRead, org.ID)
	if usher.ErrorKind(err) == usher.KindForbidden {
		return false, nil
	}
	return err == nil, err
}

// orgShown returns the organisation id as p may see it on a user or a
// group: 0 for one a rule on "organisation:<id>" denies p to read, which
// Get answers 404 and List leaves out; administrators see every one.
func (e *env) orgShown(ctx context.Context, p *usher.Principal, id int64) (int64, error) {
	if id == 0 || p.IsAdmin() {
		return id, nil
	}
	rules, err := e.rules.of(ctx, e, p.UserID())
	if err != nil || evaluate(rules, actOrgRead, strconv.FormatInt(id, 10)) == usher.Deny {
		return 0, err
	}
	return id, nil
}

// orgNamed reports whether p may name organisation id as the one to put a
// user or group in: it exists, is not deleted, and no rule hides it from p
// (orgShown). One hidden from p is answered as none, so that no write
// tells it apart from an id no organisation has. It holds the
// organisation until tx ends (OrgHold), so that a deletion at the same
// time either counts what tx puts in or is seen.
func (e *env) orgNamed(ctx context.Context, tx store.Tx, p *usher.Principal, id int64) (bool, error) {
	o, err := tx.OrgHold(ctx, id)
	switch {
	case errors.Is(err, usher.ErrNotFound) || (err == nil && o.DeletedAt != nil):
		return false, nil
	case err != nil:
		return false, err
	}
	shown, err := e.orgShown(ctx, p, id)
	return shown == id, err
}

// orgLive refuses to restore a what (a user, a group) into organisation
// id once it is deleted: a deleted one holds nothing live (its deletion
// waits until it is empty), and a restored account or team in it would be
// out of its look-ups and rules, and out of reach to move. The
// organisation is restored first, or the what stays deleted.
func orgLive(ctx context.Context, tx store.Tx, id int64, what string) error {
	if id == 0 {
		return nil
	}
	o, err := tx.OrgHold(ctx, id)
	if err != nil && !errors.Is(err, usher.ErrNotFound) {
		return err
	}
	if err == nil && o.DeletedAt == nil {
		return nil
	}
	return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeInvalidState,
		Message: "the " + what + "'s organisation is deleted; restore the organisation first"}
}

// ownShown returns u as its holder sees it: without an organisation a
// rule hides from them (orgShown), as every answer about their own account
// shows it.
func (e *env) ownShown(ctx context.Context, u *usher.User) (*usher.User, error) {
	if u == nil {
		return u, nil
	}
	org, err := e.orgShown(ctx, &usher.Principal{Kind: usher.PrincipalUser, User: u}, u.OrganisationID)
	if err != nil || org == u.OrganisationID {
		return u, err
	}
	shown := *u
	shown.OrganisationID = org
	return &shown, nil
}

// OwnView returns u, the account of a credential just checked, as its
// holder sees it: for a face that answers with the account of a JWT it
// checked, as Me answers.
//
// Errors: the store's.
func (a *Auth) OwnView(ctx context.Context, u *usher.User) (*usher.User, error) {
	return a.ownShown(ctx, u)
}

// groupShown returns gr as p may see it: without an organisation a rule
// hides from p (orgShown).
func (e *env) groupShown(ctx context.Context, p *usher.Principal, gr *usher.Group) (*usher.Group, error) {
	org, err := e.orgShown(ctx, p, gr.OrganisationID)
	if err != nil || org == gr.OrganisationID {
		return gr, err
	}
	shown := *gr
	shown.OrganisationID = org
	return &shown, nil
}

// checkOrgFilter refuses a list of users or groups filtered by an
// organisation the caller may not read, as Get refuses it: 404 for none,
// for a deleted one (to all but administrators) and for one a rule on
// "organisation:<id>" denies them. Else the list would answer who and
// what is in an organisation that is hidden from the caller.
//
// Errors: NotFound.
func (e *env) checkOrgFilter(ctx context.Context, p *usher.Principal, id int64) error {
	if id == 0 {
		return nil
	}
	org, err := e.store.OrgGet(ctx, id, "")
	switch {
	case errors.Is(err, usher.ErrNotFound) || (err == nil && org.DeletedAt != nil && !p.IsAdmin()):
		return errOrgNotFound()
	case err != nil:
		return err
	}
	err = e.authorizeOrg(ctx, actOrgRead, id)
	if usher.ErrorKind(err) == usher.KindForbidden {
		return errOrgNotFound()
	}
	return err
}

// List returns a page of the organisations f selects, in f.Sort's order
// (by id when empty); the cursor is an organisation's Cursor under it.
// Only administrators see deleted ones; others do not see one a rule on
// "organisation:<id>" denies them to read.
//
// Errors: Unauthenticated, Forbidden, Invalid (a bad query, sort, cursor
// or offset).
func (o *Organisations) List(ctx context.Context, f usher.OrganisationFilter) (*usher.Page[*usher.Organisation], error) {
	if err := o.authorize(ctx, actOrgRead, nil); err != nil {
		return nil, err
	}
	if err := filterText("query", f.Query); err != nil {
		return nil, err
	}
	var err error
	if f.Page, err = o.sortedPage(f.Sort, usher.OrganisationSorts, f.Page); err != nil {
		return nil, err
	}
	p := usher.PrincipalFrom(ctx)
	if p.IsAdmin() {
		return o.store.OrgList(ctx, f)
	}
	f.Deleted = usher.Exclude
	// What a rule on one organisation denies is left out, as Get hides it.
	req := f.Page
	read := func(page usher.PageRequest) (*usher.Page[*usher.Organisation], error) {
		f.Page = page
		return o.store.OrgList(ctx, f)
	}
	keep := func(org *usher.Organisation) (*usher.Organisation, bool, error) {
		seen, err := o.seesOrg(ctx, org)
		return org, seen, err
	}
	return filtered(req, read, keep, func(org *usher.Organisation) usher.Cursor { return org.Cursor(f.Sort) })
}

// Update changes an organisation: its handle or name, archives or
// unarchives it, deletes or undeletes it. An organisation that still holds
// live groups or users cannot be deleted. Every change is
// organisation.update on this organisation, so a rule on
// "organisation:<id>" decides it.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable, Conflict
// (the handle is taken; groups or users remain).
func (o *Organisations) Update(ctx context.Context, id int64, in usher.OrganisationUpdate) (*usher.Organisation, error) {
	// One a rule hides from the caller is changed as one that is not,
	// whatever else they may change: its answer would show it.
	if shown, err := o.orgShown(ctx, usher.PrincipalFrom(ctx), id); err != nil {
		return nil, err
	} else if shown != id {
		return nil, errOrgNotFound()
	}
	if err := o.authorizeOrg(ctx, actOrgUpdate, id); err != nil {
		return nil, err
	}
	var out *usher.Organisation
	err := o.store.InTx(ctx, func(tx store.Tx) error {
		changes := map[string]usher.Change{}
		now := o.now()
		var err error
		out, err = tx.OrgUpdate(ctx, id, func(org *usher.Organisation) error {
			old := *org
			if in.Handle != nil {
				org.Handle = *in.Handle
			}
			if in.Name != nil {
				org.Name = *in.Name
			}
			if in.Archived != nil && *in.Archived != (org.ArchivedAt != nil) {
				org.ArchivedAt = nil
				if *in.Archived {
					org.ArchivedAt = &now
				}
				changes["archived"] = usher.Change{Old: !*in.Archived, New: *in.Archived}
			}
			if in.Deleted != nil && *in.Deleted != (org.DeletedAt != nil) {
				if *in.Deleted {
					// An archived group counts: its owner unarchives it at
					// will, and it would be live in a deleted organisation.
					groups, err := tx.GroupList(ctx, usher.GroupFilter{OrganisationID: id, Archived: usher.Include, Page: usher.PageRequest{Limit: 1}})
					if err != nil {
						return err
					}
					if len(groups.Items) > 0 {
						return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeOrganisationNotEmpty,
							Message: "the organisation still holds groups; move or delete them first"}
					}
					users, err := tx.UserList(ctx, usher.UserFilter{OrganisationID: id, Deleted: usher.Exclude,
						Suspended: usher.Include, Page: usher.PageRequest{Limit: 1}})
					if err != nil {
						return err
					}
					if len(users.Items) > 0 {
						return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeOrganisationNotEmpty,
							Message: "the organisation still has users; move them out of it first"}
					}
					org.DeletedAt = &now
				} else {
					org.DeletedAt = nil
				}
				changes["deleted"] = usher.Change{Old: !*in.Deleted, New: *in.Deleted}
			}
			if err := o.check(org, &old); err != nil {
				return err
			}
			if old.Handle != org.Handle {
				changes["handle"] = usher.Change{Old: old.Handle, New: org.Handle}
			}
			if old.Name != org.Name {
				changes["name"] = usher.Change{Old: old.Name, New: org.Name}
			}
			org.UpdatedAt = now
			return nil
		})
		if errors.Is(err, usher.ErrNotFound) {
			return errOrgNotFound()
		}
		if err != nil || len(changes) == 0 {
			return err
		}
		return o.record(ctx, tx, now, event{action: "organisation.update", resourceType: "organisation",
			resourceID: strconv.FormatInt(id, 10), changes: changes})
	})
	if err != nil {
		return nil, orgWriteError(err)
	}
	return out, nil
}

// authorizeOrgMove decides whether p moves a group or a user from the
// organisation from into the organisation to (0 for none): leaving one
// changes it, so it takes organisation.update on it; joining one is
// anyone's unless a rule denies organisation.update on it. A caller denied
// an organisation neither empties it nor fills it, whether with groups or
// with users.
func (e *env) authorizeOrgMove(ctx context.Context, p *usher.Principal, from, to int64) error {
	if from == to {
		return nil
	}
	if from != 0 {
		if err := e.authorizeOrg(ctx, actOrgUpdate, from); err != nil {
			return err
		}
	}
	if to != 0 {
		return e.decide(ctx, p, actOrgUpdate, strconv.FormatInt(to, 10), true)
	}
	return nil
}
