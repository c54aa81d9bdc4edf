package usher

// Stats counts what the service holds, for an administrator's dashboard.
// Each count is exact unless its Estimated field says otherwise.
type Stats struct {
	Users        UserStats
	Groups       GroupStats // every group, whatever its kind
	Roles        GroupStats // the groups of kind role
	Applications ApplicationStats
}

// UserStats counts users. Valid users are neither deleted nor suspended;
// a deleted user counts as deleted whether or not it was suspended.
type UserStats struct {
	Total     int
	Valid     int
	Suspended int // suspended and not deleted
	Deleted   int
}

// GroupStats counts groups. Valid groups are neither deleted nor archived;
// a deleted group counts as deleted whether or not it was archived.
type GroupStats struct {
	Total    int
	Valid    int
	Archived int // archived and not deleted
	Deleted  int
}

// ApplicationStats counts applications. Valid applications are not deleted.
type ApplicationStats struct {
	Total   int
	Valid   int
	Deleted int
}

// Subscription is a paid subscription to the service. usher sells none:
// the core answers that no subscription is configured.
type Subscription struct {
	// Configured is false when the instance has no subscription.
	Configured bool
}
