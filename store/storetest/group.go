package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func newGroup(kind usher.GroupKind, handle string) *usher.Group {
	return &usher.Group{Kind: kind, Handle: handle, Name: "The " + handle, CreatedAt: base, UpdatedAt: base}
}

func mustCreateGroup(t *testing.T, s store.Store, g *usher.Group) *usher.Group {
	t.Helper()
	if err := s.GroupCreate(context.Background(), g); err != nil {
		t.Fatalf("GroupCreate(%s): %v", g.Handle, err)
	}
	return g
}

func testGroups(t *testing.T, s store.Store) {
	ctx := context.Background()
	team := mustCreateGroup(t, s, newGroup(usher.GroupTeam, "Platform"))
	wantUnique(t, s.GroupCreate(ctx, newGroup(usher.GroupTeam, "platform")), "handle")
	mustCreateGroup(t, s, newGroup(usher.GroupRole, "platform")) // another kind may share it
	got, err := s.GroupGet(ctx, 0, usher.GroupTeam, "PLATFORM")
	if err != nil || got.ID != team.ID || got.Name != "The Platform" || got.Version != 1 {
		t.Fatalf("GroupGet by handle: %+v, %v", got, err)
	}
	deleted := base.Add(time.Hour)
	up, err := s.GroupUpdate(ctx, team.ID, func(g *usher.Group) error { g.Description = "d"; g.DeletedAt = &deleted; return nil })
	if err != nil || up.Version != 2 {
		t.Fatalf("GroupUpdate: %+v, %v", up, err)
	}
	_, err = s.GroupGet(ctx, 0, usher.GroupTeam, "platform")
	wantNotFound(t, err)
	if got, _ := s.GroupGet(ctx, team.ID, "", ""); got.DeletedAt == nil || got.Description != "d" {
		t.Fatalf("deleted group by id: %+v", got)
	}
	mustCreateGroup(t, s, newGroup(usher.GroupTeam, "platform")) // the handle is free
	_, err = s.GroupUpdate(ctx, team.ID, func(g *usher.Group) error { g.DeletedAt = nil; return nil })
	wantUnique(t, err, "handle")
	mustCreateGroup(t, s, newGroup(usher.GroupInternal, "inventory-42"))
	kinds := func(f usher.GroupFilter) string {
		gs, err := s.GroupList(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gs.Items {
			out = append(out, string(g.Kind)+":"+g.Handle)
		}
		return fmt.Sprint(out)
	}
	if got := kinds(usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam}}); got != "[team:platform]" {
		t.Errorf("teams: %s", got)
	}
	if got := kinds(usher.GroupFilter{Deleted: usher.Only}); got != "[team:Platform]" {
		t.Errorf("deleted: %s", got)
	}
	// The core finds a deleted group by its handle so (sharedHandle): a
	// deleted team holds its handle against all but administrators.
	byHandle := usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam, usher.GroupInternal}, Handle: "PLATFORM", Deleted: usher.Only}
	if got := kinds(byHandle); got != "[team:Platform]" {
		t.Errorf("deleted by handle: %s", got)
	}
	if got := kinds(usher.GroupFilter{Query: "INVENT"}); got != "[internal:inventory-42]" {
		t.Errorf("query: %s", got)
	}
	if got := kinds(usher.GroupFilter{Page: usher.PageRequest{Limit: 1, After: &usher.Cursor{ID: team.ID}}}); got != "[role:platform]" {
		t.Errorf("after: %s", got)
	}
}
