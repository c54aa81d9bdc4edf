package sqldb

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCountCacheOneCountAtOnce: pages of one list asking at once wait for
// one count and are given it; it is kept; a failed count is not, and a
// caller that waited on it counts for itself.
func TestCountCacheOneCountAtOnce(t *testing.T) {
	t.Parallel()
	cc := newCountCache()
	ctx := context.Background()
	var counted atomic.Int32
	release := make(chan struct{})
	slow := func(context.Context) (int, error) {
		counted.Add(1)
		<-release
		return 42, nil
	}
	var wg sync.WaitGroup
	got := make([]int, 8)
	for i := range got {
		wg.Go(func() {
			n, err := cc.count(ctx, "users", slow)
			if err != nil {
				t.Error(err)
			}
			got[i] = n
		})
	}
	// Let the callers reach the count before it ends.
	for {
		cc.mu.Lock()
		_, busy := cc.counting["users"]
		cc.mu.Unlock()
		if busy {
			break
		}
	}
	close(release)
	wg.Wait()
	for i, n := range got {
		if n != 42 {
			t.Errorf("caller %d got %d", i, n)
		}
	}
	if n, err := cc.count(ctx, "users", func(context.Context) (int, error) { return 7, nil }); err != nil || n != 42 {
		t.Errorf("kept count: %d, %v; want 42", n, err)
	}
	// A caller arriving once the count is under way waits for it, and
	// one arriving after it ends is given the kept count.
	if c := counted.Load(); c != 1 {
		t.Errorf("%d counts, want 1", c)
	}
	boom := errors.New("boom")
	if _, err := cc.count(ctx, "groups", func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Errorf("failed count: %v", err)
	}
	if n, err := cc.count(ctx, "groups", func(context.Context) (int, error) { return 3, nil }); err != nil || n != 3 {
		t.Errorf("after a failure: %d, %v; want a new count", n, err)
	}
}

// TestCountCacheStale: past countTTL a kept count is given at once, not
// waited for, while one count in the background replaces it; the next
// caller after that count is given the new one.
func TestCountCacheStale(t *testing.T) {
	t.Parallel()
	cc := newCountCache()
	ctx, cancel := context.WithCancel(context.Background())
	cc.kept["users"] = keptCount{n: 1, at: time.Now().Add(-2 * countTTL)}
	var counted atomic.Int32
	release := make(chan struct{})
	slow := func(ctx context.Context) (int, error) {
		counted.Add(1)
		<-release
		// The request that started the count has ended; the count goes on.
		return 2, ctx.Err()
	}
	for range 3 {
		if n, err := cc.count(ctx, "users", slow); err != nil || n != 1 {
			t.Fatalf("stale count: %d, %v; want the kept 1 at once", n, err)
		}
	}
	cancel()
	close(release)
	for {
		cc.mu.Lock()
		_, busy := cc.counting["users"]
		cc.mu.Unlock()
		if !busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if n, err := cc.count(context.Background(), "users", slow); err != nil || n != 2 || counted.Load() != 1 {
		t.Errorf("after the refresh: %d, %v, %d counts; want 2 from one count", n, err, counted.Load())
	}
}
