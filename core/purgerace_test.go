package core_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// TestPurgeMeetsWritesOfItsTeam (round 34, against 2d41753): a
// purge that held the account's row first, and only then the teams it owns
// and the reminders it made, met on PostgreSQL — a 500 for one of each pair
// — a change of a member of its team (the team, then the member's row), a
// merge of its team (both groups, then each member's row). The purge now
// takes them in that order too.
func TestPurgeMeetsWritesOfItsTeam(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		write func(env *coretest.Env, admin, pat *usher.User, team, other usher.GroupRef) error
	}{
		{"a member's level", func(env *coretest.Env, admin, pat *usher.User, team, _ usher.GroupRef) error {
			_, err := env.Core.Groups.AddMember(as(admin), team, usher.UserKey{ID: pat.ID}, usher.LevelWrite)
			return err
		}},
		{"a merge", func(env *coretest.Env, admin, _ *usher.User, team, other usher.GroupRef) error {
			_, err := env.Core.Groups.Merge(as(admin), team, other)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := coretest.New(t, coretest.Options{Postgres: true,
				WrapStore: func(s store.Store) store.Store { return &pausingStore{s} }})
			admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
			pat := env.MustCreateUser(t, usher.UserCreate{Username: "pat", Email: "pat@example.com", Admin: true})
			quinn := env.MustCreateUser(t, usher.UserCreate{Username: "quinn", Email: "quinn@example.com"})
			groups := env.Core.Groups
			g, err := groups.Create(as(pat), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "pats", Members: []int64{quinn.ID}})
			if err != nil {
				t.Fatal(err)
			}
			team := usher.GroupRef{ID: g.ID}
			if _, err := groups.AddMember(as(admin), team, usher.UserKey{ID: quinn.ID}, usher.LevelOwner); err != nil {
				t.Fatal(err)
			}
			other, err := groups.Create(as(admin), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "others"})
			if err != nil {
				t.Fatal(err)
			}
			// The purge pauses holding pat's row.
			point := &pausePoint{reached: make(chan struct{})}
			ctx := context.WithValue(as(admin), pauseKey{}, pauseAt{call: "UserUpdate", point: point})
			first := make(chan error, 1)
			go func() { first <- env.Core.Users.Purge(ctx, usher.UserKey{ID: pat.ID}) }()
			<-point.reached
			err2 := tc.write(env, admin, pat, team, usher.GroupRef{ID: other.ID})
			err1 := <-first
			for _, err := range []error{err1, err2} {
				if err != nil && usher.AsError(err).Kind == usher.KindInternal {
					t.Errorf("a purge and %s at once: %v (a deadlock, a 500)", tc.name, err)
				}
			}
		})
	}
}

type purgeGateKey struct{}

type purgeHoldStore struct{ store.Store }

func (s *purgeHoldStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&purgeHoldTx{tx}) })
}

type purgeHoldTx struct{ store.Tx }

func (t *purgeHoldTx) UserPurge(ctx context.Context, id int64) error {
	if g, ok := ctx.Value(purgeGateKey{}).(*gate); ok {
		g.hold()
	}
	return t.Tx.UserPurge(ctx, id)
}

