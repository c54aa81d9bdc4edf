package usher

// ImportUser is one user of a bulk import: created, or updated when a user
// with its external id, or else its username, exists already.
type ImportUser struct {
	UserCreate
	// SSHKeys are added unless the user has them already.
	SSHKeys []ImportKey
	// Emails are secondary addresses, added confirmed unless the user has
	// them already.
	Emails []string
}

// ImportKey is an SSH key of an imported user.
type ImportKey struct {
	Title string
	Key   string // an authorized_keys line
}

// ImportOutcome is what an import did to a user.
type ImportOutcome uint8

// The outcomes.
const (
	ImportFailed ImportOutcome = iota
	ImportCreated
	ImportUpdated
	ImportUnchanged
)

// ImportResult is what became of one ImportUser.
type ImportResult struct {
	ID      int64 // the user's id; 0 when Err is set
	Outcome ImportOutcome
	Err     error
}

// ExportUser is one user as an export writes it: everything an import
// takes back.
type ExportUser struct {
	User         *User
	PasswordHash string
	SSHKeys      []*SSHKey
	Emails       []*Email
}
