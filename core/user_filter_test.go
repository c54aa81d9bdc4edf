package core_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestListContains: the substring filters match any case and take their
// value literally; e-mail addresses and external ids are filtered by
// administrators only, and every value is checked like the exact filters';
// the username and the address hold at least three characters, as q does,
// while the UUID and the external id, which no index answers, take any.
func TestListContains(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "Bobby_T", Email: "bobby@corp.test", ExternalID: "EMP-20%"})
	b.env.MustCreateUser(t, usher.UserCreate{Username: "bobbyxt", Email: "bx@corp.test"})
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
	tests := []struct {
		name string
		as   *usher.User
		f    usher.UserFilter
		want string // usernames, or the error's kind
	}{
		{"username, any case", b.admin, usher.UserFilter{UsernameContains: "BOBBY"}, "[Bobby_T bobbyxt]"},
		{"underscore is literal", b.admin, usher.UserFilter{UsernameContains: "y_t"}, "[Bobby_T]"},
		{"email", b.admin, usher.UserFilter{EmailContains: "CORP"}, "[Bobby_T bobbyxt]"},
		{"external id, percent literal", b.admin, usher.UserFilter{ExternalIDContains: "p-20%"}, "[Bobby_T]"},
		{"external id, any case", b.admin, usher.UserFilter{ExternalIDContains: "emp-"}, "[alice Bobby_T]"},
		{"uuid part, any case", b.admin, usher.UserFilter{UUIDContains: strings.ToUpper(b.alice.UUID[9:23])}, "[alice]"},
		{"a user by username", bob, usher.UserFilter{UsernameContains: "yxt"}, "[bobbyxt]"},
		{"a user by e-mail", bob, usher.UserFilter{EmailContains: "corp"}, "forbidden"},
		{"a user by external id", bob, usher.UserFilter{ExternalIDContains: "emp"}, "forbidden"},
		{"control character", b.admin, usher.UserFilter{UsernameContains: "a\x00"}, "invalid"},
		{"too long", b.admin, usher.UserFilter{UUIDContains: string(make([]byte, 256))}, "invalid"},
		{"q of two characters", b.admin, usher.UserFilter{Query: "bo"}, "invalid"},
		{"q of three characters", b.admin, usher.UserFilter{Query: "bob"}, "[Bobby_T bobbyxt bob]"},
		{"q of three letters in six bytes", b.admin, usher.UserFilter{Query: "ééé"}, "[]"},
		{"username of one character", b.admin, usher.UserFilter{UsernameContains: "b"}, "invalid"},
		{"e-mail of two characters", b.admin, usher.UserFilter{EmailContains: "bx"}, "invalid"},
		{"uuid of one character", b.admin, usher.UserFilter{UUIDContains: b.alice.UUID[8:9], Kind: usher.KindNormal, Username: "alice"}, "[alice]"},
		{"external id of two characters", b.admin, usher.UserFilter{ExternalIDContains: "em"}, "[alice Bobby_T]"},
		{"external id of one character", b.admin, usher.UserFilter{ExternalIDContains: "%"}, "[Bobby_T]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, err := b.users.List(as(tt.as), tt.f)
			got := ""
			if err != nil {
				got = usher.ErrorKind(err).String()
			} else {
				var names []string
				for _, u := range page.Items {
					names = append(names, u.Username)
				}
				got = fmt.Sprint(names)
			}
			if got != tt.want {
				t.Fatalf("got %s, want %s (%v)", got, tt.want, err)
			}
		})
	}
}

