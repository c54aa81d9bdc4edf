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
	for i := 0; i < 5; i++ {
		e := &usher.AuditEvent{
			At: base.Add(time.Duration(i) * time.Minute), ActorKind: usher.PrincipalUser, ActorID: int64(i%2 + 1),
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
		{"actor", usher.AuditFilter{ActorID: ptr(int64(2))}, "[3 1]"},
		{"action", usher.AuditFilter{Action: "user.update"}, "[4 1]"},
		{"action prefix", usher.AuditFilter{Action: "user."}, "[4 3 1 0]"},
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
	if n, _ := s.AuditCount(ctx); n != 5 {
		t.Fatalf("AuditCount = %d", n)
	}
}
