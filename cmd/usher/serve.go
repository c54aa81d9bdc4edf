package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"usher"
	"usher/blob"
	"usher/connector"
	"usher/core"
	"usher/face/corteza"
	"usher/face/escape"
	"usher/face/gitlab"
	"usher/face/lenses"
	"usher/face/native"
	"usher/face/pages"
	"usher/face/pterodactyl"
	"usher/mail"
	"usher/mail/letter"
	"usher/metric"
	"usher/password"
	"usher/seal"
	"usher/store"
	"usher/store/sqlite"
	"usher/userfile"
	"usher/web"
)

// shutdownGrace is how long serve waits for requests in flight on SIGTERM.
const shutdownGrace = 15 * time.Second

// serveConfig is what serve takes beyond the shared configuration.
type serveConfig struct {
	addr         string
	smtpURL      string
	mailFrom     string
	mailLanguage string
	argon2       password.Params
	hashWorkers  int
	hashQueue    int
	hashNice     int
	hashProcess  bool
	policy       core.Policy
	github       connector.GitHubConfig
	oidc         connector.OIDCConfig
	outboxEvery  time.Duration
	// logFlush is how long log lines may wait to be written together.
	logFlush      time.Duration
	signupDomains []string
	// trustedProxies lists the CIDR prefixes of the reverse proxies whose
	// forwarding headers are believed.
	trustedProxies string
	// blobURL names the blob store of files: a directory or an S3 bucket.
	blobURL string
	// scriptsDir holds automation scripts loaded at start-up; scriptHeap
	// is the sandbox's bound on heap growth, in MiB.
	scriptsDir string
	scriptHeap int
	// allowedOrigins are the other origins whose pages may call usher
	// from a browser (CORS); themeDir overrides the hosted pages'
	// templates and static files.
	allowedOrigins string
	themeDir       string
	// tls serves HTTPS without a reverse proxy (tls.go).
	tls tlsSettings
	// metricsAddr, when set, is the listener of /metrics apart from the
	// API's; metricsToken, when set, is the bearer token it requires.
	metricsAddr  string
	metricsToken string
	// pprofAddr, when set, is where Go's runtime profiles are served.
	pprofAddr string
	// memoryLimit is the Go runtime's soft memory limit in MiB: 0
	// computes one from the hash pool, below 0 sets none (memory.go).
	memoryLimit int
}

// newServeConfig returns serve's configuration with its defaults.
func newServeConfig() *serveConfig {
	return &serveConfig{argon2: password.DefaultParams, policy: core.DefaultPolicy()}
}

// finish derives the policy's fields that flags give in other units.
func (sc *serveConfig) finish() {
	sc.policy.SignupDomains = sc.signupDomains
	sc.policy.ScriptHeapGrowth = sc.scriptHeap << 20
}

