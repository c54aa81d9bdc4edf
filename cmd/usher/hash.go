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
// worker to GOMAXPROCS, unless the operator set GOMAXPROCS: a hashing
// thread holds its P for the whole hash, and without the extra Ps the
// request goroutines would wait for a P however free the CPUs are. The
// returned function stops the workers and puts GOMAXPROCS back.
func startHasher(sc *serveConfig, getenv func(string) string, log *slog.Logger) (*password.Hasher, func(), error) {
	if sc.hashNice < 0 || sc.hashNice > 19 {
		return nil, nil, fmt.Errorf("--hash-nice: %d is not between 0 and 19", sc.hashNice)
	}
	h := password.NewHasher(sc.argon2, password.Pool{Workers: sc.hashWorkers, Queue: sc.hashQueue, Nice: sc.hashNice})
	niced := password.PerThreadNice && sc.hashNice > 0
	if err := h.Start(); err != nil {
		niced = false
		log.Warn("password hash workers run at the process's priority", "err", err)
	}
	procs := runtime.GOMAXPROCS(0)
	raised := niced && getenv("GOMAXPROCS") == ""
	if raised {
		runtime.GOMAXPROCS(procs + h.Workers())
	}
	log.Info("password hash workers", "workers", h.Workers(), "nice", sc.hashNice, "niced", niced,
		"gomaxprocs", runtime.GOMAXPROCS(0))
	return h, func() {
		h.Close()
		if raised {
			runtime.GOMAXPROCS(procs)
		}
	}, nil
}
