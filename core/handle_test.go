package core_test

import (
	"encoding/json"
	"strings"
	"testing"

	"usher"
	"usher/core/coretest"
)

// wantField fails unless err is of kind with a field error on field.
func wantField(t *testing.T, err error, kind usher.Kind, field string) {
	t.Helper()
	e := usher.AsError(err)
	if err == nil || e.Kind != kind || len(e.Fields) == 0 || e.Fields[0].Field != field {
		t.Fatalf("err = %v (fields %+v), want %s on %s", err, e.Fields, kind, field)
	}
}

func TestHandleDerived(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if b.alice.Handle != "alice-liddell" {
		t.Fatalf("alice's derived handle = %q", b.alice.Handle)
	}
	tests := []struct {
		name string
		in   usher.UserCreate
		want string
	}{
		{"the name, taken: a suffix", usher.UserCreate{Username: "alice2", Name: "Alice  Liddell!"}, "alice-liddell-2"},
		{"no name: the username", usher.UserCreate{Username: "Bob.X"}, "bob.x"},
		{"nothing usable in the name: the username", usher.UserCreate{Username: "carol", Name: "ÅÄÖ"}, "carol"},
		{"a bot: from its name", usher.UserCreate{Username: "ci-bot", Name: "CI", Kind: usher.KindBot}, "ci"},
		{"given: kept as written", usher.UserCreate{Username: "dave", Name: "Dave", Handle: "The.Dave"}, "The.Dave"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := b.users.Create(as(b.admin), tt.in)
			if err != nil || u.Handle != tt.want {
				t.Fatalf("Create: %+v, %v; want handle %q", u, err, tt.want)
			}
		})
	}
	got, err := b.users.Get(as(b.admin), usher.UserKey{Handle: "ALICE-liddell"})
	if err != nil || got.ID != b.alice.ID {
		t.Fatalf("Get by handle: %v, %v", got, err)
	}
}

func TestHandleRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name  string
		in    usher.UserCreate
		kind  usher.Kind
		field string
	}{
		{"spaces", usher.UserCreate{Username: "u1", Handle: "a b"}, usher.KindUnprocessable, "handle"},
		{"digits alone", usher.UserCreate{Username: "u2", Handle: "123"}, usher.KindUnprocessable, "handle"},
		{"too long", usher.UserCreate{Username: "u3", Handle: strings.Repeat("h", 101)}, usher.KindUnprocessable, "handle"},
		{"taken in another case", usher.UserCreate{Username: "u4", Handle: "ALICE-Liddell"}, usher.KindConflict, "handle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.users.Create(as(b.admin), tt.in)
			wantField(t, err, tt.kind, tt.field)
		})
	}
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
	_, err := b.users.Update(as(bob), usher.UserKey{ID: bob.ID}, usher.UserUpdate{Handle: ptr("Alice-Liddell")})
	wantKind(t, err, usher.KindConflict, usher.CodeHandleTaken)
	u, err := b.users.Update(as(bob), usher.UserKey{ID: bob.ID}, usher.UserUpdate{Handle: ptr("Bobby")})
	if err != nil || u.Handle != "Bobby" {
		t.Fatalf("a user changes their own handle: %v, %v", u, err)
	}
}

