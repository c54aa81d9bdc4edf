package usher

import "time"

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

// ImportJob is an import running in the background (the console's import
// page), and how far it has come.
type ImportJob struct {
	ID string
	// UserID is who started it; only they see it.
	UserID int64
	Format string
	// Size is the file's size in bytes, Read how much of it the import has
	// read.
	Size, Read                          int64
	Created, Updated, Unchanged, Failed int
	// Failures are the first lines that could not be imported.
	Failures []ImportFailure
	Started  time.Time
	// Finished is when it ended; nil while it runs.
	Finished *time.Time
	// Err says what stopped the import before its end, when something did.
	Err string
}

// ImportFailure is a line of an import that could not be imported.
type ImportFailure struct {
	Line    int
	Message string
}
