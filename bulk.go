package usher

import (
	"context"
	"sync"
	"time"
)

// ImportUser is one user of a bulk import: created, or updated when a user
// with its external id, or else its username (its address, for a record
// without one), exists already.
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
	// ExpiresAt is when the key stops opening the account; nil: never.
	// A key that expired already is kept expired.
	ExpiresAt *time.Time
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

// ImportTurn keeps the order of an import's batches written at once: a
// batch's users take their ids after those of the batch before it, so
// that the ids follow the file. The store takes the turn (Wait) before it
// begins the batch's transaction and gives it up (Done) once the batch's
// new users have their ids, or when the transaction ends.
type ImportTurn struct {
	before <-chan struct{}
	done   chan struct{}
	once   sync.Once
}

// NextImportTurn returns the turn after before, which is nil for the
// first batch.
func NextImportTurn(before *ImportTurn) *ImportTurn {
	t := &ImportTurn{done: make(chan struct{})}
	if before != nil {
		t.before = before.done
	}
	return t
}

// Wait waits until the turn before t is done, or ctx ends. A nil turn
// waits for nothing.
func (t *ImportTurn) Wait(ctx context.Context) error {
	if t == nil || t.before == nil {
		return nil
	}
	select {
	case <-t.before:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done gives up the turn; it may be called more than once, and on nil.
func (t *ImportTurn) Done() {
	if t != nil {
		t.once.Do(func() { close(t.done) })
	}
}

type importTurnKey struct{}

// WithImportTurn returns a context carrying t, for the batch of an import
// that ctx writes.
func WithImportTurn(ctx context.Context, t *ImportTurn) context.Context {
	return context.WithValue(ctx, importTurnKey{}, t)
}

// ImportTurnFrom returns the turn in ctx, or nil.
func ImportTurnFrom(ctx context.Context) *ImportTurn {
	t, _ := ctx.Value(importTurnKey{}).(*ImportTurn)
	return t
}
