package smtptest_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"usher/mail/smtptest"
)

// mustSend sends raw, written with \n line breaks, from a@example.com to
// b@example.com over a fresh client connection to srv.
func mustSend(t *testing.T, srv *smtptest.Server, raw string) {
	t.Helper()
	if err := send(t, srv, raw); err != nil {
		t.Fatalf("sending: %v", err)
	}
}

// send is mustSend that returns the error.
func send(t *testing.T, srv *smtptest.Server, raw string) error {
	t.Helper()
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	return c.SendMail("a@example.com", []string{"b@example.com", "c@example.com"},
		strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")))
}

// wait returns the first message srv received, failing the test unless
// one arrives within a few seconds.
func wait(t *testing.T, srv *smtptest.Server) smtptest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	msgs, err := srv.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	return msgs[0]
}

func TestMessageDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		raw         string
		wantSubject string
		wantBody    string
	}{
		{
			name:        "7bit",
			raw:         "Subject: Hello\n\nline one\nline two\n",
			wantSubject: "Hello",
			wantBody:    "line one\nline two\n",
		},
		{
			name: "8bit",
			raw: "Subject: =?utf-8?b?R3LDvMOfZQ==?=\nMIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße\n",
			wantSubject: "Grüße",
			wantBody:    "Grüße\n",
		},
		{
			name: "quoted-printable",
			raw: "Subject: =?UTF-8?Q?Best=C3=A4tige?= deine\n =?UTF-8?Q?Adresse?=\nMIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: Quoted-Printable\n\n" +
				"Gr=C3=BC=C3=9Fe, dies ist eine lange Zeile, die weich umbrochen =\nwurde.=20\n=3D\n",
			wantSubject: "Bestätige deine Adresse",
			wantBody:    "Grüße, dies ist eine lange Zeile, die weich umbrochen wurde. \n=\n",
		},
		{
			name: "base64",
			raw: "Subject: =?UTF-8?B?56K66KqN?=\nMIME-Version: 1.0\n" +
				"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n" +
				"56K66KqN44Kz44O844OJOiAxMjM0\nNTYK\n",
			wantSubject: "確認",
			wantBody:    "確認コード: 123456\n",
		},
		{
			name: "multipart alternative",
			raw: "Subject: Both\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b1\"\n\n" +
				"--b1\nContent-Type: text/html; charset=UTF-8\n\n<p>HTML</p>\n" +
				"--b1\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\nPlain =C3=A4\n" +
				"--b1--\n",
			wantSubject: "Both",
			wantBody:    "Plain ä",
		},
		{
			name: "nested multipart",
			raw: "Subject: Nested\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n" +
				"--outer\nContent-Type: multipart/alternative; boundary=inner\n\n" +
				"--inner\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSW5uZXI=\n--inner--\n" +
				"--outer\nContent-Type: application/pdf\n\n%PDF\n--outer--\n",
			wantSubject: "Nested",
			wantBody:    "Inner",
		},
		{
			name:        "no text",
			raw:         "Subject: HTML only\nMIME-Version: 1.0\nContent-Type: text/html\n\n<p>hi</p>\n",
			wantSubject: "HTML only",
			wantBody:    "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.New(t)
			mustSend(t, srv, tt.raw)

			got := wait(t, srv)
			if got.Subject != tt.wantSubject {
				t.Errorf("Subject = %q, want %q", got.Subject, tt.wantSubject)
			}
			if got.Body != tt.wantBody {
				t.Errorf("Body = %q, want %q", got.Body, tt.wantBody)
			}
			if got.From != "a@example.com" || strings.Join(got.To, ",") != "b@example.com,c@example.com" {
				t.Errorf("envelope = %q → %q, want a@example.com → [b@example.com c@example.com]", got.From, got.To)
			}
			if want := strings.ReplaceAll(tt.raw, "\n", "\r\n"); string(got.Raw) != want {
				t.Errorf("Raw = %q, want %q", got.Raw, want)
			}
		})
	}
}

