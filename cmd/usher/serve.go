package main

import (
	"context"
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
	"github.com/spf13/cobra"

	"usher/core"
	"usher/face/native"
	"usher/password"
	"usher/store"
	"usher/web"
)

// shutdownGrace is how long serve waits for requests in flight on SIGTERM.
const shutdownGrace = 15 * time.Second

func (m *Main) serveCmd(cfg *config) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := m.logger(cfg.logLevel)
			if err != nil {
				return err
			}
			return m.serve(cmd.Context(), log, addr, cfg.database)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", m.env("USHER_ADDR", "127.0.0.1:8080"), "address to listen on (env USHER_ADDR)")
	return cmd
}

// serve runs the server until ctx ends, then shuts it down gracefully.
func (m *Main) serve(ctx context.Context, log *slog.Logger, addr, database string) error {
	start := time.Now()
	db, err := openDB(ctx, database, start)
	if err != nil {
		return err
	}
	defer db.Close()
	handler := newHandler(db, log)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "database", redactURL(database), "startup", time.Since(start))
	if m.Started != nil {
		m.Started(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHandler wires the store, the core and the faces into one handler.
func newHandler(db store.Store, log *slog.Logger) http.Handler {
	c := core.New(core.Config{
		Store:  db,
		Hasher: password.NewHasher(password.DefaultParams, 0, 64),
		Logger: log,
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	ops := &web.Ops{Ready: db.Ping, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), Log: log}
	ops.Mount(mux)
	(&native.Handler{Users: c.Users, Auth: c.Auth, Audit: c.Audit, Log: log}).Mount(mux)
	return web.Middleware(mux, log, web.NewMetrics(reg))
}

// redactURL hides the password of a database URL, in its user part or its
// query, for the log.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return s
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
