package password

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/argon2"
)

// keyProcessEnv, set in a child's environment, makes the test binary a
// key process (TestMain).
const keyProcessEnv = "USHER_TEST_KEY_PROCESS"

func TestMain(m *testing.M) {
	if os.Getenv(keyProcessEnv) == "1" {
		if err := ServeKeys(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// small are argon2id parameters cheap enough for many keys in a test.
var small = request{time: 1, memory: 64, threads: 1, keyLen: 32}

// with returns r for another password and salt.
func (r request) with(pw, salt string) request { r.pw, r.salt = []byte(pw), []byte(salt); return r }

func (r request) want() []byte {
	return argon2.IDKey(r.pw, r.salt, r.time, r.memory, r.threads, r.keyLen)
}

// TestServeKeys: a key process answers every request with the key
// argon2.IDKey derives, each under its id, and ends when its input does.
func TestServeKeys(t *testing.T) {
	t.Parallel()
	reqs := []request{small.with("a", "saltsalt"), small.with("b", "saltsalt"), {time: 2, memory: 256, threads: 2, keyLen: 64, pw: []byte("c"), salt: []byte("another salt")}}
	var in []byte
	for i, r := range reqs {
		r.id = uint32(100 + i)
		in = appendRequest(in, r)
	}
	var out bytes.Buffer
	if err := ServeKeys(bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := map[uint32][]byte{}
	for {
		b, err := readFrame(&out)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[binary.BigEndian.Uint32(b)] = b[idSize:]
	}
	if len(got) != len(reqs) {
		t.Fatalf("%d answers to %d requests", len(got), len(reqs))
	}
	for i, r := range reqs {
		if k := got[uint32(100+i)]; !bytes.Equal(k, r.want()) {
			t.Errorf("request %d: key %x, want %x", i, k, r.want())
		}
	}
}

// TestKeyFramesRefused: a request or a frame out of bounds ends a key
// process with ErrFrame before it derives anything.
func TestKeyFramesRefused(t *testing.T) {
	t.Parallel()
	frame := func(r request) []byte { return appendRequest(nil, r) }
	salted := small.with("pw", "saltsalt")
	body := frame(salted)
	tests := []struct {
		name string
		in   []byte
	}{
		{"no time", frame(request{memory: 64, threads: 1, keyLen: 32})},
		{"too many passes", frame(request{time: maxTime + 1, memory: 64, threads: 1, keyLen: 32})},
		{"no threads", frame(request{time: 1, memory: 64, keyLen: 32})},
		{"memory under 8 a thread", frame(request{time: 1, memory: 15, threads: 2, keyLen: 32})},
		{"too much memory", frame(request{time: 1, memory: maxMemory + 1, threads: 1, keyLen: 32})},
		{"short key", frame(request{time: 1, memory: 64, threads: 1, keyLen: 3})},
		{"long key", frame(request{time: 1, memory: 64, threads: 1, keyLen: maxKeyLen + 1})},
		{"salt past the frame", func() []byte {
			b := frame(salted)
			binary.BigEndian.PutUint32(b[4+17:], 1000)
			return b
		}()},
		{"short request", []byte{0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 1}},
		{"frame under an id", []byte{0, 0, 0, 2, 0, 0}},
		{"frame over the limit", binary.BigEndian.AppendUint32(nil, maxFrame+1)},
		{"cut short", body[:len(body)-1]},
		{"length cut short", []byte{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := ServeKeys(bytes.NewReader(tt.in), &out); !errors.Is(err, ErrFrame) {
				t.Fatalf("ServeKeys: %v, want ErrFrame", err)
			}
			if out.Len() != 0 {
				t.Fatalf("answered %d bytes", out.Len())
			}
		})
	}
}

// FuzzParseRequest: any frame body is refused or parsed into a request
// that writes back as the same body.
func FuzzParseRequest(f *testing.F) {
	f.Add(appendRequest(nil, small.with("pw", "saltsalt"))[4:])
	f.Add([]byte{})
	f.Add(make([]byte, headerSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRequest(b)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("error %v is no ErrFrame", err)
			}
			return
		}
		if again := appendRequest(nil, r)[4:]; !bytes.Equal(again, b) {
			t.Fatalf("parsed %+v writes %x, read from %x", r, again, b)
		}
	})
}

// childCommand makes the test binary a key process; starts counts them.
func childCommand(starts *atomic.Int32) func() *exec.Cmd {
	return func() *exec.Cmd {
		starts.Add(1)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), keyProcessEnv+"=1")
		cmd.Stderr = os.Stderr
		return cmd
	}
}

