package password

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// KeyFunc derives an argon2id key, as argon2.IDKey does.
type KeyFunc func(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) ([]byte, error)

// idKey is the KeyFunc that derives in this process.
func idKey(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) ([]byte, error) {
	return argon2.IDKey(pw, salt, time, memory, threads, keyLen), nil
}

// The key protocol between serve and its key process. Each frame is its
// length (4 bytes, big-endian, at most maxFrame), then the id the parent
// gave the request (4 bytes). A request's body follows with argon2id's
// time, memory (4 bytes each), threads (1), key length (4), the salt's
// length (4), the salt and the password; an answer's with the key. The
// process derives up to maxDeriving keys at once and answers each as it is
// done, in any order.
const (
	maxFrame    = 1 << 20
	idSize      = 4
	headerSize  = idSize + 4 + 4 + 1 + 4 + 4
	maxDeriving = 64
)

// ErrFrame is returned for a frame of the key protocol that is malformed
// or out of bounds.
var ErrFrame = errors.New("password: malformed key process frame")

// request is one derivation asked of a key process.
type request struct {
	id           uint32
	time, memory uint32
	threads      uint8
	keyLen       uint32
	salt, pw     []byte
}

// appendRequest appends r's frame to b.
func appendRequest(b []byte, r request) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(headerSize+len(r.salt)+len(r.pw)))
	b = binary.BigEndian.AppendUint32(b, r.id)
	b = binary.BigEndian.AppendUint32(b, r.time)
	b = binary.BigEndian.AppendUint32(b, r.memory)
	b = append(b, r.threads)
	b = binary.BigEndian.AppendUint32(b, r.keyLen)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.salt)))
	b = append(b, r.salt...)
	return append(b, r.pw...)
}

// appendAnswer appends the frame answering request id with key to b.
func appendAnswer(b []byte, id uint32, key []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(idSize+len(key)))
	b = binary.BigEndian.AppendUint32(b, id)
	return append(b, key...)
}

// readFrame reads one frame's body: at least idSize bytes, at most
// maxFrame. io.EOF means r ended between frames.
func readFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: %w", ErrFrame, err)
		}
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size < idSize || size > maxFrame {
		return nil, fmt.Errorf("%w: a frame of %d bytes", ErrFrame, size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFrame, io.ErrUnexpectedEOF)
	}
	return b, nil
}

// parseRequest decodes a request frame's body and checks its parameters
// against those a stored hash may have (decodeArgon2).
func parseRequest(b []byte) (request, error) {
	if len(b) < headerSize {
		return request{}, fmt.Errorf("%w: a request of %d bytes", ErrFrame, len(b))
	}
	r := request{
		id:      binary.BigEndian.Uint32(b[0:]),
		time:    binary.BigEndian.Uint32(b[4:]),
		memory:  binary.BigEndian.Uint32(b[8:]),
		threads: b[12],
		keyLen:  binary.BigEndian.Uint32(b[13:]),
	}
	saltLen := binary.BigEndian.Uint32(b[17:])
	rest := b[headerSize:]
	if uint64(saltLen) > uint64(len(rest)) {
		return request{}, fmt.Errorf("%w: a salt of %d bytes in %d", ErrFrame, saltLen, len(rest))
	}
	r.salt, r.pw = rest[:saltLen], rest[saltLen:]
	if err := r.check(); err != nil {
		return request{}, err
	}
	return r, nil
}

// check refuses a request whose frame would pass maxFrame or whose
// parameters no stored hash may have (decodeArgon2).
func (r request) check() error {
	if headerSize+len(r.salt)+len(r.pw) > maxFrame {
		return fmt.Errorf("%w: a request of %d bytes", ErrFrame, headerSize+len(r.salt)+len(r.pw))
	}
	if r.time < 1 || r.time > maxTime || r.threads < 1 || r.memory < 8*uint32(r.threads) || r.memory > maxMemory ||
		r.keyLen < 4 || r.keyLen > maxKeyLen {
		return fmt.Errorf("%w: argon2id t=%d m=%d p=%d with a key of %d bytes", ErrFrame, r.time, r.memory, r.threads, r.keyLen)
	}
	return nil
}