// purgeWhile purges victim as admin and, while the purge waits just
// before its UserPurge (purgeHoldStore), runs other; the purge goes on once
// other ends or a second has passed. It returns both errors.
func purgeWhile(t *testing.T, env *coretest.Env, admin, victim *usher.User, other func() error) (purged, ran error) {
	t.Helper()
	g := newGate()
	purge := make(chan error, 1)
	go func() {
		purge <- env.Core.Users.Purge(context.WithValue(as(admin), purgeGateKey{}, g), usher.UserKey{ID: victim.ID})
	}()
	select {
	case <-g.reached:
	case err := <-purge:
		t.Fatalf("the purge ended before it purged: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- other() }()
	select {
	case ran = <-done:
		close(g.release)
	case <-time.After(time.Second):
		close(g.release)
		ran = <-done
	}
	return <-purge, ran
}

// ownedTeamWithBot is a team bea owns with cal, and its service account.
func ownedTeamWithBot(t *testing.T, env *coretest.Env, admin, bea, cal *usher.User) (usher.GroupRef, *usher.User) {
	t.Helper()
	groups := env.Core.Groups
	team, err := groups.Create(as(bea), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "beas-team"})
	if err != nil {
		t.Fatal(err)
	}
	ref := usher.GroupRef{ID: team.ID}
	if _, err := groups.AddMember(as(admin), ref, usher.UserKey{ID: cal.ID}, usher.LevelOwner); err != nil {
		t.Fatal(err)
	}
	bot, err := groups.CreateServiceAccount(as(admin), ref, "beas-bot", "")
	if err != nil {
		t.Fatal(err)
	}
	return ref, bot
}

// TestPurgeWhileItsAccountActs (round 35, against 0100210, which took the
// purged account's row only at its UserPurge, after its teams' service
// accounts' rows and its reminders): the account made a team while it was
// purged, which was left with no owner; a block of it and its own mint of
// its team's service account's token (its row, then the service
// account's) deadlocked with the purge (a 500); and a reminder it made for
// another once the purge had ended its reminders stayed live. The purge
// now holds the account's row before those.
func TestPurgeWhileItsAccountActs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// beaAdmin makes bea an administrator, who reminds others; a
		// change of one waits for the administrators a purge holds.
		beaAdmin bool
		act      func(env *coretest.Env, ann, bea, cal *usher.User, team usher.GroupRef, bot *usher.User) error
		check    func(t *testing.T, env *coretest.Env, cal *usher.User)
	}{
		{"bea makes a team", false, func(env *coretest.Env, _, bea, _ *usher.User, _ usher.GroupRef, _ *usher.User) error {
			_, err := env.Core.Groups.Create(as(bea), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "beas-other"})
			return err
		}, func(t *testing.T, env *coretest.Env, _ *usher.User) {
			got, _, err := env.Core.Groups.Get(coretest.System(), usher.GroupRef{Handle: "beas-other", Kind: usher.GroupTeam})
			if err != nil || got.Deleted() {
				return // made after the purge: refused, or gone with it
			}
			page, err := env.Core.Groups.Members(coretest.System(), usher.GroupRef{ID: got.ID}, usher.PageRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(page.Items, func(m *usher.Membership) bool { return m.Level == usher.LevelOwner }) {
				t.Errorf("team %q, made by bea while her purge was under way, is live with no owner", got.Handle)
			}
		}},
		{"ann blocks bea", false, func(env *coretest.Env, ann, bea, _ *usher.User, _ usher.GroupRef, _ *usher.User) error {
			_, err := env.Core.Users.Block(as(ann), usher.UserKey{ID: bea.ID})
			return err
		}, nil},
		{"bea mints her bot's token", false, func(env *coretest.Env, _, bea, _ *usher.User, team usher.GroupRef, bot *usher.User) error {
			_, _, err := env.Core.Groups.ServiceAccountToken(as(bea), team, usher.UserKey{ID: bot.ID}, false)
			return err
		}, nil},
		{"bea reminds cal", true, func(env *coretest.Env, _, bea, cal *usher.User, _ usher.GroupRef, _ *usher.User) error {
			at := time.Now().Add(time.Hour)
			_, err := env.Core.Reminders.Create(as(bea), usher.ReminderCreate{Resource: "ticket:1", AssignedTo: cal.ID, RemindAt: &at})
			return err
		}, func(t *testing.T, env *coretest.Env, cal *usher.User) {
			page, err := env.Core.Reminders.List(coretest.System(), usher.ReminderFilter{AssignedTo: cal.ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Items {
				if r.DeletedAt == nil {
					t.Errorf("reminder %d for cal, made by bea while she was purged, is live after her purge", r.ID)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := coretest.New(t, coretest.Options{Postgres: true,
				WrapStore: func(s store.Store) store.Store { return &purgeHoldStore{s} }})
			ann := env.MustCreateUser(t, usher.UserCreate{Username: "ann", Email: "ann@example.com", Admin: true})
			bea := env.MustCreateUser(t, usher.UserCreate{Username: "bea", Email: "bea@example.com", Admin: tc.beaAdmin})
			cal := env.MustCreateUser(t, usher.UserCreate{Username: "cal", Email: "cal@example.com"})
			team, bot := ownedTeamWithBot(t, env, ann, bea, cal)
			purged, ran := purgeWhile(t, env, ann, bea, func() error { return tc.act(env, ann, bea, cal, team, bot) })
			for _, err := range []error{purged, ran} {
				if err != nil && usher.AsError(err).Kind == usher.KindInternal {
					t.Errorf("a purge of bea while %s: %v (a deadlock, a 500)", tc.name, err)
				}
			}
			if tc.check != nil {
				tc.check(t, env, cal)
			}
		})
	}
}

type reminderListKey struct{}

// reminderGate holds housekeeping's purge as it lists the reminders of
// creator.
type reminderGate struct {
	*gate
	creator int64
}

type reminderHoldStore struct{ store.Store }

func (s *reminderHoldStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&reminderHoldTx{tx}) })
}

