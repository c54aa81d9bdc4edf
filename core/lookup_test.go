package core_test

import (
	"testing"

	"usher"
)

// TestLookupOneRule: every service finds a user by the same rule — a
// deleted user is not found, by anyone but an administrator where deleted
// users are asked about, and the answer is the same user_not_found as for
// a user that never existed; a suspended user is found.
func TestLookupOneRule(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	gone := b.env.MustCreateUser(t, usher.UserCreate{Username: "gone"})
	if _, err := b.users.Delete(as(b.admin), usher.UserKey{ID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	c := b.env.Core
	tm, err := b.g.Create(as(b.admin), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t"})
	if err != nil {
		t.Fatal(err)
	}
	lookups := map[string]func(key usher.UserKey) error{
		"Users.Get": func(k usher.UserKey) error { _, err := c.Users.Get(as(b.admin), k); return err },
		"Keys.List": func(k usher.UserKey) error { _, err := c.Keys.List(as(b.admin), k); return err },
		"Emails.List": func(k usher.UserKey) error {
			_, err := c.Emails.List(as(b.admin), k)
			return err
		},
		"Groups.AddMember": func(k usher.UserKey) error {
			_, err := b.g.AddMember(as(b.admin), usher.GroupRef{ID: tm.ID}, k, "")
			return err
		},
		"Auth.Sudo": func(k usher.UserKey) error { _, err := c.Auth.Sudo(as(b.admin), k); return err },
		"Groups.UserGroups by a user": func(k usher.UserKey) error {
			_, err := b.g.UserGroups(as(b.alice), k)
			return err
		},
	}
	for name, lookup := range lookups {
		for _, key := range []usher.UserKey{{ID: gone.ID}, {Username: "gone"}, {ID: 999999}, {Username: "never"}} {
			if e := usher.AsError(lookup(key)); e.Kind != usher.KindNotFound || e.Code != "user_not_found" {
				t.Errorf("%s(%+v) = %s %s, want not_found user_not_found", name, key, e.Kind, e.Code)
			}
		}
	}
	// Where deleted users are asked about, an administrator finds them.
	if _, err := b.g.UserGroups(as(b.admin), usher.UserKey{ID: gone.ID}); err != nil {
		t.Fatalf("an administrator's look at a deleted user's groups: %v", err)
	}
	if _, err := b.users.Undelete(as(b.admin), usher.UserKey{ID: gone.ID}); err != nil {
		t.Fatalf("undelete finds the deleted user: %v", err)
	}
	// A suspended user is found.
	if _, err := b.users.Suspend(as(b.admin), usher.UserKey{ID: b.bob.ID}); err != nil {
		t.Fatal(err)
	}
	for name, lookup := range lookups {
		if name == "Auth.Sudo" || name == "Groups.UserGroups by a user" {
			continue // sudo refuses an inactive account; alice may not look at bob's groups
		}
		if err := lookup(usher.UserKey{ID: b.bob.ID}); err != nil {
			t.Errorf("%s of a suspended user: %v", name, err)
		}
	}
}
