package usher

import (
	"encoding/json"
	"strings"
	"time"
)

// UserState is the life-cycle state of an account.
type UserState string

// The account states. Only StateActive accounts (and, when the policy allows,
// StatePending ones) may sign in; a state change away from them ends every
// session and token of the account at once.
const (
	StateActive          UserState = "active"
	StatePending         UserState = "pending_confirmation" // signed up, e-mail not yet confirmed
	StateBlocked         UserState = "blocked"              // blocked by an administrator
	StateBlockedExternal UserState = "blocked_external"     // disabled by an external directory; only provisioning may lift it
	StateSuspended       UserState = "suspended"
)

// Valid reports whether s is one of the defined states.
func (s UserState) Valid() bool {
	switch s {
	case StateActive, StatePending, StateBlocked, StateBlockedExternal, StateSuspended:
		return true
	}
	return false
}

// CanSignIn reports whether an account in state s may hold working
// credentials. Pending accounts are decided by policy, not here.
func (s UserState) CanSignIn() bool { return s == StateActive || s == StatePending }

// UserKind tells people from machines.
type UserKind string

// The user kinds.
const (
	KindNormal         UserKind = "normal"
	KindBot            UserKind = "bot"
	KindServiceAccount UserKind = "service_account"
)

// Valid reports whether k is one of the defined kinds.
func (k UserKind) Valid() bool {
	return k == KindNormal || k == KindBot || k == KindServiceAccount
}

// User is an account: the union of the fields the supported products give a
// user. Faces show the subset their product knows.
type User struct {
	ID       int64
	UUID     string
	Username string
	Email    string // primary address; may be empty (service accounts, name-only users)

	Name        string // full name
	FirstName   string
	LastName    string
	DisplayName string
	// Handle is a short name unique among live users, case-insensitively
	// (Corteza's handle). Empty when the user has none.
	Handle string

	// Bio, Location and WebsiteURL are the generic profile most products
	// give a person; the GitLab-only ones are in GitLab.
	Bio        string
	Location   string
	WebsiteURL string
	Language   string

	State UserState
	Kind  UserKind
	Admin bool
	// External marks accounts of people outside the organisation (GitLab's
	// "external"): they see only what is shared with them.
	External bool
	// GitLab is the profile extension only GitLab's users have; the core
	// validates it like any other field, the GitLab face reads and writes
	// it, and the native API does not show it.
	GitLab GitLabProfile
	// TwoFactorEnabled says a second factor is checked at log-in. usher has
	// no second factor yet (no TOTP), so nothing sets it and it is false.
	TwoFactorEnabled bool

	// ExternalID is an identifier given by a provisioning system; unique when set.
	ExternalID string
	// Metadata is free-form string pairs set by integrations.
	Metadata map[string]string
	// Meta is a free JSON object (Corteza's meta); nil or "{}" when empty.
	Meta json.RawMessage
	// OrganisationID is the organisation the user belongs to; 0 for none.
	OrganisationID int64
	// Identities are the external log-in identities linked to the account.
	Identities []Identity
	// Plan names the user's plan; empty means the default plan.
	Plan string
	// AvatarETag identifies the user's avatar; empty when there is none.
	AvatarETag string

	EmailConfirmedAt *time.Time
	LastSignInAt     *time.Time
	CurrentSignInAt  *time.Time
	LastSeenAt       *time.Time

	CreatedAt   time.Time
	UpdatedAt   time.Time
	SuspendedAt *time.Time
	DeletedAt   *time.Time
	// CredentialsSince is when all the account's JWTs last ended together:
	// its deletion, or a change of who may act as it or through it (made
	// an administrator or no longer one, shut out). JWTs issued before it
	// as the account, or by it as an administrator impersonating another,
	// do not work.
	CredentialsSince *time.Time
	// UnconfirmedEmail is the address a user asked to change to, waiting
	// for the code mailed to it (GitLab's unconfirmed_email); Email stays
	// the account's address until then.
	UnconfirmedEmail string

	// Version grows by one with every change; it is the user's entity tag.
	Version int64
}

// GitLabProfile holds the fields of a user that only GitLab knows.
type GitLabProfile struct {
	Skype    string
	LinkedIn string
	Twitter  string
	// CanCreateGroup lets the user create top-level groups.
	CanCreateGroup bool
	// ProjectsLimit is how many projects the user may create; never negative.
	ProjectsLimit int
	ThemeID       int
	ColorSchemeID int
}

// GitLabProfileUpdate changes a GitLab profile: nil fields are left as
// they are (on create, take their defaults).
type GitLabProfileUpdate struct {
	Skype          *string
	LinkedIn       *string
	Twitter        *string
	CanCreateGroup *bool // default true
	ProjectsLimit  *int  // default from policy
	ThemeID        *int  // default 1
	ColorSchemeID  *int  // default 1
}

