package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// TestDeletedTeamsPurged: housekeeping purges a team, a role, a plain
// group and a service account deleted longer than KeepEnded ago, the
// service accounts deleted with a team among them, and keeps those
// deleted since, and a service account an administrator placed in a live
// team too (which the team's deletion left live), on both engines.
func TestDeletedTeamsPurged(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		env := coretest.New(t, coretest.Options{Postgres: pg, Now: c.Now, Policy: core.Policy{KeepEnded: time.Hour}})
		admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
		owner := env.MustCreateUser(t, usher.UserCreate{Username: "owner"})
		groups := env.Core.Groups
		team := func(handle string) *usher.Group {
			g, err := groups.Create(as(owner), usher.GroupCreate{Kind: usher.GroupTeam, Handle: handle})
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		bot := func(g *usher.Group, name string) *usher.User {
			u, err := groups.CreateServiceAccount(as(owner), usher.GroupRef{ID: g.ID}, name, "")
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		del := func(g *usher.Group) {
			if _, err := groups.Delete(as(owner), usher.GroupRef{ID: g.ID}); err != nil {
				t.Fatal(err)
			}
		}
		other := func(kind usher.GroupKind, handle string) *usher.Group {
			g, err := groups.Create(as(admin), usher.GroupCreate{Kind: kind, Handle: handle})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := groups.AddMember(as(admin), usher.GroupRef{ID: g.ID}, usher.UserKey{ID: owner.ID}, usher.LevelMember); err != nil {
				t.Fatal(err)
			}
			return g
		}
		oldRole, recentRole := other(usher.GroupRole, "old-role"), other(usher.GroupRole, "recent-role")
		oldPlain, recentPlain := other(usher.GroupPlain, "old-group"), other(usher.GroupPlain, "recent-group")
		old, recent, kept := team("old"), team("recent"), team("kept")
		gone, shared := bot(old, "gone"), bot(old, "shared")
		if _, err := groups.AddMember(as(admin), usher.GroupRef{ID: kept.ID}, usher.UserKey{ID: shared.ID}, usher.LevelWrite); err != nil {
			t.Fatal(err)
		}
		early, late := bot(kept, "early"), bot(kept, "late")
		delBot := func(u *usher.User) {
			if err := groups.DeleteServiceAccount(as(owner), usher.GroupRef{ID: kept.ID}, usher.UserKey{ID: u.ID}); err != nil {
				t.Fatal(err)
			}
		}
		delOther := func(g *usher.Group) {
			if _, err := groups.Delete(as(admin), usher.GroupRef{ID: g.ID}); err != nil {
				t.Fatal(err)
			}
		}
		del(old)
		delBot(early)
		delOther(oldRole)
		delOther(oldPlain)
		c.Add(40 * time.Minute)
		del(recent)
		delBot(late)
		delOther(recentRole)
		delOther(recentPlain)
		c.Add(30 * time.Minute) // old and early were deleted 70 minutes ago, recent and late 30
		if u, err := env.Store.UserGet(context.Background(), usher.UserKey{ID: gone.ID}); err != nil || !u.Deleted() {
			t.Fatalf("the service account deleted with its team, before the purge: %+v, %v", u, err)
		}

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); env.Core.Outbox.Run(ctx, 10*time.Millisecond) }()
		// Until the three deleted 70 minutes ago are gone, one kind after
		// another in a round: a busy machine's round can end between them.
		purged := func(g *usher.Group) bool {
			_, err := env.Store.GroupGet(context.Background(), g.ID, "", "")
			return errors.Is(err, usher.ErrNotFound)
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if purged(old) && purged(oldRole) && purged(oldPlain) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond) // a few more rounds, which must purge nothing else
		cancel()
		<-done

		for _, tc := range []struct {
			name  string
			group *usher.Group
			want  bool
		}{
			{"a team deleted 70 minutes ago", old, false}, {"a team deleted 30 minutes ago", recent, true}, {"a live team", kept, true},
			{"a role deleted 70 minutes ago", oldRole, false}, {"a role deleted 30 minutes ago", recentRole, true},
			{"a plain group deleted 70 minutes ago", oldPlain, false}, {"a plain group deleted 30 minutes ago", recentPlain, true},
		} {
			_, err := env.Store.GroupGet(context.Background(), tc.group.ID, "", "")
			if found := err == nil; found != tc.want || (err != nil && !errors.Is(err, usher.ErrNotFound)) {
				t.Errorf("%s: found %v (%v), want %v", tc.name, found, err, tc.want)
			}
		}
		for _, tc := range []struct {
			name string
			u    *usher.User
			want bool
		}{
			{"the service account deleted with the purged team", gone, false},
			{"a service account deleted 70 minutes ago", early, false},
			{"a service account deleted 30 minutes ago", late, true},
		} {
			_, err := env.Store.UserGet(context.Background(), usher.UserKey{ID: tc.u.ID})
			if found := err == nil; found != tc.want || (err != nil && !errors.Is(err, usher.ErrNotFound)) {
				t.Errorf("%s: found %v (%v), want %v", tc.name, found, err, tc.want)
			}
		}
		u, err := env.Store.UserGet(context.Background(), usher.UserKey{ID: shared.ID})
		if err != nil || u.Deleted() {
			t.Errorf("the service account placed in a live team too: %+v, %v; want it live", u, err)
		}
		if _, err := env.Store.MembershipGet(context.Background(), kept.ID, shared.ID); err != nil {
			t.Errorf("its membership of the live team: %v", err)
		}
		// Its maker answers for the deleted team still kept, and for the
		// service accounts not purged: late, and shared (live).
		if n, err := env.Store.DeletedTeamsMadeBy(context.Background(), owner.ID); err != nil || n != 1 {
			t.Errorf("the deleted teams the owner made, after the purge: %d, %v; want 1", n, err)
		}
		if n, err := env.Store.ServiceAccountsMadeBy(context.Background(), owner.ID); err != nil || n != 2 {
			t.Errorf("the service accounts the owner made, after the purge: %d, %v; want 2", n, err)
		}
	})
}

