package core

import (
	"context"

	"usher"
)

// Stats counts what the service holds and answers about its subscription.
type Stats struct{ *env }

// Get counts users, groups (and among them roles) and applications by
// state. Administrators may read the counts, and so may the holders of a
// rule allowing "stats" "read". The store counts each table in one
// aggregate query; see docs/stats.md for what that costs at a million
// rows.
//
// Errors: Unauthenticated, Forbidden.
func (s *Stats) Get(ctx context.Context) (*usher.Stats, error) {
	if err := s.authorize(ctx, actStatsRead, nil); err != nil {
		return nil, err
	}
	return s.store.StatsGet(ctx)
}

// Subscription answers the instance's subscription. usher sells none, so
// every signed-in principal whose credential may read the API asks and
// learns that none is configured.
//
// Errors: Unauthenticated, Forbidden (a token limited to its own profile).
func (s *Stats) Subscription(ctx context.Context) (*usher.Subscription, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, errUnauthenticated()
	}
	if !p.HasScope(usher.ScopeReadAPI) {
		return nil, errForbidden("the token's scopes do not allow this")
	}
	return &usher.Subscription{Configured: false}, nil
}