// TestKinds: a list narrowed to kinds leaves the others out, and a look-up
// narrowed to kinds finds no user of another kind, for reading, changing
// and deleting alike, as if it did not exist.
func TestKinds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bot := b.env.MustCreateUser(t, usher.UserCreate{Username: "helper-bot", Kind: usher.KindBot})
	svc := b.env.MustCreateUser(t, usher.UserCreate{Username: "ci", Kind: usher.KindServiceAccount})
	people := []usher.UserKind{usher.KindNormal, usher.KindBot}
	page, err := b.users.List(as(b.admin), usher.UserFilter{Kinds: people})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range page.Items {
		names = append(names, u.Username)
	}
	if got := fmt.Sprint(names); got != "[root alice helper-bot]" {
		t.Fatalf("people and bots: %s", got)
	}
	_, err = b.users.List(as(b.admin), usher.UserFilter{Kinds: []usher.UserKind{"robot"}})
	wantKind(t, err, usher.KindInvalid, "")
	ctx := as(b.admin)
	tests := []struct {
		name string
		key  usher.UserKey
		want usher.Kind // KindInternal: found
	}{
		{"a bot among people", usher.UserKey{ID: bot.ID, Kinds: people}, usher.KindInternal},
		{"a service account among people", usher.UserKey{ID: svc.ID, Kinds: people}, usher.KindNotFound},
		{"by username", usher.UserKey{Username: "ci", Kinds: people}, usher.KindNotFound},
		{"without kinds", usher.UserKey{ID: svc.ID}, usher.KindInternal},
		{"an unknown kind", usher.UserKey{ID: svc.ID, Kinds: []usher.UserKind{"robot"}}, usher.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.users.Get(ctx, tt.key)
			if tt.want == usher.KindInternal {
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				return
			}
			wantKind(t, err, tt.want, "")
			_, err = b.users.Update(ctx, tt.key, usher.UserUpdate{Name: ptr("x")})
			wantKind(t, err, tt.want, "")
			_, err = b.users.Delete(ctx, tt.key)
			wantKind(t, err, tt.want, "")
		})
	}
	if u, err := b.users.Get(ctx, usher.UserKey{ID: svc.ID}); err != nil || u.Deleted() || u.Name == "x" {
		t.Fatalf("the service account was changed through a look-up that does not find it: %+v %v", u, err)
	}
}

// TestConflictNamesEveryField: a create or an update that collides on
// several unique fields reports each, on both backends, so that every face
// can list them; the code names the first.
func TestConflictNamesEveryField(t *testing.T) {
	t.Parallel()
	for _, backend := range []struct {
		name     string
		postgres bool
	}{{"sqlite", false}, {"postgres", true}} {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			env := coretest.New(t, coretest.Options{Postgres: backend.postgres})
			users := env.Core.Users
			admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
			env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", ExternalID: "emp-1"})
			bob := env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com"})
			ctx := as(admin)
			tests := []struct {
				name     string
				write    func() error
				code     string
				fields   string
				messages string
			}{
				{"create, one field", func() error {
					_, err := users.Create(ctx, usher.UserCreate{Username: "ALICE", Email: "new@example.com"})
					return err
				}, "username_taken", "[username]", "[has already been taken]"},
				{"create, username and e-mail", func() error {
					_, err := users.Create(ctx, usher.UserCreate{Username: "Alice", Email: "Alice@Example.com"})
					return err
				}, "username_taken", "[username email]", "[has already been taken has already been taken]"},
				{"create, all three", func() error {
					_, err := users.Create(ctx, usher.UserCreate{Username: "alice", Email: "alice@example.com", ExternalID: "emp-1"})
					return err
				}, "username_taken", "[username email external_id]", ""},
				{"update, e-mail and external id", func() error {
					_, err := users.Update(ctx, usher.UserKey{ID: bob.ID}, usher.UserUpdate{Email: ptr("ALICE@example.com"), ExternalID: ptr("emp-1")})
					return err
				}, "email_taken", "[email external_id]", ""},
				{"update, username and e-mail", func() error {
					_, err := users.Update(ctx, usher.UserKey{ID: bob.ID}, usher.UserUpdate{Username: ptr("root"), Email: ptr("root@example.com")})
					return err
				}, "username_taken", "[username email]", ""},
			}
			for _, tt := range tests {
				err := tt.write()
				var e *usher.Error
				if !errors.As(err, &e) || e.Kind != usher.KindConflict || e.Code != tt.code {
					t.Fatalf("%s: err = %v, want a conflict %s", tt.name, err, tt.code)
				}
				var fields, messages []string
				for _, f := range e.Fields {
					if f.Code != "taken" {
						t.Errorf("%s: field %s has code %s", tt.name, f.Field, f.Code)
					}
					fields, messages = append(fields, f.Field), append(messages, f.Message)
				}
				if got := fmt.Sprint(fields); got != tt.fields {
					t.Errorf("%s: fields %s, want %s", tt.name, got, tt.fields)
				}
				if got := fmt.Sprint(messages); tt.messages != "" && got != tt.messages {
					t.Errorf("%s: messages %s, want %s", tt.name, got, tt.messages)
				}
			}
		})
	}
}
