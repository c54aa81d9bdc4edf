package core

import (
	"context"
	"strconv"

	"usher"
)

// checkPrivileges refuses changes to what a user may do unless the caller
// may make them: the admin flag only administrators change; kind, external
// flag, limits, plan, organisation, external id and identities need
// user.privileges, which only administrators have by default. Everyone may change the rest
// of their own profile. A field the caller cannot see of u (see blind)
// counts as changed whenever it is named.
func (s *Users) checkPrivileges(ctx context.Context, u *usher.User, in usher.UserUpdate) error {
	b := blind(usher.PrincipalFrom(ctx), u)
	changed := sets(false, in.Kind, u.Kind) || sets(b, in.External, u.External) ||
		sets(b, in.GitLab.CanCreateGroup, u.GitLab.CanCreateGroup) ||
		sets(b, in.GitLab.ProjectsLimit, u.GitLab.ProjectsLimit) ||
		sets(b, in.Plan, u.Plan) || sets(b, in.ExternalID, u.ExternalID) ||
		sets(false, in.OrganisationID, u.OrganisationID) || setsIdentity(b, u, in.Identity)
	return s.requirePrivileges(ctx, in.Admin != nil && *in.Admin != u.Admin, changed, strconv.FormatInt(u.ID, 10))
}

// blind reports whether p sees only u's public profile (view), and so
// none of the fields an update may set that it leaves out: the address,
// the external flag, limits, plan, external id and identities. For such
// a caller an update that names one of them is judged as one that changes
// it, whatever the value: were a value equal to the one held a no-op and
// any other refused, the answer would confirm a guess at what the caller
// may not read.
func blind(p *usher.Principal, u *usher.User) bool {
	return view(p, u) == usher.ViewProfile
}

// sets reports whether an update's field v changes what the account has,
// or, for a blind caller, names it at all.
func sets[T comparable](blind bool, v *T, have T) bool {
	return v != nil && (blind || *v != have)
}

// setsIdentity is sets for the identity an update adds or replaces.
func setsIdentity(blind bool, u *usher.User, id *usher.Identity) bool {
	return id != nil && (blind || !hasIdentity(u, *id))
}

// requirePrivileges is the one rule for what only some callers may set on
// an account, new or not: the admin flag only administrators; its kind,
// external flag, limits, plan, organisation, external id and identities need
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
	privileged := (in.Kind != "" && in.Kind != usher.KindNormal) || in.External || in.GitLab.CanCreateGroup != nil ||
		in.GitLab.ProjectsLimit != nil || in.Plan != "" || in.ExternalID != "" || len(in.Identities) > 0 ||
		in.OrganisationID != 0
	return s.requirePrivileges(ctx, in.Admin, privileged, "")
}

// createsNoMore refuses a caller short of an administrator who would make
// an account that may create what the caller may not (createsMore): one
// held back by a plan or GitLab's flags, and given user.create, had it all
// by making an account of the defaults for itself, as a rule may not take
// over an existing one. A holder of user.privileges may give the account
// limits of its own.
func (s *Users) createsNoMore(ctx context.Context, would *usher.User) error {
	p := usher.PrincipalFrom(ctx)
	if p.IsAdmin() || p.User == nil {
		return nil
	}
	more, err := s.createsMore(ctx, would, p.User)
	if err != nil || !more {
		return err
	}
	return errForbidden("the account would be allowed to create what you may not (a plan's capabilities, more projects or groups, not being external); only an administrator makes it, or one who gives it no more than yours")
}

func hasIdentity(u *usher.User, id usher.Identity) bool {
	for _, have := range u.Identities {
		if have == id {
			return true
		}
	}
	return false
}

// kindChange refuses a change of kind that would make an account a
// service account or stop one being one, whoever asks: a service account
// is made with its team (Groups.CreateServiceAccount), has no password and
// acts only through its tokens, and it stays one until it is deleted. An
// account changes between normal and bot freely (with user.privileges).
// from is the account's kind, "" for one being created; to is nil when
// the kind is not being set.
func kindChange(from usher.UserKind, to *usher.UserKind) error {
	switch {
	case to == nil || *to == from:
		return nil
	case from == usher.KindServiceAccount:
		return usher.FieldErrors(usher.FieldError{Field: "kind", Code: usher.CodeNotAllowed,
			Message: "a service account stays one; delete it to end it"})
	case *to == usher.KindServiceAccount:
		return usher.FieldErrors(usher.FieldError{Field: "kind", Code: usher.CodeNotAllowed,
			Message: "a service account is made with its team, through the team's service accounts"})
	}
	return nil
}
