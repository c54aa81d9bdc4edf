package main

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"golang.org/x/crypto/argon2"
)

// hashSamples is how many hashes hashBound times; it keeps the median.
const hashSamples = 5

// hashBound is the most log-ins a second this machine can verify: its
// cores, each verifying one argon2id hash at a time at the parameters the
// generated users are hashed with (usher's defaults), and nothing else.
type hashBound struct {
	one   time.Duration // one hash, the median of hashSamples
	cores int
}

// measureHashBound times hashSamples hashes, one after another, in this
// process: on the same machine as usher, between scenarios, so that it
// sees the load others put on the machine as usher's log-ins do.
func measureHashBound() hashBound {
	salt := make([]byte, argonSaltLen)
	times := make([]time.Duration, hashSamples)
	for i := range times {
		start := time.Now()
		argon2.IDKey([]byte(benchPassword), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return hashBound{one: times[len(times)/2], cores: runtime.NumCPU()}
}

// perSecond is the bound: cores ÷ one hash's time.
func (h hashBound) perSecond() float64 {
	if h.one <= 0 {
		return 0
	}
	return float64(h.cores) / h.one.Seconds()
}

func (h hashBound) String() string {
	return fmt.Sprintf("one argon2id hash (m=%d KiB, t=%d, p=%d) took %s ms here; the hash-bound limit is %d cores ÷ that = %.0f log-ins/s",
		argonMemory, argonTime, argonThreads, ms(h.one), h.cores, h.perSecond())
}
