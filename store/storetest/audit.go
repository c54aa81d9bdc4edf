package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	alice := mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	bob := mustCreateUser(t, s, newUser("bob", "", ""))
	actors := []int64{alice.ID, bob.ID}
	for i := 0; i < 5; i++ {
		e := &usher.AuditEvent{
			At: base.Add(time.Duration(i) * time.Minute), ActorKind: usher.PrincipalUser, ActorID: actors[i%2],
			ActorName: "alice", Action: []string{"user.create", "user.update", "auth.login"}[i%3],
			ResourceType: "user", ResourceID: fmt.Sprint(i), Address: "192.0.2.1", UserAgent: "ua", RequestID: "r",
			Changes: map[string]usher.Change{"name": {Old: "a", New: "b"}},
			Meta:    map[string]string{"k": "v"},
		}
		if err := s.AuditAppend(ctx, e); err != nil {
			t.Fatal(err)
		}
		if e.ID == 0 {
			t.Fatal("AuditAppend set no id")
		}
	}
	from, to := base.Add(time.Minute), base.Add(4*time.Minute)
	tests := []struct {
		name string
		f    usher.AuditFilter
		want string // resource ids, newest first
	}{
		{"all", usher.AuditFilter{}, "[4 3 2 1 0]"},
		{"range", usher.AuditFilter{From: &from, To: &to}, "[3 2 1]"},
		{"actor", usher.AuditFilter{ActorIDs: []int64{bob.ID}}, "[3 1]"},
		{"actors", usher.AuditFilter{ActorIDs: []int64{bob.ID, alice.ID}}, "[4 3 2 1 0]"},
		{"unknown actor", usher.AuditFilter{ActorIDs: []int64{bob.ID + 1000}}, "[]"},
		{"actor and range", usher.AuditFilter{ActorIDs: []int64{alice.ID}, From: &from, To: &to}, "[2]"},
		{"resource type", usher.AuditFilter{ResourceType: "user"}, "[4 3 2 1 0]"},
		{"action", usher.AuditFilter{Action: "user.update"}, "[4 1]"},
		{"action prefix", usher.AuditFilter{Action: "user."}, "[4 3 1 0]"},
		// A prefix alone is read an action at a time, the pages merged.
		{"action prefix and range", usher.AuditFilter{Action: "user.", From: &from, To: &to}, "[3 1]"},
		{"action prefix after", usher.AuditFilter{Action: "user.", Page: usher.PageRequest{After: &usher.Cursor{ID: 4}, Limit: 1}}, "[1]"},
		{"action prefix at an offset", usher.AuditFilter{Action: "user.", Page: usher.PageRequest{Offset: 1, Limit: 2}}, "[3 1]"},
		{"action prefix of none", usher.AuditFilter{Action: "nothing."}, "[]"},
		{"action prefix and actor", usher.AuditFilter{Action: "user.", ActorIDs: []int64{bob.ID}}, "[3 1]"},
		{"resource", usher.AuditFilter{ResourceType: "user", ResourceID: "2"}, "[2]"},
		{"before", usher.AuditFilter{Page: usher.PageRequest{After: &usher.Cursor{ID: 3}, Limit: 1}}, "[1]"},
	}
	for _, tt := range tests {
		page, err := s.AuditList(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range page.Items {
			ids = append(ids, e.ResourceID)
		}
		if got := fmt.Sprint(ids); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
	page, _ := s.AuditList(ctx, usher.AuditFilter{Page: usher.PageRequest{Limit: 2}})
	if len(page.Items) != 2 || page.Next == nil || page.Next.ID != page.Items[1].ID || page.Total != -1 {
		t.Fatalf("first page of 2: %d events, next %v, total %d", len(page.Items), page.Next, page.Total)
	}
	if last, _ := s.AuditList(ctx, usher.AuditFilter{Page: usher.PageRequest{After: page.Next, Limit: 3}}); len(last.Items) != 3 || last.Next != nil {
		t.Fatalf("last page: %d events, next %v", len(last.Items), last.Next)
	}
	e := page.Items[0]
	if e.Changes["name"].New != "b" || e.Meta["k"] != "v" || !e.At.Equal(base.Add(4*time.Minute)) || e.ActorKind != usher.PrincipalUser {
		t.Fatalf("event round trip: %+v", e)
	}
	// Every event carries its actor's address, read with the page.
	for _, e := range page.Items {
		want := map[int64]string{alice.ID: "alice@example.com", bob.ID: ""}[e.ActorID]
		if e.ActorEmail != want {
			t.Errorf("event %d by %d: actor email %q, want %q", e.ID, e.ActorID, e.ActorEmail, want)
		}
	}
	anon := &usher.AuditEvent{At: base, ActorKind: usher.PrincipalAnonymous, Action: "auth.login_failed", ResourceType: "user", ResourceID: "9"}
	if err := s.AuditAppend(ctx, anon); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.AuditList(ctx, usher.AuditFilter{ResourceID: "9", ResourceType: "user"}); len(p.Items) != 1 || p.Items[0].ActorEmail != "" || p.Items[0].ActorID != 0 {
		t.Fatalf("anonymous event: %+v", p.Items)
	}
	if n, _ := s.AuditCount(ctx); n != 6 {
		t.Fatalf("AuditCount = %d", n)
	}
}
