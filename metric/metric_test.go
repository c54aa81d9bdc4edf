package metric_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"usher"
	"usher/core/coretest"
	"usher/metric"
)

// TestLoginOutcomes: each way a log-in ends is counted under its method
// and outcome, through the real core.
func TestLoginOutcomes(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	env := coretest.New(t, coretest.Options{Observer: metric.NewObserver(reg)})
	ctx := context.Background()
	env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", Password: "a long passphrase 7"})
	blocked := env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com", Password: "a long passphrase 8"})
	if _, err := env.Core.Users.Block(coretest.System(), usher.UserKey{ID: blocked.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Core.Scripts.Create(coretest.System(), usher.ScriptCreate{Name: "no-carol",
		Source: `if (usher.resource.username === "carol") usher.refuse("not today");`, Triggers: []usher.Trigger{usher.TriggerBeforeLogin}}); err != nil {
		t.Fatal(err)
	}
	env.MustCreateUser(t, usher.UserCreate{Username: "carol", Email: "carol@example.com", Password: "a long passphrase 9"})
	for _, tt := range []struct {
		name            string
		do              func() error
		method, outcome string
	}{
		{"right password", func() error { _, err := env.Core.Auth.Login(ctx, "alice", "a long passphrase 7"); return err },
			usher.LoginPassword, usher.LoginSucceeded},
		{"wrong password", func() error { _, err := env.Core.Auth.Login(ctx, "alice", "wrong"); return err },
			usher.LoginPassword, usher.LoginRejected},
		{"blocked account", func() error { _, err := env.Core.Auth.Login(ctx, "bob", "a long passphrase 8"); return err },
			usher.LoginPassword, usher.LoginRefused},
		{"refused by a script", func() error { _, err := env.Core.Auth.Login(ctx, "carol", "a long passphrase 9"); return err },
			usher.LoginPassword, usher.LoginRefused},
		{"no password", func() error { _, err := env.Core.Auth.Login(ctx, "alice", ""); return err },
			usher.LoginPassword, usher.LoginInvalid},
		{"service account, wrong token", func() error {
			_, err := env.Core.Auth.ServiceAccountLogin(ctx, "robot", "usher_sa_nothing")
			return err
		}, usher.LoginServiceAccount, usher.LoginRejected},
		{"unknown provider", func() error { _, _, err := env.Core.Auth.FinishOAuth(ctx, "nowhere", "s", "c", "b"); return err },
			usher.LoginOAuth, usher.LoginInvalid},
	} {
		before := logins(t, reg, tt.method, tt.outcome)
		err := tt.do()
		if (tt.outcome == usher.LoginSucceeded) != (err == nil) {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if n := logins(t, reg, tt.method, tt.outcome) - before; n != 1 {
			t.Errorf("%s: usher_logins_total{method=%q,outcome=%q} grew by %v, want 1", tt.name, tt.method, tt.outcome, n)
		}
	}
}

// logins returns the count of log-ins by method with outcome gathered
// from reg.
func logins(t *testing.T, reg *prometheus.Registry, method, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "usher_logins_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == method && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
