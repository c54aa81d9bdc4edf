package main

import (
	"fmt"
	"log/slog"
	"runtime"

	"usher/password"
)

// startHasher makes the password hasher serve runs its log-ins on and
// starts its workers. Where the workers' threads run below the rest
// (password.PerThreadNice and --hash-nice above 0), it also adds one P per
// worker to GOMAXPROCS, unless the operator set GOMAXPROCS: a hash holds a
// P for its whole length (argon2id's on a goroutine of x/crypto's own, at
// the process's niceness; see password.Pool), and without the extra Ps the
// request goroutines would wait for a P however free the CPUs are. The
// returned function stops the workers and puts GOMAXPROCS back.
func startHasher(sc *serveConfig, getenv func(string) string, log *slog.Logger) (*password.Hasher, func(), error) {
	if sc.hashNice < 0 || sc.hashNice > 19 {
		return nil, nil, fmt.Errorf("--hash-nice: %d is not between 0 and 19", sc.hashNice)
	}
	nice := sc.hashNice
	h := password.NewHasher(sc.argon2, password.Pool{Workers: sc.hashWorkers, Queue: sc.hashQueue, Nice: nice})
	if err := h.Start(); err != nil {
		// Workers at full priority on every CPU would starve requests:
		// fall back to --hash-nice 0 and its default of a CPU less.
		log.Warn("password hash workers run at the process's priority, as at --hash-nice 0", "err", err)
		h.Close()
		nice = 0
		h = password.NewHasher(sc.argon2, password.Pool{Workers: sc.hashWorkers, Queue: sc.hashQueue})
		_ = h.Start() // at niceness 0 nothing is set
	}
	niced := password.PerThreadNice && nice > 0
	procs := runtime.GOMAXPROCS(0)
	raised := niced && getenv("GOMAXPROCS") == ""
	if raised {
		runtime.GOMAXPROCS(procs + h.Workers())
	}
	log.Info("password hash workers", "workers", h.Workers(), "nice", nice, "niced", niced,
		"gomaxprocs", runtime.GOMAXPROCS(0))
	return h, func() {
		h.Close()
		if raised {
			runtime.GOMAXPROCS(procs)
		}
	}, nil
}
