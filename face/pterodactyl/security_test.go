package pterodactyl_test

import (
	"context"
	"net/http"
	"testing"

	"usher"
)

// TestPterodactylRefusesJWT sends JWTs made from the application key itself
// (and from a personal token): the face takes application keys only, so
// each is answered 401 like an unknown key, while the key works.
func TestPterodactylRefusesJWT(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	jwtOf := func(credential string) string {
		t.Helper()
		p, err := b.env.Core.Auth.Authenticate(ctx, credential)
		if err != nil {
			t.Fatal(err)
		}
		jwt, _, err := b.env.Core.Auth.IssueJWT(usher.WithPrincipal(ctx, p))
		if err != nil {
			t.Fatal(err)
		}
		return jwt
	}
	tests := []struct {
		name, key string
		status    int
	}{
		{"a JWT of the application key", jwtOf(b.key), http.StatusUnauthorized},
		{"a JWT of a personal token", jwtOf(b.env.MustToken(t, b.admin.ID, usher.TokenPersonal)), http.StatusUnauthorized},
		{"the application key", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.do(t, req{method: "GET", path: "/api/application/users", key: tt.key})
			if res.status != tt.status {
				t.Fatalf("%d %s, want %d", res.status, res.body, tt.status)
			}
			if tt.status == http.StatusOK {
				return
			}
			e := res.errs(t)
			if e.Errors[0].Code != "AuthenticationException" || e.Errors[0].Detail != "Unauthenticated." {
				t.Fatalf("%s", res.body)
			}
			b.golden(t, "error_401", res)
		})
	}
}
