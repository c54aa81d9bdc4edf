package storetest

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Migrator is a database that applies its own migrations.
type Migrator interface {
	Migrate(ctx context.Context, now time.Time) ([]int, error)
	Close() error
}

// RunConcurrentMigrate opens several handles onto one fresh database, as
// replicas starting together would, and migrates from all of them at once:
// every migration must be applied exactly once and no handle may fail.
func RunConcurrentMigrate(t *testing.T, open func(t *testing.T) Migrator) {
	const n = 6
	handles := make([]Migrator, n)
	for i := range handles {
		handles[i] = open(t)
		t.Cleanup(func() { handles[i].Close() })
	}
	applied := make([][]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, h := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = h.Migrate(context.Background(), base)
		}()
	}
	wg.Wait()
	seen := map[int]int{}
	for i := range handles {
		if errs[i] != nil {
			t.Fatalf("handle %d: %v", i, errs[i])
		}
		for _, v := range applied[i] {
			seen[v]++
		}
	}
	if len(seen) == 0 {
		t.Fatal("no migration was applied")
	}
	for v, times := range seen {
		if times != 1 {
			t.Errorf("migration %d applied %d times", v, times)
		}
	}
	// Once more changes nothing.
	if again, err := handles[0].Migrate(context.Background(), base); err != nil || len(again) != 0 {
		t.Fatalf("second Migrate: %v, %v", again, err)
	}
}
