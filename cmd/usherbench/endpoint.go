package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// endpoint is a server the bench sends requests to, over kept-alive
// connections.
type endpoint struct {
	base   string
	client *http.Client
}

// newEndpoint returns an endpoint for the server at addr that keeps up to
// conns connections open, one per worker.
func newEndpoint(addr string, conns int) *endpoint {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	// The loads bound their requests themselves (cutoff); the timeout is
	// for the single requests outside them.
	return &endpoint{base: "http://" + addr, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// close drops the kept-alive connections.
func (e *endpoint) close() { e.client.CloseIdleConnections() }

// call is one request: method and path, an optional credential header and
// JSON body, and the status that counts as success (200 when zero).
type call struct {
	method, path string
	auth         [2]string // header name and value
	body         []byte
	want         int
}

// do sends c, reads the whole answer and checks its status; it returns
// the body.
func (e *endpoint) do(ctx context.Context, c call) ([]byte, error) {
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, e.base+c.path, body)
	if err != nil {
		return nil, err
	}
	if c.auth[0] != "" {
		req.Header.Set(c.auth[0], c.auth[1])
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if want := max(c.want, http.StatusOK); res.StatusCode != want {
		return b, statusError(res.StatusCode)
	}
	return b, err
}

// op returns an operation that sends the request mk makes.
func (e *endpoint) op(mk func(rng *rand.Rand) call) op {
	return func(ctx context.Context, rng *rand.Rand) error {
		_, err := e.do(ctx, mk(rng))
		return err
	}
}

// get returns an operation that GETs the path pick chooses, with one
// credential header.
func (e *endpoint) get(header, value string, pick func(rng *rand.Rand) string) op {
	return e.op(func(rng *rand.Rand) call {
		return call{method: http.MethodGet, path: pick(rng), auth: [2]string{header, value}}
	})
}

// statusError is an HTTP answer other than the one expected.
type statusError int

func (e statusError) Error() string { return fmt.Sprintf("status %d", int(e)) }

// errorClass names the kind of a failure, for counting: the status, or
// the kind of transport failure.
func errorClass(err error) string {
	var se statusError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return se.Error()
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error: " + err.Error()
}
