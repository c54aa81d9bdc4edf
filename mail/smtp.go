// Package mail delivers the mails of usher's outbox. SMTP hands them to a
// mail server; Log writes them to the log, for development, when no mail
// server is configured. Both implement usher.Transport.
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	netmail "net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"usher"
)

var _ usher.Transport = (*SMTP)(nil)

// security is how a connection to the SMTP server is protected.
type security int

const (
	startTLS    security = iota // plain TCP, upgraded with STARTTLS before anything else
	implicitTLS                 // TLS from the first byte (SMTPS, RFC 8314)
	noTLS                       // plain TCP throughout
)

// String returns the value of the URL's tls parameter that selects s.
func (s security) String() string {
	switch s {
	case startTLS:
		return "starttls"
	case implicitTLS:
		return "tls"
	default:
		return "none"
	}
}

// SMTP is an usher.Transport that delivers each mail over its own SMTP
// connection. The server's certificate is verified unless TLSConfig says
// otherwise; a password is sent only over TLS or to a server on the
// loopback interface.
//
// An SMTP is safe for concurrent use once TLSConfig is set.
type SMTP struct {
	// TLSConfig, if not nil, is used for STARTTLS and implicit TLS in
	// place of the default, which verifies the server's certificate
	// against the system's roots. Its ServerName defaults to the URL's
	// host. Tests put their server's certificate in RootCAs; verification
	// is skipped only if InsecureSkipVerify is set here. Set it before
	// the first Send.
	TLSConfig *tls.Config
	// Layout renders each mail's HTML part, sent after its plain text as
	// multipart/alternative; nil sends plain text alone. NewSMTP sets the
	// built-in one. Set it before the first Send.
	Layout *Layout

	host     string
	port     int
	security security
	user     string
	pass     string
	from     netmail.Address
}

// NewSMTP returns a transport for the server that rawURL names, sending as
// from, an address such as "usher@example.com" or
// "Usher <usher@example.com>".
//
// rawURL has the form smtp://user:pass@host:port?tls=MODE, where MODE is
// starttls (the default), tls (implicit TLS) or none. The scheme smtps
// means implicit TLS. The port defaults to 587 for starttls, 465 for
// implicit TLS and 25 for none. The user and password are optional; if
// they are given, characters such as '@', ':' and '/' in them must be
// percent-encoded. NewSMTP refuses a URL it cannot use, naming the part
// that is wrong; its errors never contain the password.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	// The user information is taken apart by hand: url.Parse's errors
	// quote the part they fail on, which could be the password.
	rest, user, pass, hasUser, err := splitUserinfo(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP URL: %w", err)
	}
	u, err := url.Parse(rest)
	if err != nil {
		// A *url.Error repeats the whole URL: keep only its cause,
		// which names the part that is wrong.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		return nil, fmt.Errorf("mail: SMTP URL: %w", err)
	}
	layout, err := NewLayout("usher", "", "")
	if err != nil {
		return nil, err
	}
	s := &SMTP{host: u.Hostname(), Layout: layout}
	var defaultSecurity security
	switch u.Scheme {
	case "smtp":
		defaultSecurity = startTLS
	case "smtps":
		defaultSecurity = implicitTLS
	case "":
		return nil, errors.New("mail: SMTP URL: missing scheme (want smtp:// or smtps://)")
	default:
		return nil, fmt.Errorf("mail: SMTP URL: unknown scheme %q (want smtp or smtps)", u.Scheme)
	}
	if hasUser && user == "" {
		return nil, errors.New("mail: SMTP URL: empty user name")
	}
	if u.Opaque != "" || s.host == "" {
		return nil, errors.New("mail: SMTP URL: missing host (want smtp://host:port)")
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("mail: SMTP URL: unexpected path %q", u.Path)
	}

	query := u.Query()
	for _, name := range slices.Sorted(maps.Keys(query)) {
		if name != "tls" {
			return nil, fmt.Errorf("mail: SMTP URL: unknown parameter %q (want tls)", name)
		}
	}
	switch mode := query.Get("tls"); mode {
	case "":
		s.security = defaultSecurity
	case "starttls", "none":
		if u.Scheme == "smtps" {
			return nil, fmt.Errorf("mail: SMTP URL: tls=%s contradicts scheme smtps, which means implicit TLS", mode)
		}
		s.security = startTLS
		if mode == "none" {
			s.security = noTLS
		}
	case "tls":
		s.security = implicitTLS
	default:
		return nil, fmt.Errorf("mail: SMTP URL: unknown tls value %q (want starttls, tls or none)", mode)
	}

	switch port := u.Port(); {
	case port != "":
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL: bad port %q (want 1-65535)", port)
		}
		s.port = n
	case s.security == implicitTLS:
		s.port = 465
	case s.security == noTLS:
		s.port = 25
	default:
		s.port = 587
	}

	s.user, s.pass = user, pass
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: sender address %q: %w", from, err)
	}
	s.from = *addr
	return s, nil
}

