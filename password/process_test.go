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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// keyProcessEnv, set in a child's environment, makes the test binary a
// key process (TestMain).
const keyProcessEnv = "USHER_TEST_KEY_PROCESS"

func TestMain(m *testing.M) {
	if os.Getenv(keyProcessEnv) == "1" {
		in, done, err := Pollable(os.Stdin)
		if err == nil {
			err = ServeKeys(in, os.Stdout)
		}
		done()
		if err != nil {
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
// argon2.IDKey derives them; a child that dies is reported, the keys it
// was asked for are derived here, as are those of the next minute, and
// then a new child is started; Close ends it.
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
	if failed != 1 || starts.Load() != 1 {
		t.Fatalf("after the child died: %d failures reported (want 1), %d children started (want 1: held back)", failed, starts.Load())
	}
	// A minute on, a new child.
	ps.mu.Lock()
	ps.now = func() time.Time { return time.Now().Add(retryStart) }
	ps.mu.Unlock()
	derive(t, 2)
	if starts.Load() != 2 {
		t.Fatalf("%d children started a minute after the first died, want 2", starts.Load())
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

// stoppedChild starts ps's child with a key, stops it (SIGSTOP) and
// returns it.
func stoppedChild(t *testing.T, ps *Processes) *child {
	t.Helper()
	// Starting the child (this test binary, under the race detector, on a
	// machine busy with other packages' tests) may take longer than the
	// short patience the test gives a stopped child: given up, the key was
	// derived here and no child was left to stop.
	patience := ps.patience
	ps.patience = time.Minute
	_, err := ps.Key([]byte("pw"), []byte("saltsalt"), 1, 64, 1, 32)
	ps.patience = patience
	if err != nil {
		t.Fatal(err)
	}
	ps.mu.Lock()
	c := ps.child
	ps.mu.Unlock()
	if c == nil {
		t.Fatal("no child answered the first key")
	}
	if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	waitStopped(t, c.cmd.Process.Pid)
	return c
}

// waitStopped waits until the process is stopped: kill(2) returns once
// SIGSTOP is sent, and a thread of the child on another CPU may meanwhile
// read the next request and answer it (1 run in about 20 did). Where
// there is no /proc to see the state, it gives the signal a moment.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			return
		}
		// The state follows the command's name, which is in parentheses.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'T' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child is not stopped 10 s after SIGSTOP: %s", stat)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestProcessesStoppedChild: a child that stops answering (stopped, hung)
// is given up after its time, killed, and the key derived here; a log-in
// waited for it for ever. Close kills one that does not end; serve's
// shutdown waited for it for ever.
func TestProcessesStoppedChild(t *testing.T) {
	t.Parallel()
	var starts, failures atomic.Int32
	ps := NewProcesses(childCommand(&starts), func(error) { failures.Add(1) })
	ps.patience = 200 * time.Millisecond
	c := stoppedChild(t, ps)
	r := small.with("pw", "saltsalt")
	done := make(chan []byte, 1)
	go func() { key, _ := ps.Key(r.pw, r.salt, r.time, r.memory, r.threads, r.keyLen); done <- key }()
	select {
	case key := <-done:
		if !bytes.Equal(key, r.want()) || failures.Load() != 1 {
			t.Fatalf("key %x with %d failures reported, want %x and 1", key, failures.Load(), r.want())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a key still waited for the stopped child after 10 s")
	}
	<-c.done // killed

	ps2 := NewProcesses(childCommand(&starts), nil)
	ps2.patience = 200 * time.Millisecond
	c2 := stoppedChild(t, ps2)
	closed := make(chan struct{})
	go func() { ps2.Close(); close(closed) }()
	select {
	case <-closed:
		if c2.cmd.ProcessState == nil {
			t.Fatal("Close returned before the child ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waited for the stopped child after 10 s")
	}
}

// TestProcessesFailingChildHeldBack: a child that starts and then fails (a
// binary replaced by one without hash-keys) is not started again at every
// key; and a key a child would refuse (parameters no stored hash may
// have) is derived here without one.
func TestProcessesFailingChildHeldBack(t *testing.T) {
	t.Parallel()
	var starts, failures atomic.Int32
	ps := NewProcesses(func() *exec.Cmd {
		starts.Add(1)
		return exec.Command("sh", "-c", "exit 1")
	}, func(error) { failures.Add(1) })
	defer ps.Close()
	for i := range 5 {
		r := small.with(fmt.Sprint("pw", i), "saltsalt")
		if key, err := ps.Key(r.pw, r.salt, r.time, r.memory, r.threads, r.keyLen); err != nil || !bytes.Equal(key, r.want()) {
			t.Fatalf("key %d: %x, %v", i, key, err)
		}
	}
	if starts.Load() != 1 || failures.Load() != 1 {
		t.Fatalf("5 keys: %d children started and %d failures reported, want 1 and 1", starts.Load(), failures.Load())
	}
	var refusedStarts atomic.Int32
	refusing := NewProcesses(childCommand(&refusedStarts), func(err error) { t.Error(err) })
	defer refusing.Close()
	r := request{time: maxTime + 1, memory: 8, threads: 1, keyLen: 32, pw: []byte("pw"), salt: []byte("saltsalt")}
	if key, err := refusing.Key(r.pw, r.salt, r.time, r.memory, r.threads, r.keyLen); err != nil || !bytes.Equal(key, r.want()) || refusedStarts.Load() != 0 {
		t.Fatalf("a key past the bounds: %x, %v, %d children started", key, err, refusedStarts.Load())
	}
}

// readsRecorder keeps every buffer a Read was given.
type readsRecorder struct {
	r    io.Reader
	bufs [][]byte
}

func (r *readsRecorder) Read(b []byte) (int, error) { r.bufs = append(r.bufs, b); return r.r.Read(b) }

// TestServeKeysLeavesNoPassword: once a key is answered, or a request
// refused, no buffer the key process read into holds the password; a
// buffered reader kept a copy.
func TestServeKeysLeavesNoPassword(t *testing.T) {
	t.Parallel()
	pw := []byte("correct horse battery staple")
	for name, r := range map[string]request{
		"answered": {id: 1, time: 1, memory: 64, threads: 1, keyLen: 32, salt: []byte("saltsalt"), pw: pw},
		"refused":  {id: 1, time: 0, memory: 64, threads: 1, keyLen: 32, salt: []byte("saltsalt"), pw: pw},
	} {
		rec := &readsRecorder{r: bytes.NewReader(appendRequest(nil, r))}
		_ = ServeKeys(rec, io.Discard)
		for _, b := range rec.bufs {
			if bytes.Contains(b[:cap(b)], pw) {
				t.Fatalf("%s: the password is left in a buffer the key process read into", name)
			}
		}
	}
}

// TestParamsValidate: parameters whose hashes could never be verified are
// refused before serve makes any.
func TestParamsValidate(t *testing.T) {
	t.Parallel()
	ok := DefaultParams
	for name, p := range map[string]Params{
		"no passes":      {Memory: ok.Memory, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		"too many":       {Memory: ok.Memory, Time: maxTime + 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"no threads":     {Memory: ok.Memory, Time: 2, Threads: 0, SaltLen: 16, KeyLen: 32},
		"little memory":  {Memory: 15, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32},
		"too much":       {Memory: maxMemory + 1, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		"short key":      {Memory: ok.Memory, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 15},
		"short salt":     {Memory: ok.Memory, Time: 2, Threads: 1, SaltLen: 7, KeyLen: 32},
		"very long salt": {Memory: ok.Memory, Time: 2, Threads: 1, SaltLen: 1025, KeyLen: 32},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: %+v validated", name, p)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("the defaults: %v", err)
	}
}

// TestProcessesStoppedChildLongRequest: a request larger than a pipe
// holds, sent to a stopped child, blocked its write, before any timer,
// and every key after it behind the write's lock; the write now has the
// same deadline as the answer.
func TestProcessesStoppedChildLongRequest(t *testing.T) {
	t.Parallel()
	var starts, failures atomic.Int32
	ps := NewProcesses(childCommand(&starts), func(error) { failures.Add(1) })
	ps.patience = 200 * time.Millisecond
	stoppedChild(t, ps)
	long, short := small.with(strings.Repeat("x", 200<<10), "saltsalt"), small.with("pw", "saltsalt")
	done := make(chan []byte, 2)
	for _, r := range []request{long, short} {
		go func() { k, _ := ps.Key(r.pw, r.salt, r.time, r.memory, r.threads, r.keyLen); done <- k }()
		// The long one first: its write holds the lock the short one's
		// waits for.
		time.Sleep(100 * time.Millisecond)
	}
	for i := range 2 {
		select {
		case k := <-done:
			if !bytes.Equal(k, long.want()) && !bytes.Equal(k, short.want()) {
				t.Fatalf("a wrong key %x", k)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 2 keys still waited for the stopped child after 10 s", 2-i)
		}
	}
}
