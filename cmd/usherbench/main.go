// Command usherbench measures usher against this machine's own ceiling. It
// builds usher, fills a fresh database with users through `usher import`,
// starts `usher serve` on it as a child process, and drives closed-loop
// HTTP load at it from this process, one scenario at a time. Every
// scenario's throughput is reported as a ratio to the ceiling: a bare
// net/http server, in a process of its own, answering a fixed body of the
// size of GET /v1/me's answer. Targets are reported, never asserted.
//
//	go run ./cmd/usherbench                                  # SQLite, 100,000 users
//	go run ./cmd/usherbench -users 1000000 -json             # the full run, JSON lines
//	go run ./cmd/usherbench -database 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./cmd/usherbench -users 20000 -d 2s -scenarios ceiling,me,search,search_scan
//
// See docs/performance.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// adminName is the bench's administrator, who owns the tokens it asks with.
const adminName = "bench.admin"

// config is the command line.
type config struct {
	users      int
	conc       int
	dur        time.Duration
	warmup     time.Duration
	database   string
	json       bool
	scenarios  string
	flood      int
	serveFlags string
	seed       uint64
	keep       bool

	ceilingBody int // run as the ceiling's server instead
}

func main() {
	var cfg config
	flag.IntVar(&cfg.users, "users", 100_000, "users to fill the database with (1000000 for the full run)")
	flag.IntVar(&cfg.conc, "c", 32, "concurrent closed-loop workers per scenario")
	flag.DurationVar(&cfg.dur, "d", 5*time.Second, "measured duration of each scenario")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured warm-up before each scenario")
	flag.StringVar(&cfg.database, "database", "", "a postgres:// URL to run on PostgreSQL (in a schema of its own, dropped after); SQLite in a temporary directory when empty")
	flag.BoolVar(&cfg.json, "json", false, "print one JSON object per scenario on stdout (the table goes to stderr)")
	flag.StringVar(&cfg.scenarios, "scenarios", "", "comma-separated scenarios to run (default all): "+strings.Join(scenarioNames(), ","))
	flag.IntVar(&cfg.flood, "flood", 0, "log-in workers beside me_during_login_flood's (default -c)")
	flag.StringVar(&cfg.serveFlags, "serve-flags", "", "extra flags for usher serve, space-separated, e.g. \"--log-level warn\"")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated users and of the workers' choices")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the run's directory (database, NDJSON, logs) and PostgreSQL schema")
	flag.IntVar(&cfg.ceilingBody, "ceiling-body", 0, "internal: serve the ceiling, answering this many bytes")
	flag.Parse()
	if cfg.flood <= 0 {
		cfg.flood = cfg.conc
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	switch {
	case cfg.ceilingBody > 0:
		err = serveCeiling(ctx, cfg.ceilingBody)
	case cfg.users < 1 || cfg.conc < 1 || cfg.dur <= 0:
		err = errors.New("-users, -c and -d must be positive")
	default:
		err = run(ctx, cfg)
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = errors.New("interrupted; everything it started is stopped and removed")
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// progress tells the operator what the run is doing, on stderr.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// run is one whole bench run: build, fill, serve, load, report. Whatever
// it starts — processes, the directory, the PostgreSQL schema — it ends
// and removes before it returns, on an interrupt too.
func run(ctx context.Context, cfg config) error {
	began := time.Now()
	todo, err := pick(cfg.scenarios)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "usher-bench-")
	if err != nil {
		return fmt.Errorf("make the run's directory: %w", err)
	}
	defer func() {
		if cfg.keep {
			progress("kept %s", dir)
			return
		}
		os.RemoveAll(dir)
	}()

	progress("building usher")
	bin, err := buildUsher(ctx, dir)
	if err != nil {
		return err
	}
	db, err := newDatabase(ctx, cfg.database, dir)
	if err != nil {
		return err
	}
	if cfg.keep {
		progress("the database: %s", redacted(db.url))
	} else {
		defer func() {
			// The run's context may be cancelled already; the schema
			// goes all the same.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := db.drop(dctx); err != nil {
				progress("drop the database: %v", err)
			}
		}()
	}
	u := &usherCmd{bin: bin, db: db}
	b := &bench{cfg: cfg, dir: dir, db: db, cmd: u}
	if len(todo) == 0 || slices.Contains(todo, "login") {
		progress("timing argon2id hashes before the import")
		h := measureHashBound()
		b.quietHash = &h
	}
	rp := newReport(cfg, db.kind)
	if db.note != "" {
		rp.notes = append(rp.notes, db.note)
	}

	if rp.fill, err = b.fill(ctx, u); err != nil {
		return err
	}
	defer b.ro.Close()

	progress("starting usher on the filled database")
	srv, ready, err := u.serve(ctx, filepath.Join(dir, "usher.log"), rp.serveArgs)
	if err != nil {
		return err
	}
	defer srv.stop()
	rp.ready, rp.startup = ready, srv.startup
	if rp.rssIdle, _, _, err = srv.memory(); err != nil {
		return err
	}
	b.usher = newEndpoint(srv.addr, cfg.conc+cfg.flood)
	defer b.usher.close()
	if b.meBody, err = b.measureMe(ctx); err != nil {
		return err
	}
	rp.meBody = b.meBody

	if err := rp.measure(ctx, b, srv, todo); err != nil {
		return err
	}
	var children int
	if _, rp.rssPeak, children, err = srv.memory(); err != nil {
		return err
	}
	if children > 0 {
		rp.notes = append(rp.notes, fmt.Sprintf("usher RSS: usher serve's with its child processes' (%d: the key process), the peak "+
			"the sum of each one's, an upper bound (each counts the binary's pages they share)", children))
	}
	rp.total = time.Since(began)

	if cfg.json {
		if err := rp.writeTable(os.Stderr); err != nil {
			return err
		}
		return rp.writeJSON(os.Stdout)
	}
	return rp.writeTable(os.Stdout)
}

// measure runs the scenarios todo names (all when none) one after the
// other against usher serving as srv. A scenario that fails is reported
// as failed and the run goes on; usher dying ends it.
func (rp *report) measure(ctx context.Context, b *bench, srv *proc, todo []string) error {
	for _, s := range scenarios() {
		if len(todo) > 0 && !slices.Contains(todo, s.name) {
			continue
		}
		rp.ran = append(rp.ran, s)
		progress("%s: %s warm-up, %s measured", s.name, b.cfg.warmup, b.cfg.dur)
		r, err := s.run(ctx, b)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !srv.alive() {
			return fmt.Errorf("usher died during %s: %s\n%s", s.name, srv.cmd.ProcessState, lastLines(srv.log.tail(), 10))
		}
		if err != nil {
			rp.failures[s.name] = err.Error()
			progress("%s failed: %v", s.name, err)
			continue
		}
		r.rssKB, _, _, _ = srv.memory()
		rp.results[s.name] = r
		progress("%s: %.0f rps, p50 %s ms, p99 %s ms, %d errors", s.name, r.rps(),
			ms(r.hist.quantile(0.5)), ms(r.hist.quantile(0.99)), r.errors)
	}
	return nil
}

// scenarioNames lists the scenarios' names, in the order they run.
func scenarioNames() []string {
	var names []string
	for _, s := range scenarios() {
		names = append(names, s.name)
	}
	return names
}

// pick parses -scenarios into scenario names; none means all.
func pick(list string) ([]string, error) {
	var out []string
	known := scenarioNames()
	for n := range strings.SplitSeq(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("-scenarios: no scenario %q; there are %s", n, strings.Join(known, ", "))
		}
		out = append(out, n)
	}
	return out, nil
}

