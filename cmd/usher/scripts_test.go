package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/face/pages"
)

// TestFacesScriptRefusal: a script that refuses a sign-up or a new user is
// answered on every face with a client error that carries its message, and
// nothing is stored.
func TestFacesScriptRefusal(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Policy: core.Policy{SignupEnabled: true, SkipEmailConfirmation: true}})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	if _, err := env.Core.Scripts.Create(coretest.System(), usher.ScriptCreate{Name: "no-spam",
		Source:   `if (/spam/.test(usher.resource.username + " " + usher.resource.email)) usher.refuse("spam is refused here");`,
		Triggers: []usher.Trigger{usher.TriggerBeforeSignup, usher.TriggerUserBeforeCreate}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(env.Core, env.Store, slog.New(slog.DiscardHandler), "http://usher.test", nil, "", nil, pages.MailConfig{}))
	t.Cleanup(srv.Close)
	personal := env.MustToken(t, admin.ID, usher.TokenPersonal, usher.ScopeAPI)
	application := env.MustToken(t, admin.ID, usher.TokenApplication, usher.ScopeAPI)
	users, _ := env.Counts(t)
	for _, tt := range []struct {
		face, path, header, credential string
		body                           map[string]any
		status                         int
	}{
		{"native sign-up", "/v1/auth/signup", "", "", map[string]any{"username": "spammer", "email": "s@spam.example",
			"password": "a long passphrase 7"}, http.StatusUnprocessableEntity},
		{"native", "/v1/users", "Authorization", "Bearer " + personal, map[string]any{"username": "spammer",
			"email": "s@spam.example"}, http.StatusUnprocessableEntity},
		{"gitlab", "/api/v4/users", "Private-Token", personal, map[string]any{"username": "spammer", "email": "s@spam.example",
			"name": "S", "password": "a long passphrase 7"}, http.StatusBadRequest},
		{"pterodactyl", "/api/application/users", "Authorization", "Bearer " + application, map[string]any{"username": "spammer",
			"email": "s@spam.example", "first_name": "S", "last_name": "P"}, http.StatusUnprocessableEntity},
		{"lenses", "/api/v1/users", "Authorization", "Bearer " + personal, map[string]any{"name": "spammer"}, http.StatusBadRequest},
	} {
		t.Run(tt.face, func(t *testing.T) {
			data, _ := json.Marshal(tt.body)
			req, err := http.NewRequest(http.MethodPost, srv.URL+tt.path, bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", "http://usher.test")
			if tt.header != "" {
				req.Header.Set(tt.header, tt.credential)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status || !strings.Contains(string(body), "spam is refused here") {
				t.Fatalf("%d %s, want %d with the script's message", res.StatusCode, body, tt.status)
			}
			if after, _ := env.Counts(t); after != users {
				t.Fatalf("users %d → %d: the refused user was stored", users, after)
			}
		})
	}
}
