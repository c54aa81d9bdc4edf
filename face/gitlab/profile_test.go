package gitlab_test

import (
	"net/http"
	"testing"

	"usher"
)

// TestCreateWithTheme: theme_id and color_scheme_id given on creation are
// the new user's GitLab profile, shown in the answer and stored; a negative
// one is refused by the core, naming the field, and nothing is created.
func TestCreateWithTheme(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: map[string]any{
		"email": "theo@example.com", "password": password, "username": "theo", "name": "Theo",
		"theme_id": 3, "color_scheme_id": 4, "skype": "theo.sk",
	}})
	var got struct {
		ID            int64  `json:"id"`
		ThemeID       int    `json:"theme_id"`
		ColorSchemeID int    `json:"color_scheme_id"`
		Skype         string `json:"skype"`
	}
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	res.decode(t, &got)
	if got.ThemeID != 3 || got.ColorSchemeID != 4 || got.Skype != "theo.sk" {
		t.Fatalf("created: %s", res.body)
	}
	if u := b.stored(t, got.ID); u.GitLab.ThemeID != 3 || u.GitLab.ColorSchemeID != 4 || u.GitLab.Skype != "theo.sk" || !u.GitLab.CanCreateGroup {
		t.Fatalf("stored GitLab profile: %+v", u.GitLab)
	}
	res = b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: map[string]any{
		"email": "neg@example.com", "password": password, "username": "neg", "name": "Neg", "theme_id": -1,
	}})
	res.want(t, "negative theme_id", 400, `{"message":{"theme_id":["must be greater than or equal to 0"]}}`)
	page, err := b.env.Core.Users.List(system(), usher.UserFilter{Username: "neg"})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("a refused user was made: %+v, %v", page, err)
	}
}
