// Package smtptest runs an SMTP server inside a test, for testing code that
// sends mail: it keeps what it receives for the test to read, and can be
// told to require authentication or TLS, or to fail deliveries.
//
//	srv := smtptest.New(t, smtptest.WithAuth("user", "secret"))
//	tr, err := mail.NewSMTP(srv.URL(), "usher@example.com")
//	...
//	msgs, err := srv.Wait(ctx, 1)
package smtptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// tlsMode is how the server offers TLS.
type tlsMode int

const (
	tlsNone     tlsMode = iota // plain TCP only
	tlsStart                   // STARTTLS, required before MAIL
	tlsImplicit                // TLS from the first byte
)

// Server is an SMTP server listening on a random port of 127.0.0.1. It
// accepts mail for any recipient. Its methods are safe for concurrent use.
type Server struct {
	user, pass string // required credentials; none if user is ""
	tls        tlsMode
	cert       *x509.Certificate

	addr string
	srv  *smtp.Server

	mu       sync.Mutex
	msgs     []Message
	arrived  chan struct{} // closed, and replaced, when a message arrives
	failNext int
	refused  map[string]*smtp.SMTPError // by recipient
	closed   bool
}

// Option configures a Server.
type Option func(*Server)

// WithAuth makes the server offer AUTH PLAIN and refuse mail from a client
// that has not authenticated as user with pass.
func WithAuth(user, pass string) Option {
	return func(s *Server) { s.user, s.pass = user, pass }
}

// WithStartTLS makes the server offer STARTTLS with a self-signed
// certificate, which CertPool trusts, and refuse mail over a connection
// that has not been upgraded. With WithAuth, AUTH is offered only after
// STARTTLS.
func WithStartTLS() Option {
	return func(s *Server) { s.tls = tlsStart }
}

// WithTLS makes the server speak TLS from the first byte (SMTPS), with a
// self-signed certificate which CertPool trusts.
func WithTLS() Option {
	return func(s *Server) { s.tls = tlsImplicit }
}

// New starts a server on 127.0.0.1 with a random port, configured by opts.
// Without options it takes mail from anyone over plain TCP. The server is
// closed when the test and its subtests end.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{})}
	for _, opt := range opts {
		opt(s)
	}

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.AllowInsecureAuth = s.tls == tlsNone
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = &testLogger{t: t, s: s}
	s.srv = srv

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	if s.tls != tlsNone {
		cert, err := newCertificate()
		if err != nil {
			_ = l.Close()
			t.Fatalf("smtptest: %v", err)
		}
		s.cert = cert.Leaf
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if s.tls == tlsImplicit {
			l = tls.NewListener(l, srv.TLSConfig)
		}
	}
	s.addr = l.Addr().String()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		if err := srv.Close(); err != nil {
			t.Errorf("smtptest: close: %v", err)
		}
		// Close closes only the listeners Serve has registered: if
		// Serve has not got that far yet, it would accept forever.
		// Closing l again after that is harmless.
		_ = l.Close()
		if err := <-served; err != nil {
			t.Errorf("smtptest: serve: %v", err)
		}
	})
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string {
	return s.addr
}

// URL returns an smtp:// URL for the server, with the credentials of
// WithAuth if any, in the form usher/mail.NewSMTP takes: tls=none for a
// plain server, tls=starttls with WithStartTLS, and scheme smtps with
// WithTLS.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	switch s.tls {
	case tlsNone:
		u.RawQuery = "tls=none"
	case tlsStart:
		u.RawQuery = "tls=starttls"
	case tlsImplicit:
		u.Scheme = "smtps"
	}
	if s.user != "" {
		u.User = url.UserPassword(s.user, s.pass)
	}
	return u.String()
}

// CertPool returns a pool holding the server's certificate, for a client's
// tls.Config.RootCAs, or nil if the server has no TLS. The certificate is
// valid for 127.0.0.1, ::1 and localhost.
func (s *Server) CertPool() *x509.CertPool {
	if s.cert == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.cert)
	return pool
}

