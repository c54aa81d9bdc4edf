package core_test

import (
	"context"
	"testing"
	"time"

	"usher"
)

func TestStats(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	stats := b.env.Core.Stats
	before, err := stats.Get(as(b.admin))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.users.Suspend(as(b.admin), usher.UserKey{ID: b.bob.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.users.Delete(as(b.admin), usher.UserKey{ID: b.carol.ID}); err != nil {
		t.Fatal(err)
	}
	after, err := stats.Get(as(b.admin))
	if err != nil {
		t.Fatal(err)
	}
	u0, u1 := before.Users, after.Users
	if u1.Total != u0.Total || u1.Valid != u0.Valid-2 || u1.Suspended != u0.Suspended+1 || u1.Deleted != u0.Deleted+1 {
		t.Fatalf("users before %+v, after %+v", u0, u1)
	}
	// Only administrators, or a rule.
	_, err = stats.Get(context.Background())
	wantKind(t, err, usher.KindUnauthenticated, "")
	_, err = stats.Get(as(b.alice))
	wantKind(t, err, usher.KindForbidden, "")
	b.grantRole(t, "stats-readers", b.alice, usher.Rule{Resource: "stats", Operation: "read", Access: usher.Allow})
	if _, err := stats.Get(as(b.alice)); err != nil {
		t.Fatalf("a rule allowing stats read: %v", err)
	}
	if _, err := stats.Get(as(b.alice, usher.ScopeReadUser)); usher.ErrorKind(err) != usher.KindForbidden {
		t.Fatalf("a read_user token: %v", err)
	}
}

func TestSubscription(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub, err := b.env.Core.Stats.Subscription(as(b.alice))
	if err != nil || sub == nil || sub.Configured {
		t.Fatalf("subscription: %+v, %v", sub, err)
	}
	_, err = b.env.Core.Stats.Subscription(context.Background())
	wantKind(t, err, usher.KindUnauthenticated, "")
}

func TestAuditFilters(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	// Three changes by two actors.
	for _, who := range []*usher.User{b.admin, b.alice, b.admin} {
		if _, err := b.users.Update(as(who), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Name: ptr("A " + time.Now().String())}); err != nil {
			t.Fatal(err)
		}
	}
	audit := b.env.Core.Audit
	page, err := audit.List(as(b.admin), usher.AuditFilter{Action: "user.update", ActorIDs: []int64{b.admin.ID, b.alice.ID}})
	if err != nil || len(page.Items) != 3 {
		t.Fatalf("two actors: %+v, %v", page, err)
	}
	for _, e := range page.Items {
		want := map[int64]string{b.admin.ID: "root@example.com", b.alice.ID: "alice@example.com"}[e.ActorID]
		if e.ActorEmail != want {
			t.Errorf("event by %d: actor email %q, want %q", e.ActorID, e.ActorEmail, want)
		}
	}
	if page, _ := audit.List(as(b.admin), usher.AuditFilter{Action: "user.update", ActorIDs: []int64{b.alice.ID}}); len(page.Items) != 1 {
		t.Fatalf("one actor: %d events", len(page.Items))
	}
	if page, _ := audit.List(as(b.admin), usher.AuditFilter{ResourceType: "user", ResourceID: "0"}); len(page.Items) != 0 {
		t.Fatalf("no such resource: %d events", len(page.Items))
	}
	now := time.Now()
	earlier := now.Add(-time.Hour)
	_, err = audit.List(as(b.admin), usher.AuditFilter{From: &now, To: &earlier})
	wantKind(t, err, usher.KindInvalid, usher.CodeInvalidRange)
	_, err = audit.List(as(b.admin), usher.AuditFilter{ActorIDs: []int64{-1}})
	wantKind(t, err, usher.KindInvalid, usher.CodeInvalidID)
	_, err = audit.List(as(b.admin), usher.AuditFilter{ActorIDs: make([]int64, 101)})
	wantKind(t, err, usher.KindInvalid, usher.CodeTooMany)
	// Audit readers by rule see the addresses too; others read nothing.
	_, err = audit.List(as(b.bob), usher.AuditFilter{})
	wantKind(t, err, usher.KindForbidden, "")
	b.grantRole(t, "auditors", b.bob, usher.Rule{Resource: "audit", Operation: "read", Access: usher.Allow})
	page, err = audit.List(as(b.bob), usher.AuditFilter{Action: "user.update", ActorIDs: []int64{b.alice.ID}})
	if err != nil || len(page.Items) != 1 || page.Items[0].ActorEmail != "alice@example.com" {
		t.Fatalf("audit reader by rule: %+v, %v", page, err)
	}
}
