// Package core holds every rule of usher: validation, authorization, state
// transitions, audit records. Faces, the CLI and imports call it; it calls the
// store. Each exported method's comment names the error kinds it returns.
package core

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"usher"
	"usher/mail/letter"
	"usher/password"
	"usher/seal"
	"usher/store"

	"github.com/medama-io/go-useragent"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"
)

// Policy is the configurable part of the rules. Zero numbers and durations
// take their defaults from DefaultPolicy; booleans are off unless set.
type Policy struct {
	// DefaultProjectsLimit is given to new users that do not name one.
	DefaultProjectsLimit int
	// PasswordMinLength and PasswordMaxBytes bound new passwords;
	// PasswordMinScore (0 to 4) is the strength estimate they must reach.
	PasswordMinLength int
	PasswordMaxBytes  int
	PasswordMinScore  int
	// MaxPageSize caps any list; DefaultPageSize is used when none is asked.
	MaxPageSize     int
	DefaultPageSize int
	// MaxOffset caps how deep an offset page reaches: its offset and limit
	// together; the rows before an offset page are read and dropped.
	MaxOffset int
	// ExactTotal is how many rows a list's total counts exactly; past it
	// the total is a count up to a minute old, flagged as an estimate.
	ExactTotal int

	// SignupEnabled lets anyone create an account, by password or by an
	// external log-in; it is the default of the instance setting
	// auth.internal.signup.enabled, which overrides it once set; SignupDomains, when set, limits sign-up to e-mail
	// addresses of those domains.
	SignupEnabled bool
	SignupDomains []string
	// SkipEmailConfirmation makes new accounts active at once; otherwise
	// they are pending until their address is confirmed.
	SkipEmailConfirmation bool
	// AllowUnconfirmedSignIn lets pending accounts log in.
	AllowUnconfirmedSignIn bool
	// NoEmailLinking stops external log-ins from being linked to the
	// account with the same address, even when the provider says the
	// address is verified.
	NoEmailLinking bool

	SessionTTL        time.Duration // a session's lifetime
	JWTTTL            time.Duration // a JWT's lifetime
	ImpersonationTTL  time.Duration // the longest impersonation; under 24 h
	ConfirmTTL        time.Duration // a confirmation code's lifetime
	ResetTTL          time.Duration // a reset token's lifetime
	ResetTicketTTL    time.Duration // a reset ticket's lifetime
	RedeemTTL         time.Duration // an OAuth log-in's lifetime
	ExchangeTTL       time.Duration // the lifetime of the code a finished external log-in hands its client
	ResetAnswerFloor  time.Duration // a reset request takes at least this long, whatever the address
	MailRetryBase     time.Duration // the first retry of a failed delivery
	MailRetryMax      time.Duration // the longest wait between retries
	MailGiveUp        time.Duration // how long after it was queued a mail still failing is given up
	KeepEnded         time.Duration // how long housekeeping keeps ended tokens and sessions, done script runs, sent mail, deleted reminders and deleted teams and service accounts
	MaxFailuresPerKey int           // failed log-ins per account within FailureWindow before a lock
	MaxFailuresPerIP  int           // failed log-ins per client address within FailureWindow before a lock
	FailureWindow     time.Duration
	LockBase          time.Duration // the first lock; each further failure doubles it
	LockMax           time.Duration
	// MaxSessionsPerUser bounds an account's live sessions: a log-in past
	// it ends the oldest.
	MaxSessionsPerUser int
	// MaxTokensPerUser bounds an account's live tokens of every kind but
	// sessions: minting past it is refused until one is revoked.
	MaxTokensPerUser int
	// MaxAttachmentBytes bounds an uploaded file (an attachment, or a
	// setting's file).
	MaxAttachmentBytes int

	// ScriptTimeout bounds one run of a server script; ScriptHeapGrowth
	// bounds how far the process's heap may grow, in bytes, while one
	// runs; ScriptMaxSource bounds a script's source, in bytes.
	ScriptTimeout    time.Duration
	ScriptHeapGrowth int
	ScriptMaxSource  int

	// PublicURL is where usher is reached from outside, for links in mail
	// and OAuth redirects.
	PublicURL string
}

// DefaultPolicy returns the policy usher runs with unless configured.
func DefaultPolicy() Policy {
	return Policy{
		DefaultProjectsLimit: 100000,
		PasswordMinLength:    8,
		PasswordMaxBytes:     256,
		MaxPageSize:          1000,
		DefaultPageSize:      20,
		MaxOffset:            100000,
		ExactTotal:           10000,
		SessionTTL:           14 * 24 * time.Hour,
		JWTTTL:               15 * time.Minute,
		ImpersonationTTL:     time.Hour,
		ConfirmTTL:           48 * time.Hour,
		ResetTTL:             time.Hour,
		ResetTicketTTL:       15 * time.Minute,
		RedeemTTL:            10 * time.Minute,
		ExchangeTTL:          time.Minute,
		ResetAnswerFloor:     250 * time.Millisecond,
		MailRetryBase:        30 * time.Second,
		MailRetryMax:         time.Hour,
		MailGiveUp:           5 * 24 * time.Hour,
		KeepEnded:            30 * 24 * time.Hour,
		MaxFailuresPerKey:    5,
		MaxFailuresPerIP:     50,
		FailureWindow:        15 * time.Minute,
		LockBase:             30 * time.Second,
		LockMax:              15 * time.Minute,
		MaxSessionsPerUser:   100,
		MaxTokensPerUser:     500,
		MaxAttachmentBytes:   10 << 20,
		ScriptTimeout:        time.Second,
		ScriptHeapGrowth:     128 << 20,
		ScriptMaxSource:      64 << 10,
		PublicURL:            "http://127.0.0.1:8080",
	}
}