// splitUserinfo takes the user information out of rawURL. It returns the
// rest of the URL, the unescaped user name and password, and whether
// there was user information at all. A user name without a password is
// an error. Its errors never quote the password.
func splitUserinfo(rawURL string) (rest, user, pass string, ok bool, err error) {
	scheme, afterScheme, found := strings.Cut(rawURL, "://")
	if !found {
		return rawURL, "", "", false, nil
	}
	authority := afterScheme
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return rawURL, "", "", false, nil
	}
	rest = scheme + "://" + afterScheme[at+1:]
	rawUser, rawPass, hasPass := strings.Cut(authority[:at], ":")
	if user, err = url.PathUnescape(rawUser); err != nil {
		return "", "", "", false, errors.New("user name is not validly percent-encoded")
	}
	if !hasPass {
		return "", "", "", false, fmt.Errorf("user %q has no password", user)
	}
	if pass, err = url.PathUnescape(rawPass); err != nil {
		return "", "", "", false, errors.New("password is not validly percent-encoded")
	}
	return rest, user, pass, true, nil
}

// String describes the transport as a URL with the password masked, for
// logs.
func (s *SMTP) String() string {
	u := url.URL{
		Scheme:   "smtp",
		Host:     net.JoinHostPort(s.host, strconv.Itoa(s.port)),
		RawQuery: "tls=" + s.security.String(),
	}
	if s.user != "" {
		u.User = url.UserPassword(s.user, s.pass)
	}
	return u.Redacted()
}

// Send delivers m to m.To as a plain-text message. It gives up when ctx is
// done, whatever stage the conversation with the server is at; go-mail's
// own 15-second timeouts bound the dial and the conversation too. The
// error of a failed delivery says which stage failed and carries the
// server's reply; errors.Is finds ctx's error in it when ctx ended it.
// Once the server has accepted the message, Send reports success even if
// closing the connection fails, so that the mail is not sent twice.
func (s *SMTP) Send(ctx context.Context, m *usher.Mail) error {
	msg, err := s.message(m)
	if err != nil {
		return err
	}

	// go-mail bounds the dial by ctx but the rest of the conversation only
	// by its own timeout, and it leaves the connection open when the
	// greeting, STARTTLS or AUTH fail. So the transport dials itself:
	// closing the connection when ctx is done aborts whatever is under
	// way, and closing it on return plugs the leak. dial runs on this
	// goroutine, inside DialAndSendWithContext.
	var (
		conn net.Conn
		stop func() bool
	)
	dial := func(dialCtx context.Context, _, _ string) (net.Conn, error) {
		c, err := s.dial(dialCtx)
		if err != nil {
			return nil, err
		}
		conn = c
		stop = context.AfterFunc(ctx, func() { _ = c.Close() })
		return c, nil
	}
	defer func() {
		if conn != nil {
			stop()
			_ = conn.Close() // after QUIT this fails harmlessly
		}
	}()

	client, err := gomail.NewClient(s.host, s.options(dial)...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client for %s: %w", s.addr(), err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	switch {
	case msg.IsDelivered():
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("mail: sending via %s: %w", s.addr(), ctx.Err())
	case refusedForGood(err):
		return fmt.Errorf("mail: sending via %s: %w: %w", s.addr(), usher.ErrUndeliverable, err)
	case err != nil:
		return fmt.Errorf("mail: sending via %s: %w", s.addr(), err)
	}
	return nil
}

