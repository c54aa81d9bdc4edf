package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// serveCeiling is the bench run as the ceiling's server (-ceiling-body):
// a bare net/http server that answers every request with one fixed JSON
// body of size bytes — the most this machine can serve for a request of
// that size. It says where it listens as usher does, and stops with ctx.
func serveCeiling(ctx context.Context, size int) error {
	body := ceilingBody(size)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	line, _ := json.Marshal(map[string]string{"msg": "listening", "addr": ln.Addr().String()})
	fmt.Fprintf(os.Stderr, "%s\n", line)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ceilingBody is a JSON object of exactly size bytes (at least its
// smallest form, {"pad":""}).
func ceilingBody(size int) []byte {
	const empty = `{"pad":""}`
	return []byte(`{"pad":"` + strings.Repeat("x", max(0, size-len(empty))) + `"}`)
}
