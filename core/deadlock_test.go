package core_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// pauseKey carries, in a context, a pauseAt: where a pausingTx sleeps.
type pauseKey struct{}

// pauseAt is the store call a pausingTx sleeps in, and the point that
// tells when a write first got there.
type pauseAt struct {
	call  string
	point *pausePoint
}

// pausePoint's reached is closed when a write first pauses: the second
// write of a pair starts then, holding nothing, whatever the machine's
// load (a fixed head start was too short under the race detector on a
// loaded machine, and the pair met in the other order).
type pausePoint struct {
	reached chan struct{}
	once    sync.Once
}

// pausingStore hands out transactions that sleep in one kind of write,
// while it holds the row it took, when the context asks: so that two
// transactions meet in the order that deadlocked.
type pausingStore struct{ store.Store }

func (s *pausingStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&pausingTx{tx}) })
}

type pausingTx struct{ store.Tx }

func pause(ctx context.Context, call string) {
	if at, ok := ctx.Value(pauseKey{}).(pauseAt); ok && at.call == call {
		at.point.once.Do(func() { close(at.point.reached) })
		time.Sleep(300 * time.Millisecond)
	}
}

func (t *pausingTx) CodeUse(ctx context.Context, id int64, at time.Time) error {
	err := t.Tx.CodeUse(ctx, id, at)
	pause(ctx, "CodeUse")
	return err
}

// UserUpdate and GroupUpdate pause holding the row, before they write it.
func (t *pausingTx) UserUpdate(ctx context.Context, id int64, fn func(*usher.User) error) (*usher.User, error) {
	return t.Tx.UserUpdate(ctx, id, func(u *usher.User) error { pause(ctx, "UserUpdate"); return fn(u) })
}

func (t *pausingTx) GroupUpdate(ctx context.Context, id int64, fn func(*usher.Group) error) (*usher.Group, error) {
	return t.Tx.GroupUpdate(ctx, id, func(g *usher.Group) error { pause(ctx, "GroupUpdate"); return fn(g) })
}

func (t *pausingTx) MembershipSet(ctx context.Context, m usher.Membership) error {
	err := t.Tx.MembershipSet(ctx, m)
	pause(ctx, "MembershipSet")
	return err
}

