package usher

import "time"

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
