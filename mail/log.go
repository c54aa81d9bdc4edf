package mail

import (
	"context"
	"fmt"
	"log/slog"

	"usher"
)

var _ usher.Transport = (*Log)(nil)

// Log is an usher.Transport for development, used when no SMTP server is
// configured: it delivers nothing and writes each mail to a logger
// instead, at Info level, with its recipient, subject, kind and body.
//
// Writing the body is deliberate: in development the operator reads
// confirmation codes and reset links from the log. As a body may hold a
// one-time code, Log does not belong where logs are kept or shared.
type Log struct {
	log *slog.Logger
}

// NewLog returns a transport that writes mails to log, which must not be
// nil.
func NewLog(log *slog.Logger) *Log {
	return &Log{log: log}
}

// Send writes m to the log. It fails only if ctx is already done.
func (l *Log) Send(ctx context.Context, m *usher.Mail) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: logging mail %d: %w", m.ID, err)
	}
	l.log.InfoContext(ctx, "mail not sent: no SMTP server configured",
		slog.Int64("id", m.ID),
		slog.String("to", m.To),
		slog.String("subject", m.Subject),
		slog.String("kind", m.Kind),
		slog.String("body", m.Body),
	)
	return nil
}
