package usher

import (
	"slices"
	"time"
)

// Organisation holds groups; Corteza calls it so.
type Organisation struct {
	ID         int64
	Handle     string // unique among organisations that are not deleted
	Name       string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ArchivedAt *time.Time
	DeletedAt  *time.Time
}

// OrganisationUpdate is a partial update of an organisation; Archived and
// Deleted set or clear those states.
type OrganisationUpdate struct {
	Handle   *string
	Name     *string
	Archived *bool
	Deleted  *bool
}

// GroupKind tells the four uses of a group apart.
type GroupKind string

// The group kinds.
const (
	GroupTeam     GroupKind = "team"     // people working together; members read, write or own it
	GroupRole     GroupKind = "role"     // carries permission rules to its members
	GroupPlain    GroupKind = "group"    // a plain set of principals
	GroupInternal GroupKind = "internal" // machine-managed; invisible to end users
)

// GroupKinds lists every group kind, in the order lists show them.
var GroupKinds = []GroupKind{GroupTeam, GroupRole, GroupPlain, GroupInternal}

// Valid reports whether k is one of the defined kinds.
func (k GroupKind) Valid() bool {
	return slices.Contains(GroupKinds, k)
}

// Levels returns the levels a group of the kind gives its members, its
// default (the level of a member added without one) first: read, write and
// owner in a team, member in every other kind. It is the one list of them;
// what each level lets a member do is the core's to decide.
func (k GroupKind) Levels() []Level {
	if k == GroupTeam {
		return []Level{LevelRead, LevelWrite, LevelOwner}
	}
	return []Level{LevelMember}
}

// Gives reports whether a group of the kind gives the level l.
func (k GroupKind) Gives(l Level) bool { return slices.Contains(k.Levels(), l) }

// Owned reports whether a group of the kind has owners — its creator is its
// first owner and it keeps at least one — which is the case of the kinds
// that give the owner level: teams.
func (k GroupKind) Owned() bool { return k.Gives(LevelOwner) }

// HoldsServiceAccounts reports whether a group of the kind makes and holds
// service accounts: only teams do.
func (k GroupKind) HoldsServiceAccounts() bool { return k == GroupTeam }

// CarriesRules reports whether a group of the kind carries permission rules
// to its members: only roles do.
func (k GroupKind) CarriesRules() bool { return k == GroupRole }

// Group is a team, a role, a plain group or an internal group.
type Group struct {
	ID             int64
	Kind           GroupKind
	Handle         string // unique within its kind among groups that are not deleted
	Name           string
	Description    string
	Logo           string
	OrganisationID int64 // 0: none
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ArchivedAt     *time.Time
	DeletedAt      *time.Time
	Version        int64
	// Members counts the group's members; set by lists that ask for it.
	Members int
	// ServiceAccounts counts the members that are service accounts, and
	// Roles the live roles the group's members hold: set with Members by
	// the lists of a user's groups.
	ServiceAccounts int
	Roles           int
}

// Deleted reports whether the group is soft-deleted.
func (g *Group) Deleted() bool { return g.DeletedAt != nil }

// Level is what a membership lets its member do with the group.
type Level string

// The membership levels. Teams use read, write and owner; other groups use
// member.
const (
	LevelRead   Level = "read"
	LevelWrite  Level = "write"
	LevelOwner  Level = "owner"
	LevelMember Level = "member"
)

// Rank orders levels: member and read rank 1, write 2, owner 3; anything
// else 0.
func (l Level) Rank() int {
	switch l {
	case LevelRead, LevelMember:
		return 1
	case LevelWrite:
		return 2
	case LevelOwner:
		return 3
	}
	return 0
}

// Higher returns the higher of two levels by Rank, l when they rank alike.
func (l Level) Higher(m Level) Level {
	if m.Rank() > l.Rank() {
		return m
	}
	return l
}

// Membership ties a principal (a user or a service account) to a group.
type Membership struct {
	GroupID   int64
	UserID    int64
	Level     Level
	CreatedAt time.Time
	// Group and User are filled in by the lists that return memberships.
	Group *Group
	User  *User
}

// GroupChanges is a bulk change of a principal's memberships of groups of
// one kind, named by handle, with Lenses' semantics: Set cannot be combined
// with Add or Remove; a group named in both Add and Remove ends up removed.
type GroupChanges struct {
	Kind   GroupKind
	Add    []string
	Remove []string
	// Set, when not nil, makes the groups exactly these; an empty Set leaves
	// none.
	Set []string
}

// GroupRef finds one group: by id, or by kind and handle.
type GroupRef struct {
	ID     int64
	Kind   GroupKind
	Handle string
}

// GroupCreate is the input to create a group.
type GroupCreate struct {
	Kind           GroupKind
	Handle         string
	Name           string
	Description    string
	Logo           string
	OrganisationID int64
}

// GroupUpdate is a partial update of a group.
type GroupUpdate struct {
	Handle      *string
	Name        *string
	Description *string
	Logo        *string
	IfVersion   *int64
}

// GroupFilter selects groups.
type GroupFilter struct {
	Kinds          []GroupKind
	Query          string // substring of handle or name
	Handle         string // exact, case-insensitive
	OrganisationID int64
	MemberID       int64 // groups this principal belongs to
	Archived       Inclusion
	Deleted        Inclusion
	IDs            []int64
	// Page is the page asked for; groups are ordered by id, and the
	// cursor is a group's id.
	Page PageRequest
}

// Access is a rule's verdict.
type Access string

// The verdicts. Deny overrides allow.
const (
	Allow Access = "allow"
	Deny  Access = "deny"
)

// Combine is the verdict of two rules on one operation: deny if either
// denies, allow if either allows, "" if neither says anything. It is the
// one definition of "deny wins".
func (a Access) Combine(b Access) Access {
	switch {
	case a == Deny || b == Deny:
		return Deny
	case a == Allow || b == Allow:
		return Allow
	}
	return ""
}

// Rule grants or refuses one operation on a resource to the members of a
// role. A resource is a type ("user") or an instance ("user:42").
type Rule struct {
	RoleID    int64
	Resource  string
	Operation string
	Access    Access
}

// Operation is one thing the permission rules can grant.
type Operation struct {
	Resource    string // the resource type, e.g. "user"
	Operation   string // e.g. "block"
	Description string
}

// Permission is an effective verdict for the calling principal.
type Permission struct {
	Resource  string
	Operation string
	Allow     bool
}

// Plan is a named set of capabilities and limits; a user's plan decides
// what they may create.
type Plan struct {
	Name                  string
	CanCreateTeam         bool
	CanCreateStateProject bool
	CanManageProjectACL   bool
	CanManageProjectHooks bool
	ProjectLimit          int
	Default               bool
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// SSHKey is a public key a user logs in to other services with.
type SSHKey struct {
	ID          int64
	UserID      int64
	Title       string
	Key         string // the authorized_keys line, normalised
	Fingerprint string // SHA256:…
	CreatedAt   time.Time
	ExpiresAt   *time.Time
}

// Email is a user's secondary e-mail address.
type Email struct {
	ID          int64
	UserID      int64
	Email       string
	ConfirmedAt *time.Time
	CreatedAt   time.Time
}

// Setting is one of a user's settings: a key and a JSON value.
type Setting struct {
	Key       string
	Value     []byte // JSON
	UpdatedAt time.Time
}

// Avatar is a user's picture.
type Avatar struct {
	UserID      int64
	ContentType string
	Data        []byte
	ETag        string
	UpdatedAt   time.Time
}
