package main

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// hashSamples is how many hashes hashBound times, after one untimed; it
// keeps the fastest.
const hashSamples = 7

// hashBound is the most log-ins a second this machine can verify: its
// cores, each verifying one argon2id hash at a time at the parameters the
// generated users are hashed with (usher's defaults), and nothing else.
type hashBound struct {
	one   time.Duration // one hash, the fastest of hashSamples
	cores int
	// together is how many hashes a second the cores made all at once,
	// each hashing one after another for hashTogether: what they can do
	// when they share the machine's caches and memory, as usher's hash
	// workers do, with nothing else running. Once the bench holds its
	// generated users, the collector seldom runs in these 2 s, so the
	// figure counts page faults too and reads low; the run's start, before
	// the users are generated, gives the one kept (hashBound.fastest).
	together float64
}

// hashTogether is how long measureHashBound keeps every core hashing.
const hashTogether = 2 * time.Second

// measureHashBound times hashSamples hashes, one after another, in this
// process, on the same machine as usher, and keeps the fastest: a hash's
// cost on a quiet core, so that the limit is the most the machine could
// verify and a busy moment cannot lower it (the median of 5 read 49 to 96
// ms on the same machine in one day, flattering the log-ins' ratio when
// high). The bench times it at the run's start and again before login,
// and keeps the faster (hashBound.fastest). A first, untimed hash pays
// for the memory the process has not yet touched, and a collection
// before each timed one lets it reuse that memory: in a process holding
// a large heap, as the bench does, the collector seldom runs, each hash
// took 19 MiB never touched before, and timed its page faults — 75–97 ms
// against 20–30 ms with a collection before each (a test program holding
// 600 MiB), which on PostgreSQL runs at a million users put the limit at
// a third of the machine's and called log-ins that reached 0.4 of it met.
func measureHashBound() hashBound {
	salt := make([]byte, argonSaltLen)
	argon2.IDKey([]byte(benchPassword), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	times := make([]time.Duration, hashSamples)
	for i := range times {
		// The bench holds a large heap (the generated users), which the
		// collector seldom frees: without a collection each hash would
		// take 19 MiB never touched before and time its page faults too.
		runtime.GC()
		start := time.Now()
		argon2.IDKey([]byte(benchPassword), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
		times[i] = time.Since(start)
	}
	h := hashBound{one: slices.Min(times), cores: runtime.NumCPU()}
	h.together = hashesTogether(h.cores, salt)
	return h
}

// fastest is the limit from the faster hash and the more hashes together
// of h and o, two timings of the same machine: a slower one was timed
// while something else used the cores.
func (h hashBound) fastest(o hashBound) hashBound {
	h.one = min(h.one, o.one)
	h.together = max(h.together, o.together)
	return h
}

// hashesTogether keeps cores goroutines hashing for hashTogether and
// returns their hashes a second.
func hashesTogether(cores int, salt []byte) float64 {
	var (
		wg    sync.WaitGroup
		count atomic.Int64
	)
	start := time.Now()
	end := start.Add(hashTogether)
	for range cores {
		wg.Go(func() {
			for time.Now().Before(end) {
				argon2.IDKey([]byte(benchPassword), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
				count.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds()
}

// perSecond is the bound: cores ÷ one hash's time.
func (h hashBound) perSecond() float64 {
	if h.one <= 0 {
		return 0
	}
	return float64(h.cores) / h.one.Seconds()
}

func (h hashBound) String() string {
	return fmt.Sprintf("one argon2id hash (m=%d KiB, t=%d, p=%d) took %s ms here; the hash-bound limit is %d cores ÷ that = %.0f log-ins/s; "+
		"the %d cores hashing at once, nothing else, made %.0f hashes/s",
		argonMemory, argonTime, argonThreads, ms(h.one), h.cores, h.perSecond(), h.cores, h.together)
}
