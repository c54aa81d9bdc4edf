package core_test

import (
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestUserView checks what the core says each caller may see of a user,
// and that the users it returns are cut to exactly that: a face picks its
// representation by View, and must not show more than the core gave.
func TestUserView(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com"})
	for _, tt := range []struct {
		name   string
		caller *usher.User
		target *usher.User
		want   usher.UserView
	}{
		{"an administrator on another user", b.admin, b.alice, usher.ViewAdmin},
		{"an administrator on themselves", b.admin, b.admin, usher.ViewAdmin},
		{"a user on themselves", b.alice, b.alice, usher.ViewOwn},
		{"a user on another user", b.alice, bob, usher.ViewProfile},
		{"a user on an administrator", bob, b.admin, usher.ViewProfile},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := as(tt.caller)
			u, err := b.users.Get(ctx, usher.UserKey{ID: tt.target.ID})
			if err != nil {
				t.Fatal(err)
			}
			if got := b.users.View(ctx, u); got != tt.want {
				t.Fatalf("View = %d, want %d", got, tt.want)
			}
			// The profile has no address; the whole account has it.
			if (u.Email == "") != (tt.want == usher.ViewProfile) {
				t.Fatalf("view %d came with e-mail %q", tt.want, u.Email)
			}
		})
	}
	if got := b.users.View(coretest.System(), b.alice); got != usher.ViewAdmin {
		t.Fatalf("the system's view = %d", got)
	}
}
