package usher

import (
	"context"
	"time"
)

// Mail is an e-mail in the outbox. Mails are written in the same transaction
// as the change that causes them and delivered afterwards, with retries; a
// failed delivery never loses one.
type Mail struct {
	ID      int64
	Kind    string // what it is for: "confirm", "reset", ...
	To      string
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
type Transport interface {
	Send(ctx context.Context, m *Mail) error
}
