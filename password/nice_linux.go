package password

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// PerThreadNice reports whether the system sets niceness per thread, so
// that a Pool's Nice takes effect: on Linux a thread's niceness is its own.
const PerThreadNice = true

// setThreadNice sets the calling thread's niceness; 0 leaves it as it is.
// Raising one's niceness needs no privilege.
func setThreadNice(nice int) error {
	if nice == 0 {
		return nil
	}
	if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice); err != nil {
		return fmt.Errorf("password: setting the hash workers' niceness to %d: %w", nice, err)
	}
	return nil
}
