package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustBox(t *testing.T) *Box {
	t.Helper()
	key, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	b := mustBox(t)
	secret := []byte("confirmation code 8Hq2ZkTr")
	s1, s2 := b.Seal(secret), b.Seal(secret)
	if s1 == s2 {
		t.Fatal("sealing twice gives the same text: the nonce is not random")
	}
	if strings.Contains(s1, "8Hq2ZkTr") {
		t.Fatal("the sealed text shows the secret")
	}
	got, err := b.Open(s1)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other := mustBox(t)
	tampered := s1[:len(s1)-2] + "AA"
	for _, bad := range []string{"", "s1.", "x" + s1, tampered, "s1.!!!"} {
		if _, err := b.Open(bad); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%q) = %v, want ErrOpen", bad, err)
		}
	}
	if _, err := other.Open(s1); !errors.Is(err, ErrOpen) {
		t.Fatalf("another key opened it: %v", err)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte key was taken")
	}
	if _, err := ParseKey("too short"); err == nil {
		t.Fatal("a bad key parsed")
	}
	path := filepath.Join(t.TempDir(), "usher.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", st.Mode(), err)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatal("the key file was not reused")
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("a garbage key file was accepted")
	}
}

// TestLoadOrCreateKeyAtOnce: processes started together on one key file
// (usher import and a usher export watching it, two replicas) all get the
// one key, never an error from reading the file before its key is in it.
func TestLoadOrCreateKeyAtOnce(t *testing.T) {
	t.Parallel()
	for round := range 50 {
		path := filepath.Join(t.TempDir(), "usher.key")
		keys := make([][]byte, 8)
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() { keys[i], errs[i] = LoadOrCreateKey(path) })
		}
		wg.Wait()
		if files, _ := os.ReadDir(filepath.Dir(path)); len(files) != 1 {
			t.Fatalf("round %d: %d files beside the key, want the key alone", round, len(files))
		}
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("round %d, caller %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: callers 0 and %d got different keys", round, i)
			}
		}
	}
}
