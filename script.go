package usher

import (
	"strings"
	"time"
)

// ScriptKind says where a script runs: on the server, in usher's sandbox,
// or in a browser, served as part of a bundle.
type ScriptKind string

// The kinds of script.
const (
	ScriptServer ScriptKind = "server"
	ScriptClient ScriptKind = "client"
)

// Valid reports whether k is a known kind.
func (k ScriptKind) Valid() bool { return k == ScriptServer || k == ScriptClient }

// Trigger is when a server script runs: a resource kind and an event,
// "user.before_create". "Before" triggers run inside the operation and
// may change allowed fields or refuse it; "after" triggers run once after
// the operation commits; "manual" triggers run on request.
type Trigger string

// The triggers. A "role" trigger fires for groups of kind role only; a
// "group" trigger for groups of every kind.
const (
	TriggerUserBeforeCreate  Trigger = "user.before_create"
	TriggerUserAfterCreate   Trigger = "user.after_create"
	TriggerUserBeforeUpdate  Trigger = "user.before_update"
	TriggerUserAfterUpdate   Trigger = "user.after_update"
	TriggerUserBeforeDelete  Trigger = "user.before_delete"
	TriggerUserAfterDelete   Trigger = "user.after_delete"
	TriggerUserManual        Trigger = "user.manual"
	TriggerGroupBeforeCreate Trigger = "group.before_create"
	TriggerGroupAfterCreate  Trigger = "group.after_create"
	TriggerGroupBeforeUpdate Trigger = "group.before_update"
	TriggerGroupAfterUpdate  Trigger = "group.after_update"
	TriggerGroupBeforeDelete Trigger = "group.before_delete"
	TriggerGroupAfterDelete  Trigger = "group.after_delete"
	TriggerGroupManual       Trigger = "group.manual"
	TriggerRoleBeforeCreate  Trigger = "role.before_create"
	TriggerRoleAfterCreate   Trigger = "role.after_create"
	TriggerRoleBeforeUpdate  Trigger = "role.before_update"
	TriggerRoleAfterUpdate   Trigger = "role.after_update"
	TriggerRoleBeforeDelete  Trigger = "role.before_delete"
	TriggerRoleAfterDelete   Trigger = "role.after_delete"
	TriggerRoleManual        Trigger = "role.manual"
	TriggerAppBeforeCreate   Trigger = "application.before_create"
	TriggerAppAfterCreate    Trigger = "application.after_create"
	TriggerAppBeforeUpdate   Trigger = "application.before_update"
	TriggerAppAfterUpdate    Trigger = "application.after_update"
	TriggerAppBeforeDelete   Trigger = "application.before_delete"
	TriggerAppAfterDelete    Trigger = "application.after_delete"
	TriggerAppManual         Trigger = "application.manual"
	TriggerBeforeLogin       Trigger = "auth.before_login"
	TriggerBeforeSignup      Trigger = "auth.before_signup"
	TriggerSystemManual      Trigger = "system.manual"
)

// Triggers lists every trigger, in the order above.
var Triggers = []Trigger{
	TriggerUserBeforeCreate, TriggerUserAfterCreate, TriggerUserBeforeUpdate, TriggerUserAfterUpdate,
	TriggerUserBeforeDelete, TriggerUserAfterDelete, TriggerUserManual,
	TriggerGroupBeforeCreate, TriggerGroupAfterCreate, TriggerGroupBeforeUpdate, TriggerGroupAfterUpdate,
	TriggerGroupBeforeDelete, TriggerGroupAfterDelete, TriggerGroupManual,
	TriggerRoleBeforeCreate, TriggerRoleAfterCreate, TriggerRoleBeforeUpdate, TriggerRoleAfterUpdate,
	TriggerRoleBeforeDelete, TriggerRoleAfterDelete, TriggerRoleManual,
	TriggerAppBeforeCreate, TriggerAppAfterCreate, TriggerAppBeforeUpdate, TriggerAppAfterUpdate,
	TriggerAppBeforeDelete, TriggerAppAfterDelete, TriggerAppManual,
	TriggerBeforeLogin, TriggerBeforeSignup, TriggerSystemManual,
}

// Valid reports whether t is one of Triggers.
func (t Trigger) Valid() bool {
	for _, v := range Triggers {
		if v == t {
			return true
		}
	}
	return false
}