// TestLockOrder replays, on PostgreSQL, pairs of writes that took the same
// rows in opposite orders, so that PostgreSQL aborted one of them as a
// deadlock (a 500 to its caller), found by a reviewer, or that decided on
// what they had read before the other wrote it: the first write pauses,
// holding what it took, while the second starts. Each pair must now end
// without an error, or with the one its second write expects. SQLite, with
// one writer, cannot deadlock.
func TestLockOrder(t *testing.T) {
	t.Parallel()
	srv, tr := mailServer(t)
	env := coretest.New(t, coretest.Options{Postgres: true, Transport: tr,
		WrapStore: func(s store.Store) store.Store { return &pausingStore{s} }})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	auth, groups := env.Core.Auth, env.Core.Groups
	// ticket returns a reset ticket of a new account's.
	ticket := func(t *testing.T, name string) (*usher.User, string) {
		t.Helper()
		u := env.MustCreateUser(t, usher.UserCreate{Username: name, Email: name + "@example.com", EmailConfirmed: true,
			Password: "correct horse battery staple"})
		if err := auth.RequestPasswordReset(context.Background(), u.Email); err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.Core.Outbox.DeliverDue(context.Background(), 10); err != nil {
			t.Fatal(err)
		}
		var code []string
		for _, m := range srv.Messages() {
			if slices.Contains(m.To, u.Email) {
				code = mailedCode.FindStringSubmatch(m.Body)
			}
		}
		if code == nil {
			t.Fatalf("no reset code was mailed to %s", u.Email)
		}
		rt, err := auth.ExchangeResetToken(context.Background(), code[1])
		if err != nil {
			t.Fatal(err)
		}
		return u, rt.Ticket
	}
	// group makes a group of kind, as maker.
	group := func(t *testing.T, maker *usher.User, kind usher.GroupKind, handle string, members ...int64) *usher.Group {
		t.Helper()
		g, err := groups.Create(as(maker), usher.GroupCreate{Kind: kind, Handle: handle, Members: members})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	team := func(t *testing.T, handle string, members ...int64) *usher.Group {
		return group(t, admin, usher.GroupTeam, handle, members...)
	}
	// point is the running pair's; pausedAt makes a context that pauses
	// there, when the write runs.
	var point *pausePoint
	pausedAt := func(ctx context.Context, call string) context.Context {
		return context.WithValue(ctx, pauseKey{}, pauseAt{call: call, point: point})
	}
	paused := func(call string) context.Context { return pausedAt(as(admin), call) }
	user := func(t *testing.T, name string) *usher.User {
		t.Helper()
		return env.MustCreateUser(t, usher.UserCreate{Username: name, Email: name + "@example.com"})
	}
	teamOf := func(t *testing.T, maker *usher.User, handle string, members ...int64) *usher.Group {
		return group(t, maker, usher.GroupTeam, handle, members...)
	}
	plain := func(t *testing.T, handle string, members ...int64) *usher.Group {
		return group(t, admin, usher.GroupPlain, handle, members...)
	}
	role := func(t *testing.T, handle string) *usher.Group { return group(t, admin, usher.GroupRole, handle) }
	// mergeAway merges a into b, pausing at call (holding both groups
	// from the first GroupUpdate on, which holds a).
	mergeAway := func(a, b *usher.Group, call string) func() error {
		return func() error {
			_, err := groups.Merge(paused(call), usher.GroupRef{ID: a.ID}, usher.GroupRef{ID: b.ID})
			return err
		}
	}
	// deleting deletes g as maker, pausing as it holds it.
	deleting := func(maker *usher.User, g *usher.Group) func() error {
		return func() error {
			_, err := groups.Delete(pausedAt(as(maker), "GroupUpdate"), usher.GroupRef{ID: g.ID})
			return err
		}
	}
	// wantKind returns nil for an error of kind (and code, when given).
	wantKind := func(err error, kind usher.Kind, code string) error {
		if e, ok := errors.AsType[*usher.Error](err); ok && e.Kind == kind && (code == "" || e.Code == code) {
			return nil
		}
		return fmt.Errorf("want %s %s, got %v", kind, code, err)
	}
	tests := []struct {
		name string
		// pair returns the two writes; the first pauses where it says.
		pair func(t *testing.T) (first, second func() error)
	}{
		{"a reset's completion against a password set (the ticket's row, then the account's)", func(t *testing.T) (func() error, func() error) {
			u, tk := ticket(t, "reset-set")
			return func() error {
					return auth.CompletePasswordReset(pausedAt(context.Background(), "CodeUse"), tk, "fresh horse battery staple")
				}, func() error {
					return auth.SetPassword(as(admin), usher.UserKey{ID: u.ID}, "another horse battery staple")
				}
		}},
		{"a reset's completion against a deletion", func(t *testing.T) (func() error, func() error) {
			u, tk := ticket(t, "reset-delete")
			return func() error {
					return auth.CompletePasswordReset(pausedAt(context.Background(), "CodeUse"), tk, "fresh horse battery staple")
				}, func() error {
					_, err := env.Core.Users.Delete(as(admin), usher.UserKey{ID: u.ID})
					return err
				}
		}},
		{"a team's deletion against its second service account's (the count rows between the accounts' rows)", func(t *testing.T) (func() error, func() error) {
			g := team(t, "with-bots")
			ref := usher.GroupRef{ID: g.ID}
			var bots []*usher.User
			for i := range 2 {
				b, err := groups.CreateServiceAccount(as(admin), ref, fmt.Sprint("bot-", i), "")
				if err != nil {
					t.Fatal(err)
				}
				bots = append(bots, b)
			}
			return func() error {
					return groups.DeleteServiceAccount(paused("UserUpdate"), ref, usher.UserKey{ID: bots[1].ID})
				}, func() error {
					_, err := groups.Delete(as(admin), ref)
					return err
				}
		}},
		{"two users' groups set crosswise", func(t *testing.T) (func() error, func() error) {
			bob := env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
			carol := env.MustCreateUser(t, usher.UserCreate{Username: "carol"})
			team(t, "ta", carol.ID)
			team(t, "tb", bob.ID)
			set := func(u *usher.User, handle string) func() error {
				return func() error {
					_, err := groups.SetUserGroups(paused("GroupUpdate"), usher.UserKey{ID: u.ID},
						usher.GroupChanges{Kind: usher.GroupTeam, Set: []string{handle}})
					return err
				}
			}
			return set(bob, "ta"), set(carol, "tb")
		}},
		{"two merges into one group", func(t *testing.T) (func() error, func() error) {
			var ids []int64
			for i := range 3 {
				ids = append(ids, env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprint("merged-", i)}).ID)
			}
			plain := func(handle string, member int64) *usher.Group {
				g, err := groups.Create(as(admin), usher.GroupCreate{Kind: usher.GroupPlain, Handle: handle, Members: []int64{member}})
				if err != nil {
					t.Fatal(err)
				}
				return g
			}
			dst, a, c := plain("dst", ids[0]), plain("src-a", ids[1]), plain("src-c", ids[2])
			merge := func(src *usher.Group) func() error {
				return func() error {
					_, err := groups.Merge(paused("MembershipSet"), usher.GroupRef{ID: src.ID}, usher.GroupRef{ID: dst.ID})
					return err
				}
			}
			return merge(a), merge(c)
		}},
		{"a merge of one group into another against the other's into it (the second must be 404, the first's target kept)", func(t *testing.T) (func() error, func() error) {
			var ids []int64
			for i := range 2 {
				ids = append(ids, env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprint("crossed-", i)}).ID)
			}
			a, b := team(t, "crossed-a", ids[0]), team(t, "crossed-b", ids[1])
			merge := func(ctx context.Context, src, dst *usher.Group) error {
				_, err := groups.Merge(ctx, usher.GroupRef{ID: src.ID}, usher.GroupRef{ID: dst.ID})
				return err
			}
			return func() error {
					return merge(paused("MembershipSet"), a, b)
				}, func() error {
					// It read both groups live before the first let go of
					// them; once it holds them, a has been merged away.
					err := merge(as(admin), b, a)
					if e, ok := errors.AsType[*usher.Error](err); !ok || e.Kind != usher.KindNotFound {
						return fmt.Errorf("the crosswise merge: want 404, got %v", err)
					}
					kept, _, err := groups.Get(as(admin), usher.GroupRef{ID: b.ID})
					if err != nil || kept.Deleted() {
						return fmt.Errorf("the first merge's target: %+v, %v", kept, err)
					}
					var members []int64
					page, err := groups.Members(as(admin), usher.GroupRef{ID: b.ID}, usher.PageRequest{})
					if err != nil {
						return err
					}
					for _, m := range page.Items {
						members = append(members, m.UserID)
					}
					want := slices.Sorted(slices.Values(append([]int64{admin.ID}, ids...))) // admin made both
					if slices.Sort(members); !slices.Equal(members, want) {
						return fmt.Errorf("the first merge's target holds %v, want %v", members, want)
					}
					return nil
				}
		}},
		{"an owner's deletion against a co-owner's making a service account in the team (the owner's row, then the team's)", func(t *testing.T) (func() error, func() error) {
			o, p := user(t, "gone-owner"), user(t, "co-owner")
			tm := teamOf(t, o, "owned-twice", p.ID)
			if _, err := groups.AddMember(as(o), usher.GroupRef{ID: tm.ID}, usher.UserKey{ID: p.ID}, usher.LevelOwner); err != nil {
				t.Fatal(err)
			}
			return func() error {
					_, err := env.Core.Users.Delete(paused("UserUpdate"), usher.UserKey{ID: o.ID})
					return err
				}, func() error {
					_, err := groups.CreateServiceAccount(as(p), usher.GroupRef{ID: tm.ID}, "owned-bot", "")
					return err
				}
		}},
		{"two service accounts made at once in two teams of an owner at 99 of 100 (the second must be 409)", func(t *testing.T) (func() error, func() error) {
			u := user(t, "at-99")
			a, b := teamOf(t, u, "at-99-a"), teamOf(t, u, "at-99-b")
			for i := range 99 {
				if _, err := groups.CreateServiceAccount(as(admin), usher.GroupRef{ID: a.ID}, fmt.Sprint("at-99-bot-", i), ""); err != nil {
					t.Fatal(err)
				}
			}
			return func() error {
					_, err := groups.CreateServiceAccount(pausedAt(as(u), "MembershipSet"), usher.GroupRef{ID: a.ID}, "at-99-last", "")
					return err
				}, func() error {
					_, err := groups.CreateServiceAccount(as(u), usher.GroupRef{ID: b.ID}, "at-99-over", "")
					return wantKind(err, usher.KindConflict, usher.CodeLimitReached)
				}
		}},
		{"a service account that owns another team deleted as that team is held (its team, then the team it owns)", func(t *testing.T) (func() error, func() error) {
			owned, own := team(t, "ds-owned"), team(t, "ds-own") // the team it owns has the lower id
			sa, err := groups.CreateServiceAccount(as(admin), usher.GroupRef{ID: own.ID}, "ds-bot", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := groups.AddMember(as(admin), usher.GroupRef{ID: owned.ID}, usher.UserKey{ID: sa.ID}, usher.LevelOwner); err != nil {
				t.Fatal(err) // only an administrator makes a service account an owner
			}
			x := user(t, "ds-x")
			return func() error {
					_, err := groups.SetUserGroups(paused("GroupUpdate"), usher.UserKey{ID: x.ID},
						usher.GroupChanges{Kind: usher.GroupTeam, Add: []string{"ds-owned", "ds-own"}})
					return err
				}, func() error {
					return groups.DeleteServiceAccount(as(admin), usher.GroupRef{ID: own.ID}, usher.UserKey{ID: sa.ID})
				}
		}},
		{"a service account that owns its team deleted as a token is minted for it (the account's row, then the team's)", func(t *testing.T) (func() error, func() error) {
			tm := team(t, "tk-team")
			sa, err := groups.CreateServiceAccount(as(admin), usher.GroupRef{ID: tm.ID}, "tk-bot", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := groups.AddMember(as(admin), usher.GroupRef{ID: tm.ID}, usher.UserKey{ID: sa.ID}, usher.LevelOwner); err != nil {
				t.Fatal(err)
			}
			return func() error {
					_, err := env.Core.Users.Delete(paused("UserUpdate"), usher.UserKey{ID: sa.ID})
					return err
				}, func() error {
					_, _, err := groups.ServiceAccountToken(as(admin), usher.GroupRef{ID: tm.ID}, usher.UserKey{ID: sa.ID}, false)
					return wantKind(err, usher.KindNotFound, usher.CodeServiceAccountNotFound) // deleted first
				}
		}},
		{"an owner's deletion against a change of their groups (the teams they own, then their row)", func(t *testing.T) (func() error, func() error) {
			u := user(t, "sd-u")
			team(t, "sd-team", u.ID)
			if _, err := groups.AddMember(as(admin), usher.GroupRef{Kind: usher.GroupTeam, Handle: "sd-team"}, usher.UserKey{ID: u.ID}, usher.LevelOwner); err != nil {
				t.Fatal(err)
			}
			team(t, "sd-x")
			return func() error {
					_, err := env.Core.Users.Delete(paused("UserUpdate"), usher.UserKey{ID: u.ID})
					return err
				}, func() error {
					_, err := groups.SetUserGroups(as(admin), usher.UserKey{ID: u.ID}, usher.GroupChanges{Kind: usher.GroupTeam, Set: []string{"sd-x"}})
					return wantKind(err, usher.KindNotFound, "") // deleted first
				}
		}},
		{"a block against a change of the user's teams leaving one it owns, with a service account (the row, then the accounts')", func(t *testing.T) (func() error, func() error) {
			v := user(t, "bl-v")
			t1 := team(t, "bl-t1", v.ID)
			if _, err := groups.AddMember(as(admin), usher.GroupRef{ID: t1.ID}, usher.UserKey{ID: v.ID}, usher.LevelOwner); err != nil {
				t.Fatal(err)
			}
			if _, err := groups.CreateServiceAccount(as(admin), usher.GroupRef{ID: t1.ID}, "bl-bot", ""); err != nil {
				t.Fatal(err)
			}
			team(t, "bl-t3")
			return func() error {
					_, err := env.Core.Users.Block(paused("UserUpdate"), usher.UserKey{ID: v.ID})
					return err
				}, func() error {
					_, err := groups.SetUserGroups(as(admin), usher.UserKey{ID: v.ID}, usher.GroupChanges{Kind: usher.GroupTeam, Set: []string{"bl-t3"}})
					return err
				}
		}},
		{"a service account's deletion against its becoming an owner of a lower team meanwhile (the deletion starts over)", func(t *testing.T) (func() error, func() error) {
			low, own := team(t, "sl-low"), team(t, "sl-team")
			sa, err := groups.CreateServiceAccount(as(admin), usher.GroupRef{ID: own.ID}, "sl-bot", "")
			if err != nil {
				t.Fatal(err)
			}
			x := user(t, "sl-x")
			return func() error {
					return groups.DeleteServiceAccount(paused("GroupUpdate"), usher.GroupRef{ID: own.ID}, usher.UserKey{ID: sa.ID})
				}, func() error {
					if _, err := groups.AddMember(as(admin), usher.GroupRef{ID: low.ID}, usher.UserKey{ID: sa.ID}, usher.LevelOwner); err != nil {
						return err
					}
					_, err := groups.SetUserGroups(as(admin), usher.UserKey{ID: x.ID}, usher.GroupChanges{Kind: usher.GroupTeam, Add: []string{"sl-low", "sl-team"}})
					return err
				}
		}},
		{"a member added as the account is deleted (404: a deleted account joins nothing)", func(t *testing.T) (func() error, func() error) {
			u := user(t, "ad-u")
			tm := team(t, "ad-team")
			return func() error {
					_, err := env.Core.Users.Delete(paused("UserUpdate"), usher.UserKey{ID: u.ID})
					return err
				}, func() error {
					_, err := groups.AddMember(as(admin), usher.GroupRef{ID: tm.ID}, usher.UserKey{ID: u.ID}, usher.LevelWrite)
					return wantKind(err, usher.KindNotFound, "")
				}
		}},
		// What a write decides on, it reads once it holds the group (the
		// second of each of these read the group before the first let go).
		{"a member added to a group as it is merged away (404)", func(t *testing.T) (func() error, func() error) {
			x, y := user(t, "am-x"), user(t, "am-y")
			a, b := team(t, "am-a", y.ID), team(t, "am-b")
			return mergeAway(a, b, "MembershipSet"), func() error {
				_, err := groups.AddMember(as(admin), usher.GroupRef{ID: a.ID}, usher.UserKey{ID: x.ID}, usher.LevelWrite)
				return wantKind(err, usher.KindNotFound, "")
			}
		}},
		{"a member removed from a group as it is merged away (404, the member moved)", func(t *testing.T) (func() error, func() error) {
			x, y := user(t, "rm-x"), user(t, "rm-y")
			a, b := team(t, "rm-a", x.ID, y.ID), team(t, "rm-b")
			return mergeAway(a, b, "MembershipSet"), func() error {
				return wantKind(groups.RemoveMember(as(admin), usher.GroupRef{ID: a.ID}, usher.UserKey{ID: x.ID}), usher.KindNotFound, "")
			}
		}},
		{"a user's groups set as one of them is merged away (404)", func(t *testing.T) (func() error, func() error) {
			x, y := user(t, "sg-x"), user(t, "sg-y")
			a, b := plain(t, "sg-a", y.ID), plain(t, "sg-b", y.ID)
			return mergeAway(a, b, "MembershipSet"), func() error {
				_, err := groups.SetUserGroups(as(admin), usher.UserKey{ID: x.ID}, usher.GroupChanges{Kind: usher.GroupPlain, Add: []string{"sg-a"}})
				return wantKind(err, usher.KindNotFound, usher.CodeGroupNotFound)
			}
		}},
		{"a service account made in a team as it is deleted (404)", func(t *testing.T) (func() error, func() error) {
			o := user(t, "sa-owner")
			tm := teamOf(t, o, "sa-team")
			return deleting(o, tm), func() error {
				_, err := groups.CreateServiceAccount(as(o), usher.GroupRef{ID: tm.ID}, "sa-bot", "")
				return wantKind(err, usher.KindNotFound, "")
			}
		}},
		{"a team deleted by an owner as another owner removes them (403)", func(t *testing.T) (func() error, func() error) {
			o, p := user(t, "del-o"), user(t, "del-p")
			tm := teamOf(t, p, "del-team", o.ID)
			if _, err := groups.AddMember(as(p), usher.GroupRef{ID: tm.ID}, usher.UserKey{ID: o.ID}, usher.LevelOwner); err != nil {
				t.Fatal(err)
			}
			return func() error {
					return groups.RemoveMember(pausedAt(as(p), "GroupUpdate"), usher.GroupRef{ID: tm.ID}, usher.UserKey{ID: o.ID})
				}, func() error {
					_, err := groups.Delete(as(o), usher.GroupRef{ID: tm.ID})
					return wantKind(err, usher.KindForbidden, "")
				}
		}},
		{"a team handed to a user at the service-account cap as a service account is made in it (409)", func(t *testing.T) (func() error, func() error) {
			u, o := user(t, "cap-u"), user(t, "cap-o")
			full := teamOf(t, u, "cap-full")
			for i := range 100 {
				if _, err := groups.CreateServiceAccount(as(admin), usher.GroupRef{ID: full.ID}, fmt.Sprint("cap-bot-", i), ""); err != nil {
					t.Fatal(err)
				}
			}
			tm := teamOf(t, o, "cap-team", u.ID)
			return func() error {
					_, err := groups.CreateServiceAccount(pausedAt(as(o), "MembershipSet"), usher.GroupRef{ID: tm.ID}, "cap-extra", "")
					return err
				}, func() error {
					_, err := groups.AddMember(as(o), usher.GroupRef{ID: tm.ID}, usher.UserKey{ID: u.ID}, usher.LevelOwner)
					return wantKind(err, usher.KindConflict, usher.CodeLimitReached)
				}
		}},
		{"a team renamed as it is deleted (404, its handle still held)", func(t *testing.T) (func() error, func() error) {
			o := user(t, "rn-o")
			tm := teamOf(t, o, "rn-team")
			return deleting(o, tm), func() error {
				h := "rn-renamed"
				_, err := groups.Update(as(o), usher.GroupRef{ID: tm.ID}, usher.GroupUpdate{Handle: &h})
				return wantKind(err, usher.KindNotFound, "")
			}
		}},
		{"a rule set on a role as it is merged away (404)", func(t *testing.T) (func() error, func() error) {
			a, b := role(t, "rl-a"), role(t, "rl-b")
			return mergeAway(a, b, "GroupUpdate"), func() error {
				_, err := groups.SetRules(as(admin), usher.GroupRef{ID: a.ID}, []usher.Rule{{Resource: "user", Operation: "read", Access: usher.Allow}}, false)
				return wantKind(err, usher.KindNotFound, "")
			}
		}},
		{"two creations of one team handle, each naming the other's maker (the second must be 409)", func(t *testing.T) (func() error, func() error) {
			ann := env.MustCreateUser(t, usher.UserCreate{Username: "ann"})
			ben := env.MustCreateUser(t, usher.UserCreate{Username: "ben"})
			create := func(ctx context.Context, member int64) error {
				_, err := groups.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "same", Members: []int64{member}})
				return err
			}
			return func() error {
					return create(pausedAt(as(ann), "MembershipSet"), ben.ID)
				}, func() error {
					err := create(as(ben), ann.ID)
					if e, ok := errors.AsType[*usher.Error](err); ok && e.Code == usher.CodeHandleTaken {
						return nil
					}
					return fmt.Errorf("want 409 %s, got %v", usher.CodeHandleTaken, err)
				}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			point = &pausePoint{reached: make(chan struct{})}
			first, second := tt.pair(t)
			var errs [2]error
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); errs[0] = first() }()
			go func() {
				defer wg.Done()
				select {
				case <-point.reached:
				case <-time.After(30 * time.Second):
					errs[1] = errors.New("the first write never paused")
					return
				}
				errs[1] = second()
			}()
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("write %d: %v", i+1, err)
				}
			}
		})
	}
}

