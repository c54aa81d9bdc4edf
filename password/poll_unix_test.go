//go:build unix

package password

import (
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nonblocking reports whether fd's open file is O_NONBLOCK.
func nonblocking(t *testing.T, fd uintptr) bool {
	t.Helper()
	flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.O_NONBLOCK != 0
}

// TestPollable: a pipe as a key process gets it on its standard input,
// blocking, is one the runtime cannot poll (a read deadline is refused);
// the file Pollable makes of it takes one, a read with nothing to read
// ends at it, and it reads what is then written, as the pipe would. done
// puts the pipe back to blocking, for whoever shares it, and closes only
// the descriptor Pollable made (round 62 of review: the caller's pipe was
// left non-blocking).
func TestPollable(t *testing.T) {
	t.Parallel()
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "in"), os.NewFile(uintptr(fds[1]), "out")
	defer w.Close()
	if err := r.SetReadDeadline(time.Now()); !errors.Is(err, os.ErrNoDeadline) {
		t.Fatalf("the blocking pipe took a read deadline (%v): not the case Pollable is for", err)
	}
	p, done, err := Pollable(r)
	if err != nil {
		t.Fatal(err)
	}
	if p == r {
		t.Fatal("Pollable returned the file it was given")
	}
	if err := p.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatalf("SetReadDeadline: %v, want a polled file", err)
	}
	buf := make([]byte, 8)
	if n, err := p.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of an empty pipe: %d bytes, %v; want the deadline's error", n, err)
	}
	if err := p.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("frame")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, err := io.ReadAll(p)
	if err != nil || string(got) != "frame" {
		t.Fatalf("read %q, %v; want \"frame\"", got, err)
	}
	done()
	if nonblocking(t, uintptr(fds[0])) {
		t.Error("the pipe is left O_NONBLOCK after done")
	}
	if err := r.Close(); err != nil {
		t.Fatalf("closing the original after done: %v", err)
	}
}

// TestPollableLeavesOtherFiles: a file that is no pipe (a regular file
// here; a terminal alike) comes back as it is, its flags unchanged: the
// flag would be changed for every process sharing the open file. done
// leaves it open: it is not Pollable's (round 62 of review: hash-keys
// closed a standard input that was no pipe).
func TestPollableLeavesOtherFiles(t *testing.T) {
	t.Parallel()
	f, err := os.CreateTemp(t.TempDir(), "in")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, done, err := Pollable(f)
	if err != nil || p != f {
		t.Fatalf("Pollable of a regular file: %p, %v; want the file itself", p, err)
	}
	done()
	if nonblocking(t, f.Fd()) {
		t.Fatal("the regular file is O_NONBLOCK")
	}
	if _, err := f.Stat(); err != nil {
		t.Fatalf("the file after done: %v", err)
	}
}