func TestMalformedMessage(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t)
	err := send(t, srv, "Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: uuencode\n\nbody\n")
	if err == nil || !strings.Contains(err.Error(), "554") {
		t.Errorf("sending a message with an unknown transfer encoding: error = %v, want 554", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server kept %d messages, want none", n)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t)
	srv.FailNext(2)
	for i := range 2 {
		err := send(t, srv, "Subject: x\n\nbody\n")
		if smtpErr, ok := errors.AsType[*smtp.SMTPError](err); !ok || smtpErr.Code != 451 || !smtpErr.Temporary() {
			t.Fatalf("delivery %d: error = %v, want a temporary 451", i+1, err)
		}
	}
	mustSend(t, srv, "Subject: third\n\nbody\n")
	if got := wait(t, srv).Subject; got != "third" {
		t.Errorf("kept message %q, want only the third", got)
	}
}

func TestWait(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if msgs, err := srv.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) || len(msgs) != 0 {
		t.Errorf("Wait on an idle server = %d messages, %v; want none and DeadlineExceeded", len(msgs), err)
	}

	done := make(chan []smtptest.Message)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		msgs, _ := srv.Wait(ctx, 2)
		done <- msgs
	}()
	mustSend(t, srv, "Subject: one\n\nbody\n")
	mustSend(t, srv, "Subject: two\n\nbody\n")
	if msgs := <-done; len(msgs) != 2 || msgs[0].Subject != "one" || msgs[1].Subject != "two" {
		t.Errorf("Wait for 2 returned %d messages, want one and two in order", len(msgs))
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("Messages returned %d, want 2", n)
	}
}

func TestRequirements(t *testing.T) {
	t.Parallel()

	t.Run("auth", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.New(t, smtptest.WithAuth("user", "pass"))
		if err := send(t, srv, "Subject: x\n\nbody\n"); err == nil || !strings.Contains(err.Error(), "530") {
			t.Errorf("sending without AUTH: error = %v, want 530", err)
		}

		c, err := smtp.Dial(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", "user", "wrong")); err == nil {
			t.Error("AUTH with the wrong password succeeded")
		}
		if err := c.Auth(sasl.NewPlainClient("", "user", "pass")); err != nil {
			t.Fatalf("AUTH: %v", err)
		}
		if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
			t.Errorf("sending after AUTH: %v", err)
		}
	})

	t.Run("starttls", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.New(t, smtptest.WithStartTLS(), smtptest.WithAuth("user", "pass"))
		if !strings.HasSuffix(srv.URL(), "?tls=starttls") || !strings.Contains(srv.URL(), "//user:pass@") {
			t.Errorf("URL() = %q, want credentials and tls=starttls", srv.URL())
		}

		plain, err := smtp.Dial(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		if err := plain.Hello("localhost"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := plain.Extension("AUTH"); ok {
			t.Error("AUTH offered before STARTTLS")
		}
		if err := plain.Mail("a@example.com", nil); err == nil || !strings.Contains(err.Error(), "530") {
			t.Errorf("MAIL before STARTTLS: error = %v, want 530", err)
		}

		c, err := smtp.DialStartTLS(srv.Addr(), &tls.Config{RootCAs: srv.CertPool(), ServerName: "localhost"})
		if err != nil {
			t.Fatalf("STARTTLS trusting CertPool: %v", err)
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", "user", "pass")); err != nil {
			t.Fatalf("AUTH after STARTTLS: %v", err)
		}
	})

	t.Run("implicit tls", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.New(t, smtptest.WithTLS())
		if !strings.HasPrefix(srv.URL(), "smtps://") {
			t.Errorf("URL() = %q, want smtps://", srv.URL())
		}
		c, err := smtp.DialTLS(srv.Addr(), &tls.Config{RootCAs: srv.CertPool(), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatalf("TLS trusting CertPool: %v", err)
		}
		defer c.Close()
		if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
			t.Errorf("sending over TLS: %v", err)
		}
	})

	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.New(t)
		if srv.CertPool() != nil {
			t.Error("CertPool() of a server without TLS is not nil")
		}
		if want := "smtp://" + srv.Addr() + "?tls=none"; srv.URL() != want {
			t.Errorf("URL() = %q, want %q", srv.URL(), want)
		}
	})
}