// TestSetUserGroupsTakesGroupsInOrder replays three changes of groups on
// PostgreSQL, found by a reviewer: a set of u's groups that saw u in b
// alone held b, and its second look, once b was held, found u put in a
// (a lower id) by a change that committed meanwhile, and took a after b —
// while a third change held a and waited for b. A look that finds a group
// below those it holds now starts again, taking them all in id order.
func TestSetUserGroupsTakesGroupsInOrder(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Postgres: true,
		WrapStore: func(s store.Store) store.Store { return &pausingStore{s} }})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	groups := env.Core.Groups
	u := env.MustCreateUser(t, usher.UserCreate{Username: "u"})
	v := env.MustCreateUser(t, usher.UserCreate{Username: "v"})
	for _, h := range []string{"a", "b"} { // a has the lower id
		if _, err := groups.Create(as(admin), usher.GroupCreate{Kind: usher.GroupPlain, Handle: h}); err != nil {
			t.Fatal(err)
		}
	}
	set := func(ctx context.Context, who *usher.User, in usher.GroupChanges) func() error {
		return func() error {
			in.Kind = usher.GroupPlain
			_, err := groups.SetUserGroups(ctx, usher.UserKey{ID: who.ID}, in)
			return err
		}
	}
	point := &pausePoint{reached: make(chan struct{})}
	writes := []func() error{
		// Puts u in a and b, pausing as it holds both.
		set(context.WithValue(as(admin), pauseKey{}, pauseAt{call: "MembershipSet", point: point}), u, usher.GroupChanges{Add: []string{"a", "b"}}),
		// Puts v in a and b: waits for a.
		set(as(admin), v, usher.GroupChanges{Add: []string{"a", "b"}}),
		// Sets u's groups to b: sees u in none yet, holds b, then finds u in a.
		set(as(admin), u, usher.GroupChanges{Set: []string{"b"}}),
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		if i == 1 {
			<-point.reached
		}
		if i == 2 {
			time.Sleep(50 * time.Millisecond) // the second waits for a by then
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = w() }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i+1, err)
		}
	}
}

