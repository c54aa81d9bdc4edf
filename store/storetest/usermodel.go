package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"usher"
	"usher/store"
)

// testUserHandleUnique: a handle is unique case-insensitively among live
// users, found in any case, and freed by a deletion; a write that keeps
// the handle keeps its key.
func testUserHandleUnique(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newUser("alice", "", "")
	a.Handle = "Alice.B"
	mustCreateUser(t, s, a)
	b := newUser("bob", "", "")
	b.Handle = "alice.b"
	wantUnique(t, s.UserCreate(ctx, b, ""), "handle")
	b.Handle = "bob"
	mustCreateUser(t, s, b)
	// Users without a handle do not collide with each other.
	mustCreateUser(t, s, newUser("carol", "", ""))
	mustCreateUser(t, s, newUser("dave", "", ""))

	if got := mustGet(t, s, usher.UserKey{Handle: "ALICE.b"}); got.ID != a.ID || got.Handle != "Alice.B" {
		t.Fatalf("UserGet(ALICE.b) = user %d %q, want alice with her handle as written", got.ID, got.Handle)
	}
	if page, err := s.UserList(ctx, usher.UserFilter{Handle: "alice.B", Page: usher.PageRequest{Limit: 10}}); err != nil || len(page.Items) != 1 || page.Items[0].ID != a.ID {
		t.Fatalf("UserList(handle) = %+v, %v", page, err)
	}
	_, err := s.UserUpdate(ctx, b.ID, func(u *usher.User) error { u.Handle = "ALICE.B"; return nil })
	wantUnique(t, err, "handle")
	// A write that leaves the handle alone is no collision.
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.Name = "Alice"; return nil }); err != nil {
		t.Fatal(err)
	}
	// A deleted user holds no handle.
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = &base; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = s.UserGet(ctx, usher.UserKey{Handle: "alice.b"})
	wantNotFound(t, err)
	if _, err := s.UserUpdate(ctx, b.ID, func(u *usher.User) error { u.Handle = "ALICE.B"; return nil }); err != nil {
		t.Fatal(err)
	}
}

