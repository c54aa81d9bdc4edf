package pterodactyl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/web"
)

// timeLayout is how Pterodactyl writes times: ISO 8601 in UTC with a
// numeric offset, e.g. 2022-09-15T17:33:34+00:00.
const timeLayout = "2006-01-02T15:04:05-07:00"

// userAttributes is Pterodactyl's UserTransformer output, in its order.
type userAttributes struct {
	ID            int64          `json:"id"`
	ExternalID    *string        `json:"external_id"`
	UUID          string         `json:"uuid"`
	Username      string         `json:"username"`
	Email         string         `json:"email"`
	FirstName     string         `json:"first_name"`
	LastName      string         `json:"last_name"`
	Language      string         `json:"language"`
	RootAdmin     bool           `json:"root_admin"`
	TwoFactor     bool           `json:"2fa"`
	CreatedAt     string         `json:"created_at"`
	UpdatedAt     string         `json:"updated_at"`
	Relationships *relationships `json:"relationships,omitempty"`
}

// relationships holds the included relations of a user. usher has no game
// servers, so the servers relation is always an empty list.
type relationships struct {
	Servers emptyList `json:"servers"`
}

type emptyList struct {
	Object string     `json:"object"`
	Data   []struct{} `json:"data"`
}

// itemJSON is a Fractal item: {"object":"user","attributes":{…}}, with
// meta.resource after a create.
type itemJSON struct {
	Object     string         `json:"object"`
	Attributes userAttributes `json:"attributes"`
	Meta       *itemMeta      `json:"meta,omitempty"`
}

type itemMeta struct {
	Resource string `json:"resource"`
}

// listJSON is a Fractal collection with its paginator's meta.
type listJSON struct {
	Object string     `json:"object"`
	Data   []itemJSON `json:"data"`
	Meta   listMeta   `json:"meta"`
}

type listMeta struct {
	Pagination pagination `json:"pagination"`
}

type pagination struct {
	Total       int   `json:"total"`
	Count       int   `json:"count"`
	PerPage     int   `json:"per_page"`
	CurrentPage int   `json:"current_page"`
	TotalPages  int   `json:"total_pages"`
	Links       links `json:"links"`
}

// links encodes as {} when there is neither a previous nor a next page.
type links struct {
	Previous string `json:"previous,omitempty"`
	Next     string `json:"next,omitempty"`
}

func toItem(u *usher.User, include bool) itemJSON {
	a := userAttributes{
		ID: u.ID, UUID: u.UUID, Username: u.Username, Email: u.Email,
		FirstName: u.FirstName, LastName: u.LastName, Language: u.Language,
		RootAdmin: u.Admin, TwoFactor: u.TwoFactorEnabled,
		CreatedAt: formatTime(u.CreatedAt), UpdatedAt: formatTime(u.UpdatedAt),
	}
	if u.ExternalID != "" {
		id := u.ExternalID
		a.ExternalID = &id
	}
	if include {
		a.Relationships = &relationships{Servers: emptyList{Object: "list", Data: []struct{}{}}}
	}
	return itemJSON{Object: "user", Attributes: a}
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// userURL is the address of one user's resource.
func (h *Handler) userURL(r *http.Request, id int64) string {
	return web.BaseURL(r, h.BaseURL) + prefix + "/users/" + strconv.FormatInt(id, 10)
}

// userID reads the {id} path segment. Like Pterodactyl's route binding, an
// id that is not a positive number finds no user.
func userID(r *http.Request) (usher.UserKey, error) {
	s := r.PathValue("id")
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return usher.UserKey{}, errNotFound()
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return usher.UserKey{}, errNotFound()
	}
	return usher.UserKey{ID: id, Kinds: userKinds}, nil
}

// userKinds are the accounts that are users in Pterodactyl: people and
// bots. Service accounts belong to teams, which Pterodactyl does not have:
// the face neither lists them nor finds them by id or external id.
var userKinds = []usher.UserKind{usher.KindNormal, usher.KindBot}

// query is what a request's query string asks for.
type query struct {
	include       bool
	filter        usher.UserFilter
	page, perPage int
}

