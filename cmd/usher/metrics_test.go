package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"usher/mail/smtptest"
)

// TestMetrics runs serve with /metrics on a listener of its own behind a
// token, and checks that each series appears once its action has been
// done: log-ins by method and outcome, a lockout, a delivered mail, a
// script run, the token cache's hits and misses, the hashing queue, the
// backlog, the database pools. The API's listener does not serve /metrics.
func TestMetrics(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.key")
	scripts := filepath.Join(dir, "scripts")
	if err := os.Mkdir(scripts, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(scripts, "gate.js"), []byte("// usher:trigger auth.before_login\nusher.log('in');\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runExit(t, "a long passphrase 7\n", "user", "create", "--username", "root", "--email", "root@example.com",
		"--admin", "--password-stdin", "--database", db, "--secret-key-file", key); code != 0 {
		t.Fatalf("user create: %s", errOut)
	}
	relay := smtptest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc, metricsc := make(chan string, 1), make(chan string, 1)
	logs := &syncBuffer{}
	m := &Main{Stdout: io.Discard, Stderr: logs, Getenv: func(string) string { return "" },
		Started: func(a string) { addrc <- a }, MetricsStarted: func(a string) { metricsc <- a }}
	errc := make(chan error, 1)
	go func() {
		errc <- m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--database", db, "--secret-key-file", key,
			"--smtp-url", relay.URL(), "--outbox-interval", "1h", "--scripts", scripts, "--login-max-failures", "2",
			"--metrics-addr", "127.0.0.1:0", "--metrics-token", "scrape-me"})
	}()
	var api, metrics string
	for api == "" || metrics == "" {
		select {
		case api = <-addrc:
		case metrics = <-metricsc:
		case err := <-errc:
			t.Fatalf("serve: %v", err)
		}
	}
	call := func(method, url, token, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	scrape := func() string {
		t.Helper()
		code, body := call("GET", "http://"+metrics+"/metrics", "scrape-me", "")
		if code != http.StatusOK {
			t.Fatalf("scrape: %d %s", code, body)
		}
		return body
	}

	if code, _ := call("GET", "http://"+api+"/metrics", "scrape-me", ""); code != http.StatusNotFound {
		t.Errorf("/metrics on the API's listener: %d, want 404", code)
	}
	for _, token := range []string{"", "wrong"} {
		if code, body := call("GET", "http://"+metrics+"/metrics", token, ""); code != http.StatusUnauthorized || strings.Contains(body, "usher_") {
			t.Errorf("a scrape with token %q: %d %s", token, code, body)
		}
	}
	before := scrape()
	for _, series := range []string{"usher_logins_total", "usher_login_lockouts_total", "usher_mail_deliveries_total",
		"usher_script_runs_total", "usher_token_cache_lookups_total"} {
		if strings.Contains(before, series+"{") {
			t.Errorf("%s is counted before its action", series)
		}
	}
	for _, series := range []string{"usher_password_hash_running 0", "usher_password_hash_queue_depth 0",
		"usher_password_hash_wait_seconds_count", "usher_password_hash_refused_total 0", "usher_mail_queued 0",
		"usher_mail_oldest_queued_seconds 0", "usher_reminders_due 0", `go_sql_open_connections{db_name="write"}`,
		`go_sql_in_use_connections{db_name="read"}`, "usher_http_requests_total"} {
		if !strings.Contains(before, series) {
			t.Errorf("the first scrape lacks %s", series)
		}
	}

	// A log-in (which runs the script), a use of its session thrice (a
	// miss, then hits: the mail sender, which would bump the store's
	// count of writes and void the cache, runs only when mail is queued), two wrong passwords (the second locks the
	// account), a reset mail delivered.
	login := func(pw string) (int, string) {
		return call("POST", "http://"+api+"/v1/auth/login", "", `{"login":"root","password":"`+pw+`"}`)
	}
	code, body := login("a long passphrase 7")
	var sess struct{ Token string }
	if err := json.Unmarshal([]byte(body), &sess); code != http.StatusOK || err != nil || sess.Token == "" {
		t.Fatalf("log-in: %d %s", code, body)
	}
	for range 3 {
		if code, body := call("GET", "http://"+api+"/v1/me", sess.Token, ""); code != http.StatusOK {
			t.Fatalf("/v1/me: %d %s", code, body)
		}
	}
	if code, _ := login("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %d", code)
	}
	if code, _ := login("wrong"); code != http.StatusTooManyRequests {
		t.Fatalf("the second wrong password: %d, want the lock", code)
	}
	if code, body := call("POST", "http://"+api+"/v1/auth/password-reset", "", `{"email":"root@example.com"}`); code != http.StatusAccepted {
		t.Fatalf("reset: %d %s", code, body)
	}
	for deadline := time.Now().Add(10 * time.Second); len(relay.Messages()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reset mail was not delivered")
		}
	}
	after := scrape()
	for _, series := range []string{
		`usher_logins_total{method="password",outcome="success"} 1`,
		`usher_logins_total{method="password",outcome="invalid_credentials"} 1`,
		`usher_logins_total{method="password",outcome="locked"} 1`,
		`usher_login_lockouts_total{scope="account"} 1`,
		`usher_mail_deliveries_total{outcome="sent"} 1`,
		`usher_script_runs_total{outcome="ok",trigger="auth.before_login"} 1`,
		`usher_token_cache_lookups_total{result="hit"}`,
		`usher_token_cache_lookups_total{result="miss"}`,
		"usher_password_hash_wait_seconds_count 3",
	} {
		if !strings.Contains(after, series) {
			t.Errorf("after the actions the scrape lacks %s", series)
		}
	}
	if t.Failed() {
		t.Logf("the scrape:\n%s", after)
	}

	// The access log: a request with a session names its account; a
	// refused log-in is a client's mistake, logged at INFO.
	var me, refused map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		var line map[string]any
		if json.Unmarshal([]byte(l), &line) != nil || line["msg"] != "request" {
			continue
		}
		switch {
		case line["route"] == "GET /v1/me":
			me = line
		case line["route"] == "POST /v1/auth/login" && line["status"] == 401.0:
			refused = line
		}
	}
	if me == nil || me["level"] != "INFO" || me["user_id"] != 1.0 || me["client"] != "127.0.0.1" || me["request_id"] == "" {
		t.Errorf("the log of /v1/me: %v", me)
	}
	if ms, ok := me["duration_ms"].(float64); !ok || ms <= 0 {
		t.Errorf("the log of /v1/me has no duration_ms: %v", me)
	}
	if refused == nil || refused["level"] != "INFO" || refused["user_id"] != nil {
		t.Errorf("the log of a wrong password: %v", refused)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
