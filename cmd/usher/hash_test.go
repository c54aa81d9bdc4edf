package main

import (
	"log/slog"
	"runtime"
	"testing"

	"usher/password"
)

// TestStartHasher checks when serve adds the hash workers to GOMAXPROCS:
// only where they run niced and the operator did not set GOMAXPROCS; and
// that it puts GOMAXPROCS back when the hasher stops. It changes the
// process's GOMAXPROCS, so it does not run in parallel.
func TestStartHasher(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	tests := []struct {
		name       string
		nice       int
		workers    int
		gomaxprocs string
		want       int // GOMAXPROCS while the hasher runs
		wantErr    bool
	}{
		{"niced adds the workers", 19, 3, "", procs + map[bool]int{true: 3}[password.PerThreadNice], false},
		{"niced, default workers", 19, 0, "", procs + map[bool]int{true: runtime.NumCPU()}[password.PerThreadNice], false},
		{"GOMAXPROCS set by the operator", 19, 3, "7", procs, false},
		{"not niced", 0, 3, "", procs, false},
		{"niceness out of range", 20, 3, "", procs, true},
		{"negative niceness", -1, 3, "", procs, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &serveConfig{argon2: password.DefaultParams, hashWorkers: tt.workers, hashQueue: 4, hashNice: tt.nice}
			env := map[string]string{"GOMAXPROCS": tt.gomaxprocs}
			h, stop, err := startHasher(sc, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
			if tt.wantErr {
				if err == nil {
					stop()
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := runtime.GOMAXPROCS(0); got != tt.want {
				t.Errorf("GOMAXPROCS = %d while the hasher runs, want %d", got, tt.want)
			}
			if tt.workers > 0 && h.Workers() != tt.workers {
				t.Errorf("%d workers, want %d", h.Workers(), tt.workers)
			}
			stop()
			if got := runtime.GOMAXPROCS(0); got != procs {
				t.Errorf("GOMAXPROCS = %d after stop, want %d back", got, procs)
			}
		})
	}
}
