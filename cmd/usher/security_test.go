package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveWith runs usher serve in-process on db with the given environment
// and returns the address it listens on; it stops with the test.
func serveWith(t *testing.T, db string, env map[string]string) string {
	t.Helper()
	addr, _ := startServe(t, io.Discard, env, db)
	return addr
}

// startServe runs usher serve in-process on db with the given environment
// and arguments, its log to logs, and returns the address it listens on
// and a stop that ends it and returns what serve returned; the test's end
// stops it too.
func startServe(t *testing.T, logs io.Writer, env map[string]string, db string, args ...string) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	m := &Main{Stdout: io.Discard, Stderr: logs, Getenv: func(k string) string { return env[k] },
		Started: func(addr string) { addrc <- addr }}
	errc := make(chan error, 1)
	go func() {
		errc <- m.Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--database", db}, args...))
	}()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-errc
		})
		return err
	}
	t.Cleanup(func() { stop() })
	select {
	case addr = <-addrc:
		return addr, stop
	case err := <-errc:
		errc <- err // for stop, which the test's end calls
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	return "", stop
}

// post sends a JSON body with the given headers and returns the status and
// body.
func post(t *testing.T, url, body string, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, data
}

// auditAddresses returns the client address of each audit event with the
// action, newest first, read with the token.
func auditAddresses(t *testing.T, addr, token, action string) []string {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+"/v1/audit?action="+action, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var page struct {
		Items []struct {
			Address string `json:"address"`
		} `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != 200 {
		t.Fatalf("audit: %d %v", res.StatusCode, err)
	}
	var out []string
	for _, e := range page.Items {
		out = append(out, e.Address)
	}
	return out
}

// TestForwardedForHonouredOnlyFromTrustedProxies replays the lock-out of
// everyone behind a reverse proxy: an attacker fails log-ins until their
// address is locked. With the proxy trusted, the lock holds the attacker's
// own address, read from X-Forwarded-For, and another client logs in; the
// audit log names each client. Without --trusted-proxies the same headers
// are not believed: anyone could write them.
func TestForwardedForHonouredOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	const passphrase = "correct horse battery"
	for _, tt := range []struct {
		name    string
		trusted string
		// victim is the status of the other client's log-in once the
		// attacker is locked out; addresses are what the audit log says of
		// the attacker's failures and of the victim's log-in.
		victim                   int
		attackerAddr, victimAddr string
	}{
		{"behind a trusted proxy", "10.0.0.0/8,127.0.0.1/32", http.StatusOK, "203.0.113.7", "198.51.100.9"},
		{"no proxy trusted", "", http.StatusTooManyRequests, "127.0.0.1", "127.0.0.1"},
		{"another proxy trusted", "10.0.0.0/8", http.StatusTooManyRequests, "127.0.0.1", "127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "usher.db")
			mustRun(t, "user", "create", "--database", db, "--username", "alice", "--password", passphrase, "--admin")
			addr := serveWith(t, db, map[string]string{"USHER_TRUSTED_PROXIES": tt.trusted,
				"USHER_LOGIN_MAX_FAILURES_PER_ADDRESS": "3", "USHER_ARGON2_MEMORY": "64", "USHER_ARGON2_TIME": "1"})
			login := "http://" + addr + "/v1/auth/login"
			// The attacker writes an address of their choosing to the left;
			// the proxy appends the one it sees.
			attacker := map[string]string{"X-Forwarded-For": "192.0.2.1, 203.0.113.7"}
			status := 0
			for i := 0; i < 6 && status != http.StatusTooManyRequests; i++ {
				status, _ = post(t, login, `{"login":"ghost`+string(rune('a'+i))+`","password":"wrong wrong wrong"}`, attacker)
			}
			if status != http.StatusTooManyRequests {
				t.Fatalf("the attacker was never locked out: %d", status)
			}
			status, body := post(t, login, `{"login":"alice","password":"`+passphrase+`"}`,
				map[string]string{"X-Forwarded-For": "198.51.100.9"})
			if status != tt.victim {
				t.Fatalf("the other client's log-in: %d %s, want %d", status, body, tt.victim)
			}
			token := mustRun(t, "token", "create", "--database", db, "--user", "alice")
			if got := auditAddresses(t, addr, strings.TrimSpace(token), "auth.login_failed"); len(got) == 0 || got[0] != tt.attackerAddr {
				t.Errorf("the attacker's failures were recorded from %v, want %s", got, tt.attackerAddr)
			}
			if tt.victim == http.StatusOK {
				if got := auditAddresses(t, addr, strings.TrimSpace(token), "auth.login"); len(got) != 1 || got[0] != tt.victimAddr {
					t.Errorf("the log-in was recorded from %v, want %s", got, tt.victimAddr)
				}
			}
		})
	}
}

// TestMetricsRefuseAReboundHost replays DNS rebinding against /metrics on
// the API's listener with no token: a page of attacker.example, opened by
// someone on usher's private network (or its machine), points its own
// name at usher's private address, and their browser sends GET /metrics
// from a private address with Host: attacker.example, same-origin to the
// page, which reads the counters the private-networks rule keeps from
// the internet. A review found them served; only a Host no site of the
// internet can give itself is now (web.PrivateOnly).
func TestMetricsRefuseAReboundHost(t *testing.T) {
	t.Parallel()
	b := setupFaces(t)
	for _, tt := range []struct {
		host   string
		status int
	}{
		{"usher.test", http.StatusOK}, // the public URL's
		{"127.0.0.1", http.StatusOK},
		{"attacker.example", http.StatusNotFound},
	} {
		req, err := http.NewRequest(http.MethodGet, b.srv.URL+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tt.host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status || (tt.status == http.StatusOK) != strings.Contains(string(body), "go_goroutines") {
			t.Errorf("GET /metrics with Host %s from this machine: %d, want %d", tt.host, res.StatusCode, tt.status)
		}
	}
}

// TestMetricsNotServedToTheInternet replays an account probe through
// /metrics: an anonymous client asks for a password reset of an address,
// which answers 202 whether an account has it or not, then reads
// usher_mail_deliveries_total, which grows only when a mail went out — so
// it said which addresses have accounts. With no --metrics-token, the
// API's listener serves /metrics only to clients on this machine or a
// private network (through trusted proxies, the client they name; through
// a proxy it does not trust, no one); with one, to whoever brings it.
func TestMetricsNotServedToTheInternet(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		token string
		// untrusted serves with no --trusted-proxies: the test's requests
		// come as through a reverse proxy on this machine usher was not
		// told of, which passes on the client in its headers.
		untrusted bool
		// header is the scraper's; status what /metrics answers it.
		header map[string]string
		status int
	}{
		{"an internet client", "", false, map[string]string{"X-Forwarded-For": "203.0.113.7"}, http.StatusNotFound},
		{"an internet client naming a private address", "", false, map[string]string{"X-Forwarded-For": "10.0.0.5, 203.0.113.7"}, http.StatusNotFound},
		{"an internet client writing a Forwarded of its own", "", false, map[string]string{"X-Forwarded-For": "203.0.113.7",
			"Forwarded": "for=10.0.0.5"}, http.StatusNotFound},
		{"a client on a private network", "", false, map[string]string{"X-Forwarded-For": "10.0.0.5"}, http.StatusOK},
		{"a client on this machine", "", false, nil, http.StatusOK},
		{"an internet client with the token", "scrape-me", false, map[string]string{"X-Forwarded-For": "203.0.113.7",
			"Authorization": "Bearer scrape-me"}, http.StatusOK},
		{"an internet client without the token", "scrape-me", false, map[string]string{"X-Forwarded-For": "203.0.113.7"}, http.StatusUnauthorized},
		{"an internet client through an untrusted proxy", "", true, map[string]string{"X-Forwarded-For": "203.0.113.7"}, http.StatusNotFound},
		{"an internet client through an untrusted proxy that says Forwarded", "", true, map[string]string{"Forwarded": "for=203.0.113.7"}, http.StatusNotFound},
		{"an internet client through an untrusted proxy that says X-Real-IP", "", true, map[string]string{"X-Real-IP": "203.0.113.7"}, http.StatusNotFound},
		{"a client on this machine, no proxy trusted", "", true, nil, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "usher.db")
			mustRun(t, "user", "create", "--database", db, "--username", "alice", "--email", "alice@example.com",
				"--password", "correct horse battery")
			proxies := "127.0.0.1/32"
			if tt.untrusted {
				proxies = ""
			}
			addr := serveWith(t, db, map[string]string{"USHER_TRUSTED_PROXIES": proxies,
				"USHER_OUTBOX_INTERVAL": "20ms", "USHER_METRICS_TOKEN": tt.token})
			sent := regexp.MustCompile(`usher_mail_deliveries_total\{outcome="sent"\} (\d+)`)
			scrape := func() (int, string) {
				t.Helper()
				req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
				for k, v := range tt.header {
					req.Header.Set(k, v)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				if m := sent.FindStringSubmatch(string(body)); m != nil {
					return res.StatusCode, m[1]
				}
				return res.StatusCode, "0"
			}
			var statuses []int
			var counts []string
			for _, email := range []string{"nobody@example.com", "alice@example.com"} {
				if status, body := post(t, "http://"+addr+"/v1/auth/password-reset", `{"email":"`+email+`"}`, tt.header); status != http.StatusAccepted {
					t.Fatalf("reset for %s: %d %s", email, status, body)
				}
				time.Sleep(300 * time.Millisecond) // the outbox sends within 20 ms
				status, count := scrape()
				statuses, counts = append(statuses, status), append(counts, count)
			}
			if statuses[0] != tt.status || statuses[1] != tt.status {
				t.Fatalf("GET /metrics after resets for nobody@ and alice@: %v, want %d; the mails sent it read: %v",
					statuses, tt.status, counts)
			}
		})
	}
}

// TestServeWarnsOfReadableSecretFiles: serve started on a secret key file,
// or a SQLite database, that other users may read, and said nothing, where
// a configuration file holding a secret so readable is warned of. One its
// owner alone reads is not warned of.
func TestServeWarnsOfReadableSecretFiles(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o644, 0o600} {
		dir := t.TempDir()
		db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.key")
		mustRun(t, "user", "create", "--username", "root", "--admin", "--database", db, "--secret-key-file", key)
		for _, f := range []string{db, key} {
			if err := os.Chmod(f, mode); err != nil {
				t.Fatal(err)
			}
		}
		logs := &syncBuffer{}
		_, stop := startServe(t, logs, nil, db, "--secret-key-file", key)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		for _, what := range []string{"secret key file " + key, "SQLite database " + db} {
			if warned := strings.Contains(logs.String(), "warning: "+what+" may be read by users other than its owner"); warned != (mode == 0o644) {
				t.Errorf("mode %#o: warned of the %s: %v\n%s", mode, what, warned, logs.String())
			}
		}
	}
}
