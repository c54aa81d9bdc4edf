package escape_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/face/escape"
	"usher/store"
)

// listHold is a store whose read of a list's second page waits until the
// client has the answer's first bytes, or five seconds.
type listHold struct {
	store.Store
	reads    atomic.Int32
	received chan struct{}
	early    atomic.Bool // the second page was read after the client had bytes
}

func (h *listHold) UserList(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error) {
	if f.Page.After != nil && h.reads.Add(1) == 1 {
		select {
		case <-h.received:
			h.early.Store(true)
		case <-time.After(5 * time.Second):
		}
	}
	return h.Store.UserList(ctx, f)
}

// TestUserListWrittenAsRead: Escape's list of users has no pages, and a
// signed-in user's GET P/users/ answers every account. The face writes
// each of the core's pages before it reads the next. Before, it read every
// page (of 20) into one slice and wrote nothing until the last: a plain
// user's request held the whole instance's accounts in memory at once
// (a reviewer measured 172 MiB allocated at 20,000 users), and a few at
// once held that many times over.
func TestUserListWrittenAsRead(t *testing.T) {
	t.Parallel()
	hold := &listHold{received: make(chan struct{})}
	b := setupFrom(t, coretest.Options{Policy: core.Policy{SignupEnabled: true},
		WrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }}, false)
	const n = 1500 // past one page of the core's largest, 1,000
	now := time.Now().UTC()
	users := make([]*usher.User, n)
	for i := range users {
		users[i] = &usher.User{UUID: uuid.NewString(), Username: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@example.com", i),
			Name: "A User", State: usher.StateActive, Kind: usher.KindNormal, Language: "en", CreatedAt: now, UpdatedAt: now}
	}
	if err := b.env.Store.UserCreateMany(context.Background(), users, make([]string, n)); err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest("GET", b.srv.URL+escape.Prefix+"/users/", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Escape-Token", b.userTok)
	res, err := b.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	first := make([]byte, 1)
	if _, err := io.ReadFull(res.Body, first); err != nil {
		t.Fatal(err)
	}
	close(hold.received)
	rest, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out []struct {
		Username string `json:"username"`
	}
	if err := json.Unmarshal(append(first, rest...), &out); err != nil || res.StatusCode != http.StatusOK || len(out) != n+2 {
		t.Fatalf("%d, %d users, %v; want 200 and %d", res.StatusCode, len(out), err, n+2)
	}
	if !hold.early.Load() {
		t.Errorf("the list's second page was read before the client had a byte: the face held every page first")
	}
}
