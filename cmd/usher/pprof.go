package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// servePprof serves Go's runtime profiles (CPU, heap, goroutines, …) on
// addr, apart from the API, until ctx ends: for profiling a running
// usher, e.g. `go tool pprof http://ADDR/debug/pprof/profile?seconds=10`.
// The profiles tell much about the process and are not authenticated:
// addr should be a loopback address. It returns once it listens.
func servePprof(ctx context.Context, log *slog.Logger, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := newHTTPServer(mux, log)
	// A CPU profile or a trace answers after the seconds it is asked
	// for, which may be past a minute: pprof refuses one longer than
	// the server's write timeout.
	srv.WriteTimeout = 0
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("serving profiles", "pprof_addr", ln.Addr().String())
	return nil
}
