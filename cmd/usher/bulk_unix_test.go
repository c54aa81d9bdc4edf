//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestExportOverWhatIsNoFileOfOurs: an export is written through what is
// no regular file as it is — its mode is not the export's to change (as
// root, usher export /dev/null made it 0600 for everyone else) — and over
// a file another user owns not at all: made 0600, it would still be that
// user's to read, and an operator running as root may be led to it by a
// link in a shared directory.
func TestExportOverWhatIsNoFileOfOurs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.key")
	mustRun(t, "user", "create", "--database", db, "--secret-key-file", key, "--username", "ann",
		"--email", "ann@example.com", "--password", "correct horse battery")
	// A FIFO, as a device or a terminal would be.
	fifo := filepath.Join(dir, "users.fifo")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Chmod(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte, 1)
	go func() {
		text, _ := os.ReadFile(fifo)
		read <- text
	}()
	mustRun(t, "export", "--database", db, "--secret-key-file", key, "--format", "ndjson", fifo)
	if text := <-read; !strings.Contains(string(text), "ann@example.com") {
		t.Fatalf("the export through a FIFO:\n%s", text)
	}
	if st, err := os.Stat(fifo); err != nil || st.Mode().Perm() != 0o666 {
		t.Fatalf("the FIFO after the export: %v, %v; want its mode 0666 kept", st.Mode(), err)
	}
	// A file another user owns, through a link.
	if os.Geteuid() != 0 {
		t.Skip("making a file another user's needs root")
	}
	theirs, link := filepath.Join(dir, "theirs.csv"), filepath.Join(dir, "link.csv")
	if err := os.WriteFile(theirs, []byte("theirs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(theirs, link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "", "export", "--database", db, "--secret-key-file", key, link); err == nil || !strings.Contains(err.Error(), "another user") {
		t.Fatalf("the export over another user's file: %v, want it refused", err)
	}
	if text, _ := os.ReadFile(theirs); string(text) != "theirs\n" {
		t.Fatalf("another user's file after a refused export:\n%s", text)
	}
}
