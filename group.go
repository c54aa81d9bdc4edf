package usher

import (
	"slices"
	"time"
)

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
	// Roles the live roles the group's members hold, of those the caller
	// sees: set with Members by the lists of a user's groups. RoleIDs are
	// those roles, all of them, as the store reads them, for the core to
	// count.
	ServiceAccounts int
	Roles           int
	RoleIDs         []int64
}

// Deleted reports whether the group is soft-deleted.
func (g *Group) Deleted() bool { return g.DeletedAt != nil }

// GroupRef finds one group: by id, by kind and handle, or by Text, a
// group as a caller wrote it — a numeric id, kind:handle, or a bare handle
// that one live group of any kind has — which the core reads.
type GroupRef struct {
	ID     int64
	Kind   GroupKind
	Handle string
	Text   string
	// IfVersion, when set, holds a change of the group's own row (Update,
	// Delete, Undelete, SetArchived, Move) to the group at that version,
	// as UserKey's does a user's. Reads and other changes ignore it.
	IfVersion *int64
}

// GroupCreate is the input to create a group.
type GroupCreate struct {
	Kind           GroupKind
	Handle         string
	Name           string
	Description    string
	Logo           string
	OrganisationID int64
	// Members are the ids of users to put in the group as it is created,
	// each at the kind's default level (see GroupKind.Levels).
	Members []int64
}

// GroupUpdate is a partial update of a group.
type GroupUpdate struct {
	Handle      *string
	Name        *string
	Description *string
	Logo        *string
	// Members, when not nil, makes the group's members exactly the users
	// of these ids: those not in the group join it at the kind's default
	// level, members keep theirs, and the rest leave it. An empty Members
	// leaves none.
	Members []int64
}

// GroupSight is what a caller who is no administrator may see of the
// groups: those of Kinds, those UserID belongs to, and IDs (the ones a rule
// lets them read). A list filters by it in the store, so that it reads the
// groups the caller may see rather than every group; the core still
// decides each group it reads.
type GroupSight struct {
	Kinds  []GroupKind
	UserID int64
	IDs    []int64
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
	// Sight, when set, narrows the list to the groups a caller may see
	// (GroupSight).
	Sight *GroupSight
	// Sort orders the groups by one of GroupSorts; by id when empty.
	Sort Sort
	// Page is the page asked for; its cursor is a group's Cursor under
	// Sort.
	Page PageRequest
}
