package storetest

import (
	"context"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func testOrganisations(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := &usher.Organisation{Handle: "Acme", Name: "Acme Inc.", CreatedAt: base, UpdatedAt: base}
	if err := s.OrgCreate(ctx, o); err != nil || o.ID == 0 {
		t.Fatal(err)
	}
	wantUnique(t, s.OrgCreate(ctx, &usher.Organisation{Handle: "acme", CreatedAt: base, UpdatedAt: base}), "handle")
	if got, err := s.OrgGet(ctx, 0, "ACME"); err != nil || got.ID != o.ID {
		t.Fatalf("OrgGet: %+v, %v", got, err)
	}
	g := newGroup(usher.GroupTeam, "t")
	g.OrganisationID = o.ID
	mustCreateGroup(t, s, g)
	if gs, _ := s.GroupList(ctx, usher.GroupFilter{OrganisationID: o.ID}); len(gs.Items) != 1 {
		t.Fatalf("groups of the organisation: %v", gs.Items)
	}
	at := base.Add(time.Hour)
	if _, err := s.OrgUpdate(ctx, o.ID, func(o *usher.Organisation) error { o.ArchivedAt = &at; return nil }); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.OrgList(ctx, usher.OrganisationFilter{Archived: usher.Exclude, Deleted: usher.Exclude, Page: usher.PageRequest{Limit: 10}}); len(list.Items) != 0 {
		t.Fatalf("archived organisations are listed: %v", list.Items)
	}
	if list, _ := s.OrgList(ctx, usher.OrganisationFilter{Archived: usher.Only, Deleted: usher.Exclude, Page: usher.PageRequest{Limit: 10}}); len(list.Items) != 1 || list.Items[0].ArchivedAt == nil {
		t.Fatalf("archived only: %v", list.Items)
	}
}
