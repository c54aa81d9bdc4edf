package corteza

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"usher"
	"usher/web"
)

// params are a request's parameters as Corteza's request Fill reads them:
// the JSON body when the request is sent as JSON, else the form and query;
// path values always.
type params struct {
	r    *http.Request
	body map[string]json.RawMessage
}

// readParams reads r's parameters; a JSON body that does not parse is
// refused, as Corteza refuses it.
func readParams(r *http.Request) (*params, error) {
	p := &params{r: r, body: map[string]json.RawMessage{}}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		raw, err := web.ReadBody(r)
		if err != nil {
			return nil, err
		}
		if len(strings.TrimSpace(string(raw))) > 0 {
			if err := json.Unmarshal(raw, &p.body); err != nil {
				return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidJSON,
					Message: "error parsing http request body: " + err.Error()}
			}
		}
		return p, nil
	}
	if mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidJSON, Message: "error parsing http request body"}
		}
	} else if err := r.ParseForm(); err != nil {
		return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidJSON, Message: "error parsing http request body"}
	}
	return p, nil
}

// has reports whether the parameter was sent.
func (p *params) has(name string) bool {
	if _, ok := p.body[name]; ok {
		return true
	}
	if p.r.PathValue(name) != "" {
		return true
	}
	_, ok := p.r.Form[name]
	if !ok {
		_, ok = p.r.URL.Query()[name]
	}
	return ok
}

// str returns a text parameter; a JSON number or boolean is taken as its
// text.
func (p *params) str(name string) string {
	if v := p.r.PathValue(name); v != "" {
		return v
	}
	if raw, ok := p.body[name]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		if t := strings.TrimSpace(string(raw)); t != "null" {
			return t
		}
		return ""
	}
	if p.r.Form != nil {
		if v, ok := p.r.Form[name]; ok && len(v) > 0 {
			return v[0]
		}
	}
	return p.r.URL.Query().Get(name)
}

// strs returns a list parameter: a JSON array, or the repeated form value
// (name or name[]).
func (p *params) strs(name string) []string {
	if raw, ok := p.body[name]; ok {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return []string{p.str(name)}
		}
		out := make([]string, 0, len(list))
		for _, v := range list {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			out = append(out, s)
		}
		return out
	}
	q := p.r.URL.Query()
	if p.r.Form != nil {
		q = p.r.Form
	}
	out := append([]string{}, q[name]...)
	return append(out, q[name+"[]"]...)
}

// raw returns a parameter's JSON text; null when it was not sent.
func (p *params) raw(name string) json.RawMessage {
	if raw, ok := p.body[name]; ok {
		return raw
	}
	return nil
}

// id returns an id parameter (a string of digits, or a number); 0 when it
// is absent or "0".
func (p *params) id(name string) (int64, error) {
	s := p.str(name)
	if s == "" || s == "0" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: fmt.Sprintf("invalid %s: %q", name, s)}
	}
	return v, nil
}

// uint returns a non-negative number parameter; 0 when absent.
func (p *params) uint(name string) (int, error) {
	s := p.str(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: fmt.Sprintf("invalid %s: %q", name, s)}
	}
	return v, nil
}

// boolean returns a boolean parameter.
func (p *params) boolean(name string) bool {
	v, _ := strconv.ParseBool(p.str(name))
	return v
}

// optStr returns a text parameter that was sent, or nil.
func (p *params) optStr(name string) *string {
	if !p.has(name) {
		return nil
	}
	s := p.str(name)
	return &s
}

// state reads a Corteza state filter (0 exclude, 1 include, 2 only) and
// its deprecated boolean form (incName=true is 1).
func (p *params) state(name, deprecated string) (int, error) {
	v, err := p.uint(name)
	if err != nil || v > 2 {
		return 0, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "invalid " + name + ": 0, 1 or 2"}
	}
	if v == 0 && deprecated != "" && p.boolean(deprecated) {
		v = 1
	}
	return v, nil
}

// inclusion is the core's inclusion for a Corteza state filter.
func inclusion(state int) usher.Inclusion {
	switch state {
	case 1:
		return usher.Include
	case 2:
		return usher.Only
	}
	return usher.Exclude
}

// paging is Corteza's paging: limit and offset win; else page and perPage.
type paging struct {
	Limit   int `json:"limit,omitempty"`
	Offset  int `json:"offset,omitempty"`
	Page    int `json:"page,omitempty"`
	PerPage int `json:"perPage,omitempty"`
	Count   int `json:"count"`
}

// readPaging reads the paging parameters.
func (p *params) paging() (paging, error) {
	var pg paging
	var err error
	for _, f := range []struct {
		name string
		v    *int
	}{{"limit", &pg.Limit}, {"offset", &pg.Offset}, {"page", &pg.Page}, {"perPage", &pg.PerPage}} {
		if *f.v, err = p.uint(f.name); err != nil {
			return pg, err
		}
	}
	return pg, nil
}

// request is the core's page request for the paging, with the total: at
// most listCap rows when no limit is asked. A page number is the core's
// (PageRequest.Number): numbered in the rows the core serves a page in, so
// that every row is on one page however many perPage asked for, and one
// past the deepest the core reads refused as such, never multiplied here
// and wrapped round to another page.
func (pg paging) request() usher.PageRequest {
	req := usher.PageRequest{Limit: pg.Limit, Offset: pg.Offset, WithTotal: true}
	if pg.Limit == 0 && pg.Offset == 0 && pg.PerPage > 0 {
		req.Limit = pg.PerPage
		if pg.Page > 1 {
			req.Number = pg.Page
		}
	}
	if req.Limit == 0 || req.Limit > listCap {
		req.Limit = listCap
	}
	return req
}

// listSort reads Corteza's sort of a list into the core's: a column, as
// Corteza's repositories name it or as its answers name the field
// (fields maps the lower-cased field to the column: "roleid" to "id"),
// ignoring case, then ASC or DESC; "createdAt DESC" is "-created_at".
// Text it cannot read goes to the core as it was sent, which refuses it
// as it does an unknown column.
func listSort(sort string, fields map[string]string) usher.Sort {
	words := strings.Fields(sort)
	if len(words) == 0 {
		return ""
	}
	col := strings.ToLower(words[0])
	if c, ok := fields[col]; ok {
		col = c
	}
	switch {
	case len(words) == 1 || len(words) == 2 && strings.EqualFold(words[1], "asc"):
		return usher.Sort(col)
	case len(words) == 2 && strings.EqualFold(words[1], "desc"):
		return usher.Sort("-" + col)
	}
	return usher.Sort(sort)
}