// Apply sets the fields in gives.
func (p *GitLabProfile) Apply(in GitLabProfileUpdate) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.Skype, in.Skype)
	set(&p.LinkedIn, in.LinkedIn)
	set(&p.Twitter, in.Twitter)
	for _, f := range []struct {
		dst *int
		v   *int
	}{{&p.ProjectsLimit, in.ProjectsLimit}, {&p.ThemeID, in.ThemeID}, {&p.ColorSchemeID, in.ColorSchemeID}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if in.CanCreateGroup != nil {
		p.CanCreateGroup = *in.CanCreateGroup
	}
}

// Identity links an account to an account at an external provider.
type Identity struct {
	Provider  string // e.g. "github", "oidc", "ldapmain"
	ExternUID string
}

// Deleted reports whether the user is soft-deleted.
func (u *User) Deleted() bool { return u.DeletedAt != nil }

// NameOrHandle is the name a face that keys users by username gives u:
// its username, or, for an account made without one, "@" and its handle,
// which is unique among users and no username's shape (none starts with
// "@"). Two accounts must not share the empty name. KeyOfName finds it.
func (u *User) NameOrHandle() string {
	if u.Username == "" && u.Handle != "" {
		return "@" + u.Handle
	}
	return u.Username
}

// KeyOfName is the key of the account NameOrHandle gave name: "@" and a
// handle finds an account without a username only, so that the form is
// no second name of one that has one.
func KeyOfName(name string) UserKey {
	if handle, ok := strings.CutPrefix(name, "@"); ok {
		return UserKey{Handle: handle, Nameless: true}
	}
	return UserKey{Username: name}
}

// UserKey finds one user. Exactly one field is set (Provider and ExternUID
// count as one: an external identity).
type UserKey struct {
	ID         int64
	Username   string // case-insensitive
	Email      string // case-insensitive
	Handle     string // case-insensitive
	UUID       string
	ExternalID string
	Provider   string
	ExternUID  string
	// Kinds, when set, narrows the look-up to users of these kinds: a user
	// of another kind is not found. A face whose product knows no service
	// accounts sets it, so that they are no users there.
	Kinds []UserKind
	// Nameless, when set, finds only an account without a username
	// (KeyOfName).
	Nameless bool
	// IfVersion, when set, holds a change of the user's own row (Update,
	// Delete, Block, Unblock, Suspend, Unsuspend, Undelete) or of its
	// groups (SetUserGroups) to the user at that version, as UserUpdate's
	// does: at another, once the caller is found to be allowed the
	// change, it is refused (KindPrecondition, CodeVersionMismatch) and
	// nothing is written. Reads and other changes ignore it.
	IfVersion *int64
}

// UserCreate is the input to create a user.
type UserCreate struct {
	Username         string
	Email            string
	Password         string // optional; hashed by the core, never stored as given
	PasswordHash     string // optional; a hash brought by an import (argon2id, bcrypt, PBKDF2-SHA256)
	Name             string
	FirstName        string
	LastName         string
	DisplayName      string
	Handle           string
	Bio              string
	Location         string
	WebsiteURL       string
	Language         string
	Kind             UserKind  // default KindNormal
	State            UserState // default StateActive
	Admin            bool
	External         bool
	GitLab           GitLabProfileUpdate // the GitLab profile; nil fields take defaults
	ExternalID       string
	Metadata         map[string]string
	Meta             json.RawMessage // a JSON object
	OrganisationID   int64           // 0: none
	Identities       []Identity
	Plan             string
	EmailConfirmed   bool // mark the primary address confirmed now
	SkipConfirmation bool // GitLab's confirm=false: the account needs no e-mail confirmation
	// SendConfirmation mails the primary address a code that confirms it,
	// when the address is not marked confirmed (GitLab's confirm, true by
	// default). The account is pending until the code comes back, unless
	// the policy skips e-mail confirmation or State is given.
	SendConfirmation bool
	// SendInvitation mails the primary address an invitation: a link to
	// the hosted page that sets the account's password (GitLab's
	// reset_password). It needs an address and no password; it takes the
	// place of the confirmation mail, since choosing the password proves
	// the address.
	SendInvitation bool
	// NameRule, when set, is a product's rule the username must also
	// follow, on top of usher's own.
	NameRule NameRule
	// UsernameOptional lets the user be made without a username when it
	// has an e-mail address or a handle (given or derived), as Corteza's
	// users are; the products whose users need one leave it false.
	UsernameOptional bool
	// EmailRequired refuses the user without an e-mail address, as
	// Corteza's user service does.
	EmailRequired bool
}

// UserDelete says what goes with a deleted user.
type UserDelete struct {
	// SoleOwnedTeams deletes the teams the user alone owns with the user
	// (GitLab's hard_delete). Without it a team's last owner is not
	// deleted.
	SoleOwnedTeams bool
}

// UserView is how much of a user the caller may see, as the core decides
// it; a face picks its product's representation by it.
type UserView uint8

