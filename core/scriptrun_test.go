package core_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// TestScriptAfterRunBounded: an "after" run stuck in a backtracking
// regular expression (regexp2, where the runtime's interrupt does not
// reach) is cut off at the time limit and recorded as failed; RunDue
// returns and what follows it runs.
func TestScriptAfterRunBounded(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(fmt.Sprintf("postgres=%v", pg), func(t *testing.T) {
			s := setupScriptsWith(t, pg, core.Policy{ScriptTimeout: 100 * time.Millisecond, ScriptHeapGrowth: 128 << 20})
			s.mustScript(t, "after-shape", `if (!/^(?=\w)(\w+\.?)+$/.test(usher.resource.name)) usher.mail(usher.resource.email, "Hi", "x");`,
				usher.TriggerUserAfterCreate)
			bob := s.env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com", Name: strings.Repeat("a", 30) + "!"})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			n, err := s.env.Core.Scripts.RunDue(ctx, 10)
			if err != nil || n != 1 {
				t.Fatalf("RunDue = %d, %v", n, err)
			}
			if d := time.Since(start); d > regexpBound+2*time.Second {
				t.Errorf("RunDue took %v, past the process's regexp2 bound of %v", d, regexpBound)
			}
			run, err := s.env.Store.ScriptRunGet(context.Background(), 1)
			if err != nil || run.Script != "after-shape" || run.Resource != fmt.Sprintf("user:%d", bob.ID) {
				t.Fatalf("run: %+v, %v", run, err)
			}
			if run.Outcome != "failed" || !strings.Contains(strings.Join(run.Log, " "), "time limit") {
				t.Errorf("run outcome %q, log %q: want failed at the time limit", run.Outcome, run.Log)
			}
			if n := scriptMails(t, s.env); len(n) != 0 {
				t.Errorf("a run cut off mailed: %v", n)
			}
		})
	}
}

// TestScriptAfterRunRemovedTrigger: a run queued under a trigger the script
// no longer has is skipped, as is one of a disabled script.
func TestScriptAfterRunRemovedTrigger(t *testing.T) {
	t.Parallel()
	off, only := false, []usher.Trigger{usher.TriggerUserManual}
	for _, tt := range []struct {
		name   string
		update usher.ScriptUpdate
	}{
		{"trigger removed", usher.ScriptUpdate{Triggers: &only}},
		{"disabled", usher.ScriptUpdate{Enabled: &off}},
	} {
		for _, pg := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/postgres=%v", tt.name, pg), func(t *testing.T) {
				s := setupScripts(t, pg)
				s.mustScript(t, "welcome", `usher.mail(usher.resource.email, "Welcome", "hi");`, usher.TriggerUserAfterCreate)
				s.env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com"})
				if _, err := s.env.Core.Scripts.Update(as(s.admin), "welcome", tt.update); err != nil {
					t.Fatal(err)
				}
				if n, err := s.env.Core.Scripts.RunDue(context.Background(), 10); err != nil || n != 1 {
					t.Fatalf("RunDue = %d, %v", n, err)
				}
				if n := scriptMails(t, s.env); len(n) != 0 {
					t.Errorf("a skipped run mailed: %v", n)
				}
				run, err := s.env.Store.ScriptRunGet(context.Background(), 1)
				if err != nil || run.Script != "welcome" || run.Outcome != "skipped" {
					t.Errorf("run: %+v, %v; want skipped", run, err)
				}
			})
		}
	}
}

// TestScriptRunNamesWhoQueuedIt: a run an after-trigger queued is the
// system's, but its event names whose change queued it (queued_by): the
// log showed the system alone, and the reader had to match the change by
// time.
func TestScriptRunNamesWhoQueuedIt(t *testing.T) {
	t.Parallel()
	s := setupScriptsWith(t, false, core.Policy{})
	s.mustScript(t, "after-update", `usher.log("seen");`, usher.TriggerUserAfterUpdate)
	bob := s.env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com"})
	name := "Bob"
	as := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: bob})
	if _, err := s.env.Core.Users.Update(as, usher.UserKey{ID: bob.ID}, usher.UserUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.env.Core.Scripts.RunDue(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	page, err := s.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "script.run"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("script.run events: %v, %v", page, err)
	}
	if got, want := page.Items[0].Meta["queued_by"], fmt.Sprint(bob.ID); got != want {
		t.Errorf("queued_by = %q, want %q (meta %v)", got, want, page.Items[0].Meta)
	}
}

// claimOrder records, for TestOutboxTakesTurns, how many batches of script
// runs were claimed before the first mail was.
type claimOrder struct {
	store.Store
	mu        sync.Mutex
	runClaims int
	mailAt    int
	mailed    chan struct{}
	once      sync.Once
}

func (s *claimOrder) ScriptRunClaim(ctx context.Context, now, leaseUntil time.Time, claim string, limit int) ([]*usher.ScriptRun, error) {
	s.mu.Lock()
	s.runClaims++
	s.mu.Unlock()
	return s.Store.ScriptRunClaim(ctx, now, leaseUntil, claim, limit)
}

func (s *claimOrder) OutboxClaim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*usher.Mail, error) {
	ms, err := s.Store.OutboxClaim(ctx, now, leaseUntil, limit)
	if len(ms) > 0 {
		s.once.Do(func() {
			s.mu.Lock()
			s.mailAt = s.runClaims
			s.mu.Unlock()
			close(s.mailed)
		})
	}
	return ms, err
}

// TestOutboxTakesTurns replays any user's edits queuing "after" script
// runs faster than they run while someone asks for a password reset: the
// outbox ran every queued script run before it sent a mail, so the reset
// (and every confirmation, notice and reminder) waited behind the backlog
// — 8.5 s in a reviewer's flood of profile edits. A round now takes a
// batch of each in turn.
func TestOutboxTakesTurns(t *testing.T) {
	t.Parallel()
	_, tr := mailServer(t)
	order := &claimOrder{mailed: make(chan struct{})}
	env := coretest.New(t, coretest.Options{Transport: tr, WrapStore: func(s store.Store) store.Store { order.Store = s; return order }})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", EmailConfirmed: true})
	sc, err := env.Core.Scripts.Create(as(admin), usher.ScriptCreate{Name: "after-update", Source: `usher.log("seen");`,
		Triggers: []usher.Trigger{usher.TriggerUserAfterUpdate}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = env.Store.InTx(context.Background(), func(tx store.Tx) error {
		for range 100 {
			if err := tx.ScriptRunAdd(context.Background(), &usher.ScriptRun{ScriptID: sc.ID, Script: sc.Name, Trigger: usher.TriggerUserAfterUpdate,
				Resource: fmt.Sprintf("user:%d", alice.ID), Subject: []byte(`{}`), ActorID: alice.ID, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Core.Auth.RequestPasswordReset(context.Background(), "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); env.Core.Outbox.Run(ctx, time.Hour) }()
	select {
	case <-order.mailed:
	case <-time.After(30 * time.Second):
		t.Error("no mail was claimed")
	}
	cancel()
	<-done
	if order.mailAt > 1 {
		t.Errorf("the reset's mail was claimed after %d batches of script runs, want 1", order.mailAt)
	}
}
