package native_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// pageBody is what the page tests read of a list: each item's id (a
// member's user id), its cursor, total and page size.
type pageBody struct {
	Items          []json.RawMessage `json:"items"`
	NextCursor     *string           `json:"next_cursor"`
	Total          *int              `json:"total"`
	TotalEstimated bool              `json:"total_estimated"`
	Limit          int               `json:"limit"`
}

func (p pageBody) ids(t *testing.T) []int64 {
	t.Helper()
	var out []int64
	for _, raw := range p.Items {
		var item struct {
			ID     int64 `json:"id"`
			UserID int64 `json:"user_id"`
		}
		if err := json.Unmarshal(raw, &item.ID); err != nil {
			if err := json.Unmarshal(raw, &item); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, max(item.ID, item.UserID))
	}
	return out
}

// pagedPaths makes five rows in every list the native API pages and
// returns their paths, each with a query selecting those rows.
func pagedPaths(t *testing.T, b *bundle) map[string]string {
	t.Helper()
	ctx := coretest.System()
	c := b.env.Core
	team, err := c.Groups.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "crew"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		u := b.env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("paged-%d", i)})
		if _, err := c.Groups.AddMember(ctx, usher.GroupRef{ID: team.ID}, usher.UserKey{ID: u.ID}, usher.LevelRead); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Groups.Create(ctx, usher.GroupCreate{Kind: usher.GroupPlain, Handle: fmt.Sprintf("g%d", i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Orgs.Create(ctx, fmt.Sprintf("org%d", i), "Org"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Apps.Create(ctx, usher.ApplicationCreate{Name: fmt.Sprintf("app%d", i), OwnerID: u.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Reminders.Create(ctx, usher.ReminderCreate{Resource: "invoice:1", AssignedTo: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	g := fmt.Sprintf("/v1/groups/%d", team.ID)
	return map[string]string{
		"users": "/v1/users?q=paged-", "groups": "/v1/groups?kind=group", "organisations": "/v1/organisations",
		"applications": "/v1/applications", "reminders": "/v1/reminders", "audit": "/v1/audit?action=organisation.create",
		"members": g + "/members", "member ids": g + "/member-ids",
	}
}

// TestPageByOffsetAndNumber: every paged list, read by offset and by page
// number, gives the rows its cursor pages give, with the total and the
// page size, and a Link header to the next page by the same means.
func TestPageByOffsetAndNumber(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, path := range pagedPaths(t, b) {
		get := func(query string) (pageBody, *response) {
			t.Helper()
			var p pageBody
			res := b.call(t, req{method: "GET", path: withQuery(path, query), token: b.adminTok}, http.StatusOK, &p)
			return p, res
		}
		var byCursor []int64
		for query := "limit=2"; ; {
			p, _ := get(query)
			if p.Total != nil || p.Limit != 0 {
				t.Errorf("%s by cursor: total %v, limit %d; want neither", name, p.Total, p.Limit)
			}
			byCursor = append(byCursor, p.ids(t)...)
			if p.NextCursor == nil {
				break
			}
			query = "limit=2&cursor=" + *p.NextCursor
		}
		if len(byCursor) != 5 {
			t.Fatalf("%s: %v; want five rows", name, byCursor)
		}
		var byOffset, byNumber []int64
		for i := range 3 {
			p, res := get(fmt.Sprintf("limit=2&offset=%d", 2*i))
			if p.Total == nil || *p.Total != 5 || p.TotalEstimated || p.Limit != 2 {
				t.Errorf("%s at offset %d: total %v (estimated %v), limit %d; want 5 exactly and 2", name, 2*i, p.Total, p.TotalEstimated, p.Limit)
			}
			if link := res.header.Get("Link"); (link != "") != (i < 2) || i < 2 && !containsAll(link, fmt.Sprintf("offset=%d", 2*i+2), "limit=2") {
				t.Errorf("%s at offset %d: Link %q", name, 2*i, link)
			}
			byOffset = append(byOffset, p.ids(t)...)
			p, res = get(fmt.Sprintf("limit=2&page=%d", i+1))
			if p.Total == nil || *p.Total != 5 || p.Limit != 2 {
				t.Errorf("%s page %d: total %v, limit %d", name, i+1, p.Total, p.Limit)
			}
			if link := res.header.Get("Link"); (link != "") != (i < 2) || i < 2 && !containsAll(link, fmt.Sprintf("page=%d", i+2), "limit=2") {
				t.Errorf("%s page %d: Link %q", name, i+1, link)
			}
			byNumber = append(byNumber, p.ids(t)...)
		}
		if !slices.Equal(byOffset, byCursor) || !slices.Equal(byNumber, byCursor) {
			t.Errorf("%s: by offset %v, by number %v, by cursor %v", name, byOffset, byNumber, byCursor)
		}
		if p, _ := get("total=true&limit=1"); p.Total == nil || *p.Total != 5 || p.Limit != 0 || p.NextCursor == nil {
			t.Errorf("%s with total=true: %+v", name, p)
		}
	}
}

// withQuery adds query to a path that may have one.
func withQuery(path, query string) string {
	if u, _ := url.Parse(path); u.RawQuery != "" {
		return path + "&" + query
	}
	return path + "?" + query
}

// containsAll reports whether a Link header's URL has every one of the
// query's pairs.
func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !slices.Contains(splitQuery(s), p) {
			return false
		}
	}
	return true
}

// splitQuery splits a Link header's URL query into its pairs.
func splitQuery(link string) []string {
	u, err := url.Parse(link[1 : len(link)-len(`>; rel="next"`)])
	if err != nil {
		return nil
	}
	var out []string
	for k, vs := range u.Query() {
		for _, v := range vs {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// TestPageTotalEstimated: past the core's exact bound a total is flagged
// as an estimate.
func TestPageTotalEstimated(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Policy: core.Policy{ExactTotal: 3}})
	paths := pagedPaths(t, b)
	for _, name := range []string{"users", "organisations", "members"} {
		var p pageBody
		b.call(t, req{method: "GET", path: withQuery(paths[name], "page=2&limit=2"), token: b.adminTok}, http.StatusOK, &p)
		if p.Total == nil || *p.Total != 5 || !p.TotalEstimated {
			t.Errorf("%s: total %v, estimated %v; want 5 estimated", name, p.Total, p.TotalEstimated)
		}
	}
}

// TestPageBadInput: a bad offset or page number is 400 naming it, on every
// paged list.
func TestPageBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	paths := pagedPaths(t, b)
	for _, tt := range []struct {
		name, query, code, field string
	}{
		{"negative offset", "offset=-1", "invalid_parameter", "offset"},
		{"offset not a number", "offset=ten", "not_an_integer", "offset"},
		{"offset with a cursor", "offset=2&cursor=MQ", "invalid_parameter", "offset"},
		{"offset too deep", "offset=99999&limit=2", "invalid_parameter", "offset"},
		{"page zero", "page=0", "out_of_range", "page"},
		{"negative page", "page=-3", "out_of_range", "page"},
		{"page not a number", "page=two", "not_an_integer", "page"},
		{"page with an offset", "page=2&offset=2", "invalid_parameter", "page"},
		{"page with a cursor", "page=2&cursor=MQ", "invalid_parameter", "page"},
		{"page too deep", "page=50001&limit=2", "invalid_parameter", "page"},
	} {
		for name, path := range paths {
			query := tt.query
			if name == "users" {
				// A user cursor names its sort too.
				query = strings.ReplaceAll(query, "cursor=MQ", "cursor="+base64.RawURLEncoding.EncodeToString([]byte(`{"s":"","i":1}`)))
			}
			res := b.api.do(t, req{method: "GET", path: withQuery(path, query), token: b.adminTok})
			p := res.problem(t)
			if res.status != http.StatusBadRequest || p.Code != tt.code || len(p.Errors) != 1 || p.Errors[0].Field != tt.field {
				t.Errorf("%s, %s: %d %s; want 400 %s naming %s", name, tt.name, res.status, res.body, tt.code, tt.field)
			}
		}
	}
}
