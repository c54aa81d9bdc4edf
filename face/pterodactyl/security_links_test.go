package pterodactyl_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// TestNextLinkEscapesARawHash: the links keep the request's pairs as they
// came, and a request's query may hold a raw "#" (Go's server keeps it in
// the query; the list ignores the unknown pair): the link held it raw too,
// and a client reading it took the rest — the filter after it — for a
// fragment, so following "next" listed other users (round 50).
func TestNextLinkEscapesARawHash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"match1", "match2", "match3", "other1", "other2"} {
		b.mustCreate(t, newUser(name))
	}
	r, err := http.NewRequest("GET", b.srv.URL+"/api/application/users", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.URL.RawQuery = "per_page=1&x=#&filter[username]=match"
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Authorization", "Bearer "+b.key)
	res, err := b.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var first listBody
	if err := json.Unmarshal(body, &first); res.StatusCode != http.StatusOK || err != nil || first.Meta.Pagination.Total != 3 {
		t.Fatalf("GET ?%s: %d %s", r.URL.RawQuery, res.StatusCode, body)
	}
	next := first.Meta.Pagination.Links["next"]
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Fragment != "" {
		t.Fatalf("next link %q: %v; want no fragment", next, err)
	}
	l := b.list(t, "?"+u.RawQuery)
	got := ""
	if len(l.Data) == 1 {
		got = l.Data[0].Attributes.Username
	}
	if l.Meta.Pagination.Total != 3 || got != "match2" {
		t.Errorf("next link %q lists %q of %d; want match2 of 3", next, got, l.Meta.Pagination.Total)
	}
}
