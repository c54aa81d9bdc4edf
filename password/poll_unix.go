//go:build unix

package password

import (
	"os"
	"syscall"
)

// Pollable returns a file reading what f reads through the runtime's
// poller, for ServeKeys: a descriptor of its own for f's, set
// non-blocking, which os.NewFile then polls. A key process's standard
// input is a blocking pipe, and a goroutine blocked reading it keeps its
// scheduler P in the system call: a derivation started just before would
// wait on that P's queue until sysmon took the P back, up to 10 ms later,
// a CPU left idle meanwhile. Reading through the poller parks the reader
// instead.
//
// O_NONBLOCK belongs to the open pipe, which f and every process sharing
// it see: done puts it back as it was and closes the new descriptor, and
// f is not to be read before. Only a pipe is made pollable; any other file
// (a terminal, a regular file) comes back as it is, with a done that does
// nothing, as does f when it cannot be made pollable, with the error:
// reads through f are as right, only slower.
func Pollable(f *os.File) (r *os.File, done func(), err error) {
	nothing := func() {}
	fi, err := f.Stat()
	if err != nil {
		return f, nothing, err
	}
	if fi.Mode()&os.ModeNamedPipe == 0 {
		return f, nothing, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return f, nothing, err
	}
	var fd int
	var derr error
	// As the os package does: no exec between the new descriptor and its
	// close-on-exec flag.
	syscall.ForkLock.RLock()
	err = rc.Control(func(s uintptr) {
		if fd, derr = syscall.Dup(int(s)); derr == nil {
			syscall.CloseOnExec(fd)
		}
	})
	syscall.ForkLock.RUnlock()
	if err != nil {
		return f, nothing, err
	}
	if derr != nil {
		return f, nothing, derr
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return f, nothing, err
	}
	p := os.NewFile(uintptr(fd), f.Name())
	return p, func() {
		if rc, err := p.SyscallConn(); err == nil {
			_ = rc.Control(func(s uintptr) { _ = syscall.SetNonblock(int(s), false) })
		}
		_ = p.Close()
	}, nil
}
