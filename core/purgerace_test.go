package core_test

import (
	"context"
	"errors"
	"sync"
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

type purgeGate struct {
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

type purgeHoldStore struct{ store.Store }

func (s *purgeHoldStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&purgeHoldTx{tx}) })
}

type purgeHoldTx struct{ store.Tx }

func (t *purgeHoldTx) UserPurge(ctx context.Context, id int64) error {
	if g, ok := ctx.Value(purgeGateKey{}).(*purgeGate); ok {
		g.once.Do(func() {
			close(g.reached)
			<-g.release
		})
	}
	return t.Tx.UserPurge(ctx, id)
}

// TestPurgeAsksOfATeamOwnedMeanwhile (round 35, against 0100210): a purge no longer holds the account's
// row from its start (0100210); it asks lastOwner, and a team the account
// comes to own (here: makes) before its UserPurge is left with no owner.
func TestPurgeAsksOfATeamOwnedMeanwhile(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Postgres: true,
		WrapStore: func(s store.Store) store.Store { return &purgeHoldStore{s} }})
	a := env.MustCreateUser(t, usher.UserCreate{Username: "ann", Email: "ann@example.com", Admin: true})
	b := env.MustCreateUser(t, usher.UserCreate{Username: "bea", Email: "bea@example.com"})
	users, groups := env.Core.Users, env.Core.Groups
	g := &purgeGate{reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- users.Purge(context.WithValue(as(a), purgeGateKey{}, g), usher.UserKey{ID: b.ID})
	}()
	select {
	case <-g.reached:
	case err := <-done:
		t.Fatalf("purge ended before UserPurge: %v", err)
	}
	// Meanwhile bea makes a team: she is its only owner.
	made := make(chan error, 1)
	var team *usher.Group
	go func() {
		var err error
		team, err = groups.Create(as(b), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "beas-team"})
		made <- err
	}()
	select {
	case err := <-made:
		if err != nil {
			close(g.release)
			t.Fatalf("team creation: %v", err)
		}
	case <-time.After(5 * time.Second):
		close(g.release)
		<-done
		t.Skip("the team creation waited on the purge (no race)")
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatalf("purge: %v", err)
	}
	page, err := groups.Members(coretest.System(), usher.GroupRef{ID: team.ID}, usher.PageRequest{})
	if err != nil {
		t.Fatalf("members: %v", err)
	}
	owners := 0
	for _, m := range page.Items {
		if m.Level == usher.LevelOwner {
			owners++
		}
	}
	got, _, gerr := groups.Get(coretest.System(), usher.GroupRef{ID: team.ID})
	if owners == 0 {
		t.Fatalf("team %q (live: %v, err %v) has %d members and no owner: bea made it while her purge was under way, and the purge (which holds no row of hers until UserPurge) took her away without asking lastOwner again",
			team.Handle, got != nil && !got.Deleted(), gerr, len(page.Items))
	}
}

// TestPurgeAndBlockAtOnce (round 35, against 0100210): a purge now locks the rows of the
// service accounts of the teams the account owns (endOwnedServiceAccountTokens
// -> revokeServiceAccountTokens -> lockUser) before the account's own row
// (UserPurge); a block of the account takes its row first (UserUpdate) and
// then those service accounts' rows. Opposite orders: PostgreSQL aborts one.
func TestPurgeAndBlockAtOnce(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Postgres: true,
		WrapStore: func(s store.Store) store.Store { return &purgeHoldStore{s} }})
	a := env.MustCreateUser(t, usher.UserCreate{Username: "ann", Email: "ann@example.com", Admin: true})
	b := env.MustCreateUser(t, usher.UserCreate{Username: "bea", Email: "bea@example.com"})
	c := env.MustCreateUser(t, usher.UserCreate{Username: "cal", Email: "cal@example.com"})
	users, groups := env.Core.Users, env.Core.Groups
	team, err := groups.Create(as(b), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "beas-team"})
	if err != nil {
		t.Fatal(err)
	}
	ref := usher.GroupRef{ID: team.ID}
	if _, err := groups.AddMember(as(a), ref, usher.UserKey{ID: c.ID}, usher.LevelOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := groups.CreateServiceAccount(as(a), ref, "beas-bot", ""); err != nil {
		t.Fatal(err)
	}
	g := &purgeGate{reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- users.Purge(context.WithValue(as(a), purgeGateKey{}, g), usher.UserKey{ID: b.ID})
	}()
	select {
	case <-g.reached:
	case err := <-done:
		t.Fatalf("purge ended before UserPurge: %v", err)
	}
	blocked := make(chan error, 1)
	go func() {
		_, err := users.Block(as(a), usher.UserKey{ID: b.ID})
		blocked <- err
	}()
	var berr error
	select {
	case berr = <-blocked:
		close(g.release)
	case <-time.After(time.Second):
		close(g.release)
		berr = <-blocked
	}
	perr := <-done
	t.Logf("purge: %v; block: %v", perr, berr)
	for _, e := range []error{perr, berr} {
		if e != nil && usher.AsError(e).Code != usher.CodeUserNotFound {
			t.Errorf("a purge and a block of one account met: %v (purge: %v, block: %v)", e, perr, berr)
		}
	}
}