type reminderHoldTx struct{ store.Tx }

// ReminderList pauses housekeeping's purge of the service account once it
// holds the account's row and is about to end the account's reminders.
func (t *reminderHoldTx) ReminderList(ctx context.Context, f usher.ReminderFilter) (*usher.Page[*usher.Reminder], error) {
	if g, ok := ctx.Value(reminderListKey{}).(*reminderGate); ok && f.CreatedBy == g.creator {
		g.hold()
	}
	return t.Tx.ReminderList(ctx, f)
}

// TestPurgeMeetsHousekeepingPurgeOfAServiceAccount (round 36, against cbe5da0): an administrator's
// purge of a deleted service account that set a reminder for another
// takes the reminder's row (endRemindersFor) before the account's row;
// housekeeping's purge of the same account (purgeServiceAccount) takes the
// account's row, then the reminder's. On PostgreSQL one of them deadlocks.
func TestPurgeMeetsHousekeepingPurgeOfAServiceAccount(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	env := coretest.New(t, coretest.Options{Postgres: true, Now: c.Now, Policy: core.Policy{KeepEnded: time.Hour},
		WrapStore: func(s store.Store) store.Store { return &reminderHoldStore{s} }})
	r := remindingServiceAccount(t, env, c.Now().Add(3*time.Hour))
	admin, groups, team, bot := r.admin, env.Core.Groups, r.team, r.bot
	// An administrator, who gave the account its role, deletes the team:
	// its owner lacks the role's right, and may not end its credentials.
	if _, err := groups.Delete(as(admin), usher.GroupRef{ID: team.ID}); err != nil {
		t.Fatal(err)
	}
	c.Add(70 * time.Minute)

	g := &reminderGate{gate: newGate(), creator: bot.ID}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), reminderListKey{}, g))
	done := make(chan struct{})
	go func() { defer close(done); env.Core.Outbox.Run(ctx, 10*time.Millisecond) }()
	select {
	case <-g.reached:
	case <-time.After(10 * time.Second):
		cancel()
		<-done
		t.Fatal("housekeeping never reached the service account's reminders")
	}
	purged := make(chan error, 1)
	go func() { purged <- env.Core.Users.Purge(as(admin), usher.UserKey{ID: bot.ID}) }()
	time.Sleep(500 * time.Millisecond) // the purge ends the reminder and waits for the account's row
	close(g.release)
	perr := <-purged
	cancel()
	<-done
	if perr != nil && !errors.Is(perr, usher.ErrNotFound) && usher.AsError(perr).Kind != usher.KindNotFound {
		t.Fatalf("the administrator's purge of the service account, meeting housekeeping's: %v", perr)
	}
}
