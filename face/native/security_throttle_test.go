package native_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"usher/core"
	"usher/core/coretest"
)

// TestRefusedClientWritesNoThrottleRows replays a flood from one client
// address past its own limit: each password reset, log-in or resent
// confirmation naming a new address or login was answered 429, but
// still inserted that key's throttle row before the client's lock was
// found, since the client's key was counted second; the refusal only
// forgave the count, and the row stayed until housekeeping pruned it a
// failure window later. The client's key now comes first, so a client
// refused writes no row for what it names.
func TestRefusedClientWritesNoThrottleRows(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Policy: core.Policy{ResetAnswerFloor: time.Millisecond, MaxFailuresPerIP: 5}})
	rows := func() int {
		n := 0
		b.env.ScanTables(t, func(table, column, _ string) {
			if table == "throttles" && column == "key" {
				n++
			}
		})
		return n
	}
	tests := []struct {
		name  string
		warm  int // requests that use up the client's allowance
		flood func(i int) req
	}{
		{"password reset", 20, func(i int) req {
			return req{method: "POST", path: "/v1/auth/password-reset", body: map[string]any{"email": fmt.Sprintf("reset%d@example.org", i)}}
		}},
		{"log-in", 5, func(i int) req {
			return req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": fmt.Sprintf("login%d", i), "password": "wrong password here"}}
		}},
		{"resent confirmation", 10, func(i int) req {
			return req{method: "POST", path: "/v1/auth/confirm/resend", body: map[string]any{"email": fmt.Sprintf("resend%d@example.org", i)}}
		}},
	}
	for _, tt := range tests {
		// One after another: they share the table being counted.
		for i := range tt.warm {
			b.api.do(t, tt.flood(-1-i))
		}
		before := rows()
		const n = 50
		for i := range n {
			if res := b.api.do(t, tt.flood(i)); res.status != http.StatusTooManyRequests {
				t.Fatalf("%s %d past the client's limit: %d %s", tt.name, i, res.status, res.body)
			}
		}
		if added := rows() - before; added != 0 {
			t.Errorf("%s: %d requests refused for their client left %d new throttle rows", tt.name, n, added)
		}
	}
}
