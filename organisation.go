package usher

import "time"

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

// OrganisationFilter selects organisations for a list.
type OrganisationFilter struct {
	// Query keeps the organisations whose name starts with it, ignoring
	// case.
	Query    string
	Archived Inclusion
	Deleted  Inclusion
	// Sort orders the organisations by one of OrganisationSorts; by id
	// when empty.
	Sort Sort
	// Page is the page asked for; its cursor is an organisation's Cursor
	// under Sort.
	Page PageRequest
}
