package main

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 123456789, 1 << 40, 1<<63 + 12345} {
		lo, hi := bucketRange(bucketOf(v))
		if v < lo || v > hi {
			t.Errorf("bucketOf(%d): range [%d, %d] does not hold it", v, lo, hi)
		}
		if hi-lo > lo>>subBits {
			t.Errorf("bucketOf(%d): range [%d, %d] is wider than 1/%d of it", v, lo, hi, 1<<subBits)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.quantile(c.q)
		if d := got - c.want; d < -c.want/100 || d > c.want/100 {
			t.Errorf("quantile(%v) = %v, want %v within 1%%", c.q, got, c.want)
		}
	}
}

func TestCeilingBody(t *testing.T) {
	t.Parallel()
	for _, n := range []int{10, 11, 819, 4096} {
		if got := len(ceilingBody(n)); got != n {
			t.Errorf("len(ceilingBody(%d)) = %d", n, got)
		}
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	if got, err := pick(" me, search ,"); err != nil || len(got) != 2 || got[0] != "me" || got[1] != "search" {
		t.Errorf(`pick(" me, search ,") = %q, %v`, got, err)
	}
	if _, err := pick("me,nope"); err == nil {
		t.Error(`pick("me,nope") accepted an unknown scenario`)
	}
}

// TestDriveCutoff: a load's own cut-off, when it sets one, bounds its
// operations instead of the default's.
func TestDriveCutoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		cutoff time.Duration
		want   time.Duration
	}{
		{"default", 0, cutoff},
		{"its own", time.Minute, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var called time.Time
			var deadline time.Time
			window := 500 * time.Millisecond
			_, err := drive(context.Background(), loadSpec{workers: 1, window: window, cutoff: tc.cutoff},
				func(ctx context.Context, _ *rand.Rand) error {
					if called.IsZero() {
						called = time.Now()
						deadline, _ = ctx.Deadline()
					}
					time.Sleep(10 * time.Millisecond)
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			// The deadline is the window's end plus the cut-off, and the
			// first operation began within the window.
			if got := deadline.Sub(called); got < tc.want-100*time.Millisecond || got > tc.want+window {
				t.Errorf("operations end %s after the first began; want the cut-off, %s", got, tc.want)
			}
		})
	}
}

// TestScanSpec: search_scan runs one worker a core at most, never more
// than the run's concurrency, with a window and a cut-off long enough for
// scans of a million rows to finish.
func TestScanSpec(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{1, 32} {
		b := &bench{cfg: config{conc: conc, dur: 5 * time.Second, warmup: time.Second}}
		s := b.scanSpec()
		if s.workers != min(conc, runtime.NumCPU()) || s.window != 10*time.Second || s.cutoff != time.Minute || s.warmup != time.Second {
			t.Errorf("c=%d: %+v; want min(c, cores) workers, a 10s window, a minute's cut-off", conc, s)
		}
	}
}

// TestRate: the table's rates are whole numbers from ten a second, with
// two decimals below, so that a scan's 0.3 a second is not shown as 0.
func TestRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rps  float64
		want string
	}{
		{0, "0.00"}, {0.3, "0.30"}, {9.994, "9.99"}, {10, "10"}, {1027.4, "1027"},
	} {
		if got := rate(tc.rps); got != tc.want {
			t.Errorf("rate(%v) = %q, want %q", tc.rps, got, tc.want)
		}
	}
}

// TestHashBoundFastest: of two timings the limit takes the faster hash and
// the more hashes together, whichever came first, and its log-ins a second
// follow the faster hash.
func TestHashBoundFastest(t *testing.T) {
	t.Parallel()
	quiet := hashBound{one: 24 * time.Millisecond, cores: 2, together: 59}
	busy := hashBound{one: 75 * time.Millisecond, cores: 2, together: 48}
	for _, tc := range []struct {
		name string
		a, b hashBound
	}{
		{"busy, then quiet", busy, quiet},
		{"quiet, then busy", quiet, busy},
	} {
		got := tc.a.fastest(tc.b)
		if got.one != 24*time.Millisecond || got.together != 59 || got.cores != 2 {
			t.Errorf("%s: %+v, want one 24ms, together 59, 2 cores", tc.name, got)
		}
		if got.perSecond() < 83 || got.perSecond() > 84 {
			t.Errorf("%s: %.1f log-ins/s, want 2 ÷ 24 ms = 83.3", tc.name, got.perSecond())
		}
	}
}

// TestRedacted: a URL's password is never printed; what is no URL, or has
// no password, is printed as it is.
func TestRedacted(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://usher:s3cret@db:5432/usher?sslmode=disable": "postgres://usher:xxxxx@db:5432/usher?sslmode=disable",
		"mysql://root:hunter2@db/usher":                         "mysql://root:xxxxx@db/usher",
		"postgres://usher@db/usher":                             "postgres://usher@db/usher",
		"/tmp/usher.db":                                         "/tmp/usher.db",
	} {
		if got := redacted(in); got != want {
			t.Errorf("redacted(%q) = %q, want %q", in, got, want)
		}
	}
}
