package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
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
	if err := checkHashing(sc); err != nil {
		return nil, nil, err
	}
	nice := sc.hashNice
	var key password.KeyFunc
	stopKeys := func() {}
	if sc.hashProcess {
		workers := sc.hashWorkers
		if workers <= 0 {
			workers = password.DefaultWorkers(nice)
		}
		command, err := keyCommand(workers, sc.argon2.Memory)
		if err != nil {
			return nil, nil, err
		}
		ps := password.NewProcesses(command, func(err error) {
			log.Warn("password key process failed; deriving keys in serve", "err", err)
		})
		key, stopKeys = ps.Key, ps.Close
	}
	h := password.NewHasher(sc.argon2, password.Pool{Workers: sc.hashWorkers, Queue: sc.hashQueue, Nice: nice, Key: key})
	if err := h.Start(); err != nil {
		// Workers at full priority on every CPU would starve requests:
		// fall back to --hash-nice 0 and its default of a CPU less.
		log.Warn("password hash workers run at the process's priority, as at --hash-nice 0", "err", err)
		h.Close()
		nice = 0
		h = password.NewHasher(sc.argon2, password.Pool{Workers: sc.hashWorkers, Queue: sc.hashQueue, Key: key})
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
		stopKeys()
		if raised {
			runtime.GOMAXPROCS(procs)
		}
	}, nil
}

// checkHashing refuses the hashing flags serve cannot run with, for serve
// and for config check alike: argon2id parameters whose hashes could never
// be verified (password.Params.Validate), a niceness out of range.
func checkHashing(sc *serveConfig) error {
	if sc.hashNice < 0 || sc.hashNice > 19 {
		return fmt.Errorf("--hash-nice: %d is not between 0 and 19", sc.hashNice)
	}
	if err := sc.argon2.Validate(); err != nil {
		return fmt.Errorf("--argon2-memory, --argon2-time, --argon2-threads: %w", err)
	}
	return nil
}

// keyCommand returns what starts a key process: this binary, run as
// hashKeysCommand, with serve's standard error and, for environment, a
// memory limit of keyProcessBaseMiB and the argon2id memory (hashKiB) of
// two keys more than the workers may ask for at once: the one done but not
// yet collected, and the next, allocated while the collector frees it.
// With room for one more only, every key's allocation found the heap at
// its limit and started a collection, whose stops wait for the other
// workers' derivations to reach a safe point while the CPUs idle, and the
// runtime gave pages back to the system only to fault them in again: two
// workers derived 75–82 keys a second where one process deriving without
// a limit makes about 105; with two more, 95–101, at about the same peak
// RSS (docs/performance.md). A binary replaced since serve started (an upgrade)
// answers the same protocol, or fails, and serve then derives the keys
// itself.
func keyCommand(workers int, hashKiB uint32) (func() *exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("--hash-process: find this binary: %w", err)
	}
	limit := fmt.Sprintf("GOMEMLIMIT=%dKiB", keyProcessBaseMiB<<10+int64(workers+2)*int64(hashKiB))
	return func() *exec.Cmd {
		cmd := exec.Command(exe, hashKeysCommand)
		// Nothing of serve's environment, its secrets included: the
		// requests carry all a key process needs.
		cmd.Env = []string{limit}
		cmd.Stderr = os.Stderr
		return cmd
	}, nil
}

// keyProcessBaseMiB is what a key process's memory limit allows besides
// the keys: the heap the binary's packages make at its start, about 10 MiB.
const keyProcessBaseMiB = 16