// The query vocabulary of the users endpoints, as Pterodactyl's controller
// allows it.
var (
	allowedFilters = []string{"email", "uuid", "username", "external_id"}
	allowedSorts   = map[string]usher.UserSort{"id": usher.SortIDAsc, "-id": usher.SortIDDesc, "uuid": usher.SortUUIDAsc, "-uuid": usher.SortUUIDDesc}
)

const (
	// defaultPerPage is the page size of Pterodactyl's UserController.
	defaultPerPage = 50
	// maxPageArgument is the largest page or per_page taken.
	maxPageArgument = math.MaxInt32
)

// readQuery reads the query string of a users endpoint; list says whether
// it is the list, which also takes filters, a sort and page numbers. As in
// Laravel, a parameter the endpoint does not read is ignored and a repeated
// one counts with its last value, as PHP parses query strings; an unknown
// filter, sort or include is refused with spatie/laravel-query-builder's
// errors.
func readQuery(r *http.Request, list bool) (query, error) {
	q := query{page: 1, perPage: defaultPerPage}
	params := phpQuery(r.URL.RawQuery)
	param := func(name string) phpParam {
		if p := params[name]; p != nil {
			return *p
		}
		return phpParam{}
	}
	var filters map[string]string
	if list {
		var err error
		if filters, err = readFilters(param("filter")); err != nil {
			return q, err
		}
	}
	var badIncludes []string
	for _, inc := range param("include").list() {
		if inc == "servers" {
			q.include = true
		} else {
			badIncludes = append(badIncludes, inc)
		}
	}
	if len(badIncludes) > 0 {
		return q, badRequest("InvalidIncludeQuery", "Requested include(s) `"+strings.Join(badIncludes, ", ")+
			"` are not allowed. Allowed include(s) are `servers`.")
	}
	if !list {
		return q, nil
	}
	q.filter = usher.UserFilter{
		// Pterodactyl's filters are spatie/laravel-query-builder's partial
		// ones: a substring, in any case.
		EmailContains: filters["email"], UUIDContains: filters["uuid"], UsernameContains: filters["username"],
		ExternalIDContains: filters["external_id"],
		Kinds:              userKinds,
		// Pterodactyl knows no suspension: a suspended account is listed
		// like any other.
		Suspended: usher.Include,
		// A list shows what a brief read holds (toItem), and reads under
		// half the columns for it.
		Brief: true,
	}
	// Sorting on a unique key leaves nothing for a second key to decide, so
	// the first of several sorts is the whole order.
	var badSorts []string
	for _, s := range param("sort").list() {
		sort, ok := allowedSorts[s]
		switch {
		case !ok:
			badSorts = append(badSorts, strings.TrimPrefix(s, "-"))
		case q.filter.Sort == "":
			q.filter.Sort = sort
		}
	}
	if len(badSorts) > 0 {
		return q, badRequest("InvalidSortQuery", "Requested sort(s) `"+strings.Join(badSorts, ", ")+
			"` is not allowed. Allowed sort(s) are `id, uuid`.")
	}
	var bad validationError
	q.page = pageNumber(param("page"), "page", 1, &bad)
	q.perPage = pageNumber(param("per_page"), "per_page", defaultPerPage, &bad)
	if len(bad) > 0 {
		return q, bad
	}
	return q, nil
}

// readFilters reads the filter parameter's elements, the allowed ones by
// their key; a "filter" that is no array is no filter, as
// spatie/laravel-query-builder ignores one that is not an array.
func readFilters(filter phpParam) (map[string]string, error) {
	filters := map[string]string{}
	var unknown []string
	for _, key := range filter.order {
		if !slices.Contains(allowedFilters, key) {
			unknown = append(unknown, key)
			continue
		}
		filters[key] = strings.TrimSpace(filter.elems[key])
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, badRequest("InvalidFilterQuery", "Requested filter(s) `"+strings.Join(unknown, ", ")+
			"` are not allowed. Allowed filter(s) are `"+strings.Join(allowedFilters, ", ")+"`.")
	}
	return filters, nil
}