// refusedForGood reports whether err is the server's permanent refusal
// of the mail's recipient: a 5xx reply to RCPT TO, or at the end of the
// message, with an enhanced status code (RFC 3463) saying that the
// address or its mailbox cannot take mail, now or later: no such mailbox
// (5.1.1), domain (5.1.2) or syntax (5.1.3), moved away (5.1.6), a domain
// that takes no mail (5.1.10, RFC 7505), a mailbox disabled (5.2.1) or
// full for good (5.2.2). Any other refusal — no enhanced code, relaying
// denied (5.7.1), a sender refused (5.1.7, 5.1.8: a server may say so at
// RCPT TO), authentication required — may come of usher's settings or
// its server's, which fail every mail until the operator mends them, and
// is tried again.
func refusedForGood(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() || se.ErrorCode()/100 != 5 {
		return false
	}
	if se.Reason != gomail.ErrSMTPRcptTo && se.Reason != gomail.ErrSMTPDataClose {
		return false
	}
	switch se.EnhancedStatusCode() {
	case "5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.2.1", "5.2.2":
		return true
	}
	return false
}

// message builds the message that carries m.
func (s *SMTP) message(m *usher.Mail) (*gomail.Msg, error) {
	// No User-Agent or X-Mailer: they would only advertise the library.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	from := s.from
	msg.FromMailAddress(&from)
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: recipient of mail %d: %w: %w", m.ID, usher.ErrUndeliverable, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(s.messageID(m))
	msg.SetDateWithValue(time.Now())
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	if s.Layout != nil {
		html, err := s.Layout.HTML(m)
		if err != nil {
			return nil, err
		}
		msg.AddAlternativeString(gomail.TypeTextHTML, html)
	}
	return msg, nil
}

// messageID returns the Message-ID of m, without its angle brackets, in
// the sender's domain. A stored mail keeps its Message-ID across retries,
// so that a receiver can tell a repeat delivery from a new mail.
func (s *SMTP) messageID(m *usher.Mail) string {
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	if m.ID != 0 {
		return fmt.Sprintf("%d.%d.usher@%s", m.ID, m.CreatedAt.UnixNano(), domain)
	}
	return rand.Text() + ".usher@" + domain
}

// options returns the go-mail client options for one delivery through dial.
func (s *SMTP) options(dial gomail.DialContextFunc) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(s.tlsConfig()),
	}
	switch s.security {
	case startTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case implicitTLS:
		// dial does the TLS handshake; this tells go-mail not to
		// attempt STARTTLS on top of it.
		opts = append(opts, gomail.WithSSL())
	case noTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.user != "" {
		// PLAIN and LOGIN are what submission servers offer; go-mail
		// refuses both over an unencrypted connection except to
		// loopback. A server that offers neither gets go-mail's pick of
		// what it does offer.
		opts = append(opts,
			gomail.WithUsername(s.user),
			gomail.WithPassword(s.pass),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
		)
	}
	return opts
}

// dial connects to the server, completing the TLS handshake first when
// the transport uses implicit TLS.
func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.security == implicitTLS {
		td := &tls.Dialer{NetDialer: d, Config: s.tlsConfig()}
		return td.DialContext(ctx, "tcp", s.addr())
	}
	return d.DialContext(ctx, "tcp", s.addr())
}

// tlsConfig returns the TLS configuration for a connection: a copy of
// TLSConfig, or a default one, naming the server and asking for TLS 1.2
// at least.
func (s *SMTP) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.host
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// addr returns the server's host:port.
func (s *SMTP) addr() string {
	return net.JoinHostPort(s.host, strconv.Itoa(s.port))
}