// TestServiceAccountPurgeEndsItsReminders: a service account an
// administrator placed in a role allowing reminder.write sets one for a
// colleague; its team is deleted (the account with it), which holds the
// reminder back (creator_gone). A review found housekeeping's purge of
// the account, after KeepEnded, taking its id from the reminder, which
// then read as usher's own and was mailed: it ends them, as an
// administrator's purge does.
func TestServiceAccountPurgeEndsItsReminders(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	env := coretest.New(t, coretest.Options{Now: c.Now, Policy: core.Policy{KeepEnded: time.Hour}})
	r := remindingServiceAccount(t, env, c.Now().Add(3*time.Hour))
	groups, team, bot := env.Core.Groups, r.team, r.bot
	// An administrator, who gave the account its role, deletes the team:
	// its owner lacks the role's right, and may not end its credentials.
	if _, err := groups.Delete(as(r.admin), usher.GroupRef{ID: team.ID}); err != nil {
		t.Fatal(err)
	}
	c.Add(70 * time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); env.Core.Outbox.Run(ctx, 10*time.Millisecond) }()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := env.Store.UserGet(context.Background(), usher.UserKey{ID: bot.ID}); errors.Is(err, usher.ErrNotFound) {
			break
		}
	}
	cancel()
	<-done
	if _, err := env.Store.UserGet(context.Background(), usher.UserKey{ID: bot.ID}); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("the service account was not purged: %v", err)
	}
	c.Add(2 * time.Hour)
	if n, err := env.Core.Reminders.DeliverDue(context.Background(), 100); err != nil || n != 0 {
		t.Fatalf("the purged service account's reminder for another: %d mailed, %v; want none", n, err)
	}
}

// remindingServiceAccount is a team's service account an administrator
// placed in a role allowing reminder.write, which has set a reminder due at
// at for a colleague, the victim.
type remindingAccount struct {
	admin, owner, victim, bot *usher.User
	team                      *usher.Group
}

func remindingServiceAccount(t *testing.T, env *coretest.Env, at time.Time) remindingAccount {
	t.Helper()
	r := remindingAccount{
		admin:  env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true}),
		owner:  env.MustCreateUser(t, usher.UserCreate{Username: "owner"}),
		victim: env.MustCreateUser(t, usher.UserCreate{Username: "victim", Email: "victim@example.com", EmailConfirmed: true}),
	}
	groups := env.Core.Groups
	var err error
	if r.team, err = groups.Create(as(r.owner), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "team"}); err != nil {
		t.Fatal(err)
	}
	if r.bot, err = groups.CreateServiceAccount(as(r.owner), usher.GroupRef{ID: r.team.ID}, "bot", ""); err != nil {
		t.Fatal(err)
	}
	role, err := groups.Create(as(r.admin), usher.GroupCreate{Kind: usher.GroupRole, Handle: "reminding"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.SetRules(as(r.admin), usher.GroupRef{ID: role.ID}, []usher.Rule{
		{Resource: "reminder", Operation: "write", Access: usher.Allow}}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := groups.AddMember(as(r.admin), usher.GroupRef{ID: role.ID}, usher.UserKey{ID: r.bot.ID}, usher.LevelMember); err != nil {
		t.Fatal(err)
	}
	botNow, err := env.Store.UserGet(context.Background(), usher.UserKey{ID: r.bot.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Core.Reminders.Create(as(botNow), usher.ReminderCreate{Resource: "invoice:1", AssignedTo: r.victim.ID,
		Payload: []byte(`{"note":"verify at https://evil.example"}`), RemindAt: &at}); err != nil {
		t.Fatal(err)
	}
	return r
}