func TestUserOrganisation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	orgs := b.env.Core.Orgs
	acme, err := orgs.Create(as(b.admin), "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	gone, err := orgs.Create(as(b.admin), "gone", "Gone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orgs.Update(as(b.admin), gone.ID, usher.OrganisationUpdate{Deleted: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		as   *usher.User
		org  int64
		kind usher.Kind
	}{
		{"unknown", b.admin, acme.ID + 100, usher.KindUnprocessable},
		{"deleted", b.admin, gone.ID, usher.KindUnprocessable},
		{"not an administrator", b.alice, acme.ID, usher.KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.users.Update(as(tt.as), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{OrganisationID: ptr(tt.org)})
			wantKind(t, err, tt.kind, "")
			if tt.kind == usher.KindUnprocessable {
				wantField(t, err, tt.kind, "organisation_id")
			}
			_, err = b.users.Create(as(tt.as), usher.UserCreate{Username: "x-" + strings.ReplaceAll(tt.name, " ", "-"), OrganisationID: tt.org})
			wantKind(t, err, tt.kind, "")
		})
	}
	u, err := b.users.Update(as(b.admin), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{OrganisationID: ptr(acme.ID)})
	if err != nil || u.OrganisationID != acme.ID {
		t.Fatalf("Update: %+v, %v", u, err)
	}
	page, err := b.users.List(as(b.admin), usher.UserFilter{OrganisationID: acme.ID})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != b.alice.ID {
		t.Fatalf("List(organisation) = %+v, %v", page, err)
	}
	// An organisation with users is not deleted under them.
	_, err = orgs.Update(as(b.admin), acme.ID, usher.OrganisationUpdate{Deleted: ptr(true)})
	wantKind(t, err, usher.KindConflict, usher.CodeOrganisationNotEmpty)
	if _, err := b.users.Update(as(b.admin), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{OrganisationID: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := orgs.Update(as(b.admin), acme.ID, usher.OrganisationUpdate{Deleted: ptr(true)}); err != nil {
		t.Fatalf("deleting an emptied organisation: %v", err)
	}
}

func TestUserMeta(t *testing.T) {
	t.Parallel()
	b := setup(t)
	deep := strings.Repeat(`{"a":`, 9) + "1" + strings.Repeat("}", 9)
	big := `{"a":"` + strings.Repeat("x", 16<<10) + `"}`
	tests := []struct {
		name string
		meta string
	}{
		{"not JSON", `{"a":`},
		{"an array", `[1]`},
		{"a string", `"x"`},
		{"too deep", deep},
		{"too large", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := json.RawMessage(tt.meta)
			_, err := b.users.Update(as(b.alice), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Meta: &raw})
			wantField(t, err, usher.KindUnprocessable, "meta")
		})
	}
	if u, err := b.users.Create(as(b.admin), usher.UserCreate{Username: "nully", Meta: json.RawMessage("null")}); err != nil || u.Meta != nil {
		t.Fatalf("a null meta: %+v, %v", u, err)
	}
	raw := json.RawMessage(`{ "theme": { "dark": true } }`)
	u, err := b.users.Update(as(b.alice), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Meta: &raw})
	if err != nil || string(u.Meta) != `{"theme":{"dark":true}}` {
		t.Fatalf("Update: %+v, %v", u, err)
	}
}

func TestUsernameOptional(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name string
		in   usher.UserCreate
		ok   bool
	}{
		{"a product that needs one", usher.UserCreate{Email: "a@example.com"}, false},
		{"optional, with an address", usher.UserCreate{Email: "b@example.com", UsernameOptional: true}, true},
		{"optional, with a handle", usher.UserCreate{Handle: "cee", UsernameOptional: true}, true},
		{"optional, with a name to derive a handle from", usher.UserCreate{Name: "Dee Dee", UsernameOptional: true}, true},
		{"optional, with nothing to find it by", usher.UserCreate{Bio: "x", UsernameOptional: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := b.users.Create(as(b.admin), tt.in)
			if !tt.ok {
				wantField(t, err, usher.KindUnprocessable, "username")
				return
			}
			if err != nil || u.Username != "" {
				t.Fatalf("Create: %+v, %v", u, err)
			}
		})
	}
	// A second user without a username is no conflict; a username, once
	// given, is changed, not removed.
	u, err := b.users.Create(as(b.admin), usher.UserCreate{Email: "e@example.com", UsernameOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.users.Update(as(b.admin), usher.UserKey{ID: u.ID}, usher.UserUpdate{Username: ptr("eve")}); err != nil {
		t.Fatal(err)
	}
	_, err = b.users.Update(as(b.admin), usher.UserKey{ID: u.ID}, usher.UserUpdate{Username: ptr("")})
	wantField(t, err, usher.KindUnprocessable, "username")
}

// TestHandleConflictOnBothBackends: a handle taken in another case is a
// conflict naming the handle, and a derived one takes a suffix, on SQLite
// and on PostgreSQL, whose failed write is probed once rolled back.
func TestHandleConflictOnBothBackends(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			env := coretest.New(t, coretest.Options{Postgres: pg})
			admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
			users := env.Core.Users
			a, err := users.Create(as(admin), usher.UserCreate{Username: "a", Name: "Grace Hopper"})
			if err != nil || a.Handle != "grace-hopper" {
				t.Fatalf("first: %+v, %v", a, err)
			}
			b, err := users.Create(as(admin), usher.UserCreate{Username: "b", Name: "Grace Hopper"})
			if err != nil || b.Handle != "grace-hopper-2" {
				t.Fatalf("second: %+v, %v", b, err)
			}
			_, err = users.Create(as(admin), usher.UserCreate{Username: "c", Handle: "GRACE-HOPPER"})
			wantField(t, err, usher.KindConflict, "handle")
			wantKind(t, err, usher.KindConflict, usher.CodeHandleTaken)
			_, err = users.Update(as(admin), usher.UserKey{ID: b.ID}, usher.UserUpdate{Handle: ptr("Grace-Hopper"), Username: ptr("A")})
			wantKind(t, err, usher.KindConflict, "")
			if e := usher.AsError(err); len(e.Fields) != 2 {
				t.Fatalf("a write colliding on two fields names %+v, want username and handle", e.Fields)
			}
		})
	}
}
