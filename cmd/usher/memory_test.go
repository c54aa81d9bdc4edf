package main

import (
	"log/slog"
	"runtime/metrics"
	"testing"

	"usher/password"
)

// TestMemoryLimit checks the limit serve computes from the hash pool, and
// that --memory-limit above 0 replaces it.
func TestMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name    string
		flag    int
		workers int
		hashKiB uint32
		want    int64
	}{
		{"default pool, two CPUs", 0, 2, 19456, 64*mib + 2*2*19*mib},
		{"one worker", 0, 1, 19456, 64*mib + 2*19*mib},
		{"eight workers", 0, 8, 19456, 64*mib + 2*8*19*mib},
		{"larger hashes", 0, 2, 65536, 64*mib + 2*2*64*mib},
		{"the flag wins", 300, 2, 19456, 300 * mib},
		{"the flag, one MiB", 1, 8, 65536, 1 * mib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := memoryLimit(tt.flag, tt.workers, tt.hashKiB); got != tt.want {
				t.Errorf("memoryLimit(%d, %d, %d) = %d MiB, want %d MiB", tt.flag, tt.workers, tt.hashKiB, got>>20, tt.want>>20)
			}
		})
	}
}

// gcSettings reads the runtime's GOGC and memory limit as they are now.
func gcSettings() (percent int, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

// TestSetMemoryLimit checks what serve sets and what it leaves to the
// operator: GOMEMLIMIT in the environment, or --memory-limit below 0,
// leaves both settings alone; GOGC in the environment leaves GOGC alone;
// and the returned function puts back what was there. It changes the
// process's GC settings, so it does not run in parallel.
func TestSetMemoryLimit(t *testing.T) {
	percent0, limit0 := gcSettings()
	const mib = 1 << 20
	computed := memoryLimit(0, 2, password.DefaultParams.Memory)
	tests := []struct {
		name        string
		flag        int
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{"computed", 0, nil, hashGCPercent, computed},
		{"the flag", 250, nil, hashGCPercent, 250 * mib},
		{"GOGC set: the limit alone", 0, map[string]string{"GOGC": "100"}, percent0, computed},
		{"GOMEMLIMIT set: neither", 250, map[string]string{"GOMEMLIMIT": "1GiB"}, percent0, limit0},
		{"GOMEMLIMIT off: neither", 0, map[string]string{"GOMEMLIMIT": "off"}, percent0, limit0},
		{"the flag below 0: neither", -1, nil, percent0, limit0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &serveConfig{argon2: password.DefaultParams, memoryLimit: tt.flag}
			restore := setMemoryLimit(sc, 2, func(k string) string { return tt.env[k] }, slog.New(slog.DiscardHandler))
			percent, limit := gcSettings()
			restore()
			if percent != tt.wantPercent || limit != tt.wantLimit {
				t.Errorf("GOGC %d, limit %s MiB while serving; want GOGC %d, limit %s MiB",
					percent, limitMiB(limit), tt.wantPercent, limitMiB(tt.wantLimit))
			}
			if percent, limit := gcSettings(); percent != percent0 || limit != limit0 {
				t.Errorf("GOGC %d, limit %s MiB after; want %d, %s MiB back", percent, limitMiB(limit), percent0, limitMiB(limit0))
			}
		})
	}
}
