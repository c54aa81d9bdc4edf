package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"usher"
	"usher/core"
	"usher/password"
	"usher/seal"
	"usher/store/sqldb"
)

// Main is the program: its streams and environment are fields so that tests
// can run it in-process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Started, when set, is called by serve with the address it listens on.
	Started func(addr string)
	// MetricsStarted, when set, is called by serve with the address of
	// its metrics listener (--metrics-addr).
	MetricsStarted func(addr string)

	// started is set once the command line is parsed and a command runs.
	started bool
	// sources says where each flag of the command that runs took its
	// value: flag, env USHER_…, file or default.
	sources map[string]string
}

// config is what the commands share, from flags and USHER_* variables.
type config struct {
	database      string
	logLevel      string
	secretKeyFile string
	// file is the configuration file, if any.
	file string
}

// envNames maps the flags whose variable is not USHER_<FLAG_NAME>.
var envNames = map[string]string{"database": "USHER_DATABASE_URL"}

// envName is the environment variable that sets a flag.
func envName(flag string) string {
	if n, ok := envNames[flag]; ok {
		return n
	}
	return "USHER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Run runs the command line args.
func (m *Main) Run(ctx context.Context, args []string) error {
	root := m.root()
	root.SetArgs(args)
	root.SetIn(m.Stdin)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	m.started = false
	cmd, err := root.ExecuteContextC(ctx)
	// An error before the command started is about the command line: an
	// unknown command, a required flag missing, a malformed USHER_*
	// variable.
	_, isFile := errors.AsType[*configError](err)
	if _, ok := errors.AsType[*usageError](err); err != nil && !ok && !isFile && !m.started {
		return &usageError{err: err, cmd: cmd}
	}
	return err
}

func (m *Main) root() *cobra.Command {
	cfg := &config{}
	root := &cobra.Command{
		Use:           "usher",
		Short:         "usher is a self-hosted user and access management service",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return m.applySettings(cmd)
		},
		Version: readBuildInfo().Version,
	}
	root.SetVersionTemplate(versionTemplate())
	pf := root.PersistentFlags()
	pf.StringVar(&cfg.file, "config", "", "configuration file (YAML) of settings: each key a flag's name; flags and USHER_* variables override it")
	pf.StringVar(&cfg.database, "database", "usher.db",
		"database: a file path or sqlite:PATH for SQLite, a postgres:// URL for PostgreSQL (env USHER_DATABASE_URL)")
	pf.StringVar(&cfg.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&cfg.secretKeyFile, "secret-key-file", "",
		"file holding the key that seals secrets at rest, created if missing; default: the SQLite file's name + .key, "+
			"or ./usher.key (USHER_SECRET_KEY gives the key itself, in base64)")
	sc := newServeConfig()
	serve := m.serveCmd(cfg, sc)
	root.AddCommand(serve, m.configCmd(cfg, sc, serve), m.migrateCmd(cfg), m.userCmd(cfg), m.tokenCmd(cfg), m.keysCmd(cfg),
		m.importCmd(cfg), m.exportCmd(cfg), m.versionCmd(), m.groupCmd(cfg), m.auditCmd(cfg),
		m.backupCmd(cfg), m.restoreCmd(cfg), m.mailCmd(cfg), m.healthCmd(), m.hashKeysCmd())
	m.checkArgs(root)
	return root
}

// sealBox returns the box that seals secrets at rest: the key from
// USHER_SECRET_KEY, or from the key file, created on first use. Replicas
// sharing a PostgreSQL database must share the key.
func (m *Main) sealBox(cfg *config) (*seal.Box, error) {
	if v := m.Getenv("USHER_SECRET_KEY"); v != "" {
		key, err := seal.ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("USHER_SECRET_KEY: %w", err)
		}
		return seal.New(key)
	}
	path := cfg.secretKeyFile
	if path == "" {
		path = "usher.key"
		if db := strings.TrimPrefix(cfg.database, "sqlite:"); !strings.Contains(db, "://") {
			path = db + ".key"
		}
	}
	key, err := seal.LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	m.warnReadableFile(path, "secret key file")
	return seal.New(key)
}

