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

// PlanUpdate is the input to replace a plan's capabilities and limit; its
// name stays.
type PlanUpdate struct {
	CanCreateTeam         bool
	CanCreateStateProject bool
	CanManageProjectACL   bool
	CanManageProjectHooks bool
	ProjectLimit          int
	// Default, when set, makes the plan the default (true) or no longer
	// the default (false); nil leaves that as it is.
	Default *bool
}