// fill fills the database with the generated users through usher
// import, into a database with no user yet, as the import target is set
// for; then makes the bench's administrator and its tokens and learns the
// imported users' ids from the database. It leaves b.ro open.
func (b *bench) fill(ctx context.Context, u *usherCmd) (*fillResult, error) {
	progress("generating %d users", b.cfg.users)
	var err error
	if b.data, err = generate(b.cfg.users, b.cfg.seed); err != nil {
		return nil, err
	}
	progress("importing %d users with usher import", b.cfg.users)
	f, err := u.importUsers(ctx, b.data, b.dir)
	if err != nil {
		return nil, err
	}
	if err := u.createAdmin(ctx, adminName); err != nil {
		return nil, err
	}
	if b.token, err = u.token(ctx, adminName, "personal"); err != nil {
		return nil, err
	}
	if b.appToken, err = u.token(ctx, adminName, "application"); err != nil {
		return nil, err
	}
	if b.ro, err = b.db.openReadOnly(b.cfg.conc); err != nil {
		return nil, err
	}
	if b.ids, b.names, err = liveUsers(ctx, b.ro, adminName); err != nil {
		b.ro.Close()
		return nil, fmt.Errorf("list the imported users: %w", err)
	}
	if len(b.ids) == 0 {
		b.ro.Close()
		return nil, fmt.Errorf("the database holds no users after the import: %s", f.summary)
	}
	f.users, f.failed = len(b.ids), b.cfg.users-len(b.ids)
	progress("imported %d users in %.1fs", f.users, f.elapsed.Seconds())
	return f, nil
}

// measureMe asks GET /v1/me once, to check the token and learn the size of
// its answer.
func (b *bench) measureMe(ctx context.Context) (int, error) {
	body, err := b.usher.do(ctx, call{method: http.MethodGet, path: "/v1/me", auth: [2]string{"Authorization", "Bearer " + b.token}})
	if err != nil {
		return 0, fmt.Errorf("GET /v1/me: %w: %s", err, body)
	}
	return len(body), nil
}
