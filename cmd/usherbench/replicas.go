package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// revokeSamples is how many revocations the replicas scenario times.
const revokeSamples = 9

// replicas starts a second usher, B, on the same PostgreSQL database as
// the bench's, A, and measures two things: GET /v1/me's throughput with
// the workers split between A and B against all of them on A, and the time
// from A answering a token's revocation to B refusing the token, B having
// just served it (so that it holds it in its cache). The result is the
// two replicas' load; its note has the rest. SQLite has one process: there
// it measures nothing.
func (b *bench) replicas(ctx context.Context) (*result, error) {
	if b.db.kind != "postgres" {
		return &result{na: true, note: "SQLite is one process; replicas share a PostgreSQL database"}, nil
	}
	args, _ := serveArgs(b.cfg)
	p, _, err := b.cmd.serve(ctx, filepath.Join(b.dir, "usher-b.log"), args)
	if err != nil {
		return nil, fmt.Errorf("start the second usher: %w", err)
	}
	defer p.stop()
	other := newEndpoint(p.addr, b.cfg.conc)
	defer other.close()

	lags, err := b.revocationLags(ctx, other)
	if err != nil {
		return nil, err
	}
	me := func(e *endpoint) op { return e.get("Authorization", "Bearer "+b.token, fixed("/v1/me")) }
	one, err := b.load(ctx, me(b.usher))
	if err != nil {
		return nil, err
	}
	// The same number of workers, half on each replica.
	var two [2]*result
	var errs [2]error
	var wg sync.WaitGroup
	for i, e := range []*endpoint{b.usher, other} {
		wg.Go(func() {
			two[i], errs[i] = drive(ctx, b.spec(max(1, b.cfg.conc/2), uint64(i)), me(e))
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	both := combine(two[0], two[1])
	slices.Sort(lags)
	both.note = fmt.Sprintf("GET /v1/me on two replicas, %d workers each: %.0f rps against %.0f on one with %d (×%.2f); "+
		"a token revoked on A is refused on B %s ms after A answers (median of %d; %s–%s ms)",
		max(1, b.cfg.conc/2), both.rps(), one.rps(), b.cfg.conc, both.rps()/max(one.rps(), 1),
		ms(lags[len(lags)/2]), len(lags), ms(lags[0]), ms(lags[len(lags)-1]))
	return both, nil
}

// combine is the result of two loads run side by side.
func combine(x, y *result) *result {
	r := &result{requests: x.requests + y.requests, errors: x.errors + y.errors,
		elapsed: max(x.elapsed, y.elapsed), errs: map[string]uint64{}}
	r.hist.merge(&x.hist)
	r.hist.merge(&y.hist)
	for _, m := range []map[string]uint64{x.errs, y.errs} {
		for k, n := range m {
			r.errs[k] += n
		}
	}
	return r
}

// revocationLags makes tokens of the bench's administrator on A, uses each
// on other, revokes it on A and asks other with it until it is refused:
// the time from A's answer to the refusal, revokeSamples times.
func (b *bench) revocationLags(ctx context.Context, other *endpoint) ([]time.Duration, error) {
	admin := [2]string{"Authorization", "Bearer " + b.token}
	var lags []time.Duration
	for i := range revokeSamples {
		body, _ := json.Marshal(map[string]any{ // a string and a time always marshal
			"name": fmt.Sprintf("bench-revoke-%d", i), "expires_at": time.Now().Add(time.Hour).UTC(),
		})
		out, err := b.usher.do(ctx, call{method: http.MethodPost, path: "/v1/me/tokens", auth: admin, body: body, want: http.StatusCreated})
		if err != nil {
			return nil, fmt.Errorf("make a token to revoke: %w: %s", err, out)
		}
		var tok struct {
			ID    int64  `json:"id"`
			Token string `json:"token"`
		}
		if err := json.Unmarshal(out, &tok); err != nil || tok.Token == "" {
			return nil, fmt.Errorf("make a token to revoke: the answer has no token (%v)", err)
		}
		use := call{method: http.MethodGet, path: "/v1/me", auth: [2]string{"Authorization", "Bearer " + tok.Token}}
		if _, err := other.do(ctx, use); err != nil {
			return nil, fmt.Errorf("use the token on the second replica: %w", err)
		}
		revoke := call{method: http.MethodDelete, path: fmt.Sprintf("/v1/me/tokens/%d", tok.ID), auth: admin, want: http.StatusNoContent}
		if _, err := b.usher.do(ctx, revoke); err != nil {
			return nil, fmt.Errorf("revoke the token: %w", err)
		}
		revoked := time.Now()
		for {
			_, err := other.do(ctx, use)
			var se statusError
			if errors.As(err, &se) && int(se) == http.StatusUnauthorized {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("the second replica, asked with a revoked token: %w", err)
			}
			if time.Since(revoked) > 10*time.Second {
				return nil, errors.New("the second replica still took a token revoked 10 s before")
			}
		}
		lags = append(lags, time.Since(revoked))
	}
	return lags, nil
}