// TestLastAdministratorsTakenAwayAtOnce has the two administrators of an
// instance on PostgreSQL take each other's rights, or block each other, at
// once: each saw the other still an administrator and both changes
// committed, leaving none. The later now waits for the earlier and is
// refused (409 last_administrator).
func TestLastAdministratorsTakenAwayAtOnce(t *testing.T) {
	t.Parallel()
	no := false
	ways := []struct {
		name string
		take func(ctx context.Context, users *core.Users, who *usher.User) error
	}{
		{"demote", func(ctx context.Context, users *core.Users, who *usher.User) error {
			_, err := users.Update(ctx, usher.UserKey{ID: who.ID}, usher.UserUpdate{Admin: &no})
			return err
		}},
		{"block", func(ctx context.Context, users *core.Users, who *usher.User) error {
			_, err := users.Block(ctx, usher.UserKey{ID: who.ID})
			return err
		}},
	}
	for _, way := range ways {
		t.Run(way.name, func(t *testing.T) {
			t.Parallel()
			env := coretest.New(t, coretest.Options{Postgres: true,
				WrapStore: func(s store.Store) store.Store { return &pausingStore{s} }})
			a := env.MustCreateUser(t, usher.UserCreate{Username: "ann", Email: "ann@example.com", Admin: true})
			b := env.MustCreateUser(t, usher.UserCreate{Username: "bea", Email: "bea@example.com", Admin: true})
			point := &pausePoint{reached: make(chan struct{})}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				// Pauses holding bea's row, having seen ann an administrator.
				errs[0] = way.take(context.WithValue(as(a), pauseKey{}, pauseAt{call: "UserUpdate", point: point}), env.Core.Users, b)
			}()
			<-point.reached
			go func() { defer wg.Done(); errs[1] = way.take(as(b), env.Core.Users, a) }()
			wg.Wait()
			if errs[0] != nil {
				t.Fatalf("the first: %v", errs[0])
			}
			if e := usher.AsError(errs[1]); errs[1] == nil || (e.Code != usher.CodeLastAdministrator && e.Kind != usher.KindForbidden) {
				t.Fatalf("the second: %v, want 409 last_administrator (or a refusal of one who is no administrator now)", errs[1])
			}
			left, err := env.Core.Users.Get(coretest.System(), usher.UserKey{ID: a.ID})
			if err != nil || !left.Admin || !left.State.CanSignIn() {
				t.Fatalf("ann after both: %+v, %v; want the administrator left", left, err)
			}
		})
	}
}