// splitList splits a comma-separated parameter, dropping empty parts.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// pageNumber reads page or per_page: a whole number from 1 up, def when
// absent or empty. A bad value is added to bad as Laravel's integer, min
// or max rule would report it; so is a bracketed one (page[]=2), an array
// to PHP.
func pageNumber(p phpParam, name string, def int, bad *validationError) int {
	attr := attribute(name)
	if p.array {
		*bad = append(*bad, violation{name, "integer", "The " + attr + " must be an integer."})
		return def
	}
	s := strings.TrimSpace(p.text)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) {
		// A number, but too long for any page: past one end or the other.
		n, err = maxPageArgument+1, nil
		if strings.HasPrefix(s, "-") {
			n = 0
		}
	}
	switch {
	case err != nil:
		*bad = append(*bad, violation{name, "integer", "The " + attr + " must be an integer."})
	case n < 1:
		*bad = append(*bad, violation{name, "min", "The " + attr + " must be at least 1."})
	case n > maxPageArgument:
		*bad = append(*bad, violation{name, "max", "The " + attr + " may not be greater than " + strconv.Itoa(maxPageArgument) + "."})
	default:
		return n
	}
	return def
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	q, err := readQuery(r, true)
	if err != nil {
		return err
	}
	res, err := h.readPage(r.Context(), q.filter, q.page, q.perPage)
	if err != nil {
		return err
	}
	perPage := res.Limit
	total := max(res.Total, 0)
	lastPage := max(1, (total+perPage-1)/perPage)
	out := listJSON{Object: "list", Data: make([]itemJSON, 0, len(res.Items))}
	for _, u := range res.Items {
		out.Data = append(out.Data, toItem(u, q.include))
	}
	p := pagination{Total: total, Count: len(res.Items), PerPage: perPage, CurrentPage: q.page, TotalPages: lastPage}
	if q.page > 1 {
		p.Links.Previous = h.pageURL(r, q.page-1, perPage)
	}
	if q.page < lastPage {
		p.Links.Next = h.pageURL(r, q.page+1, perPage)
	}
	out.Meta.Pagination = p
	return web.WriteJSON(w, http.StatusOK, out)
}

// linkParams are the parameters of the list a page link keeps, besides
// page and per_page: the ones readQuery reads.
var linkParams = []string{"filter", "include", "sort"}

// pageURL is the address of another page of this list: the parameters
// the list reads (linkParams) as it read them (phpQuery), each written
// once, with page, and per_page when it was given, replaced — page and
// per_page first. The filters, sort and includes stay, so following a link
// continues the same list: rebuilt by Go's parsing, a pair it drops (a
// ";" in it, a "%" that starts no escape) left the filter or the sort
// out; kept as it came, a raw "#" began a fragment, and a pair past PHP's
// max_input_vars unread in the request was read in the link, or one read
// in it pushed past the limit — by other parameters too, which the list
// does not read and the link leaves out.
func (h *Handler) pageURL(r *http.Request, page, perPage int) string {
	params := phpQuery(r.URL.RawQuery)
	q := []string{"page=" + strconv.Itoa(page)}
	if p := params["per_page"]; p != nil && !p.array && p.text != "" {
		q = append(q, "per_page="+strconv.Itoa(perPage))
	}
	for _, name := range linkParams {
		p := params[name]
		switch {
		case p == nil:
		case !p.array:
			q = append(q, url.QueryEscape(name)+"="+url.QueryEscape(p.text))
		default:
			for _, index := range p.order {
				q = append(q, url.QueryEscape(name+"["+index+"]")+"="+url.QueryEscape(p.elems[index]))
			}
		}
	}
	u := url.URL{Path: r.URL.Path, RawQuery: strings.Join(q, "&")}
	return web.BaseURL(r, h.BaseURL) + u.RequestURI()
}

// readPage reads page number page of perPage users, with their total.
// The core may serve fewer users a page than asked for (its policy caps
// every list), says how many in Limit and numbers pages in that size, so
// that every user is on exactly one page.
func (h *Handler) readPage(ctx context.Context, f usher.UserFilter, page, perPage int) (*usher.UserPage, error) {
	f.Page.Number, f.Page.Limit, f.Page.WithTotal = page, perPage, true
	res, err := h.Users.List(ctx, f)
	if err != nil {
		return nil, err
	}
	if res.Limit < 1 {
		return nil, fmt.Errorf("pterodactyl: the core served users in pages of %d", res.Limit)
	}
	return res, nil
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	key, err := userID(r)
	if err != nil {
		return err
	}
	return h.writeFound(w, r, key)
}

