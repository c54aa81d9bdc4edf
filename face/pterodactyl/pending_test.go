package pterodactyl_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestUpdateKeepsAWaitingAddress: Pterodactyl's PATCH requires the email
// on every change, and an administrator's tool that changed only the
// language sent the address the user has; the core ended the change of
// address the user was waiting to prove, though the address did not
// change (round 56). The address the account has is no change, and ends
// none.
func TestUpdateKeepsAWaitingAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.env.MustCreateUser(t, usher.UserCreate{Username: "plain", Email: "plain@example.com", FirstName: "Plain", LastName: "User"})
	self := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: u})
	moved := "moved@example.com"
	if _, err := b.env.Core.Users.Update(self, usher.UserKey{ID: u.ID}, usher.UserUpdate{Email: &moved}); err != nil {
		t.Fatal(err)
	}
	res := b.do(t, req{method: "PATCH", path: fmt.Sprintf("/api/application/users/%d", u.ID), body: map[string]any{
		"email": "plain@example.com", "username": "plain", "first_name": "Plain", "last_name": "User", "language": "de"}})
	if res.status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", res.status, res.body)
	}
	got, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: u.ID})
	if err != nil || got.Email != "plain@example.com" || got.UnconfirmedEmail != moved || got.Language != "de" {
		t.Fatalf("after an administrator's PATCH sending the address the user has: %+v, %v; want plain@example.com, %s still waiting, language de", got, err, moved)
	}
	// A new address from the administrator takes effect and ends the wait.
	res = b.do(t, req{method: "PATCH", path: fmt.Sprintf("/api/application/users/%d", u.ID), body: map[string]any{
		"email": "other@example.com", "username": "plain", "first_name": "Plain", "last_name": "User"}})
	if res.status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", res.status, res.body)
	}
	if got, err = b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: u.ID}); err != nil || got.Email != "other@example.com" || got.UnconfirmedEmail != "" {
		t.Fatalf("after an administrator's new address: %+v, %v", got, err)
	}
}
