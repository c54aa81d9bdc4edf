//go:build !linux

package password

// PerThreadNice reports whether the system sets niceness per thread, so
// that a Pool's Nice takes effect. Elsewhere than on Linux (where
// setpriority applies to the whole process) it does not: the workers run
// at the process's priority, and DefaultWorkers leaves a CPU to requests.
const PerThreadNice = false

// setThreadNice does nothing where niceness is not per thread.
func setThreadNice(int) error { return nil }