// ServeKeys is a key process's work: it derives a key for each request
// read from r, up to maxDeriving at once, and writes each answer to w as
// it is done, until r ends. A malformed request ends it with an error,
// once the keys under way are answered. It reads r unbuffered, a frame's
// length and then the frame, which it clears once its key is derived: no
// other copy of a password is left in the process.
func ServeKeys(r io.Reader, w io.Writer) error {
	var (
		mu      sync.Mutex // holds w
		werr    error
		running sync.WaitGroup
		slots   = make(chan struct{}, maxDeriving)
	)
	defer running.Wait()
	for {
		b, err := readFrame(r)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		req, err := parseRequest(b)
		if err != nil {
			clear(b)
			return err
		}
		slots <- struct{}{}
		running.Go(func() {
			defer func() { <-slots }()
			key := argon2.IDKey(req.pw, req.salt, req.time, req.memory, req.threads, req.keyLen)
			clear(b)
			out := appendAnswer(nil, req.id, key)
			mu.Lock()
			defer mu.Unlock()
			if werr == nil {
				_, werr = w.Write(out)
			}
		})
		mu.Lock()
		err = werr
		mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Processes derives argon2id keys in a child process running ServeKeys on
// its standard input and output, started at the first key, on the calling
// goroutine's thread, whose scheduling priority (niceness) the child's
// threads take. A child that cannot be started, or fails, is reported
// (failed) and the keys asked of it derived in this process instead, as
// with no child; the next key starts a new child, but not within
// retryStart of a start that failed.
type Processes struct {
	command  func() *exec.Cmd
	failed   func(error)
	now      func() time.Time
	patience time.Duration // the least deriveTimeout, and Close's wait

	mu        sync.Mutex
	child     *child // nil when none runs
	closed    bool
	downUntil time.Time
}

// retryStart is how long Processes derives keys itself after a child
// could not be started.
const retryStart = time.Minute

// NewProcesses returns Processes whose child command makes (a new
// *exec.Cmd each time, whose standard input and output are left to
// Processes) and which reports to failed each child that could not be
// started or failed.
func NewProcesses(command func() *exec.Cmd, failed func(error)) *Processes {
	return &Processes{command: command, failed: failed, now: time.Now, patience: 10 * time.Second}
}

// Key derives an argon2id key, as argon2.IDKey does, in the child process;
// in this process when no child can. It fails only with ErrClosed.
func (ps *Processes) Key(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) ([]byte, error) {
	r := request{time: time, memory: memory, threads: threads, keyLen: keyLen, salt: salt, pw: pw}
	if r.check() != nil {
		// A child would refuse it, and end: this process derives it.
		return idKey(pw, salt, time, memory, threads, keyLen)
	}
	c, err := ps.running()
	switch {
	case errors.Is(err, ErrClosed):
		return nil, err
	case err == nil:
		key, derr := c.derive(r, ps.deriveTimeout(r))
		if derr == nil {
			return key, nil
		}
		if ps.ended(c) {
			err = derr
		}
	}
	if err != nil && !errors.Is(err, errNoChild) && ps.failed != nil {
		ps.failed(err)
	}
	return idKey(pw, salt, time, memory, threads, keyLen)
}

// errNoChild is running's answer while starts are held back; the failed
// start was reported.
var errNoChild = errors.New("password: no key process")

// running returns the child, started if none runs.
func (ps *Processes) running() (*child, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	switch {
	case ps.closed:
		return nil, ErrClosed
	case ps.child != nil:
		return ps.child, nil
	case ps.now().Before(ps.downUntil):
		return nil, errNoChild
	}
	c, err := startChild(ps.command())
	if err != nil {
		ps.downUntil = ps.now().Add(retryStart)
		return nil, err
	}
	ps.child = c
	return c, nil
}

// ended forgets c, which failed, if it is still the running child, ends
// it, and holds new children back for retryStart, as after a start that
// failed: a child that fails once (a replaced binary, parameters it
// refuses) would fail again at every key. It reports whether c was the
// running child: of the keys c was deriving, the first to see its end
// reports it.
func (ps *Processes) ended(c *child) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.child != c {
		return false
	}
	ps.child = nil
	ps.downUntil = ps.now().Add(retryStart)
	go c.kill()
	return true
}

// deriveTimeout is how long a key process may take to answer r: patience
// and 20 ms for each MiB over each pass, far more than a derivation takes
// on a busy machine (about 20 ms for 19 MiB over two passes), so that only
// a child that stopped or hangs is given up.
func (ps *Processes) deriveTimeout(r request) time.Duration {
	mib := time.Duration(uint64(r.memory) * uint64(r.time) >> 10)
	return ps.patience + mib*20*time.Millisecond
}

// Close ends the child, if one runs, and waits for it, killing one that
// has not ended within patience; keys asked for afterwards fail with
// ErrClosed, and any under way are derived here.
func (ps *Processes) Close() {
	ps.mu.Lock()
	c := ps.child
	ps.child, ps.closed = nil, true
	ps.mu.Unlock()
	if c != nil {
		c.stop(ps.patience)
	}
}

// child is one running key process and the requests it has not answered.
type child struct {
	cmd *exec.Cmd
	in  *os.File // a pipe, whose writes take a deadline

	mu      sync.Mutex
	nextID  uint32
	waiting map[uint32]chan []byte // closed without a key when the child ends
	err     error                  // why it ended; nil while it runs
	done    chan struct{}          // closed when read has returned

	wmu sync.Mutex // holds in and buf
	buf []byte     // the frame being written
}

// startChild starts cmd as a key process, with a goroutine reading its
// answers.
func startChild(cmd *exec.Cmd) (*child, error) {
	// A pipe of its own rather than StdinPipe's, whose writer takes no
	// deadline: a request larger than the pipe holds blocks its write
	// until a stopped child reads.
	stdin, in, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("password: key process: %w", err)
	}
	cmd.Stdin = stdin
	out, err := cmd.StdoutPipe()
	if err != nil {
		stdin.Close()
		in.Close()
		return nil, fmt.Errorf("password: key process: %w", err)
	}
	err = cmd.Start()
	stdin.Close() // the child's now
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("password: start key process: %w", err)
	}
	c := &child{cmd: cmd, in: in, waiting: make(map[uint32]chan []byte), done: make(chan struct{})}
	go c.read(bufio.NewReader(out))
	return c, nil
}

