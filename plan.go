package usher

import "time"

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
