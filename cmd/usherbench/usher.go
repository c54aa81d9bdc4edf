package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// buildUsher builds usher's command into dir and returns its path. It
// builds from the module the bench belongs to, wherever it is run from.
func buildUsher(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the bench from inside usher's module: go run ./cmd/usherbench")
	}
	bin := filepath.Join(dir, "usher")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/usher")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/usher: %w\n%s", err, out)
	}
	return bin, nil
}

// usherCmd runs usher's commands against one database.
type usherCmd struct {
	bin string
	db  *database
}

// run runs one usher command to its end, with stdin as its input, and
// returns what it printed.
func (u *usherCmd) run(ctx context.Context, stdin string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, u.bin, append(args, "--database", u.db.url)...)
	cmd.Env = append(os.Environ(), u.db.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		name := strings.Join(args[:min(2, len(args))], " ")
		return o.String(), e.String(), fmt.Errorf("usher %s: %w: %s", name, err, lastLines(e.String(), 5))
	}
	return o.String(), e.String(), nil
}

// createAdmin creates the administrator the bench asks as.
func (u *usherCmd) createAdmin(ctx context.Context, name string) error {
	_, _, err := u.run(ctx, benchPassword+"\n", "user", "create", "--username", name,
		"--email", name+"@bench.example", "--name", "Bench Admin", "--admin", "--password-stdin")
	return err
}

// token mints a token of the given kind for user.
func (u *usherCmd) token(ctx context.Context, user, kind string) (string, error) {
	out, _, err := u.run(ctx, "", "token", "create", "--user", user, "--name", "bench-"+kind, "--kind", kind)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(out)
	if tok == "" {
		return "", fmt.Errorf("usher token create --kind %s printed nothing", kind)
	}
	return tok, nil
}

// serve starts usher serve on the database, on a free port, and waits
// until /readyz answers; it returns the process and the time from exec to
// ready.
func (u *usherCmd) serve(ctx context.Context, logPath string, extra []string) (*proc, time.Duration, error) {
	// Files go to the run's directory, whatever the database.
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--database", u.db.url,
		"--blob-url", filepath.Join(filepath.Dir(logPath), "blobs")}, extra...)
	p, err := startProc(ctx, "usher serve", logPath, u.db.env, u.bin, args...)
	if err != nil {
		return nil, 0, err
	}
	took, err := p.waitReady(ctx)
	if err != nil {
		p.stop()
		return nil, 0, err
	}
	return p, took, nil
}

// serveArgs are the flags the bench gives usher serve: -serve-flags, and
// what the load needs beyond usher's defaults, with a note saying why.
func serveArgs(cfg config) (args []string, notes []string) {
	args = strings.Fields(cfg.serveFlags)
	if max(cfg.conc, cfg.flood) > 40 {
		// usher counts every log-in in flight against the client's
		// address until it succeeds; past 50 at once from one address it
		// takes them for a burst and locks the address, and every worker
		// here is on 127.0.0.1.
		args = append(args, "--login-max-failures-per-address=1000000")
		notes = append(notes, "usher serve got --login-max-failures-per-address=1000000: more than 50 log-ins "+
			"in flight from one address count as a burst and are answered 429")
	}
	return args, notes
}
