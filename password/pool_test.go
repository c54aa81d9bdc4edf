package password

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// blocker is a job that says when a worker took it and returns when
// released.
type blocker struct{ started, release chan struct{} }

func newBlocker() blocker { return blocker{make(chan struct{}), make(chan struct{})} }

func (b blocker) fn() { close(b.started); <-b.release }

// waitStats polls h's stats until ok holds; a hash that never gets there
// fails the test after a generous deadline (no timing is asserted).
func waitStats(t *testing.T, h *Hasher, what string, ok func(Stats) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(h.Stats()); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; stats %+v", what, h.Stats())
		}
	}
}

// TestPool fills a pool of two workers and a queue of two, and checks
// each way a hash can go: run, queued, refused, cancelled while queued,
// and that the stats say so at every step.
func TestPool(t *testing.T) {
	t.Parallel()
	h := NewHasher(fast, Pool{Workers: 2, Queue: 2})
	t.Cleanup(h.Close)
	ctx := context.Background()
	done := make(chan error, 4)
	run := []blocker{newBlocker(), newBlocker()}
	for _, b := range run {
		go func() { done <- h.do(ctx, b.fn) }()
		<-b.started
	}
	if s := h.Stats(); s.Running != 2 || s.Waiting != 0 || s.Waits != 2 {
		t.Fatalf("stats with two running: %+v", s)
	}
	// A third hash waits for a worker; a fourth, cancellable, too.
	queued := newBlocker()
	go func() { done <- h.do(ctx, queued.fn) }()
	waitStats(t, h, "a third hash queued", func(s Stats) bool { return s.Waiting == 1 })
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() { cancelled <- h.do(cctx, func() { t.Error("a cancelled hash ran") }) }()
	waitStats(t, h, "a fourth hash queued", func(s Stats) bool { return s.Waiting == 2 })
	// The queue is full: a fifth is refused at once.
	if err := h.do(ctx, func() { t.Error("a refused hash ran") }); !errors.Is(err, ErrBusy) {
		t.Fatalf("fifth hash: %v, want ErrBusy", err)
	}
	if _, err := h.Hash(ctx, "refused"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash on a full queue: %v, want ErrBusy", err)
	}
	if s := h.Stats(); s.Running != 2 || s.Waiting != 2 || s.Refused != 2 || s.Waits != 2 {
		t.Fatalf("stats with two running, two waiting, two refused: %+v", s)
	}
	// Cancelling the fourth gives its place up: one waits again, and
	// there is room for another.
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled hash: %v, want context.Canceled", err)
	}
	if s := h.Stats(); s.Running != 2 || s.Waiting != 1 || s.Waits != 2 {
		t.Fatalf("stats once the queued hash was cancelled: %+v", s)
	}
	// Ending the running hashes lets the queued one run.
	for _, b := range run {
		close(b.release)
	}
	<-queued.started
	close(queued.release)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatalf("hash: %v", err)
		}
	}
	if s := h.Stats(); s.Running != 0 || s.Waiting != 0 || s.Waits != 3 || s.Refused != 2 || s.Waited <= 0 {
		t.Fatalf("stats once all ran: %+v", s)
	}
	if len(h.slots) != 0 {
		t.Fatalf("%d slots leaked", len(h.slots))
	}
	// A hash whose context has ended does not run, and holds no slot.
	if err := h.do(cctx, func() { t.Error("a hash with an ended context ran") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("hash with an ended context: %v", err)
	}
	// The hashes themselves run on the workers.
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, "correct horse", enc); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}

func TestPoolPanicAndClose(t *testing.T) {
	t.Parallel()
	h := NewHasher(fast, Pool{Workers: 1})
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the job's panic", p)
			}
		}()
		_ = h.do(context.Background(), func() { panic("boom") })
		t.Error("a job's panic did not reach its caller")
	}()
	// The worker survived the panic.
	if _, err := h.Hash(context.Background(), "after"); err != nil {
		t.Fatalf("hash after a panic: %v", err)
	}
	h.Close()
	if _, err := h.Hash(context.Background(), "closed"); !errors.Is(err, ErrClosed) {
		t.Fatalf("hash after Close: %v, want ErrClosed", err)
	}
	if s := h.Stats(); s.Running != 0 || s.Waiting != 0 {
		t.Fatalf("stats after Close: %+v", s)
	}
}

func TestDefaultWorkers(t *testing.T) {
	t.Parallel()
	less := max(1, runtime.NumCPU()-1)
	tests := []struct {
		name string
		nice int
		want int
	}{
		{"not niced", 0, less},
		{"niced", 19, map[bool]int{true: runtime.NumCPU(), false: less}[PerThreadNice]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := DefaultWorkers(tt.nice); got != tt.want {
				t.Fatalf("DefaultWorkers(%d) = %d, want %d", tt.nice, got, tt.want)
			}
			if got := NewHasher(fast, Pool{Nice: tt.nice}).Workers(); got != tt.want {
				t.Fatalf("a default pool at niceness %d has %d workers, want %d", tt.nice, got, tt.want)
			}
		})
	}
}