// logger writes JSON logs, or text when stderr is a terminal.
func (m *Main) logger(level string) (*slog.Logger, error) {
	log, _, err := m.bufferedLogger(level, 0)
	return log, err
}

// bufferedLogger is logger for a server: its JSON lines wait in memory up
// to flush and are written together (lineBuffer), those at warn or above
// at once with the lines before them; the caller closes the buffer. Text
// for a terminal, and a flush of 0, write each line at once, with no
// buffer (nil, which Flush and Close take).
func (m *Main) bufferedLogger(level string, flush time.Duration) (*slog.Logger, *lineBuffer, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	if f, ok := m.Stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(m.Stderr, opts)), nil, nil
		}
	}
	if flush <= 0 {
		return slog.New(slog.NewJSONHandler(m.Stderr, opts)), nil, nil
	}
	buf := newLineBuffer(m.Stderr, flush)
	return slog.New(flushOnWarn{slog.NewJSONHandler(buf, opts), buf}), buf, nil
}

// system returns ctx acting as usher itself, as the CLI does.
func system(ctx context.Context) context.Context {
	ctx = usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	return usher.WithRequest(ctx, usher.Request{ID: "cli", UserAgent: "usher-cli"})
}

// withCore opens the database, creating and migrating it, builds the core
// and runs fn as the system.
func (m *Main) withCore(ctx context.Context, cfg *config, fn func(ctx context.Context, c *core.Core) error) error {
	return m.runCore(ctx, cfg, openDB, core.Policy{}, password.DefaultParams, fn)
}

// withHashing is withCore with the core hashing at the argon2id
// parameters given, as the instance serving the database does: an import
// takes the hashes that cost no more than its own.
func (m *Main) withHashing(ctx context.Context, cfg *config, params password.Params, fn func(ctx context.Context, c *core.Core) error) error {
	return m.runCore(ctx, cfg, openDB, core.Policy{}, params, fn)
}

// withPolicy is withExisting with the policy p: the database must exist
// and be migrated already.
func (m *Main) withPolicy(ctx context.Context, cfg *config, p core.Policy, fn func(ctx context.Context, c *core.Core) error) error {
	return m.runCore(ctx, cfg, openExisting, p, password.DefaultParams, fn)
}

// withExisting is withCore on a database that must exist and be migrated
// already: it is neither created nor migrated.
func (m *Main) withExisting(ctx context.Context, cfg *config, fn func(ctx context.Context, c *core.Core) error) error {
	return m.runCore(ctx, cfg, openExisting, core.Policy{}, password.DefaultParams, fn)
}

// runCore opens the database with open, builds the core with the policy p
// (defaults where zero), hashing at params, and runs fn as the system.
func (m *Main) runCore(ctx context.Context, cfg *config, open func(context.Context, string, time.Time) (*sqldb.DB, error),
	p core.Policy, params password.Params, fn func(ctx context.Context, c *core.Core) error) error {
	db, err := open(ctx, cfg.database, time.Now())
	if err != nil {
		return err
	}
	defer db.Close()
	box, err := m.sealBox(cfg)
	if err != nil {
		return err
	}
	c := core.New(core.Config{Store: db, Hasher: password.NewHasher(params, password.Pool{Queue: 16}), Seal: box, Policy: p})
	return fn(system(ctx), c)
}

// describe turns a core error into a message for the terminal, naming each
// field problem.
func describe(err error) error {
	var e *usher.Error
	if !errors.As(err, &e) || e.Kind == usher.KindInternal {
		return err
	}
	msg := e.Message
	for _, f := range e.Fields[min(1, len(e.Fields)):] {
		msg += "; " + f.Field + ": " + f.Message
	}
	return errors.New(msg)
}
