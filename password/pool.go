package password

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is how a Hasher runs hashes: on Workers long-lived goroutines, each
// locked to an OS thread of its own, with Queue more hashes let wait for
// one and the rest refused with ErrBusy.
//
// Where the system sets niceness per thread (Linux: PerThreadNice), the
// workers' threads run at niceness Nice, so the OS scheduler gives a CPU
// to a thread serving a request before a thread hashing, and hashes use
// the cycles left. That holds for the work a worker does on its own
// thread — verifying a bcrypt or PBKDF2 hash — but not for argon2id:
// golang.org/x/crypto/argon2 runs each of a hash's segments on a goroutine
// it starts, which the Go scheduler runs on any thread, at the process's
// niceness, while the worker waits for it. What bounds argon2id is the
// number of workers. The caller should add Workers to GOMAXPROCS, so that
// hashes do not hold the Ps request goroutines need (usher serve does).
type Pool struct {
	// Workers is how many hashes run at once; <= 0 means
	// DefaultWorkers(Nice).
	Workers int
	// Queue is how many more hashes may wait for a worker.
	Queue int
	// Nice is the niceness (0 to 19) the workers' threads run at, where
	// PerThreadNice; 0 leaves them at the process's.
	Nice int
	// Key derives argon2id keys; nil derives them in this process.
	Key KeyFunc
}

// DefaultWorkers is the number of hash workers for a pool at niceness
// nice: every CPU where the workers run at a lower priority than the rest
// (PerThreadNice and nice > 0), since a request's thread then comes first
// anyway; otherwise one less than the CPUs, at least one, so that a CPU
// is left to the requests that check a token.
func DefaultWorkers(nice int) int {
	if PerThreadNice && nice > 0 {
		return runtime.NumCPU()
	}
	return max(1, runtime.NumCPU()-1)
}

// Hasher hashes and verifies passwords on a bounded pool of workers.
type Hasher struct {
	params  Params
	key     KeyFunc
	workers int
	nice    int
	slots   chan struct{} // a slot per hash that may run or wait
	jobs    chan *job     // unbuffered: a send is a worker taking the job
	closed  chan struct{}

	startOnce, closeOnce sync.Once
	startErr             error
	wg                   sync.WaitGroup

	running atomic.Int64
	// waits and waited count the hashes a worker took and their total
	// wait for it, in nanoseconds; refused counts ErrBusy.
	waits, waited, refused atomic.Uint64
}

// job is one hash for a worker; done is closed when fn has returned, and
// panicked holds what fn panicked with, for the caller to panic again.
type job struct {
	fn       func()
	done     chan struct{}
	panicked any
}

// Stats is what a Hasher is doing, for metrics.
type Stats struct {
	Running, Waiting int // hashes running now, and waiting for a worker
	// Waits counts the hashes that have started, and Waited is their
	// total wait in the queue; Refused counts those refused with ErrBusy.
	Waits   uint64
	Waited  time.Duration
	Refused uint64
}

// NewHasher returns a Hasher that makes new hashes with p and runs them
// as pool says. Its workers start at the first hash (or Start); Close
// stops them.
func NewHasher(p Params, pool Pool) *Hasher {
	workers := pool.Workers
	if workers <= 0 {
		workers = DefaultWorkers(pool.Nice)
	}
	queue := max(0, pool.Queue)
	key := pool.Key
	if key == nil {
		key = idKey
	}
	return &Hasher{
		params:  p,
		key:     key,
		workers: workers,
		nice:    pool.Nice,
		slots:   make(chan struct{}, workers+queue),
		jobs:    make(chan *job),
		closed:  make(chan struct{}),
	}
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Workers returns how many hashes run at once.
func (h *Hasher) Workers() int { return h.workers }

// Stats returns the hasher's queue now and its counts so far.
func (h *Hasher) Stats() Stats {
	running := int(h.running.Load())
	return Stats{Running: running, Waiting: max(0, len(h.slots)-running), Waits: h.waits.Load(),
		Waited: time.Duration(h.waited.Load()), Refused: h.refused.Load()}
}

// Start starts the workers, if they have not started, and returns the
// error of setting their threads' niceness: the workers run all the same,
// at the process's priority. It is safe to call more than once.
func (h *Hasher) Start() error {
	h.startOnce.Do(func() {
		ready := make(chan error, h.workers)
		h.wg.Add(h.workers)
		for range h.workers {
			go h.work(ready)
		}
		for range h.workers {
			if err := <-ready; err != nil && h.startErr == nil {
				h.startErr = err
			}
		}
	})
	return h.startErr
}

// Close stops the workers once the hashes they run have ended; hashes
// asked for afterwards, or waiting, fail with ErrClosed.
func (h *Hasher) Close() {
	h.closeOnce.Do(func() { close(h.closed) })
	h.wg.Wait()
}

// work runs jobs until the hasher closes. Its thread is never unlocked:
// it ends with the goroutine, so no other goroutine ever runs at the
// niceness it was given.
func (h *Hasher) work(ready chan<- error) {
	defer h.wg.Done()
	runtime.LockOSThread()
	ready <- setThreadNice(h.nice)
	for {
		select {
		case j := <-h.jobs:
			h.running.Add(1)
			h.run(j)
			h.running.Add(-1)
			close(j.done)
		case <-h.closed:
			return
		}
	}
}

// beside runs fn on a thread of its own at the workers' niceness, as a
// worker would, beside the worker that calls it; the channel closes when
// fn has returned. The thread is never unlocked: it ends with the
// goroutine.
func (h *Hasher) beside(fn func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		_ = setThreadNice(h.nice) // as Start: at the process's priority if it cannot be set
		fn()
	}()
	return done
}

// run calls j.fn, keeping a panic for the caller.
func (h *Hasher) run(j *job) {
	defer func() { j.panicked = recover() }()
	j.fn()
}

// do runs fn on a worker and waits for it. It fails with ErrBusy when the
// queue is full, and with ctx's error when ctx ends while fn waits for a
// worker; once a worker has taken fn, do waits for its end.
func (h *Hasher) do(ctx context.Context, fn func()) error {
	_ = h.Start() // a niceness that could not be set leaves the workers as they are
	select {
	case h.slots <- struct{}{}:
	default:
		h.refused.Add(1)
		return ErrBusy
	}
	defer func() { <-h.slots }()
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{fn: fn, done: make(chan struct{})}
	start := time.Now()
	select {
	case h.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-h.closed:
		return ErrClosed
	}
	h.waits.Add(1)
	h.waited.Add(uint64(time.Since(start)))
	<-j.done
	if j.panicked != nil {
		panic(j.panicked)
	}
	return nil
}
