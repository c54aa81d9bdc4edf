package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func newReminder(resource string, to, by int64, at *time.Time) *usher.Reminder {
	return &usher.Reminder{Resource: resource, Payload: []byte(`{"note": "call back", "n": [1, 2]}`), AssignedTo: to,
		CreatedBy: by, RemindAt: at, CreatedAt: base, UpdatedAt: base}
}

func mustAddReminder(t *testing.T, s store.Store, r *usher.Reminder) *usher.Reminder {
	t.Helper()
	if err := s.ReminderAdd(context.Background(), r); err != nil || r.ID == 0 {
		t.Fatalf("ReminderAdd: %v", err)
	}
	return r
}

func testReminders(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	b := mustCreateUser(t, s, newUser("bob", "", ""))
	at := base.Add(time.Hour)
	r1 := mustAddReminder(t, s, newReminder("user:42", a.ID, b.ID, &at))
	r2 := mustAddReminder(t, s, newReminder("user:43", b.ID, b.ID, nil))
	r3 := mustAddReminder(t, s, newReminder("user:42", b.ID, 0, &at))

	got, err := s.ReminderGet(ctx, r1.ID)
	if err != nil || got.Resource != "user:42" || got.AssignedTo != a.ID || got.CreatedBy != b.ID ||
		got.RemindAt == nil || !got.RemindAt.Equal(at) || string(got.Payload) != string(r1.Payload) || !got.CreatedAt.Equal(base) {
		t.Fatalf("ReminderGet: %+v, %v", got, err)
	}
	if got, _ := s.ReminderGet(ctx, r3.ID); got.CreatedBy != 0 {
		t.Fatalf("CreatedBy = %d, want 0", got.CreatedBy)
	}
	_, err = s.ReminderGet(ctx, 9999)
	wantNotFound(t, err)

	dismissed := base.Add(time.Minute)
	upd, err := s.ReminderUpdate(ctx, r2.ID, func(r *usher.Reminder) error {
		r.DismissedAt, r.SnoozeCount, r.Payload, r.UpdatedAt = &dismissed, 2, []byte(`"x"`), dismissed
		return nil
	})
	if err != nil || upd.SnoozeCount != 2 {
		t.Fatalf("ReminderUpdate: %+v, %v", upd, err)
	}
	if got, _ := s.ReminderGet(ctx, r2.ID); got.DismissedAt == nil || string(got.Payload) != `"x"` || !got.UpdatedAt.Equal(dismissed) {
		t.Fatalf("after update: %+v", got)
	}
	_, err = s.ReminderUpdate(ctx, 9999, func(*usher.Reminder) error { return nil })
	wantNotFound(t, err)

	ids := func(f usher.ReminderFilter) []int64 {
		t.Helper()
		p, err := s.ReminderList(ctx, f)
		if err != nil {
			t.Fatalf("ReminderList(%+v): %v", f, err)
		}
		var out []int64
		for _, r := range p.Items {
			out = append(out, r.ID)
		}
		return out
	}
	until := at.Add(time.Second)
	for _, c := range []struct {
		name string
		f    usher.ReminderFilter
		want []int64
	}{
		{"all", usher.ReminderFilter{}, []int64{r1.ID, r2.ID, r3.ID}},
		{"resource", usher.ReminderFilter{Resource: "user:42"}, []int64{r1.ID, r3.ID}},
		{"resource prefix", usher.ReminderFilter{Resource: "user:4", ResourcePrefix: true}, []int64{r1.ID, r2.ID, r3.ID}},
		{"resource prefix, whole", usher.ReminderFilter{Resource: "user:42", ResourcePrefix: true}, []int64{r1.ID, r3.ID}},
		{"resource prefix, in another case", usher.ReminderFilter{Resource: "USER:", ResourcePrefix: true}, nil},
		{"resource prefix, no wildcards", usher.ReminderFilter{Resource: "user_4", ResourcePrefix: true}, nil},
		{"resource prefix, no pattern", usher.ReminderFilter{Resource: "user:%", ResourcePrefix: true}, nil},
		{"assigned", usher.ReminderFilter{AssignedTo: b.ID}, []int64{r2.ID, r3.ID}},
		{"involving", usher.ReminderFilter{Involving: a.ID}, []int64{r1.ID}},
		{"involving creator", usher.ReminderFilter{Involving: b.ID}, []int64{r1.ID, r2.ID, r3.ID}},
		{"created by", usher.ReminderFilter{CreatedBy: b.ID}, []int64{r1.ID, r2.ID}},
		{"from", usher.ReminderFilter{ScheduledFrom: &at}, []int64{r1.ID, r3.ID}},
		{"until", usher.ReminderFilter{ScheduledUntil: &at}, nil},
		{"range", usher.ReminderFilter{ScheduledFrom: &at, ScheduledUntil: &until}, []int64{r1.ID, r3.ID}},
		{"undismissed", usher.ReminderFilter{ExcludeDismissed: true}, []int64{r1.ID, r3.ID}},
		{"scheduled", usher.ReminderFilter{ScheduledOnly: true}, []int64{r1.ID, r3.ID}},
		{"after", usher.ReminderFilter{Page: usher.PageRequest{After: &usher.Cursor{ID: r1.ID}}}, []int64{r2.ID, r3.ID}},
	} {
		if got := ids(c.f); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	p, err := s.ReminderList(ctx, usher.ReminderFilter{Page: usher.PageRequest{Limit: 2}})
	if err != nil || len(p.Items) != 2 || p.Next == nil || p.Next.ID != r2.ID || p.Total != -1 {
		t.Fatalf("first page: %+v, %v", p, err)
	}

	// A deleted reminder is kept but not listed.
	if _, err := s.ReminderUpdate(ctx, r3.ID, func(r *usher.Reminder) error { r.DeletedAt = &dismissed; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := ids(usher.ReminderFilter{}); fmt.Sprint(got) != fmt.Sprint([]int64{r1.ID, r2.ID}) {
		t.Fatalf("after delete: %v", got)
	}
	if got, err := s.ReminderGet(ctx, r3.ID); err != nil || got.DeletedAt == nil {
		t.Fatalf("deleted: %+v, %v", got, err)
	}
}

func testReminderClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	due, later := base, base.Add(time.Hour)
	r1 := mustAddReminder(t, s, newReminder("user:1", a.ID, a.ID, &due))
	mustAddReminder(t, s, newReminder("user:2", a.ID, a.ID, &later))
	mustAddReminder(t, s, newReminder("user:3", a.ID, a.ID, nil))
	gone := mustAddReminder(t, s, newReminder("user:4", a.ID, a.ID, &due))
	if _, err := s.ReminderUpdate(ctx, gone.ID, func(r *usher.Reminder) error { r.DismissedAt = &due; return nil }); err != nil {
		t.Fatal(err)
	}
	now, lease := base.Add(time.Minute), base.Add(3*time.Minute)
	got, err := s.ReminderClaim(ctx, now, lease, "one", 10)
	if err != nil || len(got) != 1 || got[0].ID != r1.ID {
		t.Fatalf("ReminderClaim: %+v, %v", got, err)
	}
	if again, _ := s.ReminderClaim(ctx, now, lease, "two", 10); len(again) != 0 {
		t.Fatalf("claimed twice: %+v", again)
	}
	// After the lease another sender takes it over; the first claim is void.
	got, _ = s.ReminderClaim(ctx, lease, lease.Add(time.Minute), "two", 10)
	if len(got) != 1 {
		t.Fatalf("claim after the lease: %+v", got)
	}
	wantNotFound(t, s.ReminderDeliver(ctx, r1.ID, "one", lease))
	if err := s.ReminderDeliver(ctx, r1.ID, "two", lease); err != nil {
		t.Fatalf("ReminderDeliver: %v", err)
	}
	wantNotFound(t, s.ReminderDeliver(ctx, r1.ID, "two", lease))
	if r, _ := s.ReminderGet(ctx, r1.ID); r.DeliveredAt == nil || !r.DeliveredAt.Equal(lease) {
		t.Fatalf("delivered: %+v", r)
	}
	again, _ := s.ReminderClaim(ctx, later.Add(time.Hour), later.Add(2*time.Hour), "three", 10)
	if len(again) != 1 || again[0].Resource != "user:2" {
		t.Fatalf("later claim: %+v", again)
	}
	if err := s.ReminderDeliver(ctx, again[0].ID, "three", later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A change voids a claim: its sender delivers nothing.
	at := later.Add(3 * time.Hour)
	r5 := mustAddReminder(t, s, newReminder("user:5", a.ID, a.ID, &due))
	if got, _ := s.ReminderClaim(ctx, at, at.Add(time.Minute), "four", 10); len(got) != 1 || got[0].ID != r5.ID {
		t.Fatalf("claim r5: %+v", got)
	}
	if _, err := s.ReminderUpdate(ctx, r5.ID, func(r *usher.Reminder) error { r.Resource = "user:6"; return nil }); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.ReminderDeliver(ctx, r5.ID, "four", at))
}

func testReminderConcurrentClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	const n = 30
	for i := range n {
		at := base.Add(time.Duration(i) * time.Second)
		mustAddReminder(t, s, newReminder(fmt.Sprintf("user:%d", i), a.ID, a.ID, &at))
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claim := fmt.Sprintf("worker-%d", w)
			for {
				got, err := s.ReminderClaim(ctx, base.Add(time.Hour), base.Add(2*time.Hour), claim, 3)
				if err != nil {
					t.Errorf("ReminderClaim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, r := range got {
					if err := s.ReminderDeliver(ctx, r.ID, claim, base.Add(time.Hour)); err != nil {
						t.Errorf("ReminderDeliver(%d): %v", r.ID, err)
					}
					mu.Lock()
					seen[r.ID]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d reminders, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("reminder %d claimed %d times", id, k)
		}
	}
}
