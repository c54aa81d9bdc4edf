package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"usher/web"
)

// serveMetrics is the registry serve's metrics are registered with, and
// where /metrics is served.
type serveMetrics struct {
	reg *prometheus.Registry
	// handler serves the registry, behind the token when one is set.
	handler http.Handler
	// onMain is whether the main listener serves /metrics: unless a
	// listener of its own (--metrics-addr) does.
	onMain bool
}

// newServeMetrics makes the registry, with the Go runtime's and the
// process's collectors, and its handler: behind the token when one is
// set, and otherwise, on the API's listener, for clients on private
// networks only, since the counters tell anyone who reads them around
// their own requests what the core did (a reset mail sent says that an
// account has the address).
func newServeMetrics(token string, onMain bool, publicURL string) *serveMetrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := web.BearerOnly(token, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if token == "" && onMain {
		public := ""
		if u, err := url.Parse(publicURL); err == nil {
			public = u.Hostname()
		}
		h = web.PrivateOnly(h, public)
	}
	return &serveMetrics{reg: reg, handler: h, onMain: onMain}
}

// registerPools registers the statistics of the database's connection
// pools (in use, idle, waits), labelled db_name="write" or "read".
func (m *serveMetrics) registerPools(pools map[string]*sql.DB) {
	for name, p := range pools {
		m.reg.MustRegister(collectors.NewDBStatsCollector(p, name))
	}
}

// serveApart serves /metrics alone on addr until ctx ends, calling
// started with the address it listens on. The listener is opened before
// it returns, so that a bad address stops serve at once.
func (m *serveMetrics) serveApart(ctx context.Context, addr string, log *slog.Logger, started func(string)) (wait func() error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.handler)
	srv := newHTTPServer(mux, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("metrics listening", "addr", ln.Addr().String())
	if started != nil {
		started(ln.Addr().String())
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return func() error {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("metrics listener: %w", err)
		}
		return nil
	}, nil
}
