package usher

import "time"

// AuditEvent records one change or security event. Events are append-only and
// are written in the same transaction as the change they record.
type AuditEvent struct {
	ID        int64
	At        time.Time
	ActorKind PrincipalKind
	ActorID   int64  // 0 for anonymous and system actors
	ActorName string // the actor's username when the event was written
	// ActorEmail is the actor's e-mail address now, resolved when the log
	// is read (empty for anonymous and system actors and purged users).
	// Only the audit log's readers, who may see every address, get it.
	ActorEmail     string
	ImpersonatorID int64
	Action         string // dotted, e.g. "user.create", "auth.login_failed"
	ResourceType   string // e.g. "user", "token"
	ResourceID     string
	// Changes maps each changed field to its old and new value. Secrets are
	// never recorded: a changed password shows as Change{Old: nil, New: "[set]"}.
	Changes   map[string]Change
	Meta      map[string]string
	Address   string
	UserAgent string
	RequestID string
}

// Change is the old and new value of one field.
type Change struct {
	Old any
	New any
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	From *time.Time // inclusive
	To   *time.Time // exclusive
	// ActorIDs keeps the events of any of these users; empty keeps all.
	ActorIDs []int64
	Action   string // exact, or a prefix ending in "." ("user.")
	// ResourceType and ResourceID keep the events about one kind of
	// resource, or (both set) one resource.
	ResourceType string
	ResourceID   string
	// Page is the page asked for; its cursor is an event's id, and the
	// page goes on with older events.
	Page PageRequest
}
