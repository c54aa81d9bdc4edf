package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"usher/core"
	"usher/face/pages"
	"usher/password"
	"usher/store/sqldb"
	"usher/store/sqlite"
)

// TestReadyzFailsWhenWritesFail: a database that answers reads but takes
// no writes (here a SQLite file opened read-only, as a read-only mount or
// a full disk leaves it) makes /readyz answer 503 and say why, so that a
// load balancer stops sending it requests that would fail. /readyz answers
// anyone, so its body names the kind of failure only: the database's path
// and directory go to the log, never to the caller.
func TestReadyzFailsWhenWritesFail(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usher.db")
	ctx := context.Background()
	rw, err := openDB(ctx, path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rw.Close() })
	ro, err := sqlite.Open("file:" + path + "?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	c := core.New(core.Config{Store: rw, Hasher: password.NewHasher(password.DefaultParams, password.Pool{Workers: 1, Queue: 1})})
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	for _, tt := range []struct {
		name   string
		db     *sqldb.DB
		status int
		want   string
	}{
		{"a database that takes writes", rw, http.StatusOK, "ok\n"},
		{"a read-only database", ro, http.StatusServiceUnavailable, "not ready: the database takes no writes (the log has the details)\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(newHandler(c, tt.db, log, "http://usher.test", nil, "", nil, pages.MailConfig{}))
			defer srv.Close()
			res, err := http.Get(srv.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status || string(body) != tt.want {
				t.Fatalf("%d %q, want %d %q", res.StatusCode, body, tt.status, tt.want)
			}
		})
	}
	// The log keeps the whole reason, path and all, for the operator.
	if want := "the database file is read-only: check that the user usher runs as may write " + path; !strings.Contains(logged.String(), want) {
		t.Fatalf("log %q lacks %q", logged.String(), want)
	}
}
