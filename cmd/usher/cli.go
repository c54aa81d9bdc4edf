package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"usher"
	"usher/core"
	"usher/face/native"
	"usher/password"
	"usher/seal"
	"usher/store/postgres"
	"usher/store/sqldb"
	"usher/store/sqlite"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// Main is the program: its streams and environment are fields so that tests
// can run it in-process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Started, when set, is called by serve with the address it listens on.
	Started func(addr string)
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
	return root.ExecuteContext(ctx)
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
	}
	pf := root.PersistentFlags()
	pf.StringVar(&cfg.database, "database", "usher.db",
		"database: a file path or sqlite:PATH for SQLite, a postgres:// URL for PostgreSQL (env USHER_DATABASE_URL)")
	pf.StringVar(&cfg.logLevel, "log-level", "info", "log level: debug, info, warn or error (env USHER_LOG_LEVEL)")
	pf.StringVar(&cfg.secretKeyFile, "secret-key-file", "",
		"file holding the key that seals secrets at rest, created if missing; default: the SQLite file's name + .key, "+
			"or ./usher.key (env USHER_SECRET_KEY_FILE; USHER_SECRET_KEY gives the key itself, in base64)")
	root.AddCommand(m.serveCmd(cfg), m.migrateCmd(cfg), m.userCmd(cfg), m.tokenCmd(cfg), m.jwtCmd(cfg),
		m.importCmd(cfg), m.exportCmd(cfg), m.versionCmd())
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

// openDB opens and migrates the database the URL names.
func openDB(ctx context.Context, url string, now time.Time) (*sqldb.DB, error) {
	var db *sqldb.DB
	var err error
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		db, err = postgres.Open(ctx, url)
	case strings.HasPrefix(url, "sqlite:"):
		db, err = sqlite.Open(strings.TrimPrefix(url, "sqlite:"))
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("--database: unknown scheme in %q; use a file path, sqlite:PATH or postgres://", redactURL(url))
	case strings.Contains(url, "=") && strings.Contains(url, " "):
		return nil, errors.New("--database: keyword=value connection strings are not supported; use a postgres:// URL")
	default:
		db, err = sqlite.Open(url)
	}
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx, now); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}

// system returns ctx acting as usher itself, as the CLI does.
func system(ctx context.Context) context.Context {
	ctx = usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	return usher.WithRequest(ctx, usher.Request{ID: "cli", UserAgent: "usher-cli"})
}

// withCore opens the database, builds the core and runs fn as the system.
func (m *Main) withCore(ctx context.Context, cfg *config, fn func(ctx context.Context, c *core.Core) error) error {
	box, err := m.sealBox(cfg)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg.database, time.Now())
	if err != nil {
		return err
	}
	defer db.Close()
	c := core.New(core.Config{Store: db, Hasher: password.NewHasher(password.DefaultParams, 0, 16), Seal: box})
	return fn(system(ctx), c)
}

func (m *Main) migrateCmd(cfg *config) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations that are not applied yet",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := openDB(cmd.Context(), cfg.database, time.Now())
			if err != nil {
				return err
			}
			defer db.Close()
			fmt.Fprintln(m.Stdout, "database is up to date")
			return nil
		},
	}
}

func (m *Main) userCmd(cfg *config) *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "Manage users"}
	var in usher.UserCreate
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user and print it as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if passwordStdin {
				if in.Password != "" {
					return errors.New("give --password or --password-stdin, not both")
				}
				line, err := bufio.NewReader(m.Stdin).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("read the password: %w", err)
				}
				in.Password = strings.TrimRight(line, "\r\n")
			}
			return m.withCore(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				u, err := c.Users.Create(ctx, in)
				if err != nil {
					return describe(err)
				}
				enc := json.NewEncoder(m.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(native.UserView(u))
			})
		},
	}
	f := create.Flags()
	f.StringVar(&in.Username, "username", "", "username (required)")
	f.StringVar(&in.Email, "email", "", "e-mail address")
	f.StringVar(&in.Password, "password", "", "password (visible to other local users in the process list; prefer --password-stdin)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.StringVar(&in.Name, "name", "", "full name")
	f.BoolVar(&in.Admin, "admin", false, "make the user an administrator")
	f.BoolVar(&in.EmailConfirmed, "confirmed", true, "mark the e-mail address confirmed")
	_ = create.MarkFlagRequired("username")
	user.AddCommand(create)
	return user
}

func (m *Main) tokenCmd(cfg *config) *cobra.Command {
	token := &cobra.Command{Use: "token", Short: "Manage tokens"}
	var (
		ref, name, kind string
		scopes          []string
		expires         time.Duration
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Mint a token for a user and print it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.withCore(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				key := usher.UserKey{Username: ref}
				if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
					key = usher.UserKey{ID: id}
				}
				u, err := c.Users.Get(ctx, key)
				if err != nil {
					return describe(err)
				}
				in := usher.TokenCreate{UserID: u.ID, Kind: usher.TokenKind(kind), Name: name, Scopes: scopes}
				if expires > 0 {
					t := time.Now().Add(expires)
					in.ExpiresAt = &t
				}
				_, text, err := c.Auth.CreateToken(ctx, in)
				if err != nil {
					return describe(err)
				}
				_, err = fmt.Fprintln(m.Stdout, text)
				return err
			})
		},
	}
	f := create.Flags()
	f.StringVar(&ref, "user", "", "username or id of the token's owner (required)")
	f.StringVar(&name, "name", "cli", "the token's name")
	f.StringVar(&kind, "kind", "personal", "personal, service_account or application")
	f.StringArrayVar(&scopes, "scope", nil, "a scope the token is limited to (repeatable): api, read_api, read_user, sudo")
	f.DurationVar(&expires, "expires", 0, "lifetime, e.g. 720h; none by default")
	_ = create.MarkFlagRequired("user")
	token.AddCommand(create)
	return token
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

func (m *Main) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(m.Stdout, "usher", buildVersion())
			return err
		},
	}
}

// buildVersion is the -ldflags version, or the module's, or "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
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
