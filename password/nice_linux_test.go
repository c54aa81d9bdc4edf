package password

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
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
