package storetest

import (
	"context"
	"testing"

	"usher"
	"usher/store"
)

func testPlans(t *testing.T, s store.Store) {
	ctx := context.Background()
	free := &usher.Plan{Name: "Free", ProjectLimit: 3, Default: true, CreatedAt: base, UpdatedAt: base}
	if err := s.PlanCreate(ctx, free); err != nil {
		t.Fatal(err)
	}
	wantUnique(t, s.PlanCreate(ctx, &usher.Plan{Name: "free", CreatedAt: base, UpdatedAt: base}), "name")
	wantUnique(t, s.PlanCreate(ctx, &usher.Plan{Name: "pro", Default: true, CreatedAt: base, UpdatedAt: base}), "default")
	if err := s.PlanCreate(ctx, &usher.Plan{Name: "Pro", CanCreateTeam: true, ProjectLimit: 100, CreatedAt: base, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PlanGet(ctx, ""); err != nil || p.Name != "Free" || p.ProjectLimit != 3 {
		t.Fatalf("the default plan: %+v, %v", p, err)
	}
	if p, err := s.PlanGet(ctx, "PRO"); err != nil || !p.CanCreateTeam || p.Default {
		t.Fatalf("PlanGet: %+v, %v", p, err)
	}
	// Moving the default: clear, then set.
	if _, err := s.PlanUpdate(ctx, "free", func(p *usher.Plan) error { p.Default = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PlanUpdate(ctx, "pro", func(p *usher.Plan) error { p.Default = true; p.Name = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.PlanGet(ctx, ""); p.Name != "Pro" {
		t.Fatalf("the default after the move: %+v", p)
	}
	u := newUser("alice", "", "")
	u.Plan = "Pro"
	mustCreateUser(t, s, u)
	if err := s.PlanDelete(ctx, "pro"); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, usher.UserKey{ID: u.ID}); got.Plan != "" {
		t.Fatalf("a deleted plan's user keeps %q", got.Plan)
	}
	wantNotFound(t, s.PlanDelete(ctx, "pro"))
	_, err := s.PlanUpdate(ctx, "nope", func(p *usher.Plan) error { return nil })
	wantNotFound(t, err)
	if list, _ := s.PlanList(ctx); len(list) != 1 {
		t.Fatalf("PlanList: %v", list)
	}
}
