package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func mustCreateApp(t *testing.T, s store.Store, a *usher.Application) *usher.Application {
	t.Helper()
	if a.Unify.Config == "" {
		a.Unify.Config = "{}"
	}
	a.CreatedAt, a.UpdatedAt = base, base
	if err := s.AppCreate(context.Background(), a); err != nil || a.ID == 0 {
		t.Fatalf("AppCreate(%s): %v", a.Name, err)
	}
	return a
}

func testApplications(t *testing.T, s store.Store) {
	ctx := context.Background()
	owner := mustCreateUser(t, s, newUser("app-owner", "app-owner@example.com", "Owner"))
	a := mustCreateApp(t, s, &usher.Application{Name: "Crm", OwnerID: owner.ID, Enabled: true,
		Unify: usher.ApplicationUnify{Name: "Customers", Listed: true, Icon: "i.svg", Logo: "l.png",
			URL: "https://crm.example.com", Config: `{"b":1,"a":[true]}`, Order: 3}})
	got, err := s.AppGet(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *a {
		t.Fatalf("AppGet:\n got %+v\nwant %+v", got, a)
	}
	if _, err := s.AppGet(ctx, a.ID+1000); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("AppGet(missing) = %v, want ErrNotFound", err)
	}
	err = s.AppCreate(ctx, &usher.Application{Name: "x", OwnerID: owner.ID + 1000, Unify: usher.ApplicationUnify{Config: "{}"},
		CreatedAt: base, UpdatedAt: base})
	if !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("AppCreate(unknown owner) = %v, want ErrNotFound", err)
	}
	b := mustCreateApp(t, s, &usher.Application{Name: "Wiki_100%", Unify: usher.ApplicationUnify{Name: "Docs"}})
	c := mustCreateApp(t, s, &usher.Application{Name: "crm"})

	at := base.Add(time.Hour)
	upd, err := s.AppUpdate(ctx, c.ID, func(a *usher.Application) error {
		a.DeletedAt, a.Enabled, a.Unify.Order, a.UpdatedAt = &at, false, -2, at
		return nil
	})
	if err != nil || upd.DeletedAt == nil || !upd.DeletedAt.Equal(at) || upd.Unify.Order != -2 {
		t.Fatalf("AppUpdate: %+v, %v", upd, err)
	}
	if got, _ := s.AppGet(ctx, c.ID); got.DeletedAt == nil || !got.UpdatedAt.Equal(at) {
		t.Fatalf("after AppUpdate: %+v", got)
	}
	if _, err := s.AppUpdate(ctx, 1<<40, func(*usher.Application) error { return nil }); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("AppUpdate(missing) = %v", err)
	}

	ids := func(f usher.ApplicationFilter, after int64, limit int) []int64 {
		t.Helper()
		f.Page = usher.PageRequest{Limit: limit}
		if after != 0 {
			f.Page.After = &usher.Cursor{ID: after}
		}
		list, err := s.AppList(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, a := range list.Items {
			out = append(out, a.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		f     usher.ApplicationFilter
		after int64
		limit int
		want  []int64
	}{
		{"live", usher.ApplicationFilter{}, 0, 10, []int64{a.ID, b.ID}},
		{"include deleted", usher.ApplicationFilter{Deleted: usher.Include}, 0, 10, []int64{a.ID, b.ID, c.ID}},
		{"only deleted", usher.ApplicationFilter{Deleted: usher.Only}, 0, 10, []int64{c.ID}},
		{"name ignores case", usher.ApplicationFilter{Name: "CRM", Deleted: usher.Include}, 0, 10, []int64{a.ID, c.ID}},
		{"query in display name", usher.ApplicationFilter{Query: "cust"}, 0, 10, []int64{a.ID}},
		{"query is literal", usher.ApplicationFilter{Query: "_100%"}, 0, 10, []int64{b.ID}},
		{"an underscore is no wildcard", usher.ApplicationFilter{Query: "w_ki"}, 0, 10, nil},
		{"after and limit", usher.ApplicationFilter{Deleted: usher.Include}, a.ID, 1, []int64{b.ID}},
	} {
		if got := ids(tc.f, tc.after, tc.limit); !equalIDs(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	// Purging the owner leaves the application, ownerless.
	if err := s.UserPurge(ctx, owner.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AppGet(ctx, a.ID); err != nil || got.OwnerID != 0 {
		t.Fatalf("after the owner's purge: %+v, %v", got, err)
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