// getExternalUser answers a look-up by external id. An external id the
// core refuses to look up (too long, not UTF-8, with a control character)
// is one no user holds: Pterodactyl's query finds no user, a 404.
func (h *Handler) getExternalUser(w http.ResponseWriter, r *http.Request) error {
	err := h.writeFound(w, r, usher.UserKey{ExternalID: r.PathValue("external_id"), Kinds: userKinds})
	if usher.ErrorKind(err) == usher.KindInvalid {
		return errNotFound()
	}
	return err
}

// writeFound answers with the user key finds.
func (h *Handler) writeFound(w http.ResponseWriter, r *http.Request, key usher.UserKey) error {
	q, err := readQuery(r, false)
	if err != nil {
		return err
	}
	u, err := h.Users.Get(r.Context(), key)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toItem(u, q.include))
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	body, err := readInput(r)
	if err != nil {
		return err
	}
	if err := h.Users.MayCreate(r.Context()); err != nil {
		return err
	}
	q, err := readQuery(r, false)
	if err != nil {
		return err
	}
	v, err := decode(body, userFields)
	if err != nil {
		return err
	}
	in := usher.UserCreate{
		Email: v["email"].text, Username: v["username"].text,
		FirstName: v["first_name"].text, LastName: v["last_name"].text,
		ExternalID: v["external_id"].text, Password: v["password"].text,
		Language: v["language"].text, Admin: v["root_admin"].flag,
	}
	u, err := h.Users.Create(r.Context(), in)
	if err != nil {
		return err
	}
	item := toItem(u, q.include)
	item.Meta = &itemMeta{Resource: h.userURL(r, u.ID)}
	return web.WriteJSON(w, http.StatusCreated, item)
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) error {
	key, err := userID(r)
	if err != nil {
		return err
	}
	body, err := readInput(r)
	if err != nil {
		return err
	}
	if err := h.Users.MayUpdate(r.Context()); err != nil {
		return h.unlessGone(r.Context(), key, err)
	}
	q, err := readQuery(r, false)
	if err != nil {
		return err
	}
	v, err := decode(body, userFields)
	if err != nil {
		return h.unlessGone(r.Context(), key, err)
	}
	text := func(name string) *string {
		f := v[name]
		if !f.set {
			return nil
		}
		s := f.text
		return &s
	}
	in := usher.UserUpdate{
		Email: text("email"), Username: text("username"),
		FirstName: text("first_name"), LastName: text("last_name"),
		ExternalID: text("external_id"), Language: text("language"),
	}
	if f := v["password"]; f.set && !f.null {
		in.Password = text("password")
	}
	if f := v["root_admin"]; f.set {
		admin := f.flag
		in.Admin = &admin
	}
	u, err := h.Users.Update(r.Context(), key, in)
	if err != nil {
		return h.unlessGone(r.Context(), key, err)
	}
	return web.WriteJSON(w, http.StatusOK, toItem(u, q.include))
}

// unlessGone returns the core's answer for a user who is not there in
// place of err, a refusal of an update or a deletion of that user: a
// failed validation, or a key that may not write. Pterodactyl binds the user in the path
// before it authorizes the key and validates the body, so an update of a
// user who does not exist is a 404 whatever the key and body; usher asks
// about the key, checks the body's shape, and the core a password, first.
// Any other answer of the look-up (the user is there, or may not be read)
// leaves err as it is.
func (h *Handler) unlessGone(ctx context.Context, key usher.UserKey, err error) error {
	var ve validationError
	if k := usher.ErrorKind(err); !errors.As(err, &ve) && k != usher.KindUnprocessable && k != usher.KindForbidden {
		return err
	}
	if _, gerr := h.Users.Get(ctx, key); usher.ErrorKind(gerr) == usher.KindNotFound {
		return gerr
	}
	return err
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	key, err := userID(r)
	if err != nil {
		return err
	}
	if _, err := h.Users.Delete(r.Context(), key); err != nil {
		// The panel binds the user before it authorizes the key.
		return h.unlessGone(r.Context(), key, err)
	}
	// The API documentation answers 200, where Pterodactyl itself answers
	// 204; the documentation wins. The body stays empty, as Pterodactyl's clients expect none.
	w.WriteHeader(http.StatusOK)
	return nil
}
