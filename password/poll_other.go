//go:build !unix

package password

import "os"

// Pollable returns f: elsewhere than on Unix a key process reads its
// standard input as it is.
func Pollable(f *os.File) (r *os.File, done func(), err error) { return f, func() {}, nil }
