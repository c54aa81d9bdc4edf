//go:build unix

package main

import (
	"bytes"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestHashKeysLeavesItsInputAsItWas: hash-keys reads its requests through
// a descriptor of its own (password.Pollable) and leaves the file it was
// given as it found it: a regular file open (it closed it: round 62 of
// review), a pipe open and blocking again (it left it non-blocking, for
// the next reader of the same pipe, e.g. `{ usher hash-keys; cat; }`).
func TestHashKeysLeavesItsInputAsItWas(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, in *os.File) {
		t.Helper()
		var out, errOut bytes.Buffer
		m := &Main{Stdin: in, Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
		if err := m.Run(t.Context(), []string{hashKeysCommand}); err != nil {
			t.Fatalf("hash-keys: %v (%s)", err, errOut.String())
		}
	}
	t.Run("regular file", func(t *testing.T) {
		t.Parallel()
		f, err := os.CreateTemp(t.TempDir(), "in")
		if err != nil {
			t.Fatal(err)
		}
		run(t, f)
		if _, err := f.Stat(); err != nil {
			t.Errorf("the file after hash-keys: %v", err)
		}
		if err := f.Close(); err != nil {
			t.Errorf("closing the file after hash-keys: %v", err)
		}
	})
	t.Run("blocking pipe", func(t *testing.T) {
		t.Parallel()
		var fds [2]int
		if err := syscall.Pipe(fds[:]); err != nil {
			t.Fatal(err)
		}
		r := os.NewFile(uintptr(fds[0]), "in")
		// hash-keys reads until the pipe ends: its last writer closes a
		// moment after it starts, while it waits on the empty pipe.
		go func() { time.Sleep(50 * time.Millisecond); syscall.Close(fds[1]) }()
		run(t, r)
		flags, err := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFL, 0)
		if err != nil {
			t.Fatal(err)
		}
		if flags&unix.O_NONBLOCK != 0 {
			t.Errorf("the pipe is left O_NONBLOCK (flags %o) after hash-keys", flags)
		}
		if err := r.Close(); err != nil {
			t.Errorf("closing the pipe after hash-keys: %v", err)
		}
	})
}