// TestProcesses: keys asked at once are derived by one child process, as
// argon2.IDKey derives them; a child that dies is reported and replaced,
// and the keys it was asked for are derived all the same; Close ends it.
func TestProcesses(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	var failures []error
	var mu sync.Mutex
	ps := NewProcesses(childCommand(&starts), func(err error) { mu.Lock(); failures = append(failures, err); mu.Unlock() })
	derive := func(t *testing.T, n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				r := small.with(fmt.Sprint("pw", i), "saltsalt")
				key, err := ps.Key(r.pw, r.salt, r.time, r.memory, r.threads, r.keyLen)
				if err != nil || !bytes.Equal(key, r.want()) {
					errs <- fmt.Errorf("key %d: %x, %v", i, key, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	derive(t, 8)
	if n := starts.Load(); n != 1 {
		t.Fatalf("%d children started for keys asked at once, want 1", n)
	}
	ps.mu.Lock()
	first := ps.child
	ps.mu.Unlock()
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.done
	derive(t, 4)
	mu.Lock()
	failed := len(failures)
	mu.Unlock()
	if failed != 1 || starts.Load() != 2 {
		t.Fatalf("after the child died: %d failures reported (want 1), %d children started (want 2)", failed, starts.Load())
	}
	ps.mu.Lock()
	second := ps.child
	ps.mu.Unlock()
	ps.Close()
	if second.cmd.ProcessState == nil || !second.cmd.ProcessState.Exited() {
		t.Fatalf("the child after Close: %v", second.cmd.ProcessState)
	}
	if _, err := ps.Key(small.pw, []byte("saltsalt"), 1, 64, 1, 32); !errors.Is(err, ErrClosed) {
		t.Fatalf("a key after Close: %v", err)
	}
}

// TestProcessesWithoutChild: when no child can be started the keys are
// derived here, the failure reported once, and no child tried again for a
// while.
func TestProcessesWithoutChild(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	var failures atomic.Int32
	ps := NewProcesses(func() *exec.Cmd {
		starts.Add(1)
		return exec.Command("/nonexistent/usher", "hash-keys")
	}, func(error) { failures.Add(1) })
	defer ps.Close()
	for i := range 3 {
		r := small.with(fmt.Sprint("pw", i), "saltsalt")
		key, err := ps.Key(r.pw, r.salt, r.time, r.memory, r.threads, r.keyLen)
		if err != nil || !bytes.Equal(key, r.want()) {
			t.Fatalf("key %d: %x, %v", i, key, err)
		}
	}
	if starts.Load() != 1 || failures.Load() != 1 {
		t.Fatalf("%d starts and %d failures reported, want 1 and 1", starts.Load(), failures.Load())
	}
}

// TestHasherWithProcesses: a Hasher whose keys a child derives verifies
// the hashes one made in-process, and the reverse.
func TestHasherWithProcesses(t *testing.T) {
	t.Parallel()
	var starts atomic.Int32
	ps := NewProcesses(childCommand(&starts), func(err error) { t.Error(err) })
	defer ps.Close()
	p := Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	child, local := NewHasher(p, Pool{Workers: 1, Key: ps.Key}), NewHasher(p, Pool{Workers: 1})
	defer child.Close()
	defer local.Close()
	ctx := context.Background()
	for _, pair := range [][2]*Hasher{{child, local}, {local, child}} {
		h, err := pair[0].Hash(ctx, "correct horse")
		if err != nil {
			t.Fatal(err)
		}
		for pw, want := range map[string]bool{"correct horse": true, "wrong horse": false} {
			if ok, _, err := pair[1].Verify(ctx, pw, h); err != nil || ok != want {
				t.Fatalf("verify %q: %v, %v; want %v", pw, ok, err, want)
			}
		}
	}
	if err := child.Burn(ctx, "anything"); err != nil {
		t.Fatal(err)
	}
	if starts.Load() != 1 {
		t.Fatalf("%d children started", starts.Load())
	}
}