// testUserOrganisationMeta keeps a user's organisation and meta object,
// lists the users of an organisation, and leaves a user without one when
// the organisation's row goes.
func testUserOrganisationMeta(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := &usher.Organisation{Handle: "acme", CreatedAt: base, UpdatedAt: base}
	if err := s.OrgCreate(ctx, o); err != nil {
		t.Fatal(err)
	}
	a := newUser("alice", "", "")
	a.OrganisationID, a.Meta = o.ID, json.RawMessage(`{"b":[1,{"c":null}],"a":"x"}`)
	mustCreateUser(t, s, a)
	mustCreateUser(t, s, newUser("bob", "", ""))
	got := mustGet(t, s, usher.UserKey{ID: a.ID})
	if got.OrganisationID != o.ID {
		t.Fatalf("OrganisationID = %d, want %d", got.OrganisationID, o.ID)
	}
	var want, have any
	if err := json.Unmarshal(a.Meta, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got.Meta, &have); err != nil {
		t.Fatalf("Meta %q: %v", got.Meta, err)
	}
	if mustJSON(t, want) != mustJSON(t, have) {
		t.Fatalf("Meta = %s, want %s", got.Meta, a.Meta)
	}
	page, err := s.UserList(ctx, usher.UserFilter{OrganisationID: o.ID, Page: usher.PageRequest{Limit: 10}})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != a.ID {
		t.Fatalf("UserList(organisation) = %+v, %v", page, err)
	}
	upd, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.OrganisationID, u.Meta = 0, nil; return nil })
	if err != nil || upd.OrganisationID != 0 {
		t.Fatalf("UserUpdate: %+v, %v", upd, err)
	}
	if got := mustGet(t, s, usher.UserKey{ID: a.ID}); got.OrganisationID != 0 || got.Meta != nil {
		t.Fatalf("after clearing: organisation %d, meta %q", got.OrganisationID, got.Meta)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// RunHandleMigration checks migration 13 on data made before it: no
// handle's text changes; a valid handle gets its key, the first user of a
// handle held by several in any case keeps it, and an invalid handle has
// none, so that its user is found by it only once it is changed. exec and
// now are RunRekey's.
func RunHandleMigration(t *testing.T, s RekeyTarget, exec func(query string) error, now string) {
	ctx := context.Background()
	if _, err := s.MigrateTo(ctx, base, 11); err != nil {
		t.Fatal(err)
	}
	users := [][2]string{{"ann", "Ann"}, {"ann2", "ANN"}, {"spaced", "Dr. Who"}, {"digits", "123"}, {"none", ""}, {"deleted", "ann"}}
	for _, u := range users {
		deleted := "NULL"
		if u[0] == "deleted" {
			deleted = now
		}
		if err := exec("INSERT INTO users (uuid, username, username_key, handle, state, kind, created_at, updated_at, deleted_at) " +
			"VALUES ('" + newUUID() + "', '" + u[0] + "', '" + u[0] + "', '" + u[1] + "', 'active', 'normal', " + now + ", " + now + ", " + deleted + ")"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Migrate(ctx, base); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	for _, u := range users[:5] {
		if got := mustGet(t, s, usher.UserKey{Username: u[0]}); got.Handle != u[1] {
			t.Fatalf("%s's handle = %q, want %q kept", u[0], got.Handle, u[1])
		}
	}
	ann, ann2 := mustGet(t, s, usher.UserKey{Username: "ann"}), mustGet(t, s, usher.UserKey{Username: "ann2"})
	if got := mustGet(t, s, usher.UserKey{Handle: "ann"}); got.ID != ann.ID {
		t.Fatalf("handle ann is user %d, want the first holder %d", got.ID, ann.ID)
	}
	for _, h := range []string{"Dr. Who", "123"} {
		_, err := s.UserGet(ctx, usher.UserKey{Handle: h})
		wantNotFound(t, err)
	}
	// Ann2 keeps "ANN" through a write that leaves it, and takes a free
	// handle when she changes it.
	if _, err := s.UserUpdate(ctx, ann2.ID, func(u *usher.User) error { u.Name = "Ann Two"; return nil }); err != nil {
		t.Fatalf("a write that keeps a keyless handle: %v", err)
	}
	if _, err := s.UserUpdate(ctx, ann2.ID, func(u *usher.User) error { u.Handle = "ann2"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, usher.UserKey{Handle: "ANN2"}); got.ID != ann2.ID {
		t.Fatalf("handle ann2 is user %d, want %d", got.ID, ann2.ID)
	}
}

// testUserWithoutUsername: users without a username collide with no one,
// are found by their other keys, and take a username later.
func testUserWithoutUsername(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("", "a@example.com", ""))
	b := mustCreateUser(t, s, newUser("", "b@example.com", ""))
	if got := mustGet(t, s, usher.UserKey{Email: "b@example.com"}); got.ID != b.ID || got.Username != "" {
		t.Fatalf("by address: user %d %q", got.ID, got.Username)
	}
	// The key a user without a username is kept under is no username:
	// asking for it finds no one.
	if _, err := s.UserGet(ctx, usher.UserKey{Username: "#" + b.UUID}); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("by the internal key #%s: %v, want not found", b.UUID, err)
	}
	if page, err := s.UserList(ctx, usher.UserFilter{Username: "#" + b.UUID}); err != nil || len(page.Items) != 0 {
		t.Fatalf("a list by the internal key: %+v, %v", page, err)
	}
	many := []*usher.User{newUser("", "c@example.com", ""), newUser("", "d@example.com", "")}
	if err := s.UserCreateMany(ctx, many, []string{"", ""}); err != nil {
		t.Fatalf("UserCreateMany without usernames: %v", err)
	}
	page, err := s.UserList(ctx, usher.UserFilter{Sort: usher.SortUsernameAsc, Page: usher.PageRequest{Limit: 2}})
	if err != nil || len(page.Items) != 2 || page.Next == nil {
		t.Fatalf("a page by username: %+v, %v", page, err)
	}
	rest, err := s.UserList(ctx, usher.UserFilter{Sort: usher.SortUsernameAsc, Page: usher.PageRequest{After: page.Next, Limit: 10}})
	if err != nil || len(rest.Items) != 2 {
		t.Fatalf("the next page by username: %+v, %v", rest, err)
	}
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.Username = "Alice"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, usher.UserKey{Username: "alice"}); got.ID != a.ID {
		t.Fatalf("by the new username: user %d", got.ID)
	}
	_, err = s.UserUpdate(ctx, b.ID, func(u *usher.User) error { u.Username = "ALICE"; return nil })
	wantUnique(t, err, "username")
}