func (m *Main) serveCmd(cfg *config, sc *serveConfig) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API",
		Long: "Serve the HTTP API. Every flag may also be set by an environment variable,\n" +
			"USHER_ and the flag's name in capitals with _ for -, e.g. USHER_SMTP_URL,\n" +
			"or by its name in the configuration file (--config); see usher config print.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sc.logFlush < 0 {
				return fmt.Errorf("--log-flush: %v is negative: give 0 to write each line at once", sc.logFlush)
			}
			log, logs, err := m.bufferedLogger(cfg.logLevel, sc.logFlush)
			if err != nil {
				return err
			}
			defer logs.Close()
			sc.finish()
			return m.serve(cmd.Context(), log, logs, cfg, sc)
		},
	}
	f := cmd.Flags()
	p := &sc.policy
	f.StringVar(&sc.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&p.PublicURL, "public-url", "", "where usher is reached from outside, for links in mail, OAuth redirects and the faces' URLs "+
		"(default: http:// and the address it listens on)")
	f.StringVar(&sc.smtpURL, "smtp-url", "", "SMTP server for mail, smtp://user:pass@host:587?tls=starttls|tls|none or smtps://…; without it mail goes to the log")
	f.StringVar(&sc.mailFrom, "mail-from", "usher@localhost", "sender address of mail")
	f.StringVar(&sc.mailLanguage, "mail-language", "en", "language of mail to recipients whose language has no templates and whose request asked for none (en, de, or one the theme adds)")
	f.BoolVar(&p.SignupEnabled, "signup", false, "let anyone sign up")
	f.StringSliceVar(&sc.signupDomains, "signup-domains", nil, "limit sign-up to addresses of these domains, compared as domain names (ASCII ones but for case, internationalised ones once IDNA maps them: a U-label and its A-label are one domain, straße and strasse two)")
	f.BoolVar(&p.SkipEmailConfirmation, "skip-email-confirmation", false, "make new accounts active without confirming their address")
	f.BoolVar(&p.AllowUnconfirmedSignIn, "allow-unconfirmed-login", false, "let accounts log in before confirming their address")
	f.BoolVar(&p.NoEmailLinking, "no-email-linking", false, "do not link external log-ins to accounts by verified address")
	f.IntVar(&p.PasswordMinLength, "password-min-length", p.PasswordMinLength, "shortest password, in characters")
	f.IntVar(&p.PasswordMinScore, "password-min-score", p.PasswordMinScore, "strength (0 to 4) a new password must reach")
	f.Uint32Var(&sc.argon2.Memory, "argon2-memory", sc.argon2.Memory, "argon2id memory, KiB (8 a thread to 262144)")
	f.Uint32Var(&sc.argon2.Time, "argon2-time", sc.argon2.Time, "argon2id passes (1 to 100)")
	f.Uint8Var(&sc.argon2.Threads, "argon2-threads", sc.argon2.Threads, "argon2id threads (at least 1)")
	f.IntVar(&sc.hashWorkers, "hash-workers", 0, "password hashes that run at once, each on a thread of its own (default: the CPUs "+
		"where the threads run at --hash-nice, i.e. on Linux; the CPUs less one, at least one, elsewhere or at --hash-nice 0)")
	f.IntVar(&sc.hashNice, "hash-nice", 19, "niceness (0 to 19) of the password hash threads on Linux, so that requests get a CPU before "+
		"the hashes they run: the bcrypt and PBKDF2 verifications, and the key process of --hash-process, all its threads (argon2id "+
		"in serve's own process runs on goroutines of its own, at the process's niceness); serve then adds --hash-workers to "+
		"GOMAXPROCS unless GOMAXPROCS is set; 0 runs them like the rest")
	f.BoolVar(&sc.hashProcess, "hash-process", true, "derive argon2id keys in a child process of this binary (usher hash-keys), "+
		"started at the first log-in, so that each hash's memory is collected apart from the requests' and, on Linux, the whole "+
		"derivation runs at --hash-nice; when the child cannot start or fails, serve derives the keys itself and logs a warning")
	f.IntVar(&sc.hashQueue, "hash-queue", 64, "password hashes that may wait for a hash worker before log-ins are answered 429")
	f.DurationVar(&sc.logFlush, "log-flush", 100*time.Millisecond, "longest a log line waits in memory to be written with the lines after it, "+
		"in one write (lines at warn and error are written at once, with those before them; a crash loses what waits); 0 writes each line at once, as a terminal's are")
	f.IntVar(&sc.memoryLimit, "memory-limit", 0, fmt.Sprintf("soft limit of the Go runtime's memory, in MiB, under which garbage "+
		"is collected at GOGC %d (default: %d, + 2 × --hash-workers × --argon2-memory without --hash-process; below 0: none); GOMEMLIMIT, and GOGC, "+
		"when set, win", hashGCPercent, memoryBaseMiB))
	f.DurationVar(&p.SessionTTL, "session-ttl", p.SessionTTL, "lifetime of a session")
	f.DurationVar(&p.JWTTTL, "jwt-ttl", p.JWTTTL, "lifetime of a JWT")
	f.DurationVar(&p.ImpersonationTTL, "impersonation-ttl", p.ImpersonationTTL, "longest impersonation (under 24h)")
	f.IntVar(&p.MaxSessionsPerUser, "max-sessions-per-user", p.MaxSessionsPerUser, "live sessions an account may hold; a log-in past it ends the oldest")
	f.IntVar(&p.MaxTokensPerUser, "max-tokens-per-user", p.MaxTokensPerUser, "live tokens (sessions aside) an account may hold; minting past it is refused")
	f.IntVar(&p.MaxFailuresPerKey, "login-max-failures", p.MaxFailuresPerKey, "failed log-ins per account within the window before a lock")
	f.IntVar(&p.MaxFailuresPerIP, "login-max-failures-per-address", p.MaxFailuresPerIP, "failed log-ins per client address within the window before a lock")
	f.DurationVar(&p.FailureWindow, "login-failure-window", p.FailureWindow, "window in which failed log-ins count")
	f.DurationVar(&p.LockBase, "login-lock", p.LockBase, "first lock; each further failure doubles it")
	f.DurationVar(&p.LockMax, "login-lock-max", p.LockMax, "longest lock")
	f.StringVar(&sc.github.ClientID, "github-client-id", "", "GitHub OAuth app's client id: enables log-in with GitHub")
	f.StringVar(&sc.github.ClientSecret, "github-client-secret", "", "GitHub OAuth app's client secret")
	f.StringVar(&sc.oidc.Issuer, "oidc-issuer", "", "OpenID Connect issuer URL: enables log-in with that provider")
	f.StringVar(&sc.oidc.Name, "oidc-name", "oidc", "name of the OpenID Connect provider in usher's URLs and of its linked identities: letters, digits, ., - and _, not github")
	f.StringVar(&sc.oidc.ClientID, "oidc-client-id", "", "OpenID Connect client id")
	f.StringVar(&sc.oidc.ClientSecret, "oidc-client-secret", "", "OpenID Connect client secret")
	f.StringVar(&sc.blobURL, "blob-url", "", "where files (attachments, avatars, previews) are kept: a directory, file:///path, or "+
		"s3://bucket?endpoint=host:port&region=…&prefix=…&insecure=true with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "+
		"(default: the directory DATABASE.blobs next to a SQLite file, ./usher-blobs for PostgreSQL)")
	f.IntVar(&p.MaxAttachmentBytes, "max-upload", p.MaxAttachmentBytes, "largest file an upload may carry, in bytes")
	f.DurationVar(&sc.outboxEvery, "outbox-interval", 10*time.Second, "how often queued and retried mail is looked at")
	f.DurationVar(&p.MailGiveUp, "mail-give-up", p.MailGiveUp, "how long after it was queued a mail that still fails "+
		"is given up (a mail the recipient's server refuses for good is given up at once)")
	f.DurationVar(&p.KeepEnded, "keep-ended", p.KeepEnded, "how long revoked and expired tokens and sessions, finished script runs, "+
		"sent mail, deleted reminders and deleted teams and service accounts are kept before housekeeping deletes them for good")
	f.StringVar(&sc.trustedProxies, "trusted-proxies", "", "comma-separated CIDR prefixes of reverse proxies whose X-Forwarded-For, "+
		"Forwarded and X-Forwarded-Proto headers name the client (default: none; the peer is the client)")
	f.StringVar(&sc.allowedOrigins, "allowed-origins", "", "comma-separated origins (scheme://host[:port]) whose pages may call usher "+
		"from a browser, with credentials (CORS); default: none")
	f.StringVar(&sc.themeDir, "theme", "", "directory whose templates/*.html and static/* replace the hosted pages' own (see docs/ui.md)")
	f.StringVar(&sc.scriptsDir, "scripts", "", "directory of automation scripts (*.js) loaded at start-up and kept as its files say "+
		"(see docs/automation.md)")
	f.DurationVar(&p.ScriptTimeout, "script-timeout", p.ScriptTimeout, "longest run of a server script")
	f.IntVar(&sc.scriptHeap, "script-memory", p.ScriptHeapGrowth>>20, "MiB the heap may grow by while a server script runs")
	f.IntVar(&p.ScriptMaxSource, "script-max-size", p.ScriptMaxSource, "largest script source, in bytes")
	sc.tls.addFlags(f)
	f.StringVar(&sc.metricsAddr, "metrics-addr", "", "serve /metrics on this address only, e.g. 127.0.0.1:9090, and not on --addr "+
		"(default: on --addr)")
	f.StringVar(&sc.metricsToken, "metrics-token", "", "require this bearer token (Authorization: Bearer TOKEN) for /metrics; without it, /metrics on --addr answers only clients on this machine or a private network")
	f.StringVar(&sc.pprofAddr, "pprof-addr", "", "address to serve Go's runtime profiles on, at /debug/pprof/, unauthenticated: "+
		"keep it on loopback (default: off)")
	return cmd
}

