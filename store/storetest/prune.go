package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"usher"
	"usher/store"
)

// testPruneEnded checks that PruneEnded deletes what ended before its time
// and only that, in batches of its limit, and that Changes does not count it.
func testPruneEnded(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	cut := base.Add(24 * time.Hour)
	before, after := cut.Add(-time.Minute), cut.Add(time.Minute)

	// Tokens: each ends (or not) as its name says.
	tokens := map[string]*usher.Token{}
	for _, tc := range []struct {
		name             string
		expires, revoked *time.Time
	}{
		{"expired-before", &before, nil},
		{"revoked-before", nil, &before},
		{"revoked-before-expires-later", &after, &before},
		{"expired-before-revoked-later", &before, &after},
		{"expires-later", &after, nil},
		{"revoked-later", nil, &after},
		{"never-ends", nil, nil},
	} {
		tok := &usher.Token{Kind: usher.TokenSession, UserID: a.ID, Name: tc.name, Hint: "h", Hash: []byte(tc.name),
			ExpiresAt: tc.expires, CreatedAt: base}
		if err := s.TokenCreate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if tc.revoked != nil {
			if _, err := s.TokenRevoke(ctx, store.TokenFilter{ID: tok.ID}, *tc.revoked); err != nil {
				t.Fatal(err)
			}
		}
		tokens[tc.name] = tok
	}

	// Script runs: one done before the cut, one after, one not done.
	sc := mustAddScript(t, s, newScript("after", usher.ScriptServer, usher.TriggerUserAfterCreate))
	runs := make([]*usher.ScriptRun, 3)
	for i := range runs {
		runs[i] = &usher.ScriptRun{ScriptID: sc.ID, Trigger: usher.TriggerUserAfterCreate, Resource: "user:1",
			Subject: []byte(`{"id":1}`), CreatedAt: base}
		if err := s.ScriptRunAdd(ctx, runs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if claimed, err := s.ScriptRunClaim(ctx, base, base.Add(time.Minute), "c", 2); err != nil || len(claimed) != 2 {
		t.Fatalf("ScriptRunClaim: %v, %v", claimed, err)
	}
	for i, at := range []time.Time{before, after} {
		if err := s.ScriptRunDone(ctx, runs[i].ID, "c", at, "ok", nil); err != nil {
			t.Fatal(err)
		}
	}

	// Mail: one sent before the cut, one after, one not sent.
	mails := make([]*usher.Mail, 3)
	for i := range mails {
		mails[i] = &usher.Mail{Kind: "k", To: fmt.Sprintf("m%d@example.com", i), Subject: "s", Body: "b",
			CreatedAt: base, NextAttemptAt: base}
		if err := s.OutboxAdd(ctx, mails[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, at := range []time.Time{before, after} {
		if err := s.OutboxSent(ctx, mails[i].ID, at); err != nil {
			t.Fatal(err)
		}
	}

	// Reminders: one deleted before the cut, one after, one live.
	rems := make([]*usher.Reminder, 3)
	for i, deleted := range []*time.Time{&before, &after, nil} {
		r := newReminder("user:1", a.ID, a.ID, nil)
		r.DeletedAt = deleted
		rems[i] = mustAddReminder(t, s, r)
	}

	// The ends of JWTs: one expiring before the cut, one after. An end
	// recorded again is kept until the later expiry, in either order.
	for _, j := range []struct {
		id  string
		exp time.Time
	}{{"jwt-before", before}, {"jwt-after", after}, {"jwt-after", before}, {"jwt-raised", before}, {"jwt-raised", after}} {
		if err := s.JWTEnd(ctx, j.id, j.exp); err != nil {
			t.Fatalf("JWTEnd(%s): %v", j.id, err)
		}
	}
	jwtEnded := func(id string) bool {
		t.Helper()
		ended, err := s.JWTEnded(ctx, id)
		if err != nil {
			t.Fatalf("JWTEnded(%s): %v", id, err)
		}
		return ended
	}
	if !jwtEnded("jwt-before") || !jwtEnded("jwt-after") || jwtEnded("jwt-other") {
		t.Fatalf("JWTEnded: before %v, after %v, another %v; want true, true, false",
			jwtEnded("jwt-before"), jwtEnded("jwt-after"), jwtEnded("jwt-other"))
	}

	changes := s.Changes()
	// A limit of one takes one of each half of the tokens a call.
	got, err := s.PruneEnded(ctx, cut, 1)
	if err != nil || got.Tokens < 1 || got.Tokens > 2 || got.ScriptRuns != 1 || got.Mail != 1 || got.Reminders != 1 || got.JWTs != 1 {
		t.Fatalf("PruneEnded(limit 1) = %+v, %v", got, err)
	}
	if jwtEnded("jwt-before") || !jwtEnded("jwt-after") || !jwtEnded("jwt-raised") {
		t.Errorf("after PruneEnded: the end of a JWT expired before the cut kept, or one expiring after it deleted")
	}
	total := got.Tokens
	for range 5 {
		got, err = s.PruneEnded(ctx, cut, 1)
		if err != nil {
			t.Fatal(err)
		}
		total += got.Tokens
	}
	if total != 4 || got != (store.Pruned{}) {
		t.Fatalf("tokens pruned %d (want 4), last call %+v", total, got)
	}
	if s.Changes() != changes {
		t.Errorf("Changes grew from %d to %d: pruning is not a change", changes, s.Changes())
	}

	for name, tok := range tokens {
		_, err := s.TokenGet(ctx, tok.ID)
		gone := errors.Is(err, usher.ErrNotFound)
		ended := name == "expired-before" || name == "revoked-before" || name == "revoked-before-expires-later" ||
			name == "expired-before-revoked-later"
		if gone != ended {
			t.Errorf("token %s: gone %v, want %v (%v)", name, gone, ended, err)
		}
	}
	for i, r := range runs {
		_, err := s.ScriptRunGet(ctx, r.ID)
		if gone := errors.Is(err, usher.ErrNotFound); gone != (i == 0) {
			t.Errorf("script run %d: gone %v (%v)", i, gone, err)
		}
	}
	for i, m := range mails {
		_, err := s.OutboxGet(ctx, m.ID)
		if gone := errors.Is(err, usher.ErrNotFound); gone != (i == 0) {
			t.Errorf("mail %d: gone %v (%v)", i, gone, err)
		}
	}
	for i, r := range rems {
		_, err := s.ReminderGet(ctx, r.ID)
		if gone := errors.Is(err, usher.ErrNotFound); gone != (i == 0) {
			t.Errorf("reminder %d: gone %v (%v)", i, gone, err)
		}
	}
}
