package core

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkRunScript measures one run of a trivial before-login script in
// the sandbox: a fresh runtime, the prelude, the script, and the check of
// what it changed.
func BenchmarkRunScript(b *testing.B) {
	e := &env{policy: withDefaults(Policy{}), observe: nopObserver{}}
	e.log = slog.New(slog.DiscardHandler)
	prog, err := compileScript("gate", `if (usher.resource.state !== "active") usher.refuse("inactive");`)
	if err != nil {
		b.Fatal(err)
	}
	fields := map[string]any{"id": 1, "username": "alice", "email": "alice@example.com", "state": "active",
		"metadata": map[string]any{}, "created_at": time.Now()}
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		if _, err := e.runScript(ctx, prog, scriptCall{name: "gate", subject: fields, writable: map[string]bool{}}); err != nil {
			b.Fatal(err)
		}
	}
}