// Resource is the kind of resource the trigger is about: "user", "group",
// "role", "application", "auth" or "system".
func (t Trigger) Resource() string {
	r, _, _ := strings.Cut(string(t), ".")
	return r
}

// Event is the event of the trigger: "before_create", "manual", ….
func (t Trigger) Event() string {
	_, e, _ := strings.Cut(string(t), ".")
	return e
}

// Before reports whether t runs inside its operation, before it writes.
func (t Trigger) Before() bool { return strings.Contains(string(t), ".before_") }

// After reports whether t runs once after its operation commits.
func (t Trigger) After() bool { return strings.Contains(string(t), ".after_") }

// Script is an automation script: JavaScript that usher runs in a sandbox
// on its triggers (a server script), or serves to browsers in a bundle (a
// client script).
type Script struct {
	ID   int64
	Name string
	Kind ScriptKind
	// Source is the script's JavaScript text.
	Source string
	// Triggers are when a server script runs; client scripts have none.
	Triggers []Trigger
	// Bundle names the bundle a client script is served in.
	Bundle  string
	Enabled bool
	// CompileError is why the source does not compile; "" when it does.
	// An invalid script never runs and is left out of its bundle.
	CompileError string
	// Directory is set for a script loaded from the scripts directory: it
	// is kept in step with its file and cannot be changed through the API.
	Directory bool
	// Version grows with every change of the script.
	Version   int
	CreatedBy int64 // 0 when the system made it or the user is gone
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Invalid reports whether the script does not compile.
func (s *Script) Invalid() bool { return s.CompileError != "" }

// Has reports whether the script runs on t.
func (s *Script) Has(t Trigger) bool {
	for _, v := range s.Triggers {
		if v == t {
			return true
		}
	}
	return false
}

// ScriptCreate is what a new script is made of.
type ScriptCreate struct {
	Name     string
	Kind     ScriptKind // server when empty
	Source   string
	Triggers []Trigger
	Bundle   string // client scripts: "default" when empty
	Enabled  *bool  // true when nil
	// Directory marks a script loaded from the scripts directory; only
	// the system sets it.
	Directory bool
}

// ScriptUpdate changes a script; nil fields are left as they are.
type ScriptUpdate struct {
	Source   *string
	Triggers *[]Trigger
	Bundle   *string
	Enabled  *bool
}

// ScriptFilter selects scripts; zero fields do not filter.
type ScriptFilter struct {
	Kind ScriptKind
	// Invalid, when set, keeps the scripts that do (true) or do not
	// (false) fail to compile.
	Invalid *bool
	// Trigger keeps the scripts that run on it.
	Trigger Trigger
	// Resources keeps the scripts with a trigger on one of these resource
	// kinds ("user", "role", …); Events those with a trigger of one of
	// these events ("before_create", "manual", …), as Corteza filters by
	// resource and event types.
	Resources []string
	Events    []string
	// Bundle keeps the client scripts of a bundle.
	Bundle string
	// EnabledOnly leaves disabled scripts out.
	EnabledOnly bool
	// Page is ordered by id.
	Page PageRequest
}

// ScriptRun is one run of a server script: an "after" run queued by an
// operation, or the answer to a manual run.
type ScriptRun struct {
	ID       int64
	ScriptID int64
	Script   string // the script's name
	Trigger  Trigger
	// Resource is the reference of what the run is about, "user:42"; ""
	// for the system.
	Resource string
	// Subject is the resource as the script sees it, a JSON object.
	Subject []byte
	// ActorID is the user whose operation queued the run; 0 for none.
	ActorID int64
	// Outcome is "ok", "refused" or "failed" once the run is done.
	Outcome string
	// Log holds what the script logged, and why it failed.
	Log       []string
	CreatedAt time.Time
	DoneAt    *time.Time
}

// ScriptBundle is a bundle of client scripts as browsers load it.
type ScriptBundle struct {
	Name string
	// Source is the bundle's scripts, joined in id order.
	Source []byte
	// Type is its media type and Extension its file name's extension.
	Type      string
	Extension string
	// ETag identifies the source; UpdatedAt is its scripts' last change.
	ETag      string
	UpdatedAt time.Time
}
