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
// instead. It returns f itself, and the error, when it cannot: reads
// through f are as right, only slower. O_NONBLOCK belongs to the open
// pipe, so f's own reads would no longer block: f is not to be read
// afterwards.
//
// Only a pipe is made pollable: a terminal's or another file's flag would
// be changed for every process sharing it, and Pollable returns any other
// file as it is.
func Pollable(f *os.File) (*os.File, error) {
	fi, err := f.Stat()
	if err != nil {
		return f, err
	}
	if fi.Mode()&os.ModeNamedPipe == 0 {
		return f, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return f, err
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
		return f, err
	}
	if derr != nil {
		return f, derr
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return f, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}
