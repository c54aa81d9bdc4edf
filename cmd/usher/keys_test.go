package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeysCommands: keys rotate makes a new current key and keeps the old
// one verifying for the longest JWT lifetime (its own flags' or the
// recorded one's), keys list shows it, keys
// prune keeps it while it may verify, and jwt is the commands' other name.
func TestKeysCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.db.key")
	common := []string{"--database", db, "--secret-key-file", key}
	mustRun(t, append([]string{"migrate"}, common...)...)
	runSteps(t, []step{
		{name: "no key before the first", args: []string{"keys", "list"}, stdout: "KID"},
		{name: "rotate makes the first", args: []string{"keys", "rotate"}, stdout: "signing key rotated"},
		{name: "rotate again", args: []string{"jwt", "rotate", "--impersonation-ttl", "2h"}, stdout: "signing key rotated"},
		{name: "prune keeps what may verify", args: []string{"keys", "prune"}, stdout: "0 signing key(s) pruned"},
		{name: "keys alone", args: []string{"keys"}, code: 2, stderr: "usage: usher keys COMMAND"},
		{name: "an argument", args: []string{"keys", "rotate", "now"}, code: 2, stderr: "usage: usher keys rotate [flags]"},
		{name: "a bad lifetime", args: []string{"keys", "prune", "--jwt-ttl", "soon"}, code: 2, stderr: "invalid argument"},
	}, common...)
	// The secret key file the first command made is its owner's only.
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v, %v", st, err)
	}
	// The rotation stored how long the retired key verifies, by its own
	// lifetimes: a list with others shows the same.
	var keys []keyRow
	jsonOut(t, &keys, append([]string{"keys", "list", "-o", "json", "--impersonation-ttl", "5m"}, common...)...)
	if len(keys) != 2 || keys[0].State != "retired" || keys[1].State != "current" || keys[0].VerifiesUntil == nil ||
		!keys[0].VerifiesUntil.Equal(keys[0].RetiredAt.Add(2*time.Hour+30*time.Second)) || keys[1].VerifiesUntil != nil {
		t.Fatalf("keys list: %+v", keys)
	}
	// The configuration file gives keys the server's lifetimes.
	file := writeFile(t, "usher.yaml", "impersonation-ttl: 3h\njwt-ttl: 5m\n")
	mustRun(t, append([]string{"keys", "rotate", "--config", file}, common...)...)
	jsonOut(t, &keys, append([]string{"keys", "list", "-o", "json"}, common...)...)
	if len(keys) != 3 || !keys[1].VerifiesUntil.Equal(keys[1].RetiredAt.Add(3*time.Hour+30*time.Second)) {
		t.Fatalf("keys list after a rotation with the file: %+v", keys)
	}
	out := mustRun(t, append([]string{"keys", "list"}, common...)...)
	if !strings.Contains(out, keys[0].ID+"  EdDSA") || !strings.Contains(out, "current") || !strings.Contains(out, "retired") {
		t.Fatalf("keys list table:\n%s", out)
	}
	// Another secret key cannot add keys the others cannot open.
	code, _, errOut := runExit(t, "", "keys", "rotate", "--database", db, "--secret-key-file", filepath.Join(dir, "other.key"))
	if code != 1 || !strings.Contains(errOut, "cannot be opened") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("rotate with another secret key: %d %q", code, errOut)
	}
}

// TestKeysNeedExistingDatabase: a keys command pointed at a database that
// does not exist (a forgotten --database) exits 1 and creates nothing,
// rather than rotating or listing the keys of a new, empty database.
func TestKeysNeedExistingDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.db.key")
	for _, args := range [][]string{{"keys", "list"}, {"keys", "prune"}, {"keys", "rotate"}} {
		code, out, errOut := runEnv(t, nil, append(args, "--database", db, "--secret-key-file", key)...)
		if code != 1 || !strings.Contains(errOut, "there is no database") {
			t.Errorf("%v: exit %d: %s%s", args, code, out, errOut)
		}
		for _, path := range []string{db, key} {
			if _, err := os.Stat(path); err == nil {
				t.Fatalf("%v created %s", args, path)
			}
		}
	}
}
