//go:build unix

package main

import (
	"os"
	"syscall"
)

// ownedByAnother reports whether the file st describes belongs to a user
// other than the one this process runs as.
func ownedByAnother(st os.FileInfo) bool {
	s, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(s.Uid) != os.Geteuid()
}
