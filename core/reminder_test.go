package core_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// remindersSetup is a core on a settable clock with alice and bob.
type remindersSetup struct {
	env        *coretest.Env
	clock      *clock
	admin      *usher.User
	alice, bob *usher.User
}

func setupReminders(t *testing.T, pg bool) *remindersSetup {
	t.Helper()
	c := &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	env := coretest.New(t, coretest.Options{Postgres: pg, Now: c.Now})
	s := &remindersSetup{env: env, clock: c}
	s.admin = env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	s.alice = env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", EmailConfirmed: true})
	s.bob = env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com", EmailConfirmed: true})
	return s
}

func (s *remindersSetup) mustCreate(t *testing.T, ctx context.Context, in usher.ReminderCreate) *usher.Reminder {
	t.Helper()
	r, err := s.env.Core.Reminders.Create(ctx, in)
	if err != nil {
		t.Fatalf("Create(%+v): %v", in, err)
	}
	return r
}

// reminderMails returns the queued mails of reminders, by recipient.
func reminderMails(t *testing.T, st store.Store, now time.Time) map[string]int {
	t.Helper()
	mails, err := st.OutboxClaim(context.Background(), now.Add(time.Hour), now.Add(2*time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range mails {
		if m.Kind == "reminder" {
			out[m.To]++
		}
	}
	return out
}

func TestReminderLifecycle(t *testing.T) {
	t.Parallel()
	s := setupReminders(t, false)
	rs := s.env.Core.Reminders
	alice := as(s.alice)
	at := s.clock.Now().Add(time.Hour)
	r := s.mustCreate(t, alice, usher.ReminderCreate{Resource: "user:42", Payload: []byte(`{"a":1}`), RemindAt: &at})
	if r.AssignedTo != s.alice.ID || r.CreatedBy != s.alice.ID || !r.RemindAt.Equal(at) {
		t.Fatalf("created: %+v", r)
	}
	// Bad input is refused, each field named.
	past := s.clock.Now().Add(-time.Minute)
	for name, in := range map[string]usher.ReminderCreate{
		"past":        {Resource: "user:1", RemindAt: &past},
		"no resource": {},
		"bad ref":     {Resource: "user 42"},
		"not json":    {Resource: "user:1", Payload: []byte(`{nope`)},
		"too large":   {Resource: "user:1", Payload: []byte(`"` + string(make([]byte, 17<<10)) + `"`)},
		"no assignee": {Resource: "user:1", AssignedTo: 1 << 40},
	} {
		_, err := rs.Create(as(s.admin), in)
		if usher.ErrorKind(err) != usher.KindUnprocessable {
			t.Errorf("%s: err = %v, want unprocessable", name, err)
		}
	}
	later := at.Add(time.Hour)
	up, err := rs.Update(alice, r.ID, usher.ReminderUpdate{Resource: ptr("user:43"), RemindAt: &later})
	if err != nil || up.Resource != "user:43" || !up.RemindAt.Equal(later) || string(up.Payload) != `{"a":1}` {
		t.Fatalf("Update: %+v, %v", up, err)
	}
	d, err := rs.Dismiss(alice, r.ID)
	if err != nil || d.DismissedAt == nil {
		t.Fatalf("Dismiss: %+v, %v", d, err)
	}
	page, err := rs.List(alice, usher.ReminderFilter{ExcludeDismissed: true})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("dismissed listed: %+v, %v", page, err)
	}
	sn, err := rs.Snooze(alice, r.ID, later.Add(time.Hour))
	if err != nil || sn.SnoozeCount != 1 || sn.DismissedAt != nil || !sn.RemindAt.Equal(later.Add(time.Hour)) {
		t.Fatalf("Snooze: %+v, %v", sn, err)
	}
	_, err = rs.Snooze(alice, r.ID, past)
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	if err := rs.Delete(alice, r.ID); err != nil {
		t.Fatal(err)
	}
	_, err = rs.Get(alice, r.ID)
	wantKind(t, err, usher.KindNotFound, usher.CodeReminderNotFound)
	wantKind(t, rs.Delete(alice, r.ID), usher.KindNotFound, usher.CodeReminderNotFound)
	// Every change is in the audit log.
	events, err := s.env.Core.Audit.List(as(s.admin), usher.AuditFilter{Action: "reminder."})
	if err != nil || len(events.Items) != 5 {
		t.Fatalf("audit: %d events, %v", len(events.Items), err)
	}
}

func TestReminderRules(t *testing.T) {
	t.Parallel()
	s := setupReminders(t, false)
	rs := s.env.Core.Reminders
	alice, bob := as(s.alice), as(s.bob)
	r := s.mustCreate(t, alice, usher.ReminderCreate{Resource: "user:1"})

	// Another user's reminder does not exist for bob, nor in his list.
	_, err := rs.Get(bob, r.ID)
	wantKind(t, err, usher.KindNotFound, usher.CodeReminderNotFound)
	_, err = rs.Dismiss(bob, r.ID)
	wantKind(t, err, usher.KindNotFound, usher.CodeReminderNotFound)
	if page, err := rs.List(bob, usher.ReminderFilter{}); err != nil || len(page.Items) != 0 {
		t.Fatalf("bob lists: %+v, %v", page, err)
	}
	// Nor may he assign one to alice; he may to himself.
	_, err = rs.Create(bob, usher.ReminderCreate{Resource: "user:1", AssignedTo: s.alice.ID})
	wantKind(t, err, usher.KindForbidden, "forbidden")
	s.mustCreate(t, bob, usher.ReminderCreate{Resource: "user:2", AssignedTo: s.bob.ID})
	// A read-only token may read but not change.
	if _, err := rs.Get(as(s.alice, usher.ScopeReadAPI), r.ID); err != nil {
		t.Fatal(err)
	}
	_, err = rs.Dismiss(as(s.alice, usher.ScopeReadAPI), r.ID)
	wantKind(t, err, usher.KindForbidden, "forbidden")
	// Anonymous callers are refused.
	_, err = rs.Get(context.Background(), r.ID)
	wantKind(t, err, usher.KindUnauthenticated, "")
	// Administrators see and change everything.
	if page, err := rs.List(as(s.admin), usher.ReminderFilter{}); err != nil || len(page.Items) != 2 {
		t.Fatalf("admin lists: %+v, %v", page, err)
	}
	if _, err := rs.Update(as(s.admin), r.ID, usher.ReminderUpdate{AssignedTo: &s.bob.ID}); err != nil {
		t.Fatal(err)
	}

	// A role allowed to read reminders sees every one, but changes none.
	role, err := s.env.Core.Groups.Create(as(s.admin), usher.GroupCreate{Kind: usher.GroupRole, Handle: "reminder-readers"})
	if err != nil {
		t.Fatal(err)
	}
	carol := s.env.MustCreateUser(t, usher.UserCreate{Username: "carol", Email: "carol@example.com"})
	if _, err := s.env.Core.Groups.AddMember(as(s.admin), usher.GroupRef{ID: role.ID}, usher.UserKey{ID: carol.ID}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.env.Core.Groups.SetRules(as(s.admin), usher.GroupRef{ID: role.ID},
		[]usher.Rule{{Resource: "reminder", Operation: "read", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Get(as(carol), r.ID); err != nil {
		t.Fatalf("carol reads: %v", err)
	}
	if page, err := rs.List(as(carol), usher.ReminderFilter{}); err != nil || len(page.Items) != 2 {
		t.Fatalf("carol lists: %+v, %v", page, err)
	}
	_, err = rs.Dismiss(as(carol), r.ID)
	wantKind(t, err, usher.KindForbidden, "forbidden")
	// A rule that denies reading takes even one's own reminders away.
	if _, err := s.env.Core.Groups.SetRules(as(s.admin), usher.GroupRef{ID: role.ID},
		[]usher.Rule{{Resource: "reminder", Operation: "read", Access: usher.Deny}}, true); err != nil {
		t.Fatal(err)
	}
	own := s.mustCreate(t, as(carol), usher.ReminderCreate{Resource: "user:3"})
	_, err = rs.Get(as(carol), own.ID)
	wantKind(t, err, usher.KindNotFound, usher.CodeReminderNotFound)
	_, err = rs.List(as(carol), usher.ReminderFilter{})
	wantKind(t, err, usher.KindForbidden, "forbidden")
}

// TestReminderDeliveredOnce runs two cores on one database — two replicas
// — delivering the same due reminders at once: each is mailed exactly
// once. A sender that claimed a reminder and stopped leaves it to another
// once the lease is over; a change voids a claim in flight.
func TestReminderDeliveredOnce(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			s := setupReminders(t, pg)
			var second store.Store = s.env.Store
			if !pg {
				second = s.env.Replica(t)
			}
			other := core.New(core.Config{Store: second, Now: s.clock.Now})
			const n = 25
			at := s.clock.Now().Add(time.Minute)
			for i := range n {
				to := s.alice
				if i%2 == 1 {
					to = s.bob
				}
				s.mustCreate(t, as(s.admin), usher.ReminderCreate{Resource: fmt.Sprintf("user:%d", i), AssignedTo: to.ID, RemindAt: &at})
			}
			notYet, err := s.env.Core.Reminders.DeliverDue(context.Background(), 100)
			if err != nil || notYet != 0 {
				t.Fatalf("delivered before due: %d, %v", notYet, err)
			}
			s.clock.Add(2 * time.Minute)

			var wg sync.WaitGroup
			var mu sync.Mutex
			total := 0
			for w := range 6 {
				rs := s.env.Core.Reminders
				if w%2 == 1 {
					rs = other.Reminders
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 20 {
						k, err := rs.DeliverDue(context.Background(), 2)
						if err != nil {
							t.Errorf("DeliverDue: %v", err)
							return
						}
						mu.Lock()
						total += k
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if total != n {
				t.Fatalf("delivered %d, want %d", total, n)
			}
			if k, _ := other.Reminders.DeliverDue(context.Background(), 100); k != 0 {
				t.Fatalf("delivered again: %d", k)
			}
			mails := reminderMails(t, s.env.Store, s.clock.Now())
			if mails["alice@example.com"] != 13 || mails["bob@example.com"] != 12 {
				t.Fatalf("mails: %v", mails)
			}
			events, err := s.env.Core.Audit.List(as(s.admin), usher.AuditFilter{Action: "reminder.deliver", Page: usher.PageRequest{Limit: 100}})
			if err != nil || len(events.Items) != n {
				t.Fatalf("deliver events: %d, %v", len(events.Items), err)
			}

			// A sender that stopped after its claim: another delivers once
			// the lease is over, and the stopped one's claim is void.
			due := s.clock.Now().Add(time.Minute)
			r := s.mustCreate(t, as(s.alice), usher.ReminderCreate{Resource: "user:crash", RemindAt: &due})
			s.clock.Add(2 * time.Minute)
			ctx := context.Background()
			claimed, err := s.env.Store.ReminderClaim(ctx, s.clock.Now(), s.clock.Now().Add(2*time.Minute), "crashed", 10)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim: %v, %v", claimed, err)
			}
			if k, _ := other.Reminders.DeliverDue(ctx, 10); k != 0 {
				t.Fatalf("delivered under another's lease: %d", k)
			}
			s.clock.Add(3 * time.Minute)
			if k, err := other.Reminders.DeliverDue(ctx, 10); k != 1 || err != nil {
				t.Fatalf("after the lease: %d, %v", k, err)
			}
			if err := s.env.Store.ReminderDeliver(ctx, r.ID, "crashed", s.clock.Now()); err == nil {
				t.Fatal("the stopped sender's claim still holds")
			}
			if got := reminderMails(t, s.env.Store, s.clock.Now())["alice@example.com"]; got != 1 {
				// Earlier mails were claimed by reminderMails and are not due.
				t.Fatalf("mails after the lease: %d", got)
			}
		})
	}
}

// TestOutboxRunMailsDueReminders: the outbox's loop queues a due reminder's
// mail and sends it to the assignee, once.
func TestOutboxRunMailsDueReminders(t *testing.T) {
	t.Parallel()
	srv, tr := mailServer(t)
	c := &clock{t: time.Now().UTC()}
	env := coretest.New(t, coretest.Options{Now: c.Now, Transport: tr})
	alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", EmailConfirmed: true})
	at := c.Now().Add(time.Minute)
	if _, err := env.Core.Reminders.Create(as(alice), usher.ReminderCreate{Resource: "invoice:7", Payload: []byte(`{"n":7}`), RemindAt: &at}); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); env.Core.Outbox.Run(ctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a few more rounds: nothing more is sent
	cancel()
	<-done
	msgs := srv.Messages()
	if len(msgs) != 1 || !slices.Contains(msgs[0].To, "alice@example.com") || !strings.Contains(msgs[0].Body, "invoice:7") {
		t.Fatalf("mails: %+v", msgs)
	}
}