// FailNext makes the server refuse the next n messages at the end of DATA
// with a temporary error, 451 4.3.0, as a busy server would. The messages
// are not kept.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// RefuseRecipient makes the server answer RCPT TO for addr with code and
// the enhanced status code enhanced ("5.1.1"; "" for none), as a server
// without that mailbox, or one that will not relay to it, would.
func (s *Server) RefuseRecipient(addr string, code int, enhanced string) {
	reply := &smtp.SMTPError{Code: code, EnhancedCode: smtp.NoEnhancedCode,
		Message: fmt.Sprintf("smtptest: %s refused, as asked by RefuseRecipient", addr)}
	if enhanced != "" {
		if _, err := fmt.Sscanf(enhanced, "%d.%d.%d", &reply.EnhancedCode[0], &reply.EnhancedCode[1], &reply.EnhancedCode[2]); err != nil {
			panic("smtptest: RefuseRecipient: enhanced status code " + enhanced + ": " + err.Error())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string]*smtp.SMTPError{}
	}
	s.refused[addr] = reply
}

// Messages returns the messages received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Wait waits until the server has received at least n messages and
// returns them all, oldest first. It returns ctx's error, with the
// messages received so far, if ctx is done before.
func (s *Server) Wait(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs, arrived := slices.Clone(s.msgs), s.arrived
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return msgs, fmt.Errorf("smtptest: waiting for %d messages, got %d: %w", n, len(msgs), ctx.Err())
		}
	}
}

// receive keeps a message, or refuses it if FailNext asked to.
func (s *Server) receive(from string, to []string, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return &smtp.SMTPError{
			Code:         451,
			EnhancedCode: smtp.EnhancedCode{4, 3, 0},
			Message:      "smtptest: temporary failure, as asked by FailNext",
		}
	}
	msg, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{
			Code:         554,
			EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message:      "smtptest: malformed message: " + err.Error(),
		}
	}
	msg.From, msg.To = from, to
	s.msgs = append(s.msgs, msg)
	close(s.arrived)
	s.arrived = make(chan struct{})
	return nil
}

// newSession starts an SMTP session; go-smtp calls it on EHLO or HELO,
// again after STARTTLS.
func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{srv: s, tls: isTLS}, nil
}

// session is the state of one SMTP session.
type session struct {
	srv    *Server
	tls    bool
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

// AuthMechanisms returns the mechanisms to advertise: PLAIN if the server
// requires authentication.
func (ss *session) AuthMechanisms() []string {
	if ss.srv.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth checks a client's credentials.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.srv.user == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if (identity != "" && identity != user) || user != ss.srv.user || pass != ss.srv.pass {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

// Mail starts a message from from, if the session may send one.
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.tls == tlsStart && !ss.tls {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	}
	if ss.srv.user != "" && !ss.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.from = from
	return nil
}

// Rcpt adds a recipient, or refuses it if RefuseRecipient asked to.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.mu.Lock()
	reply := ss.srv.refused[to]
	ss.srv.mu.Unlock()
	if reply != nil {
		return reply
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data reads the message and hands it to the server.
func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("smtptest: reading message: %w", err)
	}
	return ss.srv.receive(ss.from, slices.Clone(ss.to), raw)
}

// Reset forgets the message under way.
func (ss *session) Reset() {
	ss.from, ss.to = "", nil
}

// Logout ends the session.
func (ss *session) Logout() error {
	return nil
}

// testLogger passes go-smtp's error log to the test's log while the test
// runs, and drops it afterwards, when t may no longer be used.
type testLogger struct {
	t testing.TB
	s *Server
}

// Printf logs like t.Logf.
func (l *testLogger) Printf(format string, v ...any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.closed {
		l.t.Logf("smtptest: "+format, v...)
	}
}

// Println logs like t.Log.
func (l *testLogger) Println(v ...any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.closed {
		l.t.Log(append([]any{"smtptest:"}, v...)...)
	}
}

// newCertificate returns a fresh self-signed certificate for 127.0.0.1,
// ::1 and localhost, valid for a day.
func newCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("creating certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parsing certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
