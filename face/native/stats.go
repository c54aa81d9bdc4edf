package native

import (
	"context"
	"net/http"

	"usher"
	"usher/web"
)

// StatsService is what the face needs of the core's counts and
// subscription.
type StatsService interface {
	Get(ctx context.Context) (*usher.Stats, error)
	Subscription(ctx context.Context) (*usher.Subscription, error)
}

// statsJSON is the native representation of the counts.
type statsJSON struct {
	Users        userStatsJSON  `json:"users"`
	Groups       groupStatsJSON `json:"groups"`
	Roles        groupStatsJSON `json:"roles"`
	Applications appStatsJSON   `json:"applications"`
}

type userStatsJSON struct {
	Total     int `json:"total"`
	Valid     int `json:"valid"`
	Suspended int `json:"suspended"`
	Deleted   int `json:"deleted"`
}

type groupStatsJSON struct {
	Total    int `json:"total"`
	Valid    int `json:"valid"`
	Archived int `json:"archived"`
	Deleted  int `json:"deleted"`
}

type appStatsJSON struct {
	Total   int `json:"total"`
	Valid   int `json:"valid"`
	Deleted int `json:"deleted"`
}

// subscriptionJSON is the native answer about the subscription.
type subscriptionJSON struct {
	Configured bool `json:"configured"`
}

func (h *Handler) stats(w http.ResponseWriter, r *http.Request) error {
	if err := web.NewQuery(r).Err(); err != nil {
		return err
	}
	s, err := h.Stats.Get(r.Context())
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, statsJSON{
		Users:        userStatsJSON(s.Users),
		Groups:       groupStatsJSON(s.Groups),
		Roles:        groupStatsJSON(s.Roles),
		Applications: appStatsJSON(s.Applications),
	})
}

func (h *Handler) subscription(w http.ResponseWriter, r *http.Request) error {
	if err := web.NewQuery(r).Err(); err != nil {
		return err
	}
	s, err := h.Stats.Subscription(r.Context())
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, subscriptionJSON{Configured: s.Configured})
}
