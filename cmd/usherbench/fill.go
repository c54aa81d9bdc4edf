package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"
)

// fillResult says how usher import filled the database with the
// generated users.
type fillResult struct {
	users   int           // generated users the database holds after the import
	failed  int           // generated users it does not hold
	elapsed time.Duration // the import's run, from exec to exit
	summary string        // what usher import said at the end
}

// usersPerSecond is the import's rate.
func (f *fillResult) usersPerSecond() float64 {
	if f.elapsed <= 0 {
		return 0
	}
	return float64(f.users) / f.elapsed.Seconds()
}

// importUsers writes the users to an NDJSON file in dir and times usher
// import of it, with usher serve not running. The caller counts what went
// in (users, failed).
func (u *usherCmd) importUsers(ctx context.Context, d *dataset, dir string) (*fillResult, error) {
	path := filepath.Join(dir, "users.ndjson")
	if err := d.writeNDJSON(path); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	start := time.Now()
	_, stderr, err := u.run(ctx, "", "import", path)
	f := &fillResult{elapsed: time.Since(start), summary: lastLines(stderr, 1)}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		// Some lines failed and the rest went in: the run goes on, and
		// the report counts what is missing.
		f.summary = lastLines(stderr, 3)
	} else if err != nil {
		return nil, err
	}
	return f, nil
}
