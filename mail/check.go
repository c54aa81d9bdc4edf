package mail

import (
	"context"
	"errors"
	"fmt"
	"net"

	gomail "github.com/wneessen/go-mail"
)

// Check connects to the server as Send would, greets it, starts TLS and
// authenticates as the URL asks, then quits without sending anything. Its
// error says which step failed and, when the connection was made but the
// conversation failed, how to choose the URL's tls parameter.
func (s *SMTP) Check(ctx context.Context) error {
	var (
		conn    net.Conn
		dialErr error
	)
	dial := func(dialCtx context.Context, _, _ string) (net.Conn, error) {
		conn, dialErr = s.dial(dialCtx)
		return conn, dialErr
	}
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	client, err := gomail.NewClient(s.host, s.options(dial)...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client for %s: %w", s.addr(), err)
	}
	err = client.DialWithContext(ctx)
	var op *net.OpError
	switch {
	case dialErr != nil && errors.As(dialErr, &op) && op.Op == "dial":
		return fmt.Errorf("mail: cannot connect to %s (check the host and port of the SMTP URL): %w", s.addr(), dialErr)
	case dialErr != nil:
		return fmt.Errorf("mail: %s: %w; %s", s.addr(), dialErr, s.security.hint())
	case err != nil:
		return fmt.Errorf("mail: %s: %w; %s", s.addr(), err, s.security.hint())
	}
	if err := client.Close(); err != nil {
		return fmt.Errorf("mail: %s: quit: %w", s.addr(), err)
	}
	return nil
}

// hint tells how to choose the tls parameter when a conversation in
// security s failed.
func (s security) hint() string {
	switch s {
	case startTLS:
		return "usher asked for STARTTLS (tls=starttls, the default of smtp://): for a relay on a trusted network " +
			"that offers no STARTTLS add ?tls=none, and for a server that speaks TLS from the first byte " +
			"(usually port 465) use smtps:// or ?tls=tls"
	case implicitTLS:
		return "usher spoke TLS from the first byte (smtps:// or tls=tls): for a server that starts in plain text " +
			"use smtp:// with ?tls=starttls (usually port 587), or ?tls=none on a trusted network"
	default:
		return "usher spoke plain text (tls=none): for a server that wants TLS use ?tls=starttls (usually port 587) " +
			"or smtps:// (usually port 465)"
	}
}
