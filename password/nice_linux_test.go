package password

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// threadNice reads a thread's niceness from /proc/self/task/TID/stat: the
// 19th field, counting from the pid; the command name in parentheses may
// hold spaces, so fields are counted after its closing parenthesis.
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// f[0] is field 3 (state); nice is field 19.
	n, err := strconv.Atoi(f[19-3])
	if err != nil {
		t.Fatalf("stat of thread %d: %q: %v", tid, s, err)
	}
	return n
}

// TestWorkerNiceness runs jobs on a pool at niceness 7 and checks, in
// /proc, that each ran on a thread of niceness 7 other than the caller's,
// and that the caller's thread kept the process's niceness.
func TestWorkerNiceness(t *testing.T) {
	t.Parallel()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self := unix.Gettid()
	before := threadNice(t, self)
	const nice = 7
	if before >= nice {
		t.Skipf("the test runs at niceness %d already", before)
	}
	h := NewHasher(fast, Pool{Workers: 2, Nice: nice})
	t.Cleanup(h.Close)
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		var tid, got int
		if err := h.do(context.Background(), func() { tid = unix.Gettid(); got = threadNice(t, tid) }); err != nil {
			t.Fatal(err)
		}
		if tid == self {
			t.Fatalf("job %d ran on the caller's thread", i)
		}
		if got != nice {
			t.Fatalf("job %d ran on thread %d at niceness %d, want %d", i, tid, got, nice)
		}
		prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
		if err != nil {
			t.Fatal(err)
		}
		// x/sys/unix returns the system call's raw answer: 20 - niceness.
		if prio != 20-nice {
			t.Fatalf("getpriority(thread %d) = %d, want niceness %d", tid, prio, nice)
		}
	}
	if after := threadNice(t, self); after != before {
		t.Fatalf("the caller's thread went from niceness %d to %d", before, after)
	}
}

// TestKeyProcessNiceness: a key process started by a worker at niceness 7
// runs every thread of it at niceness 7, argon2id's goroutines included,
// which the worker's thread alone does not reach in serve's process.
func TestKeyProcessNiceness(t *testing.T) {
	t.Parallel()
	const nice = 7
	var starts atomic.Int32
	ps := NewProcesses(childCommand(&starts), func(err error) { t.Error(err) })
	t.Cleanup(ps.Close)
	h := NewHasher(fast, Pool{Workers: 1, Nice: nice, Key: ps.Key})
	t.Cleanup(h.Close)
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Hash(context.Background(), "a passphrase"); err != nil {
		t.Fatal(err)
	}
	ps.mu.Lock()
	pid := ps.child.cmd.Process.Pid
	ps.mu.Unlock()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("the key process's threads: %v", err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if f[19-3] != strconv.Itoa(nice) {
			t.Fatalf("thread %s of the key process runs at niceness %s, want %d", task.Name(), f[19-3], nice)
		}
	}
}
