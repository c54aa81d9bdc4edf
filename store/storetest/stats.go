package storetest

import (
	"context"
	"testing"
	"time"

	"usher"
	"usher/store"
)

// testStats counts what a store holds by state. A new store may hold rows
// of its own (internal groups), so the case compares the counts before and
// after it adds some.
func testStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	before, err := s.StatsGet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := base
	user := func(name string, suspended, deleted bool) {
		u := newUser(name, name+"@example.com", "")
		if suspended {
			u.State, u.SuspendedAt = usher.StateSuspended, &at
		}
		if deleted {
			u.DeletedAt = &at
		}
		mustCreateUser(t, s, u)
	}
	user("valid1", false, false)
	user("valid2", false, false)
	user("suspended", true, false)
	user("deleted", false, true)
	user("both", true, true)
	group := func(kind usher.GroupKind, handle string, archived, deleted bool) {
		g := newGroup(kind, handle)
		if archived {
			g.ArchivedAt = &at
		}
		if deleted {
			g.DeletedAt = &at
		}
		mustCreateGroup(t, s, g)
	}
	group(usher.GroupTeam, "team", false, false)
	group(usher.GroupTeam, "archived-team", true, false)
	group(usher.GroupRole, "role", false, false)
	group(usher.GroupRole, "archived-role", true, false)
	group(usher.GroupRole, "deleted-role", true, true)
	mustCreateApp(t, s, &usher.Application{Name: "one", Enabled: true})
	mustCreateApp(t, s, &usher.Application{Name: "two", DeletedAt: &at})

	after, err := s.StatsGet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := usher.Stats{
		Users:        usher.UserStats{Total: 5, Valid: 2, Suspended: 1, Deleted: 2},
		Groups:       usher.GroupStats{Total: 5, Valid: 2, Archived: 2, Deleted: 1},
		Roles:        usher.GroupStats{Total: 3, Valid: 1, Archived: 1, Deleted: 1},
		Applications: usher.ApplicationStats{Total: 2, Valid: 1, Deleted: 1},
	}
	got := usher.Stats{
		Users: usher.UserStats{
			Total: after.Users.Total - before.Users.Total, Valid: after.Users.Valid - before.Users.Valid,
			Suspended: after.Users.Suspended - before.Users.Suspended, Deleted: after.Users.Deleted - before.Users.Deleted,
		},
		Groups: groupDelta(before.Groups, after.Groups),
		Roles:  groupDelta(before.Roles, after.Roles),
		Applications: usher.ApplicationStats{
			Total: after.Applications.Total - before.Applications.Total, Valid: after.Applications.Valid - before.Applications.Valid,
			Deleted: after.Applications.Deleted - before.Applications.Deleted,
		},
	}
	if got != want {
		t.Fatalf("StatsGet added\n got %+v\nwant %+v", got, want)
	}
}

func groupDelta(a, b usher.GroupStats) usher.GroupStats {
	return usher.GroupStats{Total: b.Total - a.Total, Valid: b.Valid - a.Valid, Archived: b.Archived - a.Archived, Deleted: b.Deleted - a.Deleted}
}

// testBacklog counts the unsent mails, with the oldest one's time, and the
// reminders due: a sent mail, a reminder not due yet, dismissed or
// delivered, is no backlog.
func testBacklog(t *testing.T, s store.Store) {
	ctx := context.Background()
	if b, err := s.BacklogGet(ctx, base); err != nil || b.MailQueued != 0 || !b.MailOldest.IsZero() || b.RemindersDue != 0 {
		t.Fatalf("an empty store's backlog: %+v, %v", b, err)
	}
	var ids []int64
	for i := range 3 {
		m := &usher.Mail{Kind: "confirm", To: "a@example.com", Subject: "s", Body: "b",
			CreatedAt: base.Add(time.Duration(i) * time.Minute), NextAttemptAt: base.Add(time.Hour)}
		if err := s.OutboxAdd(ctx, m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	if err := s.OutboxSent(ctx, ids[0], base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	a := mustCreateUser(t, s, newUser("backlog", "", ""))
	due, later := base, base.Add(time.Hour)
	mustAddReminder(t, s, newReminder("user:1", a.ID, a.ID, &due))
	mustAddReminder(t, s, newReminder("user:2", a.ID, a.ID, &later))
	mustAddReminder(t, s, newReminder("user:3", a.ID, a.ID, nil))
	gone := mustAddReminder(t, s, newReminder("user:4", a.ID, a.ID, &due))
	if _, err := s.ReminderUpdate(ctx, gone.ID, func(r *usher.Reminder) error { r.DismissedAt = &due; return nil }); err != nil {
		t.Fatal(err)
	}
	b, err := s.BacklogGet(ctx, base.Add(time.Minute))
	if err != nil || b.MailQueued != 2 || !b.MailOldest.Equal(base.Add(time.Minute)) || b.RemindersDue != 1 {
		t.Fatalf("backlog: %+v, %v; want 2 mails from %v and 1 reminder", b, err, base.Add(time.Minute))
	}
	if b, _ := s.BacklogGet(ctx, base.Add(2*time.Hour)); b.RemindersDue != 2 {
		t.Fatalf("backlog later: %+v", b)
	}
}
