package pterodactyl_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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

// TestNextLinkReadsAsTheListDid: PHP reads only the first 1,000 pairs
// that are not empty (max_input_vars), and the links copied every pair of
// the request after page and per_page, read or not: a filter left unread
// became read once the request's page pairs were gone, and one read was
// pushed past the limit by the page pair in front, so following the next
// link listed another set of users (round 51). The links are the
// parameters as the list read them, each written once.
func TestNextLinkReadsAsTheListDid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"match1", "match2", "other1"} {
		b.mustCreate(t, newUser(name))
	}
	for _, tc := range []struct{ name, query string }{
		// per_page + 1,000 page pairs: filter is the 1,002nd, unread.
		{"an unread filter becomes read", "?per_page=1&" + strings.Repeat("page=1&", 1000) + "filter[username]=match"},
		// per_page + 998 others: filter is the 1,000th, read; the link's
		// page=2 in front makes it the 1,001st.
		{"a read filter becomes unread", "?per_page=1&" + strings.Repeat("x=1&", 998) + "filter[username]=match"},
	} {
		first := b.list(t, tc.query)
		next := first.Meta.Pagination.Links["next"]
		u, err := url.Parse(next)
		if err != nil || next == "" {
			t.Fatalf("%s: next link %q (%+v)", tc.name, next, first.Meta.Pagination)
		}
		res := b.do(t, req{method: "GET", path: u.RequestURI()})
		var l listBody
		res.decode(t, &l)
		if res.status != http.StatusOK || l.Meta.Pagination.Total != first.Meta.Pagination.Total || l.Meta.Pagination.CurrentPage != 2 {
			t.Errorf("%s: first page lists %d users, its next link lists page %d of %d users (%d); want page 2 of the same %d",
				tc.name, first.Meta.Pagination.Total, l.Meta.Pagination.CurrentPage, l.Meta.Pagination.Total, res.status, first.Meta.Pagination.Total)
		}
	}
}

// TestNextLinkKeepsWhatTheListReads: a request with no page, per_page and
// 999 distinct other names is 1,000 pairs, all read; its link wrote page
// first, per_page, then each name once: 1,001 pairs, so PHP left the
// last (the filter) unread on the next page (round 52). A link keeps the
// parameters the list reads alone.
func TestNextLinkKeepsWhatTheListReads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"match1", "match2", "other1"} {
		b.mustCreate(t, newUser(name))
	}
	var q strings.Builder
	q.WriteString("?per_page=1&")
	for i := range 998 {
		fmt.Fprintf(&q, "a%03d=1&", i)
	}
	q.WriteString("filter[username]=match")
	first := b.list(t, q.String())
	next := first.Meta.Pagination.Links["next"]
	u, err := url.Parse(next)
	if err != nil || next == "" {
		t.Fatalf("next link %q (%+v)", next, first.Meta.Pagination)
	}
	res := b.do(t, req{method: "GET", path: u.RequestURI()})
	var l listBody
	res.decode(t, &l)
	if res.status != http.StatusOK || l.Meta.Pagination.Total != first.Meta.Pagination.Total || l.Meta.Pagination.CurrentPage != 2 {
		t.Errorf("first page lists %d users, its next link lists page %d of %d users (%d); want page 2 of the same %d",
			first.Meta.Pagination.Total, l.Meta.Pagination.CurrentPage, l.Meta.Pagination.Total, res.status, first.Meta.Pagination.Total)
	}
}
