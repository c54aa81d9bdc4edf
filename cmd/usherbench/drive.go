package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// cutoff is how long past its window a scenario waits for the operations
// still in flight, unless its loadSpec says otherwise. They are then
// cancelled and counted as timeouts, so a server that stalls fails its
// scenario instead of holding up the run.
const cutoff = 10 * time.Second

// An op is one operation a worker repeats: an HTTP request, a SQL query.
// It returns nil when it succeeded.
type op func(ctx context.Context, rng *rand.Rand) error

// loadSpec is how hard and how long to drive.
type loadSpec struct {
	workers int
	warmup  time.Duration // run, but not measured
	window  time.Duration // measured
	seed    uint64
	cutoff  time.Duration // the wait past the window; 0 for cutoff
}

// result is what one load measured.
type result struct {
	requests uint64        // operations started within the window, failed or not
	errors   uint64        // of which failed
	elapsed  time.Duration // from the window's start to the last operation's end
	hist     histogram     // latencies of the operations that succeeded
	errs     map[string]uint64
	rssKB    int64      // the usher process's resident memory when the scenario ended
	side     *result    // a load run beside this one: me_during_login_flood's log-ins
	hash     *hashBound // login's: the hash-bound limit, measured beside it
	note     string
	na       bool // the scenario does not apply to this run; note says why
}

// rps is the rate of operations that succeeded.
func (r *result) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests-r.errors) / r.elapsed.Seconds()
}

// drive runs fn in a closed loop on s.workers goroutines: each starts its
// next operation when the previous one has answered. Operations that start
// during the warm-up are not counted; those that start in the window are,
// to their end. Worker i draws from the same random sequence in every
// scenario, so two scenarios over the same pool ask the same things.
func drive(ctx context.Context, s loadSpec, fn op) (*result, error) {
	start := time.Now()
	from, until := start.Add(s.warmup), start.Add(s.warmup+s.window)
	if s.cutoff == 0 {
		s.cutoff = cutoff
	}
	opCtx, cancel := context.WithDeadline(ctx, until.Add(s.cutoff))
	defer cancel()
	ws := make([]*worker, s.workers)
	var wg sync.WaitGroup
	for i := range ws {
		w := &worker{rng: rand.New(rand.NewPCG(s.seed, uint64(i))), errs: map[string]uint64{}}
		ws[i] = w
		wg.Go(func() { w.loop(opCtx, fn, from, until) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &result{errs: map[string]uint64{}}
	last := from
	var stuck int
	for _, w := range ws {
		r.requests += w.requests
		r.errors += w.errors
		r.hist.merge(&w.hist)
		for k, v := range w.errs {
			r.errs[k] += v
		}
		last = later(last, w.last)
		if w.stuck {
			stuck++
		}
	}
	if r.requests == 0 {
		return nil, fmt.Errorf("no operation started in the %s window: %d of %d workers were still waiting for an answer from the warm-up %s after it, and were cut off",
			s.window, stuck, s.workers, s.cutoff)
	}
	r.elapsed = max(last.Sub(from), s.window)
	return r, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// worker is one closed loop; it keeps its own counts, merged at the end.
type worker struct {
	rng      *rand.Rand
	requests uint64
	errors   uint64
	hist     histogram
	errs     map[string]uint64
	last     time.Time
	stuck    bool // its warm-up operation was cut off
}

// loop runs fn until the window ends. ctx ends at the cut-off: operations
// still running then fail.
func (w *worker) loop(ctx context.Context, fn op, from, until time.Time) {
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(until) {
			return
		}
		err := fn(ctx, w.rng)
		t1 := time.Now()
		if t0.Before(from) {
			w.stuck = ctx.Err() != nil
			continue
		}
		w.requests++
		w.last = t1
		if err != nil {
			w.errors++
			w.errs[errorClass(err)]++
			continue
		}
		w.hist.record(t1.Sub(t0))
	}
}
