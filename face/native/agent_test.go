package native_test

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"usher"
	"usher/core/coretest"
)

// TestUserAgentKeptBounded: a request's user agent is kept, with each
// session and each audit event, cut to 512 bytes at a character's start.
// Before, a signed-in user's 60 KiB agent (within the 64 KiB a header may
// hold) was stored whole with every audited change and every session —
// 6 MB for the list of an account's 100 sessions — in a log nothing prunes.
func TestUserAgentKeptBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "walker", Email: "walker@example.com", Password: "correct horse battery staple"})
	// "é" is two bytes: the cut falls inside one unless it steps back.
	agent := "Mozilla/5.0 " + strings.Repeat("é", 30<<10)
	var s struct {
		Token string `json:"token"`
	}
	b.call(t, req{method: "POST", path: "/v1/auth/login", header: map[string]string{"User-Agent": agent},
		body: map[string]any{"login": "walker", "password": "correct horse battery staple"}}, http.StatusOK, &s)
	b.call(t, req{method: "PATCH", path: "/v1/users/walker", token: s.Token, header: map[string]string{"User-Agent": agent},
		body: map[string]any{"bio": "walking"}}, http.StatusOK, nil)

	var sessions struct {
		Items []struct {
			UserAgent string `json:"user_agent"`
		} `json:"items"`
	}
	b.call(t, req{method: "GET", path: "/v1/me/sessions", token: s.Token}, http.StatusOK, &sessions)
	page, err := b.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "user.update"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions.Items) != 1 || len(page.Items) != 1 {
		t.Fatalf("%d sessions and %d user.update events, want 1 and 1", len(sessions.Items), len(page.Items))
	}
	for what, kept := range map[string]string{"the session": sessions.Items[0].UserAgent, "the audit event": page.Items[0].UserAgent} {
		if len(kept) > 512 || len(kept) < 510 || !utf8.ValidString(kept) || !strings.HasPrefix(agent, kept) {
			t.Errorf("%s keeps an agent of %d bytes (valid UTF-8: %t), want its first 510–512 bytes", what, len(kept), utf8.ValidString(kept))
		}
	}
}
