package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestListenersApartKeepTheAPIsBounds: the listeners apart from the API —
// ACME's HTTP-01 challenges (port 80, open to the internet), /metrics and
// the profiles — keep the API's bounds on a request's header. Before, each
// took a header of up to a megabyte (net/http's default) and kept a
// connection idle after its answer for as long as its client liked, so
// that anyone reaching port 80 could hold connections and memory there
// without end.
func TestListenersApartKeepTheAPIsBounds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.DiscardHandler)

	ts := tlsSettings{acmeDomains: []string{"usher.example.com"}}
	_, mgr, err := ts.config(t.TempDir()+"/usher.db", log)
	if err != nil {
		t.Fatal(err)
	}
	acmeAddr, stop, err := serveACMEHTTP(ctx, mgr, "127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	metricsAddr := make(chan string, 1)
	if _, err := newServeMetrics("", false, "").serveApart(ctx, "127.0.0.1:0", log, func(a string) { metricsAddr <- a }); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pprofAddr := ln.Addr().String()
	ln.Close()
	if err := servePprof(ctx, log, pprofAddr); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct{ name, addr, path string }{
		{"ACME challenges", acmeAddr, "/.well-known/acme-challenge/x"},
		{"metrics", <-metricsAddr, "/metrics"},
		{"profiles", pprofAddr, "/debug/pprof/cmdline"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A header of 100 KiB, past the API's 64 KiB: 431.
			if status := rawGet(t, tt.addr, tt.path, strings.Repeat("a", 100<<10)); status != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("a 100 KiB header: %d, want 431", status)
			}
			// One within it still answers.
			if status := rawGet(t, tt.addr, tt.path, "b"); status == http.StatusRequestHeaderFieldsTooLarge || status == 0 {
				t.Errorf("a short header: %d", status)
			}
		})
	}
	// Each of them is the API's server, whose idle connections close.
	if srv := newHTTPServer(http.NotFoundHandler(), log); srv.IdleTimeout <= 0 || srv.ReadTimeout <= 0 || srv.MaxHeaderBytes != 64<<10 {
		t.Errorf("the listeners' server: idle %v, read %v, header %d", srv.IdleTimeout, srv.ReadTimeout, srv.MaxHeaderBytes)
	}
}

// rawGet sends GET path to addr with an X-Filler header of the given value
// and returns the answer's status.
func rawGet(t *testing.T, addr, path, filler string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: %s\r\n\r\n", path, filler); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
