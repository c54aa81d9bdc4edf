package usher

import (
	"context"
	"errors"
	"time"
)

// Mail is an e-mail in the outbox. Mails are written in the same transaction
// as the change that causes them and delivered afterwards, with retries. A
// mail is given up only when the recipient's server refuses it for good
// (ErrUndeliverable) or it is still undelivered after the policy's time.
type Mail struct {
	ID   int64
	Kind string // what it is for: "confirm", "reset", ...
	To   string
	// UserID is the account the mail is about, 0 for none.
	UserID int64
	// AuthorID is the account whose text the mail carries when that is
	// neither the recipient's nor usher's (a reminder's creator), 0 for
	// none: once it is deleted or may not sign in, the mail is not sent.
	AuthorID int64
	// Lang is the language the mail is written in, a BCP 47 tag; empty
	// for mails written before mails had one.
	Lang    string
	Subject string
	// Body is plain text. At rest it is sealed, and it is wiped once the
	// mail is delivered: it may hold a one-time code.
	Body          string
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	SentAt        *time.Time
	LastError     string
}

// Transport delivers one mail. Implementations live in package mail.
//
// Send's error matches ErrUndeliverable when trying again cannot deliver
// the mail as it is: its recipient's address is not one, or the server
// answered that the mailbox does not exist or takes no mail. Any other
// error is taken for passing.
type Transport interface {
	Send(ctx context.Context, m *Mail) error
}

// ErrUndeliverable marks a delivery that failed for good: see Transport.
var ErrUndeliverable = errors.New("undeliverable")

// Letter is the text of a mail in one language.
type Letter struct {
	Lang    string // BCP 47 tag
	Subject string
	Body    string // plain text
}

// Letters writes the text of usher's mails from templates, one per kind of
// mail and language. The implementation lives in package mail/letter.
type Letters interface {
	// Write returns the mail of kind filled from data, in the language
	// best matching prefs: most preferred first, each a BCP 47 tag or an
	// Accept-Language header value.
	Write(kind string, data map[string]string, prefs ...string) (*Letter, error)
	// Match returns the language with templates best matching prefs, or
	// the default language when none does.
	Match(prefs ...string) string
}

// MailTest is the outcome of a test mail an administrator sent to check
// the mail settings: sent (the transport took it) or the transport's error.
type MailTest struct {
	To   string
	Sent bool
	// Error is the transport's refusal, in its own words, when not Sent.
	Error string
}
