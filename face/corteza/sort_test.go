package corteza_test

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// sortCase is a list asked for with a sort, and the names it answers in
// order, or a word of the error it answers.
type sortCase struct {
	query string // the rest of the query string
	sort  string
	want  string // the names, comma-separated
	err   string
}

// testSorted asks GET path?sort=… for each case and checks Corteza's
// answer: 200, the set's names in order and the sort echoed, or an error.
func testSorted(t *testing.T, b *bundle, path string, cases []sortCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.sort+" "+tt.query, func(t *testing.T) {
			res := b.do(t, "GET", path+"?sort="+url.QueryEscape(tt.sort)+"&"+tt.query, b.adminJWT, nil)
			if res.status != http.StatusOK {
				t.Fatalf("status %d, want 200 as Corteza: %s", res.status, res.body)
			}
			var out listAnswer
			res.decode(t, &out)
			if tt.err != "" {
				if out.Error == nil || !strings.Contains(out.Error.Message, tt.err) {
					t.Fatalf("body %s, want an error naming %q", res.body, tt.err)
				}
				return
			}
			if out.Error != nil {
				t.Fatalf("error %q", out.Error.Message)
			}
			if got := strings.Join(out.field("name"), ","); got != tt.want {
				t.Errorf("names %s, want %s", got, tt.want)
			}
			// Corteza's lists sort by id when asked for no sort, and
			// echo it.
			if want := cmp.Or(tt.sort, "id"); out.Response.Filter["sort"] != want {
				t.Errorf("filter.sort %v, want %q", out.Response.Filter["sort"], want)
			}
		})
	}
}

// sortErrors are the sorts every sorted list refuses: a column it does
// not sort by, a direction that is neither ASC nor DESC, and a list of
// columns.
var sortErrors = []sortCase{
	{sort: "bogus", err: "sort"},
	{sort: "id sideways", err: "sort"},
	{sort: "name, id", err: "sort"},
	{sort: "deleted_at", err: "sort"},
}

// TestRoleSort: GET /roles/ orders roles by the column Corteza's sort
// names, or the field of its answers, ASC or DESC, ignoring case, with its
// paging; it answers an error for any other sort.
func TestRoleSort(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, r := range [][2]string{{"beta", "srt-b"}, {"Alpha", "srt-a"}, {"gamma", "srt-g"}} {
		b.clock.Add(time.Minute)
		if msg := b.do(t, "POST", "/roles/", b.adminJWT, map[string]any{"name": r[0], "handle": r[1]}).errMessage(t); msg != "" {
			t.Fatal(msg)
		}
	}
	q := "query=srt-"
	testSorted(t, b, "/roles/", append([]sortCase{
		{query: q, sort: "", want: "beta,Alpha,gamma"},
		{query: q, sort: "id DESC", want: "gamma,Alpha,beta"},
		{query: q, sort: "roleID desc", want: "gamma,Alpha,beta"},
		{query: q, sort: "id asc", want: "beta,Alpha,gamma"},
		{query: q, sort: "name", want: "Alpha,beta,gamma"},
		{query: q, sort: "NAME DESC", want: "gamma,beta,Alpha"},
		{query: q, sort: "handle DESC", want: "gamma,beta,Alpha"},
		{query: q, sort: "created_at DESC", want: "gamma,Alpha,beta"},
		{query: q, sort: "createdAt", want: "beta,Alpha,gamma"},
		{query: q, sort: "updatedAt DESC", want: "gamma,Alpha,beta"},
		{query: q + "&limit=2&offset=1", sort: "name DESC", want: "beta,Alpha"},
		{query: q + "&perPage=2&page=2", sort: "name", want: "gamma"},
	}, sortErrors...))
}

// TestApplicationSort: GET /application/ orders applications as Corteza's
// sort says, as roles.
func TestApplicationSort(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"beta", "Alpha", "gamma"} {
		b.clock.Add(time.Minute)
		if msg := b.do(t, "POST", "/application/", b.adminJWT, map[string]any{"name": name}).errMessage(t); msg != "" {
			t.Fatal(msg)
		}
	}
	testSorted(t, b, "/application/", append([]sortCase{
		{sort: "", want: "beta,Alpha,gamma"},
		{sort: "id DESC", want: "gamma,Alpha,beta"},
		{sort: "applicationID DESC", want: "gamma,Alpha,beta"},
		{sort: "name", want: "Alpha,beta,gamma"},
		{sort: "name desc", want: "gamma,beta,Alpha"},
		{sort: "createdAt DESC", want: "gamma,Alpha,beta"},
		{sort: "updated_at", want: "beta,Alpha,gamma"},
		{query: "limit=1&offset=1", sort: "name", want: "beta"},
		{sort: "handle", err: "sort"},
	}, sortErrors...))
}

// TestOrganisationQuery: GET /organisations/ keeps the live organisations
// whose name starts with the query, ignoring case, ordered by name, as
// Corteza's repository does.
func TestOrganisationQuery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"Globex", "acme labs", "Acme", "Big Acme", "100% Acme"} {
		if msg := b.do(t, "POST", "/organisations/", b.adminJWT, map[string]any{"name": name}).errMessage(t); msg != "" {
			t.Fatal(msg)
		}
	}
	for _, tt := range []struct {
		query, want string
	}{
		{"Acm", "Acme,acme labs"},
		{"ACME L", "acme labs"},
		{"cme", ""},
		{"100%", "100% Acme"},
		{"1_0", ""},
		{"", "100% Acme,Acme,acme labs,Big Acme,Globex"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			res := b.do(t, "GET", "/organisations/?query="+url.QueryEscape(tt.query), b.adminJWT, nil)
			if res.status != http.StatusOK {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			var out struct {
				Response []struct {
					Name string `json:"name"`
				} `json:"response"`
			}
			if err := json.Unmarshal(res.body, &out); err != nil || out.Response == nil {
				t.Fatalf("body %s: %v", res.body, err)
			}
			var names []string
			for _, o := range out.Response {
				names = append(names, o.Name)
			}
			if got := strings.Join(names, ","); got != tt.want {
				t.Errorf("names %s, want %s", got, tt.want)
			}
		})
	}
	res := b.do(t, "GET", "/organisations/?query="+url.QueryEscape("a\x00"), b.adminJWT, nil)
	if msg := res.errMessage(t); res.status != http.StatusOK || !strings.Contains(msg, "query") {
		t.Errorf("a query with a NUL: %d %s, want an error naming query", res.status, res.body)
	}
}
