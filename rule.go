package usher

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