type deletedReadKey struct{}

// gate holds a transaction, the first time a test's store wrapper reaches
// it, until the test releases it.
type gate struct {
	reached, release chan struct{}
	once             sync.Once
}

func newGate() *gate { return &gate{reached: make(chan struct{}), release: make(chan struct{})} }

// hold closes reached and waits for release, the first time only.
func (g *gate) hold() { g.once.Do(func() { close(g.reached); <-g.release }) }

type deletedReadStore struct{ store.Store }

func (s *deletedReadStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&deletedReadTx{tx}) })
}

type deletedReadTx struct{ store.Tx }

func (t *deletedReadTx) UserGet(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	u, err := t.Tx.UserGet(ctx, key)
	if g, ok := ctx.Value(deletedReadKey{}).(*gate); ok && err == nil && u.Deleted() {
		g.hold()
	}
	return u, err
}

// TestPurgeOfAnAccountUndeletedMeanwhile: a purge that read the account
// deleted took no lock and asked nothing, and purged it even when it was
// undeleted — and became the last administrator — meanwhile (round 33, on
// PostgreSQL). A purge now holds the administrators and the account's row
// and reads it again: it waits for the undeletion and refuses.
func TestPurgeOfAnAccountUndeletedMeanwhile(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Postgres: true,
		WrapStore: func(s store.Store) store.Store { return &deletedReadStore{s} }})
	a := env.MustCreateUser(t, usher.UserCreate{Username: "ann", Email: "ann@example.com", Admin: true})
	b := env.MustCreateUser(t, usher.UserCreate{Username: "bea", Email: "bea@example.com", Admin: true})
	users := env.Core.Users
	if _, err := users.Delete(as(a), usher.UserKey{ID: b.ID}); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	done := make(chan error, 1)
	go func() {
		done <- users.Purge(context.WithValue(as(a), deletedReadKey{}, g), usher.UserKey{ID: b.ID})
	}()
	<-g.reached
	// Meanwhile: bea is undeleted, and ann, seeing bea an administrator,
	// gives up her own rights.
	step := make(chan error, 1)
	go func() {
		if _, err := users.Undelete(as(a), usher.UserKey{ID: b.ID}); err != nil {
			step <- err
			return
		}
		no := false
		_, err := users.Update(as(a), usher.UserKey{ID: a.ID}, usher.UserUpdate{Admin: &no})
		step <- err
	}()
	select {
	case err := <-step:
		if err != nil {
			close(g.release)
			t.Fatalf("undelete then demotion: %v", err)
		}
	case <-time.After(5 * time.Second):
		close(g.release)
		t.Fatalf("undelete/demotion waited on the purge")
	}
	close(g.release)
	if err := <-done; usher.AsError(err).Code != usher.CodeLastAdministrator {
		t.Errorf("the purge: %v, want 409 last_administrator", err)
	}
	page, err := users.List(coretest.System(), usher.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	admins := 0
	for _, u := range page.Items {
		if u.Admin && u.State == usher.StateActive && !u.Deleted() {
			admins++
		}
	}
	if admins == 0 {
		t.Fatalf("no active administrator is left: bea (undeleted, the last administrator) was purged by a purge that read her deleted")
	}
}