// read hands each answer to the request waiting for it, until the child's
// output ends or breaks the protocol; then every request still waiting
// fails.
func (c *child) read(r io.Reader) {
	defer close(c.done)
	var err error
	for {
		var b []byte
		if b, err = readFrame(r); err != nil {
			break
		}
		id := binary.BigEndian.Uint32(b)
		c.mu.Lock()
		ch, ok := c.waiting[id]
		delete(c.waiting, id)
		c.mu.Unlock()
		if !ok {
			err = fmt.Errorf("%w: an answer to no request (%d)", ErrFrame, id)
			break
		}
		ch <- b[idSize:]
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("password: key process ended")
	}
	c.mu.Lock()
	c.err = err
	for id, ch := range c.waiting {
		close(ch)
		delete(c.waiting, id)
	}
	c.mu.Unlock()
}

// derive asks the child for r's key and waits for it, at most timeout.
func (c *child) derive(r request, timeout time.Duration) ([]byte, error) {
	ch := make(chan []byte, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.nextID++
	r.id = c.nextID
	c.waiting[r.id] = ch
	c.mu.Unlock()
	deadline := time.Now().Add(timeout)
	c.wmu.Lock()
	c.buf = appendRequest(c.buf[:0], r)
	err := c.in.SetWriteDeadline(deadline)
	if err == nil {
		_, err = c.in.Write(c.buf)
	}
	clear(c.buf)
	c.wmu.Unlock()
	if err != nil {
		c.mu.Lock()
		delete(c.waiting, r.id)
		c.mu.Unlock()
		return nil, fmt.Errorf("password: key process: %w", err)
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var key []byte
	var ok bool
	select {
	case key, ok = <-ch:
	case <-timer.C:
		c.mu.Lock()
		delete(c.waiting, r.id)
		c.mu.Unlock()
		return nil, fmt.Errorf("password: key process: no answer within %v", timeout)
	}
	if !ok {
		c.mu.Lock()
		defer c.mu.Unlock()
		return nil, c.err
	}
	if uint32(len(key)) != r.keyLen {
		return nil, fmt.Errorf("%w: a key of %d bytes for %d", ErrFrame, len(key), r.keyLen)
	}
	return key, nil
}

// stop closes the child's input, which ends it once the keys under way
// are answered, and waits for it; one that has not ended within wait (a
// stopped or hung process) is killed.
func (c *child) stop(wait time.Duration) {
	_ = c.in.Close()
	select {
	case <-c.done:
	case <-time.After(wait):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	_ = c.cmd.Wait()
}

// kill ends a child that failed, whatever it is doing, and waits for it.
func (c *child) kill() {
	_ = c.in.Close()
	_ = c.cmd.Process.Kill()
	<-c.done
	_ = c.cmd.Wait()
}
