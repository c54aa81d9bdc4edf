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

// TestPollable: a pipe as a key process gets it on its standard input,
// blocking, is one the runtime cannot poll (a read deadline is refused);
// the file Pollable makes of it takes one, a read with nothing to read
// ends at it, and it reads what is then written, as the pipe would.
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
	p, err := Pollable(r)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
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
	// r's descriptor is its own: closing p left it open.
	p.Close()
	if err := r.Close(); err != nil {
		t.Fatalf("closing the original after Pollable's: %v", err)
	}
}

// TestPollableLeavesOtherFiles: a file that is no pipe (a regular file
// here; a terminal alike) comes back as it is, its flags unchanged: the
// flag would be changed for every process sharing the open file.
func TestPollableLeavesOtherFiles(t *testing.T) {
	t.Parallel()
	f, err := os.CreateTemp(t.TempDir(), "in")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Pollable(f)
	if err != nil || p != f {
		t.Fatalf("Pollable of a regular file: %p, %v; want the file itself", p, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ferr error
	if err := rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil {
		t.Fatal(err, ferr)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Fatalf("the regular file's flags are %o: O_NONBLOCK set", flags)
	}
}
