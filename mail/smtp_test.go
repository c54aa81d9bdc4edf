package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/mail"
	"usher/mail/smtptest"
)

const sender = "usher@example.com"

// mustNewSMTP returns a transport sending as sender to srv, trusting its
// certificate if it has one.
func mustNewSMTP(t *testing.T, srv *smtptest.Server) *mail.SMTP {
	t.Helper()
	tr, err := mail.NewSMTP(srv.URL(), "Usher <"+sender+">")
	if err != nil {
		t.Fatalf("NewSMTP(%q): %v", srv.URL(), err)
	}
	if pool := srv.CertPool(); pool != nil {
		tr.TLSConfig = &tls.Config{RootCAs: pool}
	}
	return tr
}

// newMail returns a stored mail to alice with a UTF-8 subject and a body
// that quoted-printable and SMTP both have to take care with: non-ASCII
// text, a long line, lines of dots and trailing space.
func newMail() *usher.Mail {
	return &usher.Mail{
		ID:      42,
		Kind:    "confirm",
		To:      "Alice Ünal <alice@example.org>",
		Subject: "Bestätige deine Adresse — 確認コード",
		Body: "Hallo Alice,\n\ndein Code ist 123456. Grüße, 👋\n" +
			strings.Repeat("lang ", 40) + "\n" +
			".\n..zwei Punkte\nLeerzeichen am Ende   \n=3D ist kein Escape\n",
		CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

// wait returns the messages srv received, failing the test unless there
// is exactly n of them within a few seconds.
func wait(t *testing.T, srv *smtptest.Server, n int) []smtptest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	msgs, err := srv.Wait(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("server received %d messages, want %d", len(msgs), n)
	}
	return msgs
}

func TestSMTPSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []smtptest.Option
	}{
		{name: "plain"},
		{name: "auth", opts: []smtptest.Option{smtptest.WithAuth("usher", "pa:ss@wörd/")}},
		{name: "starttls", opts: []smtptest.Option{smtptest.WithStartTLS()}},
		{name: "starttls auth", opts: []smtptest.Option{smtptest.WithStartTLS(), smtptest.WithAuth("usher", "secret")}},
		{name: "implicit tls", opts: []smtptest.Option{smtptest.WithTLS()}},
		{name: "implicit tls auth", opts: []smtptest.Option{smtptest.WithTLS(), smtptest.WithAuth("usher", "secret")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.New(t, tt.opts...)
			tr := mustNewSMTP(t, srv)
			m := newMail()

			if err := tr.Send(t.Context(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}

			got := wait(t, srv, 1)[0]
			if got.From != sender {
				t.Errorf("envelope sender = %q, want %q", got.From, sender)
			}
			if len(got.To) != 1 || got.To[0] != "alice@example.org" {
				t.Errorf("envelope recipients = %q, want [alice@example.org]", got.To)
			}
			if got.Subject != m.Subject {
				t.Errorf("subject = %q, want %q", got.Subject, m.Subject)
			}
			if got.Body != m.Body {
				t.Errorf("body = %q, want %q", got.Body, m.Body)
			}
			if from, err := got.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != sender || from[0].Name != "Usher" {
				t.Errorf("From header = %v (%v), want Usher <%s>", from, err, sender)
			}
			if to, err := got.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "alice@example.org" || to[0].Name != "Alice Ünal" {
				t.Errorf("To header = %v (%v), want Alice Ünal <alice@example.org>", to, err)
			}
			if id := got.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
				t.Errorf("Message-ID = %q, want <…@example.com>", id)
			}
			if date, err := got.Header.Date(); err != nil || time.Since(date).Abs() > time.Minute {
				t.Errorf("Date = %v (%v), want about now", date, err)
			}
			// The text first, then the same mail in HTML.
			if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
				t.Errorf("Content-Type = %q, want multipart/alternative", ct)
			}
			raw := string(got.Raw)
			if i, j := strings.Index(raw, "text/plain"), strings.Index(raw, "text/html"); i < 0 || j < i {
				t.Errorf("the parts are not text then HTML:\n%s", raw)
			}
		})
	}
}

