package mail_test

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"usher/mail"
	"usher/mail/smtptest"
)

// TestCheck connects to servers as configured and as misconfigured: a
// wrong tls parameter fails with the way to choose the right one, and
// nothing is sent.
func TestCheck(t *testing.T) {
	t.Parallel()
	plain := smtptest.New(t)
	starttls := smtptest.New(t, smtptest.WithStartTLS(), smtptest.WithAuth("u", "p"))
	implicit := smtptest.New(t, smtptest.WithTLS())
	// A port nobody listens on: the listener is closed at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, tt := range []struct {
		name, url string
		srv       *smtptest.Server
		want      string // in the error; empty for success
	}{
		{"plain as configured", plain.URL(), plain, ""},
		{"starttls with auth", starttls.URL(), starttls, ""},
		{"implicit TLS", implicit.URL(), implicit, ""},
		{"plain relay asked for STARTTLS", "smtp://" + plain.Addr(), plain, "?tls=none"},
		{"plain relay asked for TLS", "smtps://" + plain.Addr(), plain, "?tls=starttls"},
		{"TLS server spoken to in plain text", "smtp://" + implicit.Addr() + "?tls=none", implicit, "smtps://"},
		{"nobody listening", "smtp://" + closed + "?tls=none", nil, "check the host and port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, err := mail.NewSMTP(tt.url, sender)
			if err != nil {
				t.Fatal(err)
			}
			if tt.srv != nil && tt.srv.CertPool() != nil {
				tr.TLSConfig = &tls.Config{RootCAs: tt.srv.CertPool()}
			}
			err = tr.Check(t.Context())
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check: %v, want an error with %q", err, tt.want)
			}
			if tt.srv != nil && len(tt.srv.Messages()) != 0 {
				t.Fatalf("Check sent a message")
			}
		})
	}
}
