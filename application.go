package usher

import "time"

// Application is a client application registered with the service: what
// users sign in to, and what a launcher ("unify", in Corteza's words) lists.
type Application struct {
	ID   int64
	Name string
	// OwnerID is the user who owns the application; 0 once that user is
	// purged.
	OwnerID   int64
	Enabled   bool
	Unify     ApplicationUnify
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt *time.Time
}

// ApplicationUnify is how a launcher presents an application.
type ApplicationUnify struct {
	// Name is the display name; the application's name when empty.
	Name string
	// Listed puts the application in the launcher of every signed-in user.
	Listed bool
	Icon   string
	Logo   string
	URL    string
	// Config is free-form JSON text (an object), bounded in size; "{}"
	// when empty.
	Config string
	// Order places the application among the listed ones, lowest first.
	Order int
}

// ApplicationCreate is a new application. OwnerID 0 makes the caller
// the owner.
type ApplicationCreate struct {
	Name    string
	OwnerID int64
	Enabled bool
	Unify   ApplicationUnify
}

// ApplicationUpdate is a partial update of an application; nil fields are
// left alone.
type ApplicationUpdate struct {
	Name    *string
	OwnerID *int64
	Enabled *bool
	Unify   *ApplicationUnifyUpdate
}

// ApplicationUnifyUpdate is a partial update of an application's
// presentation.
type ApplicationUnifyUpdate struct {
	Name   *string
	Listed *bool
	Icon   *string
	Logo   *string
	URL    *string
	Config *string
	Order  *int
}

// ApplicationFilter selects applications for a list.
type ApplicationFilter struct {
	// Name matches the name exactly, ignoring case.
	Name string
	// Query is contained, ignoring case, in the name or the display name.
	Query string
	// OwnerID, when set, keeps the applications that user owns.
	OwnerID int64
	Deleted Inclusion
	// Sort orders the applications by one of ApplicationSorts; by id
	// when empty.
	Sort Sort
	// Page is the page asked for; its cursor is an application's Cursor
	// under Sort.
	Page PageRequest
}

// ApplicationOps is what the caller may do on one application: the
// operations of the "application" resource that the rules and the default
// policy allow.
type ApplicationOps struct {
	Read, Update, Delete, Grant bool
}

// AllowedApplication is an application with what the caller may do on it.
type AllowedApplication struct {
	*Application
	Ops ApplicationOps
}