func TestSMTPSendMessageID(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t)
	tr := mustNewSMTP(t, srv)
	stored, stored2, unstored := newMail(), newMail(), newMail()
	unstored.ID = 0
	for _, m := range []*usher.Mail{stored, stored2, unstored} {
		if err := tr.Send(t.Context(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	msgs := wait(t, srv, 3)
	first, retry, other := msgs[0].Header.Get("Message-Id"), msgs[1].Header.Get("Message-Id"), msgs[2].Header.Get("Message-Id")
	if first != retry {
		t.Errorf("a stored mail sent twice got Message-IDs %q and %q, want the same", first, retry)
	}
	if other == first {
		t.Errorf("an unstored mail got the stored mail's Message-ID %q", other)
	}
}

func TestSMTPSendRefused(t *testing.T) {
	t.Parallel()
	const password = "correct-horse"
	deadAddr := closedAddr(t)
	tests := []struct {
		name    string
		srv     func(t *testing.T) *smtptest.Server
		url     func(srv *smtptest.Server) string
		tls     func(srv *smtptest.Server) *tls.Config
		wantErr string
	}{
		{
			name: "wrong password",
			srv:  func(t *testing.T) *smtptest.Server { return smtptest.New(t, smtptest.WithAuth("usher", "other")) },
			url: func(srv *smtptest.Server) string {
				return "smtp://usher:" + password + "@" + srv.Addr() + "?tls=none"
			},
			wantErr: "535",
		},
		{
			name:    "no credentials",
			srv:     func(t *testing.T) *smtptest.Server { return smtptest.New(t, smtptest.WithAuth("usher", password)) },
			url:     func(srv *smtptest.Server) string { return "smtp://" + srv.Addr() + "?tls=none" },
			wantErr: "530",
		},
		{
			name:    "untrusted certificate",
			srv:     func(t *testing.T) *smtptest.Server { return smtptest.New(t, smtptest.WithStartTLS()) },
			url:     func(srv *smtptest.Server) string { return "smtp://usher:" + password + "@" + srv.Addr() },
			wantErr: "certificate",
		},
		{
			name:    "untrusted certificate, implicit tls",
			srv:     func(t *testing.T) *smtptest.Server { return smtptest.New(t, smtptest.WithTLS()) },
			url:     func(srv *smtptest.Server) string { return "smtps://usher:" + password + "@" + srv.Addr() },
			wantErr: "certificate",
		},
		{
			name: "certificate for another name",
			srv:  func(t *testing.T) *smtptest.Server { return smtptest.New(t, smtptest.WithStartTLS()) },
			url:  func(srv *smtptest.Server) string { return "smtp://" + srv.Addr() },
			tls: func(srv *smtptest.Server) *tls.Config {
				return &tls.Config{RootCAs: srv.CertPool(), ServerName: "mail.example.com"}
			},
			wantErr: "certificate",
		},
		{
			name:    "starttls not offered",
			srv:     func(t *testing.T) *smtptest.Server { return smtptest.New(t) },
			url:     func(srv *smtptest.Server) string { return "smtp://" + srv.Addr() + "?tls=starttls" },
			wantErr: "STARTTLS",
		},
		{
			name:    "nothing listening",
			srv:     func(t *testing.T) *smtptest.Server { return smtptest.New(t) },
			url:     func(*smtptest.Server) string { return "smtp://" + deadAddr + "?tls=none" },
			wantErr: "refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := tt.srv(t)
			tr, err := mail.NewSMTP(tt.url(srv), sender)
			if err != nil {
				t.Fatalf("NewSMTP: %v", err)
			}
			if tt.tls != nil {
				tr.TLSConfig = tt.tls(srv)
			}

			err = tr.Send(t.Context(), newMail())
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Send error = %q, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("Send error %q shows the password", err)
			}
			if errors.Is(err, usher.ErrUndeliverable) {
				t.Errorf("Send error %q is marked undeliverable: the settings are at fault, not the mail", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server received %d messages, want none", n)
			}
		})
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestSMTPSendInsecureSkipVerify(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t, smtptest.WithStartTLS())
	tr, err := mail.NewSMTP(srv.URL(), sender)
	if err != nil {
		t.Fatal(err)
	}
	tr.TLSConfig = &tls.Config{InsecureSkipVerify: true}

	if err := tr.Send(t.Context(), newMail()); err != nil {
		t.Fatalf("Send with InsecureSkipVerify: %v", err)
	}
	wait(t, srv, 1)
}

func TestSMTPSendTemporaryFailure(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t, smtptest.WithAuth("usher", "secret"))
	tr := mustNewSMTP(t, srv)
	srv.FailNext(2)

	for i := range 2 {
		err := tr.Send(t.Context(), newMail())
		if err == nil || !strings.Contains(err.Error(), "451") || errors.Is(err, usher.ErrUndeliverable) {
			t.Fatalf("attempt %d: Send error = %v, want the server's 451, to be tried again", i+1, err)
		}
	}
	if err := tr.Send(t.Context(), newMail()); err != nil {
		t.Fatalf("attempt 3: Send: %v", err)
	}
	wait(t, srv, 1)
}

// TestSMTPSendUndeliverable: a refusal of the recipient is marked
// usher.ErrUndeliverable, for the outbox to give the mail up, only when
// the server says for good that the address or its mailbox takes no
// mail; a refusal that may come of the settings (relaying, the sender),
// one without an enhanced code and a temporary one are tried again.
func TestSMTPSendUndeliverable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code     int
		enhanced string
		want     bool
	}{
		{550, "5.1.1", true},  // no such mailbox
		{550, "5.1.2", true},  // no such domain
		{556, "5.1.10", true}, // null MX
		{550, "5.2.1", true},  // mailbox disabled
		{552, "5.2.2", true},  // mailbox full for good
		{554, "5.7.1", false}, // relaying denied: the settings
		{553, "5.1.8", false}, // the sender refused, said at RCPT TO
		{550, "", false},      // no enhanced code: cannot tell
		{450, "4.2.1", false}, // temporary
		{452, "4.2.2", false}, // full for now
		{550, "5.2.3", false}, // too large: not the address's fault
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.code, tt.enhanced), func(t *testing.T) {
			t.Parallel()
			srv := smtptest.New(t)
			srv.RefuseRecipient("alice@example.org", tt.code, tt.enhanced)
			err := mustNewSMTP(t, srv).Send(t.Context(), newMail())
			if err == nil || !strings.Contains(err.Error(), strconv.Itoa(tt.code)) {
				t.Fatalf("Send error = %v, want the server's %d", err, tt.code)
			}
			if got := errors.Is(err, usher.ErrUndeliverable); got != tt.want {
				t.Errorf("errors.Is(%q, ErrUndeliverable) = %v, want %v", err, got, tt.want)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server received %d messages, want none", n)
			}
		})
	}
}