// withDefaults fills each zero number and duration of p from DefaultPolicy.
func withDefaults(p Policy) Policy {
	d := DefaultPolicy()
	for _, f := range []struct{ v, def *int }{
		{&p.DefaultProjectsLimit, &d.DefaultProjectsLimit}, {&p.PasswordMinLength, &d.PasswordMinLength},
		{&p.PasswordMaxBytes, &d.PasswordMaxBytes}, {&p.MaxPageSize, &d.MaxPageSize},
		{&p.DefaultPageSize, &d.DefaultPageSize}, {&p.MaxFailuresPerKey, &d.MaxFailuresPerKey},
		{&p.MaxFailuresPerIP, &d.MaxFailuresPerIP}, {&p.MaxSessionsPerUser, &d.MaxSessionsPerUser},
		{&p.MaxTokensPerUser, &d.MaxTokensPerUser}, {&p.MaxAttachmentBytes, &d.MaxAttachmentBytes},
		{&p.ScriptHeapGrowth, &d.ScriptHeapGrowth}, {&p.ScriptMaxSource, &d.ScriptMaxSource},
		{&p.MaxOffset, &d.MaxOffset}, {&p.ExactTotal, &d.ExactTotal},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&p.SessionTTL, &d.SessionTTL}, {&p.JWTTTL, &d.JWTTTL}, {&p.ImpersonationTTL, &d.ImpersonationTTL},
		{&p.ConfirmTTL, &d.ConfirmTTL}, {&p.ResetTTL, &d.ResetTTL}, {&p.ResetTicketTTL, &d.ResetTicketTTL},
		{&p.RedeemTTL, &d.RedeemTTL}, {&p.ExchangeTTL, &d.ExchangeTTL}, {&p.ResetAnswerFloor, &d.ResetAnswerFloor}, {&p.MailRetryBase, &d.MailRetryBase},
		{&p.MailRetryMax, &d.MailRetryMax}, {&p.MailGiveUp, &d.MailGiveUp}, {&p.FailureWindow, &d.FailureWindow}, {&p.LockBase, &d.LockBase},
		{&p.LockMax, &d.LockMax}, {&p.ScriptTimeout, &d.ScriptTimeout}, {&p.KeepEnded, &d.KeepEnded},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	p.DefaultPageSize = min(p.DefaultPageSize, p.MaxPageSize)
	if p.ImpersonationTTL >= 24*time.Hour {
		p.ImpersonationTTL = 24*time.Hour - time.Minute
	}
	if p.PublicURL == "" {
		p.PublicURL = d.PublicURL
	}
	p.PublicURL = strings.TrimSuffix(p.PublicURL, "/")
	return p
}

// Config holds what the core is built from.
type Config struct {
	Store  store.Store
	Hasher *password.Hasher
	Policy Policy
	// Seal encrypts secrets at rest: pending mail bodies and signing keys.
	Seal *seal.Box
	// Connectors are the external log-in providers, by their names.
	Connectors []usher.Connector
	// Transport delivers the outbox; Outbox.Run needs it.
	Transport usher.Transport
	// Letters writes the mails' texts; the built-in templates
	// (letter.Builtin) when nil.
	Letters usher.Letters
	// Blobs keeps the bytes of attachments, avatars and previews; when
	// nil, they are kept in memory for as long as the core lives (for
	// tests: a server always configures one).
	Blobs usher.BlobStore
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Observer is told of log-ins, lockouts, deliveries, script runs and
	// the token cache's answers, for metrics; none when nil.
	Observer usher.Observer
	// UserAgents parses sign-ins' user agents into browser and system
	// families (the devices of new-sign-in mail). It is read-only and
	// takes a third of a second to build, so cores in one process may
	// share one; when nil, the core builds its own in the background.
	UserAgents *useragent.Parser
}

// Core is the set of services. Faces take the services they use.
type Core struct {
	Users    *Users
	Auth     *Auth
	Audit    *Audit
	Outbox   *Outbox
	Keys     *Keys
	Emails   *Emails
	Settings *Settings
	Avatars  *Avatars
	Groups   *Groups
	Orgs     *Organisations
	Plans    *Plans
	Apps     *Applications
	// Reminders manages reminders; Outbox.Run delivers those that come due.
	Reminders *Reminders
	// Instance manages the instance's settings; Settings, users' own.
	Instance *InstanceSettings
	// Attachments manages stored files and their previews.
	Attachments *Attachments
	Stats       *Stats
	// Scripts manages automation scripts; Outbox.Run runs their queued
	// "after" runs.
	Scripts *Scripts
}

