package native_test

import (
	"fmt"
	"testing"
)

func TestStatsThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	type counts struct {
		Users struct{ Total, Valid, Suspended, Deleted int }
		Roles struct{ Total, Valid, Archived, Deleted int }
	}
	var before, after counts
	b.call(t, req{method: "GET", path: "/v1/stats", token: b.adminTok}, 200, &before)
	if before.Users.Total < 2 || before.Users.Valid != before.Users.Total {
		t.Fatalf("counts of a new instance: %+v", before)
	}
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/suspend", b.user.ID), token: b.adminTok}, 200, nil)
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "role", "handle": "auditors"}}, 201, nil)
	b.call(t, req{method: "GET", path: "/v1/stats", token: b.adminTok}, 200, &after)
	if after.Users.Suspended != before.Users.Suspended+1 || after.Users.Valid != before.Users.Valid-1 ||
		after.Roles.Total != before.Roles.Total+1 || after.Roles.Valid != before.Roles.Valid+1 {
		t.Fatalf("before %+v, after %+v", before, after)
	}
}

func TestSubscriptionThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.call(t, req{method: "GET", path: "/v1/subscription", token: b.userTok}, 200, nil)
	if string(res.body) != `{"configured":false}`+"\n" && string(res.body) != `{"configured":false}` {
		t.Fatalf("subscription: %s", res.body)
	}
}

func TestAuditActorsThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i, tok := range []string{b.adminTok, b.userTok, b.adminTok} {
		b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", b.user.ID), token: tok, body: map[string]any{"bio": fmt.Sprint("bio ", i)}}, 200, nil)
	}
	var list struct {
		Items []struct {
			ActorID    int64  `json:"actor_id"`
			ActorEmail string `json:"actor_email"`
		}
	}
	path := fmt.Sprintf("/v1/audit?action=user.update&actor=%d,%d", b.admin.ID, b.user.ID)
	b.call(t, req{method: "GET", path: path, token: b.adminTok}, 200, &list)
	if len(list.Items) != 3 {
		t.Fatalf("two actors: %d events", len(list.Items))
	}
	emails := map[int64]string{b.admin.ID: b.admin.Email, b.user.ID: b.user.Email}
	for _, e := range list.Items {
		if e.ActorEmail != emails[e.ActorID] || e.ActorEmail == "" {
			t.Errorf("event by %d: actor_email %q, want %q", e.ActorID, e.ActorEmail, emails[e.ActorID])
		}
	}
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/audit?action=user.update&actor=%d&actor=%d", b.user.ID, b.user.ID+1000), token: b.adminTok}, 200, &list)
	if len(list.Items) != 1 || list.Items[0].ActorID != b.user.ID {
		t.Fatalf("repeated actor: %+v", list.Items)
	}
}

// TestStatsAndSubscriptionBadInput: a caller without the right, a caller
// without a credential and a parameter neither endpoint takes are refused,
// each with its problem.
func TestStatsAndSubscriptionBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tt := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"stats by a plain user", "/v1/stats", b.userTok, 403, "forbidden"},
		{"stats by nobody", "/v1/stats", "", 401, "unauthenticated"},
		{"stats with a parameter", "/v1/stats?since=yesterday", b.adminTok, 400, "unknown_parameter"},
		{"subscription by nobody", "/v1/subscription", "", 401, "unauthenticated"},
		{"subscription with a parameter", "/v1/subscription?plan=gold", b.userTok, 400, "unknown_parameter"},
	} {
		res := b.api.do(t, req{method: "GET", path: tt.path, token: tt.token})
		if res.status != tt.status || res.problem(t).Code != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, res.status, res.body, tt.status, tt.code)
		}
	}
}
