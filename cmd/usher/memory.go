package main

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
)

// memoryBaseMiB is what serve's computed memory limit allows besides the
// password hashes: the heap of an idle serve is about 15 MiB, and a
// request burst or a page of a large list adds a few MiB more.
const memoryBaseMiB = 64

// hashGCPercent is the GOGC serve runs at under a memory limit it set: the
// limit, not the doubling of the live heap, then decides when a flood of
// log-ins is collected.
const hashGCPercent = 400

// memoryLimit is the soft memory limit serve runs under, in bytes:
// flagMiB when it is above 0, else one computed from the hash pool:
// memoryBaseMiB, and twice each worker's argon2id memory (hashKiB), for
// the hash a worker runs and one done but not yet collected; workers
// counts those that derive argon2id keys in serve's own process, none
// with --hash-process.
func memoryLimit(flagMiB, workers int, hashKiB uint32) int64 {
	if flagMiB > 0 {
		return int64(flagMiB) << 20
	}
	return memoryBaseMiB<<20 + 2*int64(workers)*int64(hashKiB)<<10
}

// setMemoryLimit sets the Go runtime's soft memory limit for serve, as
// --memory-limit says, and with it GOGC hashGCPercent. Each argon2id hash
// allocates its whole memory (19 MiB by default) and drops it, so at GOGC
// 100 the heap goal follows whatever the last collection found live, two
// hashes in progress at the worst moment, and the peak with it; under the
// limit the limit decides. An operator's GOMEMLIMIT or GOGC wins: serve
// then leaves that setting as the runtime took it, and sets neither
// without a limit of its own (GOMEMLIMIT set, or --memory-limit below 0).
// The returned function puts back what it changed.
func setMemoryLimit(sc *serveConfig, workers int, getenv func(string) string, log *slog.Logger) func() {
	if sc.memoryLimit < 0 || getenv("GOMEMLIMIT") != "" {
		log.Info("memory limit left to the runtime", "limit_mib", limitMiB(debug.SetMemoryLimit(-1)),
			"gomemlimit", getenv("GOMEMLIMIT"), "gogc", getenv("GOGC"))
		return func() {}
	}
	limit := memoryLimit(sc.memoryLimit, workers, sc.argon2.Memory)
	oldLimit := debug.SetMemoryLimit(limit)
	oldPercent, percent := -2, 0
	if getenv("GOGC") == "" {
		percent = hashGCPercent
		oldPercent = debug.SetGCPercent(percent)
	}
	log.Info("memory limit", "limit_mib", limitMiB(limit), "gogc", map[bool]string{true: fmt.Sprint(percent), false: getenv("GOGC")}[percent > 0])
	return func() {
		// Put back only what is still ours: another serve in the same
		// process (tests) may have set its own since.
		if debug.SetMemoryLimit(-1) == limit {
			debug.SetMemoryLimit(oldLimit)
		}
		if oldPercent != -2 {
			if now := debug.SetGCPercent(oldPercent); now != percent {
				debug.SetGCPercent(now)
			}
		}
	}
}

// limitMiB shows a memory limit in MiB, "off" for none.
func limitMiB(limit int64) string {
	if limit == math.MaxInt64 {
		return "off"
	}
	return fmt.Sprint(limit >> 20)
}