// env is what every service shares.
type env struct {
	store      store.Store
	hasher     *password.Hasher
	policy     Policy
	seal       *seal.Box
	connectors map[string]usher.Connector
	transport  usher.Transport
	letters    usher.Letters
	blobs      usher.BlobStore
	// previews makes each attachment's preview once however many ask
	// for it at the same time.
	previews singleflight.Group
	// decoding bounds the memory the previews being made at once take,
	// in bytes estimated from their headers.
	decoding *semaphore.Weighted
	clock    func() time.Time
	log      *slog.Logger
	observe  usher.Observer
	// userAgents returns the parser of sign-ins' user agents, read-only
	// once built. Building it takes a third of a second and about 10 MB,
	// so it is built once, at the first sign-in: an idle server does
	// without it.
	userAgents func() *useragent.Parser
	backlog    backlogCache
	keys       *keyring
	rules      ruleCache
	principals principalCache
	instance   settingsCache
	scripts    scriptCache
	common     map[string]bool // the most common passwords, lower-cased
	// mailc wakes the outbox sender when a mail is queued.
	mailc chan struct{}
	// estimates bounds the password-strength estimates running at once.
	estimates chan struct{}
	// regexpTimeout is the process's regexp2 match timeout (boundRegexps),
	// to which a script run's time limit is held.
	regexpTimeout time.Duration
}

// New builds the core.
func New(cfg Config) *Core {
	e := &env{
		store: cfg.Store, hasher: cfg.Hasher, policy: withDefaults(cfg.Policy), seal: cfg.Seal,
		connectors: map[string]usher.Connector{}, transport: cfg.Transport, letters: cfg.Letters, blobs: cfg.Blobs, clock: cfg.Now, log: cfg.Logger,
		common: commonPasswords(), mailc: make(chan struct{}, 1), estimates: make(chan struct{}, runtime.NumCPU()),
		decoding: semaphore.NewWeighted(previewBudget), observe: cfg.Observer,
		userAgents: sync.OnceValue(useragent.NewParser),
	}
	if cfg.UserAgents != nil {
		ua := cfg.UserAgents
		e.userAgents = func() *useragent.Parser { return ua }
	}
	if e.observe == nil {
		e.observe = nopObserver{}
	}
	e.regexpTimeout = boundRegexps(e.policy.ScriptTimeout)
	if e.clock == nil {
		e.clock = time.Now
	}
	if e.letters == nil {
		e.letters = letter.Builtin()
	}
	if e.blobs == nil {
		e.blobs = &memBlobs{m: map[string][]byte{}}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.hasher == nil {
		e.hasher = password.NewHasher(password.DefaultParams, password.Pool{})
	}
	if e.seal == nil {
		// Without a configured key, secrets are sealed under one that lives
		// as long as the process: fine for tests, not for a server.
		box, err := seal.New(mustKey(seal.NewKey()))
		if err != nil {
			panic(err)
		}
		e.seal = box
	}
	for _, c := range cfg.Connectors {
		e.connectors[c.Name()] = c
	}
	e.keys = &keyring{env: e}
	return &Core{
		Users:       &Users{env: e},
		Auth:        &Auth{env: e},
		Audit:       &Audit{env: e},
		Outbox:      &Outbox{env: e},
		Keys:        &Keys{env: e},
		Emails:      &Emails{env: e},
		Settings:    &Settings{env: e},
		Avatars:     &Avatars{env: e},
		Groups:      &Groups{env: e},
		Orgs:        &Organisations{env: e},
		Plans:       &Plans{env: e},
		Reminders:   &Reminders{env: e},
		Apps:        &Applications{env: e},
		Instance:    &InstanceSettings{env: e},
		Stats:       &Stats{env: e},
		Attachments: &Attachments{env: e},
		Scripts:     &Scripts{env: e},
	}
}

func mustKey(s string) []byte {
	k, err := seal.ParseKey(s)
	if err != nil {
		panic(err)
	}
	return k
}

// now returns the current time in UTC at the precision the store keeps.
func (e *env) now() time.Time { return e.clock().UTC().Truncate(time.Microsecond) }

// hash hashes a password, turning a full hashing queue into KindRateLimited.
func (e *env) hash(ctx context.Context, pw string) (string, error) {
	h, err := e.hasher.Hash(ctx, pw)
	return h, hashError(err)
}

// hashError turns a hasher's refusal into a rate-limit error.
func hashError(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return errBusy()
	}
	return err
}

func errBusy() error {
	return &usher.Error{Kind: usher.KindRateLimited, Code: usher.CodeBusy,
		Message: "too many password operations at once; retry shortly", RetryAfter: time.Second}
}