// TestPurgeAndMintAtOnce (round 35, against 0100210): as the block, the purged owner's own
// mint of one of the team's service accounts' tokens.
func TestPurgeAndMintAtOnce(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Postgres: true,
		WrapStore: func(s store.Store) store.Store { return &purgeHoldStore{s} }})
	a := env.MustCreateUser(t, usher.UserCreate{Username: "ann", Email: "ann@example.com", Admin: true})
	b := env.MustCreateUser(t, usher.UserCreate{Username: "bea", Email: "bea@example.com"})
	c := env.MustCreateUser(t, usher.UserCreate{Username: "cal", Email: "cal@example.com"})
	users, groups := env.Core.Users, env.Core.Groups
	team, err := groups.Create(as(b), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "beas-team"})
	if err != nil {
		t.Fatal(err)
	}
	ref := usher.GroupRef{ID: team.ID}
	if _, err := groups.AddMember(as(a), ref, usher.UserKey{ID: c.ID}, usher.LevelOwner); err != nil {
		t.Fatal(err)
	}
	bot, err := groups.CreateServiceAccount(as(a), ref, "beas-bot", "")
	if err != nil {
		t.Fatal(err)
	}
	g := &purgeGate{reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- users.Purge(context.WithValue(as(a), purgeGateKey{}, g), usher.UserKey{ID: b.ID})
	}()
	select {
	case <-g.reached:
	case err := <-done:
		t.Fatalf("purge ended before UserPurge: %v", err)
	}
	minted := make(chan error, 1)
	go func() {
		_, _, err := groups.ServiceAccountToken(as(b), ref, usher.UserKey{ID: bot.ID}, false)
		minted <- err
	}()
	var merr error
	select {
	case merr = <-minted:
		close(g.release)
	case <-time.After(time.Second):
		close(g.release)
		merr = <-minted
	}
	perr := <-done
	t.Logf("purge: %v; mint: %v", perr, merr)
	for _, e := range []error{perr, merr} {
		if e != nil && usher.AsError(e).Kind == usher.KindInternal {
			t.Errorf("a purge and its owner's mint met: %v (purge: %v, mint: %v)", e, perr, merr)
		}
	}
}

// TestPurgeEndsAReminderMadeMeanwhile (round 35, against 0100210): a purge ends the reminders the
// account made for others (endRemindersFor) and only then takes its row; a
// reminder the account makes in between stays live, its maker purged.
func TestPurgeEndsAReminderMadeMeanwhile(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Postgres: true,
		WrapStore: func(s store.Store) store.Store { return &purgeHoldStore{s} }})
	a := env.MustCreateUser(t, usher.UserCreate{Username: "ann", Email: "ann@example.com", Admin: true})
	b := env.MustCreateUser(t, usher.UserCreate{Username: "bea", Email: "bea@example.com", Admin: true})
	c := env.MustCreateUser(t, usher.UserCreate{Username: "cal", Email: "cal@example.com"})
	users, rems := env.Core.Users, env.Core.Reminders
	g := &purgeGate{reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- users.Purge(context.WithValue(as(a), purgeGateKey{}, g), usher.UserKey{ID: b.ID})
	}()
	select {
	case <-g.reached:
	case err := <-done:
		t.Fatalf("purge ended before UserPurge: %v", err)
	}
	made := make(chan error, 1)
	go func() {
		at := time.Now().Add(time.Hour)
		_, err := rems.Create(as(b), usher.ReminderCreate{Resource: "ticket:1", AssignedTo: c.ID, RemindAt: &at})
		made <- err
	}()
	var merr error
	select {
	case merr = <-made:
		close(g.release)
	case <-time.After(time.Second):
		close(g.release)
		merr = <-made
	}
	perr := <-done
	t.Logf("purge: %v; reminder: %v", perr, merr)
	if perr != nil || merr != nil {
		return
	}
	page, err := rems.List(coretest.System(), usher.ReminderFilter{AssignedTo: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Items {
		if r.DeletedAt == nil {
			t.Errorf("reminder %d for cal, made by bea while she was purged, is live (created_by %d) after her purge: endRemindersFor ran before it went in", r.ID, r.CreatedBy)
		}
	}
}

type reminderListKey struct{}

type reminderGate struct {
	creator int64
	reached chan struct{}
	release chan struct{}
	once    sync.Once
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
		g.once.Do(func() {
			close(g.reached)
			<-g.release
		})
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
	admin, owner, groups, team, bot := r.admin, r.owner, env.Core.Groups, r.team, r.bot
	if _, err := groups.Delete(as(owner), usher.GroupRef{ID: team.ID}); err != nil {
		t.Fatal(err)
	}
	c.Add(70 * time.Minute)

	g := &reminderGate{creator: bot.ID, reached: make(chan struct{}), release: make(chan struct{})}
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