// listenURL is the URL of the address usher listens on, for when no
// public URL is configured; an unspecified host becomes localhost.
func listenURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// serve runs the server until ctx ends, then shuts it down gracefully.
// log writes through logs when its lines wait there (nil when they do
// not).
func (m *Main) serve(ctx context.Context, log *slog.Logger, logs *lineBuffer, cfg *config, sc *serveConfig) error {
	start := time.Now()
	if sc.policy.KeepEnded < 0 {
		return fmt.Errorf("--keep-ended: %v is negative: housekeeping would delete tokens before they end", sc.policy.KeepEnded)
	}
	if sc.policy.MailGiveUp <= 0 {
		return fmt.Errorf("--mail-give-up: %v: give a positive time, such as 120h", sc.policy.MailGiveUp)
	}
	proxies, err := web.ParseProxies(sc.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	cors, err := web.NewCORS(sc.allowedOrigins)
	if err != nil {
		return fmt.Errorf("--allowed-origins: %w", err)
	}
	tlsConf, acmeMgr, err := sc.tls.config(cfg.database, log)
	if err != nil {
		return err
	}
	box, err := m.sealBox(cfg)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg.database, start)
	if err != nil {
		return err
	}
	defer db.Close()
	if d, err := parseDatabase(cfg.database); err == nil && d.path != "" {
		m.warnReadableFile(sqlite.File(d.path), "SQLite database")
	}
	ln, err := net.Listen("tcp", sc.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	if sc.policy.PublicURL == "" {
		sc.policy.PublicURL = listenURL(scheme, ln.Addr())
	}
	if acmeMgr != nil && sc.tls.acmeHTTP != "" {
		_, stop, err := serveACMEHTTP(ctx, acmeMgr, sc.tls.acmeHTTP, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	blobs, err := openBlobs(ctx, cfg.database, sc.blobURL)
	if err != nil {
		return err
	}
	metrics := newServeMetrics(sc.metricsToken, sc.metricsAddr == "", sc.policy.PublicURL)
	metrics.registerPools(db.Pools())
	hasher, stopHasher, err := startHasher(sc, m.Getenv, log)
	if err != nil {
		return err
	}
	defer stopHasher()
	// Keys derived in key processes take none of serve's memory.
	inProcess := hasher.Workers()
	if sc.hashProcess {
		inProcess = 0
	}
	defer setMemoryLimit(sc, inProcess, m.Getenv, log)()
	c, err := buildCore(ctx, db, box, blobs, hasher, sc, log, metrics.reg)
	if err != nil {
		return err
	}
	metric.RegisterBacklog(metrics.reg, c.Outbox.Backlog, time.Now, log)
	if sc.metricsAddr != "" {
		mctx, stop := context.WithCancel(ctx)
		wait, err := metrics.serveApart(mctx, sc.metricsAddr, log, m.MetricsStarted)
		if err != nil {
			stop()
			return err
		}
		defer func() { stop(); _ = wait() }()
	}
	if err := c.Auth.EnsureSigningKey(ctx); err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if sc.scriptsDir != "" {
		n, err := c.Scripts.LoadDir(ctx, os.DirFS(sc.scriptsDir))
		if err != nil {
			return fmt.Errorf("--scripts: %w", err)
		}
		log.InfoContext(ctx, "scripts loaded", "dir", sc.scriptsDir, "count", n)
	}
	srv := newHTTPServer(cors.Wrap(newHandler(c, db, log, sc.policy.PublicURL, proxies, sc.themeDir, metrics, sc.mailConfig())), log)
	srv.TLSConfig = tlsConf
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	if sc.pprofAddr != "" {
		if err := servePprof(bg, log, sc.pprofAddr); err != nil {
			stopBG()
			return err
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { c.Outbox.Run(bg, sc.outboxEvery) })
	wg.Go(func() { recoverImport(system(bg), c.Users, log) })
	defer func() {
		stopBG()
		wg.Wait()
	}()

	log.Info("listening", "addr", ln.Addr().String(), "database", redactSecretURL(cfg.database),
		"public_url", sc.policy.PublicURL, "trusted_proxies", sc.trustedProxies, "signup", sc.policy.SignupEnabled, "startup_ms", float64(time.Since(start).Microseconds())/1000)
	// Start-up's lines at once: whoever waits for "listening" (a
	// supervisor, a test) learns the address without the interval.
	_ = logs.Flush()
	if m.Started != nil {
		m.Started(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConf != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// recoverImport finishes, in the background, an import that was cut short
// before its end (usher import killed while it loaded an empty database),
// as the next usher import would: until then SQLite's search index misses
// the users it wrote, their addresses are unclaimed, and on PostgreSQL two
// foreign keys stay off (docs/import.md).
func recoverImport(ctx context.Context, users *core.Users, log *slog.Logger) {
	start := time.Now()
	found, err := users.ImportRecover(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		log.WarnContext(ctx, "stopped before an import cut short was finished; the next start finishes it", "err", err)
	case errors.Is(err, store.ErrLocked):
		log.WarnContext(ctx, "left an import cut short to the import finishing it; the next start finishes it otherwise", "err", err)
	case found && err != nil:
		log.ErrorContext(ctx, "finished an import that was cut short, but not its statistics", "err", err)
	case err != nil:
		log.ErrorContext(ctx, "an import cut short could not be finished; run usher import again", "err", err)
	case found:
		log.InfoContext(ctx, "finished an import that was cut short", "ms", time.Since(start).Milliseconds())
	}
}

// openBlobs opens the blob store the URL names; without one, a directory
// next to a SQLite database file, or ./usher-blobs.
func openBlobs(ctx context.Context, database, url string) (usher.BlobStore, error) {
	if url == "" {
		url = "usher-blobs"
		if db := strings.TrimPrefix(database, "sqlite:"); !strings.Contains(db, "://") {
			url = db + ".blobs"
		}
	}
	b, err := blob.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("--blob-url: %w", err)
	}
	return b, nil
}

// buildCore makes the core with its mail transport, log-in providers and
// blob store.
func buildCore(ctx context.Context, db store.Store, box *seal.Box, blobs usher.BlobStore, hasher *password.Hasher, sc *serveConfig, log *slog.Logger,
	reg prometheus.Registerer) (*core.Core, error) {
	var transport usher.Transport = mail.NewLog(log)
	mailDir := ""
	if sc.themeDir != "" {
		mailDir = filepath.Join(sc.themeDir, "mail")
	}
	letters, err := letter.New("usher", sc.mailLanguage, mailDir)
	if err != nil {
		return nil, fmt.Errorf("--theme, --mail-language: %w", err)
	}
	if sc.smtpURL != "" {
		smtp, err := mail.NewSMTP(sc.smtpURL, sc.mailFrom)
		if err != nil {
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
		if sc.themeDir != "" {
			if smtp.Layout, err = mail.NewLayout("usher", sc.mailLanguage, mailDir); err != nil {
				return nil, fmt.Errorf("--theme: %w", err)
			}
		}
		transport = smtp
		go checkMail(ctx, smtp, log)
	}
	var conns []usher.Connector
	public := sc.policy.PublicURL
	if sc.github.ClientID != "" {
		sc.github.RedirectURL = public + "/v1/auth/oauth/github/callback"
		gh, err := connector.NewGitHub(sc.github)
		if err != nil {
			return nil, fmt.Errorf("GitHub log-in: %w", err)
		}
		conns = append(conns, gh)
	}
	if sc.oidc.Issuer != "" {
		if err := checkOIDCName(sc.oidc.Name); err != nil {
			return nil, err
		}
		sc.oidc.RedirectURL = public + "/v1/auth/oauth/" + sc.oidc.Name + "/callback"
		o, err := connector.NewOIDC(ctx, sc.oidc)
		if err != nil {
			return nil, fmt.Errorf("OpenID Connect log-in: %w", err)
		}
		conns = append(conns, o)
	}
	metric.RegisterHasher(reg, hasher)
	return core.New(core.Config{
		Observer:   metric.NewObserver(reg),
		Store:      db,
		Hasher:     hasher,
		Policy:     sc.policy,
		Seal:       box,
		Connectors: conns,
		Transport:  transport,
		Letters:    letters,
		Blobs:      blobs,
		Logger:     log,
	}), nil
}

// mailConfig is the mail configuration the console's settings page
// shows: the transport, --smtp-url with its password hidden, the sender,
// the default language and the public URL mail links are built from.
func (sc *serveConfig) mailConfig() pages.MailConfig {
	mc := pages.MailConfig{Transport: "log", From: sc.mailFrom, Language: sc.mailLanguage, PublicURL: sc.policy.PublicURL}
	if sc.smtpURL == "" {
		return mc
	}
	mc.URL = redactSecretURL(sc.smtpURL)
	if u, err := url.Parse(sc.smtpURL); err == nil {
		mc.Transport, mc.Host = u.Scheme, u.Host
	}
	return mc
}

// newHandler wires the core and the faces into one handler. publicURL is
// where usher is reached from outside, for the links faces write and the
// origin browsers' requests must come from; proxies are the reverse
// proxies believed about the client; theme, when set, is the directory
// that overrides the hosted pages' templates and static files; metrics,
// when nil, a registry of the handler's own.
func newHandler(c *core.Core, db store.Store, log *slog.Logger, publicURL string, proxies *web.Proxies, theme string,
	metrics *serveMetrics, mailConfig pages.MailConfig) http.Handler {
	if metrics == nil {
		metrics = newServeMetrics("", true, publicURL)
	}
	mux := http.NewServeMux()
	ops := &web.Ops{Ready: db.Ready, Log: log}
	if metrics.onMain {
		ops.Metrics = metrics.handler
	}
	ops.Mount(mux)
	(&native.Handler{Users: c.Users, Auth: c.Auth, Audit: c.Audit, Stats: c.Stats, Groups: c.Groups, Orgs: c.Orgs, Apps: c.Apps, Instance: c.Instance, Plans: c.Plans,
		Keys: c.Keys, Emails: c.Emails, Settings: c.Settings, Avatars: c.Avatars, Reminders: c.Reminders, Attachments: c.Attachments, Scripts: c.Scripts, Log: log,
		SecureCookies: strings.HasPrefix(publicURL, "https://"), PublicURL: publicURL}).Mount(mux)
	(&pterodactyl.Handler{Users: c.Users, Auth: c.Auth, BaseURL: publicURL, Log: log}).Mount(mux)
	(&gitlab.Handler{Users: c.Users, Auth: c.Auth, Keys: c.Keys, Emails: c.Emails, BaseURL: publicURL, Log: log}).Mount(mux)
	(&lenses.Handler{Users: c.Users, Auth: c.Auth, Groups: c.Groups, Settings: c.Settings, Log: log,
		SecureCookies: strings.HasPrefix(publicURL, "https://"), PublicURL: publicURL}).Mount(mux)
	(&escape.Handler{Users: c.Users, Auth: c.Auth, Groups: c.Groups, Plans: c.Plans, Avatars: c.Avatars, Log: log,
		SecureCookies: strings.HasPrefix(publicURL, "https://"), PublicURL: publicURL, Version: readBuildInfo().Version}).Mount(mux)
	(&pages.Handler{Users: c.Users, Auth: c.Auth, Avatars: c.Avatars, Emails: c.Emails, Keys: c.Keys, Groups: c.Groups,
		Audit: c.Audit, Instance: c.Instance, Apps: c.Apps, Orgs: c.Orgs, Bulk: &userfile.Jobs{Users: c.Users, Log: log}, Log: log, ThemeDir: theme,
		SecureCookies: strings.HasPrefix(publicURL, "https://"), PublicURL: publicURL,
		Mail: c.Outbox, MailConfig: mailConfig}).Mount(mux)
	(&corteza.Handler{Users: c.Users, Auth: c.Auth, Groups: c.Groups, Apps: c.Apps, Settings: c.Instance, Reminders: c.Reminders,
		Attachments: c.Attachments, Stats: c.Stats, Audit: c.Audit, Orgs: c.Orgs, Scripts: c.Scripts, Log: log,
		PublicURL: publicURL}).Mount(mux)
	return web.Middleware(mux, log, web.NewMetrics(metrics.reg), proxies)
}

// checkOIDCName refuses an --oidc-name that is no path segment of
// letters, digits, ".", "-" and "_" (at most 64, not "." or ".."), or
// that is GitHub's ("github", in any case): linked identities are kept by
// their provider's name, and an OpenID Connect provider named github took
// GitHub's place, its subjects read as GitHub's user ids, now or once
// GitHub log-in is enabled.
func checkOIDCName(name string) error {
	const allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
	switch {
	case name == "" || len(name) > 64 || strings.Trim(name, allowed) != "" || name == "." || name == "..":
		return fmt.Errorf("--oidc-name: %q is not 1 to 64 letters, digits, \".\", \"-\" and \"_\"", name)
	case strings.EqualFold(name, "github"):
		return fmt.Errorf("--oidc-name: %q names the GitHub log-in; give the OpenID Connect provider another name", name)
	}
	return nil
}

// newHTTPServer returns a server of h with the bounds every listener of
// usher's keeps — the API's, and apart from it /metrics', the profiles'
// and the ACME challenges': a request's header within 64 KiB and 10 s,
// the whole request within 30 s, its answer within a minute, and a
// kept-alive connection closed after two idle minutes, so that
// connections opened and left by a slow or silent client do not pile up.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