// The views, from the least to the most.
const (
	// ViewProfile is the public profile, what anyone signed in sees of
	// another user: no address, sign-in times, identities or settings.
	ViewProfile UserView = iota
	// ViewOwn is the whole account, as its user sees it.
	ViewOwn
	// ViewAdmin is the whole account, as an administrator sees any.
	ViewAdmin
)

// NameRule names a product's rule for usernames, which the core checks
// besides its own.
type NameRule string

// The name rules.
const (
	// NameResource is Lenses' HQ resource name: lowercase letters, digits
	// and hyphens, with no hyphen first or last.
	NameResource NameRule = "resource"
)

// UserUpdate is a partial update: nil fields are left as they are.
type UserUpdate struct {
	Username *string
	Email    *string
	// EmailConfirmed marks the address the update leaves the account
	// with confirmed: an administrator vouching for it, as GitLab's
	// skip_reconfirmation does. Anyone else is refused.
	EmailConfirmed bool
	Password       *string
	Name           *string
	FirstName      *string
	LastName       *string
	DisplayName    *string
	Handle         *string
	Bio            *string
	Location       *string
	WebsiteURL     *string
	Language       *string
	Kind           *UserKind
	Admin          *bool
	External       *bool
	GitLab         GitLabProfileUpdate
	ExternalID     *string
	Metadata       *map[string]string
	Meta           *json.RawMessage // a JSON object
	OrganisationID *int64           // 0 leaves the organisation
	Plan           *string
	// Identity, when set, adds or replaces the identity of its provider.
	Identity *Identity
}

// Inclusion says how a list treats rows with some property (deleted,
// suspended): leave them out, include them, or return only them.
type Inclusion uint8

// The inclusion modes. The zero value, Default, leaves the choice to the
// core's rule for the property: a user list includes suspended users (Get
// finds them) and leaves out deleted ones (Get does not). The store, which
// decides nothing, takes Default as Exclude.
const (
	Default Inclusion = iota
	Exclude
	Include
	Only
)

// UserSort names the order of a user list.
type UserSort string

// The user sort orders. A leading "-" is descending.
const (
	SortIDAsc        UserSort = "id"
	SortIDDesc       UserSort = "-id"
	SortUUIDAsc      UserSort = "uuid"
	SortUUIDDesc     UserSort = "-uuid"
	SortUsernameAsc  UserSort = "username"
	SortUsernameDesc UserSort = "-username"
	SortCreatedAsc   UserSort = "created_at"
	SortCreatedDesc  UserSort = "-created_at"
)

// Valid reports whether s is one of the defined orders.
func (s UserSort) Valid() bool {
	switch s {
	case SortIDAsc, SortIDDesc, SortUUIDAsc, SortUUIDDesc, SortUsernameAsc,
		SortUsernameDesc, SortCreatedAsc, SortCreatedDesc:
		return true
	}
	return false
}

// UserFilter selects users. Zero fields do not filter.
type UserFilter struct {
	Query       string // substring of username or name (and e-mail, with SearchEmail), case-insensitive
	SearchEmail bool   // let Query match e-mail addresses too
	Username    string // exact, case-insensitive
	Email       string // exact, case-insensitive
	Handle      string // exact, case-insensitive
	UUID        string
	// OrganisationID keeps the users of this organisation.
	OrganisationID int64
	ExternalID     string
	// The Contains fields keep the users whose field holds the value as a
	// substring, case-insensitively (Pterodactyl's partial filters); the
	// value is literal, with no wildcards.
	UsernameContains   string
	EmailContains      string
	UUIDContains       string
	ExternalIDContains string
	IDs                []int64
	State              UserState
	Kind               UserKind
	// Kinds keeps the users of any of these kinds (with Kind, of both).
	Kinds         []UserKind
	Admin         *bool
	CreatedAfter  *time.Time // inclusive
	CreatedBefore *time.Time // exclusive
	Deleted       Inclusion
	Suspended     Inclusion
	// WithGroups asks for each listed user's memberships of groups of
	// these kinds, read for the whole page at once (UserPage.Memberships);
	// none reads no groups.
	WithGroups []GroupKind
	// Brief reads of each listed user only its ID, UUID, username, e-mail
	// address, name, first and last names, language, state, kind,
	// administrator flag, two-factor flag, external ID, organisation,
	// creation, update and deletion times and version, and none of its
	// identities: for a list that shows a few of them (the admin
	// console's, Pterodactyl's), which then reads under half the columns
	// and one statement fewer.
	Brief bool

	Sort UserSort // default SortIDAsc
	// Page is the page asked for; its cursor is a row's sort key under
	// Sort.
	Page PageRequest
}

// UserPage is one page of a user list.
type UserPage struct {
	Page[*User]
	// Memberships holds, by user id, the memberships the filter asked for
	// with WithGroups, each with its group and the group's counts.
	Memberships map[int64][]*Membership
}