func TestSMTPSendRecipient(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t)
	tr := mustNewSMTP(t, srv)
	m := newMail()
	m.To = "not an address"

	err := tr.Send(t.Context(), m)
	if err == nil || !strings.Contains(err.Error(), "recipient") || !errors.Is(err, usher.ErrUndeliverable) {
		t.Fatalf("Send error = %v, want one about the recipient, marked undeliverable", err)
	}
}

func TestSMTPSendContext(t *testing.T) {
	t.Parallel()

	t.Run("canceled", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.New(t)
		tr := mustNewSMTP(t, srv)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()

		err := tr.Send(ctx, newMail())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send error = %v, want context.Canceled", err)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("server received %d messages, want none", n)
		}
	})

	// A server that accepts the connection and then says nothing: only
	// the context can end the wait for its greeting.
	t.Run("silent server", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		accepted := make(chan net.Conn, 1)
		go func() {
			if c, err := l.Accept(); err == nil {
				accepted <- c
			}
		}()
		tr, err := mail.NewSMTP("smtp://"+l.Addr().String()+"?tls=none", sender)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()

		start := time.Now()
		err = tr.Send(ctx, newMail())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send error = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Send took %v after a 100ms deadline", d)
		}
		select {
		case c := <-accepted:
			_ = c.Close()
		default:
			t.Error("Send never connected")
		}
	})
}

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string // String of the transport
	}{
		{"smtp://mail.example.com", "smtp://mail.example.com:587?tls=starttls"},
		{"smtp://mail.example.com?tls=starttls", "smtp://mail.example.com:587?tls=starttls"},
		{"smtp://mail.example.com?tls=none", "smtp://mail.example.com:25?tls=none"},
		{"smtp://mail.example.com?tls=tls", "smtp://mail.example.com:465?tls=tls"},
		{"smtps://mail.example.com", "smtp://mail.example.com:465?tls=tls"},
		{"SMTPS://mail.example.com:2465/", "smtp://mail.example.com:2465?tls=tls"},
		{"smtp://u:p@[::1]:2525?tls=none", "smtp://u:xxxxx@[::1]:2525?tls=none"},
		{"smtp://u%40example.com:p%2F%3A%40ss@mail.example.com", "smtp://u%40example.com:xxxxx@mail.example.com:587?tls=starttls"},
		{"smtp://u:p@ss@mail.example.com", "smtp://u:xxxxx@mail.example.com:587?tls=starttls"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			tr, err := mail.NewSMTP(tt.url, sender)
			if err != nil {
				t.Fatalf("NewSMTP: %v", err)
			}
			if got := tr.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewSMTPRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		from    string
		wantErr string
	}{
		{name: "empty", url: "", wantErr: "missing scheme"},
		{name: "no scheme", url: "mail.example.com", wantErr: "missing scheme"},
		{name: "unknown scheme", url: "http://mail.example.com", wantErr: `unknown scheme "http"`},
		{name: "no host", url: "smtp://", wantErr: "missing host"},
		{name: "no host with port", url: "smtp://:25", wantErr: "missing host"},
		{name: "opaque", url: "smtp:mail.example.com", wantErr: "missing host"},
		{name: "port zero", url: "smtp://mail.example.com:0", wantErr: `bad port "0"`},
		{name: "port too big", url: "smtp://mail.example.com:65536", wantErr: `bad port "65536"`},
		{name: "port not a number", url: "smtp://mail.example.com:smtp", wantErr: "port"},
		{name: "unknown tls", url: "smtp://mail.example.com?tls=ssl", wantErr: `unknown tls value "ssl"`},
		{name: "smtps with starttls", url: "smtps://mail.example.com?tls=starttls", wantErr: "tls=starttls contradicts scheme smtps"},
		{name: "smtps with none", url: "smtps://mail.example.com?tls=none", wantErr: "tls=none contradicts scheme smtps"},
		{name: "unknown parameter", url: "smtp://mail.example.com?tsl=none", wantErr: `unknown parameter "tsl"`},
		{name: "path", url: "smtp://mail.example.com/inbox", wantErr: `unexpected path "/inbox"`},
		{name: "user without password", url: "smtp://usher@mail.example.com", wantErr: `user "usher" has no password`},
		{name: "password without user", url: "smtp://:s3cret@mail.example.com", wantErr: "empty user name"},
		{name: "bad escape in password", url: "smtp://usher:s3cret%zz@mail.example.com", wantErr: "password is not validly percent-encoded"},
		{name: "bad escape in user", url: "smtp://us%zzer:s3cret@mail.example.com", wantErr: "user name is not validly percent-encoded"},
		{name: "bad sender", url: "smtp://mail.example.com", from: "usher at example.com", wantErr: `sender address "usher at example.com"`},
		{name: "no sender", url: "smtp://mail.example.com", from: " ", wantErr: "sender address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from := tt.from
			if from == "" {
				from = sender
			}
			_, err := mail.NewSMTP(tt.url, from)
			if err == nil {
				t.Fatalf("NewSMTP(%q) succeeded, want an error", tt.url)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewSMTP(%q) error = %q, want it to mention %q", tt.url, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("NewSMTP(%q) error %q shows the password", tt.url, err)
			}
		})
	}
}
