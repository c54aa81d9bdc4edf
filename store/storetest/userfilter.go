package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"usher"
	"usher/store"
)

// testUserListContains checks the per-field substring filters: any case,
// wildcards taken literally, short values (under a trigram) as well as
// long ones, and several filters narrowing one another.
func testUserListContains(t *testing.T, s store.Store) {
	specs := []struct{ username, email, externalID string }{
		{"alice", "alice@example.com", "CRM-100%"},
		{"a_b", "ab@corp.test", "crm-2000"},
		{"axb", "AXB@Corp.Test", ""},
		{"Bobby", "bob@example.com", "legacy_7"},
	}
	var us []*usher.User
	for _, sp := range specs {
		u := newUser(sp.username, sp.email, "")
		u.ExternalID = sp.externalID
		us = append(us, mustCreateUser(t, s, u))
	}
	gone := newUser("alicia", "alicia@example.com", "")
	gone.ExternalID, gone.DeletedAt = "crm-3000", ptr(base)
	mustCreateUser(t, s, gone)
	tests := []struct {
		name string
		f    usher.UserFilter
		want string
	}{
		{"username, any case", usher.UserFilter{UsernameContains: "LIC"}, "[alice]"},
		{"username, two characters", usher.UserFilter{UsernameContains: "bB"}, "[Bobby]"},
		{"username, one character", usher.UserFilter{UsernameContains: "x"}, "[axb]"},
		{"username underscore is literal", usher.UserFilter{UsernameContains: "a_b"}, "[a_b]"},
		{"username underscore is literal, short", usher.UserFilter{UsernameContains: "_b"}, "[a_b]"},
		{"username percent is literal", usher.UserFilter{UsernameContains: "%"}, "[]"},
		{"username whole", usher.UserFilter{UsernameContains: "bobby"}, "[Bobby]"},
		{"email, any case", usher.UserFilter{EmailContains: "corp.TEST"}, "[a_b axb]"},
		{"email, short", usher.UserFilter{EmailContains: "XB"}, "[axb]"},
		{"email is not the username", usher.UserFilter{EmailContains: "bobby"}, "[]"},
		{"external id, any case", usher.UserFilter{ExternalIDContains: "crm-"}, "[alice a_b]"},
		{"external id percent is literal", usher.UserFilter{ExternalIDContains: "0%"}, "[alice]"},
		{"external id underscore", usher.UserFilter{ExternalIDContains: "y_7"}, "[Bobby]"},
		{"external id underscore is literal", usher.UserFilter{ExternalIDContains: "-_"}, "[]"},
		{"external id backslash is literal", usher.UserFilter{ExternalIDContains: `\`}, "[]"},
		{"uuid part", usher.UserFilter{UUIDContains: us[2].UUID[24:]}, "[axb]"},
		{"uuid whole, upper case", usher.UserFilter{UUIDContains: strings.ToUpper(us[3].UUID)}, "[Bobby]"},
		{"uuid-sized but no uuid", usher.UserFilter{UUIDContains: strings.Repeat("x", 36)}, "[]"},
		{"uuid common part", usher.UserFilter{UUIDContains: "-4000-"}, "[alice a_b axb Bobby]"},
		{"several narrow each other", usher.UserFilter{UsernameContains: "a", EmailContains: "corp"}, "[a_b axb]"},
		{"several indexed narrow each other", usher.UserFilter{UsernameContains: "axb", EmailContains: "corp"}, "[axb]"},
		{"with a search", usher.UserFilter{Query: "ali", EmailContains: "example"}, "[alice]"},
		{"with an exact filter", usher.UserFilter{Username: "axb", EmailContains: "example"}, "[]"},
		{"deleted ones only when asked", usher.UserFilter{ExternalIDContains: "crm", Deleted: usher.Include}, "[alice a_b alicia]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(usernames(list(t, s, tt.f))); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
		// The count goes the same way as the page.
		f := tt.f
		f.Page.WithTotal = true
		if p := list(t, s, f); p.Total != len(p.Items) {
			t.Errorf("%s: total %d for %d users", tt.name, p.Total, len(p.Items))
		}
	}
}

// testUserListKinds checks the filter on several kinds.
func testUserListKinds(t *testing.T, s store.Store) {
	seed(t, s)
	tests := []struct {
		name string
		f    usher.UserFilter
		want string
	}{
		{"people and bots", usher.UserFilter{Kinds: []usher.UserKind{usher.KindNormal, usher.KindBot}}, "[alice bob dave]"},
		{"service accounts", usher.UserFilter{Kinds: []usher.UserKind{usher.KindServiceAccount}}, "[ci-bot]"},
		{"with kind, both", usher.UserFilter{Kind: usher.KindBot, Kinds: []usher.UserKind{usher.KindNormal}}, "[]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(usernames(list(t, s, tt.f))); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

// testUserConflictFields checks that a write colliding on several unique
// fields names each of them, in a fixed order, on a create and an update.
func testUserConflictFields(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newUser("alice", "alice@example.com", "")
	a.ExternalID = "x1"
	mustCreateUser(t, s, a)
	b := mustCreateUser(t, s, newUser("bob", "bob@example.com", ""))
	withExternal := func(u *usher.User, id string) *usher.User { u.ExternalID = id; return u }
	tests := []struct {
		name  string
		write func() error
		want  string
	}{
		{"create, one field", func() error {
			return s.UserCreate(ctx, newUser("ALICE", "carol@example.com", ""), "")
		}, "[username]"},
		{"create, username and e-mail", func() error {
			return s.UserCreate(ctx, newUser("Alice", "Alice@Example.com", ""), "")
		}, "[username email]"},
		{"create, all three", func() error {
			return s.UserCreate(ctx, withExternal(newUser("alice", "ALICE@example.com", ""), "x1"), "")
		}, "[username email external_id]"},
		{"create, e-mail and external id", func() error {
			return s.UserCreate(ctx, withExternal(newUser("carol", "alice@example.com", ""), "x1"), "")
		}, "[email external_id]"},
		{"update, username and e-mail", func() error {
			_, err := s.UserUpdate(ctx, b.ID, func(u *usher.User) error {
				u.Username, u.Email = "alice", "alice@EXAMPLE.com"
				return nil
			})
			return err
		}, "[username email]"},
		{"update in a transaction", func() error {
			return s.InTx(ctx, func(tx store.Tx) error {
				_, err := tx.UserUpdate(ctx, b.ID, func(u *usher.User) error {
					u.Email, u.ExternalID = "alice@example.com", "x1"
					return nil
				})
				return err
			})
		}, "[email external_id]"},
	}
	for _, tt := range tests {
		err := tt.write()
		wantUnique(t, err, strings.Fields(strings.Trim(tt.want, "[]"))[0])
		if got := fmt.Sprint(uniqueFields(err)); got != tt.want {
			t.Errorf("%s: fields %s, want %s", tt.name, got, tt.want)
		}
	}
	if n, _ := s.UserCount(ctx); n != 2 {
		t.Fatalf("UserCount = %d, want 2 (failed writes must leave nothing)", n)
	}
}

// uniqueFields returns the fields a UniqueError in err names.
func uniqueFields(err error) []string {
	var ue *usher.UniqueError
	if !errors.As(err, &ue) {
		return nil
	}
	return ue.Fields
}
