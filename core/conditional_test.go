package core_test

import (
	"context"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestConditionalChangesHeldInTheCore: a change through a key or ref that
// holds it to a version (IfVersion) is refused at another version, with
// nothing written, and made at that version; the core compares it in the
// change's transaction, so a change since the caller's read is caught
// whichever face asks.
func TestConditionalChangesHeldInTheCore(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	ctx := as(admin)
	users, groups := env.Core.Users, env.Core.Groups
	at := func(v int64) *int64 { return &v }

	for _, tt := range []struct {
		name string
		act  func(context.Context, usher.UserKey) (*usher.User, error)
	}{
		{"block", users.Block},
		{"suspend", users.Suspend},
		{"delete", users.Delete},
		{"groups set", func(ctx context.Context, key usher.UserKey) (*usher.User, error) {
			_, err := groups.SetUserGroups(ctx, key, usher.GroupChanges{Kind: usher.GroupRole, Set: []string{}})
			return nil, err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := env.MustCreateUser(t, usher.UserCreate{Username: "c-" + tt.name[:3], Email: tt.name[:3] + "@example.com"})
			name := "Renamed"
			if _, err := users.Update(ctx, usher.UserKey{ID: u.ID}, usher.UserUpdate{Name: &name}); err != nil {
				t.Fatal(err)
			}
			_, err := tt.act(ctx, usher.UserKey{ID: u.ID, IfVersion: at(u.Version)})
			wantKind(t, err, usher.KindPrecondition, usher.CodeVersionMismatch)
			now, err := users.Get(ctx, usher.UserKey{ID: u.ID})
			if err != nil || now.State != u.State || now.Version != u.Version+1 {
				t.Fatalf("after a refused change: %+v, %v", now, err)
			}
			if _, err := tt.act(ctx, usher.UserKey{ID: u.ID, IfVersion: at(now.Version)}); err != nil {
				t.Fatalf("at the version read: %v", err)
			}
		})
	}

	team, err := groups.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "held"})
	if err != nil {
		t.Fatal(err)
	}
	archived, err := groups.SetArchived(ctx, usher.GroupRef{ID: team.ID, IfVersion: at(team.Version)}, true)
	if err != nil {
		t.Fatalf("archive at the version read: %v", err)
	}
	for _, stale := range []int64{team.Version, 0, -1} {
		_, err = groups.Delete(ctx, usher.GroupRef{ID: team.ID, IfVersion: at(stale)})
		wantKind(t, err, usher.KindPrecondition, usher.CodeVersionMismatch)
	}
	if _, err := groups.SetArchived(ctx, usher.GroupRef{ID: team.ID, IfVersion: at(team.Version)}, false); usher.ErrorKind(err) != usher.KindPrecondition {
		t.Fatalf("unarchive at an old version: %v", err)
	}
	if _, err := groups.Delete(ctx, usher.GroupRef{ID: team.ID, IfVersion: at(archived.Version)}); err != nil {
		t.Fatalf("delete at the version read: %v", err)
	}
}
