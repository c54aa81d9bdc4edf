package core

import (
	"strconv"
	"strings"

	"usher"
)

// The rules that depend on a group's kind. The pure facts about a kind —
// the levels it gives, whether it has owners, holds service accounts or
// carries rules — are methods of usher.GroupKind; who may see a group of a
// kind depends on the caller too, and is decided here, once.

// sight is how far a principal sees the groups of one kind by the built-in
// default, before the rules of its roles on group.read are applied.
type sight int

const (
	// sightNone: a group of the kind does not exist for the principal
	// (404), whatever a rule says.
	sightNone sight = iota
	// sightMembers: the group's members see it; anyone else only where a
	// rule allows it group.read (403 otherwise).
	sightMembers
	// sightAll: the principal sees it unless a rule denies it group.read.
	sightAll
)

// sightOf is the one rule for who sees a group of kind k: administrators
// see every group; no one else sees an internal one; a team is seen by its
// members; roles and plain groups by anyone signed in. The anonymous caller
// sees none.
func sightOf(p *usher.Principal, k usher.GroupKind) sight {
	switch {
	case p.Anonymous():
		return sightNone
	case p.IsAdmin():
		return sightAll
	case k == usher.GroupInternal:
		return sightNone
	case k == usher.GroupTeam:
		return sightMembers
	}
	return sightAll
}

// byDefault reports whether the sight lets a principal see a group, of
// which it is a member or not, when no rule says otherwise.
func (s sight) byDefault(member bool) bool {
	return s == sightAll || (s == sightMembers && member)
}

// seesGroup reports whether p sees a group of kind k, of which p is a
// member or not, given the verdict of p's rules on group.read for it (""
// when none speaks): what authorizeGroup decides for actGroupRead, for lists
// that judge many groups with the rules read once.
func seesGroup(p *usher.Principal, k usher.GroupKind, member bool, verdict usher.Access) bool {
	if p.IsAdmin() {
		return true
	}
	s := sightOf(p, k)
	switch {
	case s == sightNone || verdict == usher.Deny:
		return false
	case verdict == usher.Allow:
		return true
	}
	return s.byDefault(member)
}

// kindsSeen returns the kinds of which p sees some groups, of those given
// (of every kind when none): the kinds a list may hold for p.
func kindsSeen(p *usher.Principal, kinds []usher.GroupKind) []usher.GroupKind {
	if len(kinds) == 0 {
		kinds = usher.GroupKinds
	}
	out := []usher.GroupKind{}
	for _, k := range kinds {
		if sightOf(p, k) != sightNone {
			out = append(out, k)
		}
	}
	return out
}

// kindsSeenAsMember returns the kinds whose groups p sees by default only
// as a member: those whose memberships a list must know to judge them.
func kindsSeenAsMember(p *usher.Principal) []usher.GroupKind {
	var out []usher.GroupKind
	for _, k := range usher.GroupKinds {
		if sightOf(p, k) == sightMembers {
			out = append(out, k)
		}
	}
	return out
}

// checkLevel refuses a level the group's kind does not give; "" becomes the
// kind's default (read for teams, member elsewhere).
func checkLevel(k usher.GroupKind, l usher.Level) (usher.Level, error) {
	valid := k.Levels()
	if l == "" {
		return valid[0], nil
	}
	if k.Gives(l) {
		return l, nil
	}
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return "", usher.FieldErrors(usher.FieldError{Field: "level", Code: usher.CodeInvalid,
		Message: "must be " + strings.Join(names, ", ") + " for a " + string(k)})
}

// groupSight is what a list of groups of kinds may hold for p, who is no
// administrator, for the store to read (usher.GroupSight): the groups of
// the kinds p sees by default, those p belongs to, and those a rule lets p
// read one by one. It is nil when a rule lets p read every group.
func groupSight(p *usher.Principal, kinds []usher.GroupKind, rules []usher.Rule) *usher.GroupSight {
	if evaluate(rules, actGroupRead, "") == usher.Allow {
		return nil
	}
	s := &usher.GroupSight{UserID: p.UserID()}
	for _, k := range kinds {
		if sightOf(p, k) == sightAll {
			s.Kinds = append(s.Kinds, k)
		}
	}
	prefix := actGroupRead.resource() + ":"
	for _, r := range rules {
		instance, ok := strings.CutPrefix(r.Resource, prefix)
		if !ok || r.Access != usher.Allow || (r.Operation != actGroupRead.operation() && r.Operation != "*") {
			continue
		}
		if id, err := strconv.ParseInt(instance, 10, 64); err == nil {
			s.IDs = append(s.IDs, id)
		}
	}
	return s
}
