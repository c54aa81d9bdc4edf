package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
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

// TestHashProcess: with --hash-process serve's argon2id keys come from a
// child, this binary run as hash-keys with nothing of serve's environment
// but its memory limit, which ends when the hasher stops; a hash it made
// verifies.
func TestHashProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc to find the child in")
	}
	sc := &serveConfig{argon2: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		hashWorkers: 1, hashQueue: 4, hashProcess: true}
	h, stop, err := startHasher(sc, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	before := children(t)
	hash, err := h.Hash(t.Context(), "a passphrase")
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for _, pid := range children(t) {
		if !slices.Contains(before, pid) {
			child = pid
		}
	}
	if child == 0 {
		t.Fatal("no key process started")
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child))
	environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", child))
	if args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"); len(args) != 2 || args[1] != hashKeysCommand {
		t.Errorf("the key process runs %q", args)
	}
	// One worker: room for its key, the one done before and the next.
	if want := fmt.Sprintf("GOMEMLIMIT=%dKiB\x00", 16<<10+3*64); string(environ) != want {
		t.Errorf("the key process's environment is %q, want %q", environ, want)
	}
	// Its requests are read through the poller (password.Pollable): the
	// pipe on its standard input is non-blocking, a flag of the open pipe
	// its descriptors share.
	fdinfo, _ := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/0", child))
	var flags int64
	for line := range strings.Lines(string(fdinfo)) {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, _ = strconv.ParseInt(strings.TrimSpace(v), 8, 64)
		}
	}
	if flags&syscall.O_NONBLOCK == 0 {
		t.Errorf("the key process's standard input has flags %o, want O_NONBLOCK: a blocking read holds a derivation back", flags)
	}
	if ok, _, err := h.Verify(t.Context(), "a passphrase", hash); !ok || err != nil {
		t.Errorf("verify: %v, %v", ok, err)
	}
	stop()
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", child)); err == nil {
		t.Errorf("the key process %d outlived the hasher", child)
	}
}

// children lists this process's children, from every thread's list.
func children(t *testing.T) []int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// TestStartHasherRefusesUnverifiableParams: serve refuses argon2id
// parameters whose hashes it could never verify; it made them, and every
// password set with them failed at the next log-in.
func TestStartHasherRefusesUnverifiableParams(t *testing.T) {
	for name, p := range map[string]password.Params{
		"--argon2-time 101":      {Memory: 19456, Time: 101, Threads: 1, SaltLen: 16, KeyLen: 32},
		"--argon2-memory 4":      {Memory: 4, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		"--argon2-memory 300000": {Memory: 300000, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"--argon2-threads 0":     {Memory: 19456, Time: 2, Threads: 0, SaltLen: 16, KeyLen: 32},
	} {
		sc := &serveConfig{argon2: p, hashWorkers: 1, hashQueue: 4}
		if _, stop, err := startHasher(sc, func(string) string { return "" }, slog.New(slog.DiscardHandler)); err == nil {
			stop()
			t.Errorf("%s: started", name)
		}
	}
}
