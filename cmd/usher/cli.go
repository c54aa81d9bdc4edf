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
	"github.com/spf13/pflag"

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
}

// config is what the commands share, from flags and USHER_* variables.
type config struct {
	database      string
	logLevel      string
	secretKeyFile string
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
	if _, ok := errors.AsType[*usageError](err); err != nil && !ok && !m.started {
		return &usageError{err: err, cmd: cmd}
	}
	return err
}

// applyEnv sets every flag the command line left alone from its USHER_*
// variable, parsed like the flag itself.
func (m *Main) applyEnv(cmd *cobra.Command) error {
	var errs []error
	apply := func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		if v := m.Getenv(envName(f.Name)); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(f.Name), err))
			}
		}
	}
	cmd.Flags().VisitAll(apply)
	cmd.InheritedFlags().VisitAll(apply)
	return errors.Join(errs...)
}

func (m *Main) root() *cobra.Command {
	cfg := &config{}
	root := &cobra.Command{
		Use:           "usher",
		Short:         "usher is a self-hosted user and access management service",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return m.applyEnv(cmd)
		},
		Version: readBuildInfo().Version,
	}
	root.SetVersionTemplate(versionTemplate())
	pf := root.PersistentFlags()
	pf.StringVar(&cfg.database, "database", "usher.db",
		"database: a file path or sqlite:PATH for SQLite, a postgres:// URL for PostgreSQL (env USHER_DATABASE_URL)")
	pf.StringVar(&cfg.logLevel, "log-level", "info", "log level: debug, info, warn or error (env USHER_LOG_LEVEL)")
	pf.StringVar(&cfg.secretKeyFile, "secret-key-file", "",
		"file holding the key that seals secrets at rest, created if missing; default: the SQLite file's name + .key, "+
			"or ./usher.key (env USHER_SECRET_KEY_FILE; USHER_SECRET_KEY gives the key itself, in base64)")
	root.AddCommand(m.serveCmd(cfg), m.migrateCmd(cfg), m.userCmd(cfg), m.tokenCmd(cfg), m.jwtCmd(cfg),
		m.importCmd(cfg), m.exportCmd(cfg), m.versionCmd(), m.groupCmd(cfg), m.auditCmd(cfg),
		m.backupCmd(cfg), m.restoreCmd(cfg), m.mailCmd(cfg), m.healthCmd())
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
	return seal.New(key)
}

// logger writes JSON logs, or text when stderr is a terminal.
func (m *Main) logger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	if f, ok := m.Stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(m.Stderr, opts)), nil
		}
	}
	return slog.New(slog.NewJSONHandler(m.Stderr, opts)), nil
}

// system returns ctx acting as usher itself, as the CLI does.
func system(ctx context.Context) context.Context {
	ctx = usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	return usher.WithRequest(ctx, usher.Request{ID: "cli", UserAgent: "usher-cli"})
}

// withCore opens the database, creating and migrating it, builds the core
// and runs fn as the system.
func (m *Main) withCore(ctx context.Context, cfg *config, fn func(ctx context.Context, c *core.Core) error) error {
	return m.runCore(ctx, cfg, openDB, fn)
}

// withExisting is withCore on a database that must exist and be migrated
// already: it is neither created nor migrated.
func (m *Main) withExisting(ctx context.Context, cfg *config, fn func(ctx context.Context, c *core.Core) error) error {
	return m.runCore(ctx, cfg, openExisting, fn)
}

// runCore opens the database with open, builds the core and runs fn as the
// system.
func (m *Main) runCore(ctx context.Context, cfg *config, open func(context.Context, string, time.Time) (*sqldb.DB, error),
	fn func(ctx context.Context, c *core.Core) error) error {
	db, err := open(ctx, cfg.database, time.Now())
	if err != nil {
		return err
	}
	defer db.Close()
	box, err := m.sealBox(cfg)
	if err != nil {
		return err
	}
	c := core.New(core.Config{Store: db, Hasher: password.NewHasher(password.DefaultParams, 0, 16), Seal: box})
	return fn(system(ctx), c)
}

func (m *Main) jwtCmd(cfg *config) *cobra.Command {
	jwt := &cobra.Command{Use: "jwt", Short: "Manage the keys that sign JWTs"}
	jwt.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key and retire the others (they verify until their JWTs expire)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withCore(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				if err := c.Auth.RotateSigningKey(ctx); err != nil {
					return describe(err)
				}
				_, err := fmt.Fprintln(m.Stdout, "signing key rotated")
				return err
			})
		},
	})
	return jwt
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
