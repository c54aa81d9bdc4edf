package gitlab

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"usher"
	"usher/web"
)

// params are a request's parameters as GitLab (Grape) sees them: the query
// string, with the body over it — a JSON object, a form or a multipart form.
// A value is a string, a json.Number, a bool, nil (JSON null), or a JSON
// array or object, which no parameter of this API takes. Parameters the
// endpoint does not know are ignored, as GitLab ignores them.
type params struct {
	values map[string]any
	errs   paramError
	// odd holds the parameters that say who acts (whoParams) that Rack
	// would read and Go reads otherwise or not at all (see rackOdd): each
	// must be refused rather than dropped.
	odd map[string]bool
	// malformed is a query or a body GitLab refuses as malformed (see
	// readParams).
	malformed bool
	// tokens are the token parameters (tokenParams) as GitLab's
	// authentication reads them, from Rails' request parameters, not
	// Grape's: the query's over the body's, and a GET's JSON body too.
	tokens map[string]any
}

// tokenParams are the parameters a token may come in, in the order GitLab
// reads them, the headers between (see principal).
var tokenParams = []string{"private_token", "access_token", "bearer_token"}

// whoParams are the parameters that say who acts: a token, where no
// header gives one, and an administrator's sudo. A request Rack would read
// one of them in otherwise than Go would act as another user than GitLab.
var whoParams = append([]string{"sudo"}, tokenParams...)

// readParams reads the query and the body of r. The body is bounded by
// web.MaxBody here too, so that the face is safe without web.Middleware.
// As Grape, it reads a body that names no type as JSON and refuses one of
// a type it does not parse (415).
func readParams(w http.ResponseWriter, r *http.Request) (*params, error) {
	p, err := readEach(w, r)
	if err != nil {
		return nil, err
	}
	// GitLab's HandleMalformedStrings answers 400 before the API runs —
	// acting as no one — when a parameter's value holds a NUL or is no
	// valid text, or Rack cannot read the query or the form; usher would
	// else act, as the sudo, on what GitLab refuses. A request refused
	// for an odd parameter that says who acts is refused as that.
	if (p.malformed || credentialsMalformed(r.Header.Get("Authorization"))) && len(p.odd) == 0 {
		return nil, paramError{"Bad Request"}
	}
	return p, nil
}

// maxNULDepth is how deep in a parameter's value GitLab looks for a NUL
// (HandleMalformedStrings' param_has_null_byte?: depth > 2 is not looked
// at); invalid text is refused at any depth (Rails' check_param_encoding).
const maxNULDepth = 2

// badText reports whether a value, at depth in its parameter, is one
// GitLab refuses.
func badText(v string, depth int) bool {
	return !utf8.ValidString(v) || depth <= maxNULDepth && strings.ContainsRune(v, 0)
}

// bracketDepth is how deep a key's brackets put its value: "a" 0,
// "a[]" and "a[b]" 1, "a[b][c]" 2.
func bracketDepth(key string) int {
	return strings.Count(key, "[")
}

// rackMalformed reports whether Rack cannot read a query or a form, split
// at any of seps — an escape that is none (Rack's unescape raises), a key
// that is no valid text (its pattern raises) — or a value is one GitLab
// refuses (badText).
func rackMalformed(raw, seps string) bool {
	for pair := range strings.FieldsFuncSeq(raw, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil || !utf8.ValidString(key) {
			return true
		}
		value, err := url.QueryUnescape(v)
		if err != nil || badText(value, bracketDepth(key)) {
			return true
		}
	}
	return false
}

// jsonMalformed reports whether a JSON value holds text GitLab refuses
// (badText); depth is its own.
func jsonMalformed(v any, depth int) bool {
	switch v := v.(type) {
	case string:
		return badText(v, depth)
	case []any:
		return slices.ContainsFunc(v, func(x any) bool { return jsonMalformed(x, depth+1) })
	case map[string]any:
		for _, x := range v {
			if jsonMalformed(x, depth+1) {
				return true
			}
		}
	}
	return false
}

// credentialsMalformed reports whether an Authorization header is one
// GitLab's HandleMalformedStrings refuses: Basic's decoded credentials,
// or the header as it stands, holding a NUL or no valid text.
func credentialsMalformed(h string) bool {
	if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Basic") {
		if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest)); err == nil {
			h = string(dec)
		}
	}
	return badText(h, 0)
}

// readEach reads the query and the body (readParams).
func readEach(w http.ResponseWriter, r *http.Request) (*params, error) {
	p := &params{values: map[string]any{}, odd: map[string]bool{}, tokens: map[string]any{}}
	// Puma, in front of GitLab's Rack, ends the query at a raw "#", which
	// starts the request line's fragment; Go's server keeps it in the
	// query, whose pairs after it Rack never sees.
	rawQuery := pumaQuery(r.URL.RawQuery)
	query, _ := url.ParseQuery(rawQuery)
	if query.Has("password") {
		// A secret does not travel in a URL, which proxies and access logs
		// keep. GitLab takes it from the query too; usher refuses it there
		// rather than ignore it and leave the caller thinking it was set.
		return nil, paramError{"password must be sent in the request body, not the query string"}
	}
	p.setForm(query)
	p.rackOdd(rawQuery, "&;")
	p.malformed = rackMalformed(rawQuery, "&;")
	// The query's tokens are set last, over the body's.
	defer p.formTokens(query)
	if r.Body == nil || r.Body == http.NoBody {
		return p, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, web.MaxBody)
	mt, err := web.MediaType(r, web.MediaJSON, web.MediaForm, web.MediaMultipart)
	if err != nil {
		return nil, err
	}
	switch mt {
	case web.MediaJSON:
		data, err := web.ReadBody(r)
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return p, nil
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var body map[string]any
		if err := dec.Decode(&body); err != nil || dec.More() {
			return nil, paramError{"message body does not match declared format"}
		}
		// What Rails parses GitLab's middleware looks at. Go's decoder
		// makes invalid text U+FFFD; Ruby's keeps it, and Rails refuses
		// it.
		if railsJSON(r) {
			p.malformed = p.malformed || !utf8.Valid(data) || jsonMalformed(map[string]any(body), -1)
			for _, n := range tokenParams {
				if v, ok := body[n]; ok {
					p.tokens[n] = v
				}
			}
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			// Grape reads a JSON body of a POST, PUT, PATCH or DELETE
			// only; a GET's is no parameter, but for the token, which
			// GitLab's authentication reads from Rails' parameters.
			return p, nil
		}
		for k, v := range body {
			p.values[k] = v
		}
	case web.MediaForm:
		data, err := web.ReadBody(r)
		if err != nil {
			return nil, err
		}
		// Rack drops one NUL ending a form body (Request#POST's fix for
		// Safari) before it reads the pairs.
		data = bytes.TrimSuffix(data, []byte{0})
		p.rackOdd(string(data), "&")
		p.malformed = p.malformed || rackMalformed(string(data), "&")
		form := rackForm(string(data))
		p.setForm(form)
		p.formTokens(form)
	case web.MediaMultipart:
		// Read whole (it is bounded) so that its shape can be looked at
		// before Go's reader reads it.
		data, err := web.ReadBody(r)
		if err != nil {
			return nil, err
		}
		contentType := r.Header.Get("Content-Type")
		same := sameBoundary(contentType)
		if !same || !plainParts(contentType, data) {
			// Rack may read this body otherwise than Go's reader: as a
			// form, where it finds no boundary or another, or its parts
			// otherwise. Whatever might name who acts to Rack is refused.
			if names := mightName(data); len(names) > 0 {
				for _, n := range names {
					p.odd[n] = true
				}
				return p, nil
			}
			if !same {
				return nil, paramError{"message body does not match declared format"}
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		if err := r.ParseMultipartForm(web.MaxBody); err != nil {
			if web.IsTooLarge(err) {
				return nil, &usher.Error{Kind: usher.KindTooLarge, Code: usher.CodeBodyTooLarge,
					Message: fmt.Sprintf("the request body is over %d bytes", web.MaxBody)}
			}
			return nil, paramError{"message body does not match declared format"}
		}
		p.setForm(r.MultipartForm.Value)
		p.formTokens(r.MultipartForm.Value)
		for k, vs := range r.MultipartForm.Value {
			p.malformed = p.malformed || !utf8.ValidString(k) ||
				slices.ContainsFunc(vs, func(v string) bool { return badText(v, bracketDepth(k)) })
		}
		for k := range r.MultipartForm.Value {
			if n := rackName(k); n != k && slices.Contains(whoParams, n) {
				p.odd[n] = true
			}
		}
		for k := range r.MultipartForm.File {
			// A file part is a hash to Rack, which names no user.
			if n := rackName(k); slices.Contains(whoParams, n) {
				p.odd[n] = true
			}
		}
	}
	return p, nil
}

// rackForm reads a form body as Rack 2.2 does: pairs split at "&" alone
// (a ";" is a value's, as in curl -d 'bio=Go;Ruby', which url.ParseQuery
// refuses), each unescaped. A pair with an escape that is none, on which
// Rack raises, is left out: the request is refused as malformed
// (rackMalformed).
func rackForm(body string) url.Values {
	form := url.Values{}
	for pair := range strings.SplitSeq(body, "&") {
		k, v, _ := strings.Cut(pair, "=")
		key, kerr := url.QueryUnescape(k)
		value, verr := url.QueryUnescape(v)
		if pair != "" && kerr == nil && verr == nil {
			form[key] = append(form[key], value)
		}
	}
	return form
}

// railsJSON reports whether Rails parses r's body as JSON, whatever the
// method: its Content-Type names JSON's own media type. A body that names
// none, which Grape reads as JSON, or a "+json" type Rails has no parser
// for, is no parameter to GitLab's authentication.
func railsJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == web.MediaJSON
}

// formTokens sets the token parameters a query or a form holds, each to
// its last value, as Rack reads them.
func (p *params) formTokens(form url.Values) {
	for _, n := range tokenParams {
		if vs := form[n]; len(vs) > 0 {
			p.tokens[n] = vs[len(vs)-1]
		}
	}
}

// rackOdd marks odd each of whoParams that a query string or a form body
// has a pair for that Rack reads as that parameter and url.ParseQuery
// reads otherwise or drops: a nested or bracketed spelling (sudo[],
// sudo[x, [sudo], sudo]), one after spaces (a form's "x=1& sudo=…"), or a
// pair url.ParseQuery refuses (a ";", a "%" that starts no escape), which
// it leaves out. Rack 2.2 splits at any of seps: a query at "&" and ";"
// (Request#GET), a form at "&" alone; Go splits at "&" and drops a pair
// holding a ";" whole, a sudo after it too ("x=1;sudo=…"). Such a
// parameter is refused: dropped, the request would run as another user
// (the administrator, the Authorization header's).
func (p *params) rackOdd(raw, seps string) {
	for pair := range strings.SplitSeq(raw, "&") {
		for part := range strings.FieldsFuncSeq(pair, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
			key, _, _ := strings.Cut(part, "=")
			if k, err := url.QueryUnescape(key); err == nil {
				key = k
			}
			n := rackName(key)
			if !slices.Contains(whoParams, n) {
				continue
			}
			if _, err := url.ParseQuery(pair); key != n || err != nil {
				p.odd[n] = true
			}
		}
	}
}

// pumaQuery is the query string Puma hands GitLab's Rack: the request
// line's query up to a raw "#", which starts a fragment.
func pumaQuery(raw string) string {
	query, _, _ := strings.Cut(raw, "#")
	return query
}

// rackBoundary is how Rack 2.2 finds a multipart body's boundary in its
// content type (Rack::Multipart::Parser's MULTIPART), the last one named.
var rackBoundary = regexp.MustCompile(`(?i)^multipart/.*boundary="?([^";,]+)"?`)

// sameBoundary reports whether Rack finds the boundary Go's reader does
// in a multipart content type: "boundary =x" and RFC 2231's "boundary*="
// are Go's and not Rack's, which then reads the body as a form.
func sameBoundary(contentType string) bool {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	m := rackBoundary.FindStringSubmatch(contentType)
	return m != nil && m[1] == params["boundary"]
}

// plainParts reports whether a multipart body is of the plain shape
// clients write (Go's multipart writer, curl, browsers, Python's requests),
// in which Go's reader and Rack 2's read the same parts under the same
// names. Rack's reader is lenient where Go's is not and the other way
// round, and each review of a reading of Rack's leniency found another
// spelling: a body of any other shape is read only if it cannot name a
// parameter that says who acts (mightName). The shape: the body starts with the first
// boundary line; every boundary is "\r\n--B" followed by "\r\n", or by
// "--" at the last, and "--B" is nowhere else (Rack ends a part at "--B"
// mid-line and at a line that strips to it; Go takes a boundary line
// padded with white space); each part's header is lines ended by "\r\n"
// up to the first empty one (a bare "\n" ends Go's header and not
// Rack's), each of the kinds plainHead allows, with one disposition.
func plainParts(contentType string, body []byte) bool {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return false
	}
	delim := []byte("--" + params["boundary"])
	if !bytes.HasPrefix(body, delim) {
		return false
	}
	rest := body[len(delim):]
	for {
		if after, ok := bytes.CutPrefix(rest, []byte("--")); ok {
			return !bytes.Contains(after, delim)
		}
		after, ok := bytes.CutPrefix(rest, []byte("\r\n"))
		if !ok {
			return false
		}
		end := bytes.Index(after, delim)
		if end < 2 || string(after[end-2:end]) != "\r\n" {
			return false
		}
		if !plainHead(after[:end-2]) {
			return false
		}
		rest = after[end+len(delim):]
	}
}

// plainHead reports whether a part (its header and body) has a plain
// header: lines ended by "\r\n", no other line break in them, up to the
// first empty line, each "Name: value" of a kind both readers read alike
// and at most once — a form-data disposition naming the part
// (plainDisposition), which it must have, a Content-Type of a media type
// and at most a charset Ruby knows (plainType), and a transfer encoding
// Go's reader leaves as it is (it decodes quoted-printable; Rack decodes
// none).
func plainHead(part []byte) bool {
	head, _, ok := bytes.Cut(part, []byte("\r\n\r\n"))
	if !ok {
		return false
	}
	seen := map[string]bool{}
	for line := range strings.SplitSeq(string(head), "\r\n") {
		name, value, _ := strings.Cut(line, ": ")
		name = strings.ToLower(name)
		if seen[name] || strings.ContainsAny(line, "\r\n") {
			return false
		}
		seen[name] = true
		switch name {
		case "content-disposition":
			ok = plainDisposition(value)
		case "content-type":
			ok = plainType.MatchString(value)
		case "content-transfer-encoding":
			ok = slices.Contains([]string{"binary", "7bit", "8bit"}, strings.ToLower(value))
		case "content-length":
			// OkHttp writes each part's length, which neither reader
			// reads.
			ok = digits(value)
		default:
			ok = false
		}
		if !ok {
			return false
		}
	}
	return seen["content-disposition"]
}

// plainType is a part's media type, alone or with a charset of UTF-8 or
// ISO-8859-1 (Jersey and Apache's clients send text/plain;charset=UTF-8),
// quoted or not — Rack strips a pair of quotes, not one: another
// parameter is Rack's to read otherwise (a file name it finds anywhere in
// the header, a charset Encoding.find refuses, US-ASCII, in which a byte
// past 127 makes the value invalid text to Rails: each fails the request).
var plainType = regexp.MustCompile(`(?i)^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+(?:\s*;\s*charset=(?:utf-8|iso-8859-1|"(?:utf-8|iso-8859-1)"))?$`)

// formData is a form-data disposition's plain shape: a name, quoted or
// a plain token (.NET writes name=sudo; no bracket, which Rack's token
// stops at and Go's mime refuses), and perhaps a quoted file name, in
// that order, the parameters' names in lower case (Go's mime reads
// "FILENAME" as the file name, Rack's params['filename'] does not, and
// the part is a value to Rack).
var formData = regexp.MustCompile(`^form-data; name=(?:"[^"]+"|[A-Za-z0-9_.-]+)(?:; filename="(?:[^"\\]|\\.)+")?$`)

// plainDisposition reports whether a form-data disposition's value names
// its part as both readers do: a name holding no quote, backslash (Rack's
// dequote drops it), ";", ":", "=" or "%", read by both as written; a
// file name, if any, not empty (an empty one is no file to Go and no part
// at all to Rack) and holding no ";" (Rack's pattern takes the last
// "; name=" before a ":", which the name, first, is before) — a quote or
// a backslash escaped, as Go's writer and curl escape them, makes the
// part a file to both all the same; neither a control character.
func plainDisposition(value string) bool {
	if !formData.MatchString(value) {
		return false
	}
	_, params, err := mime.ParseMediaType(value)
	if err != nil {
		return false
	}
	for key, v := range params {
		bad := ";"
		if key == "name" {
			bad += "\"\\:=%"
		} else if key != "filename" {
			return false
		}
		if v == "" || strings.ContainsAny(v, bad) || strings.ContainsFunc(v, unicode.IsControl) {
			return false
		}
	}
	return params["name"] != ""
}

// mightName returns those of whoParams a body could name to Rack read in
// any of its ways: the letters, in any case, in the body as it stands,
// with quotes and backslashes dropped (Rack's dequote), percent escapes
// decoded (a file name Rack unescapes, a form's key), or both.
func mightName(body []byte) []string {
	s := strings.ToLower(string(body))
	dequote := strings.NewReplacer(`"`, "", `\`, "")
	unescaped := web.UnescapeLoosely(s, false)
	readings := []string{s, dequote.Replace(s), unescaped, dequote.Replace(unescaped), web.UnescapeLoosely(dequote.Replace(s), false)}
	var names []string
	for _, n := range whoParams {
		for _, v := range readings {
			if strings.Contains(strings.ToLower(v), n) {
				names = append(names, n)
				break
			}
		}
	}
	return names
}

// rackName is the name Rack gives a parameter's key: what comes before
// its first bracket, once the brackets and spaces it starts with are left
// out (Rack 2.2's %r(\A[\[\]]*([^\[\]]+)\]*), after a form's split at
// "& *").
func rackName(key string) string {
	key = strings.TrimLeft(key, "[] ")
	if i := strings.IndexAny(key, "[]"); i >= 0 {
		key = key[:i]
	}
	return key
}

// setForm sets the parameters of a query string or a form, each to its
// last value. A bracketed key, name[] or name[key], is an array or a map
// named name to Rack, which no parameter of this API takes: it sets name to
// a value every reader refuses ("page is invalid"), rather than leave name
// absent and the request served as if it had not been sent.
func (p *params) setForm(form url.Values) {
	for k, vs := range form {
		if _, nested := web.NestedName(k); !nested {
			p.values[k] = vs[len(vs)-1]
		}
	}
	for k, vs := range form {
		if name, nested := web.NestedName(k); nested {
			p.values[name] = []any{vs[len(vs)-1]}
		}
	}
}

// fail records a parameter whose value is not of its type.
func (p *params) fail(name, problem string) {
	p.errs = append(p.errs, name+" "+problem)
}

// err returns the problems found while reading parameters, or nil.
func (p *params) err() error {
	if len(p.errs) > 0 {
		return p.errs
	}
	return nil
}

// require records each required parameter that was not given: Grape's
// "email is missing".
func (p *params) require(names ...string) {
	for _, n := range names {
		if !p.has(n) {
			p.fail(n, "is missing")
		}
	}
}

// has reports whether the parameter was given, even as null.
func (p *params) has(name string) bool {
	_, ok := p.values[name]
	return ok
}

// text returns a parameter as a string and whether it was given. Null is
// the empty string; numbers and booleans are their text, as Grape coerces
// them.
func (p *params) text(name string) (string, bool) {
	v, ok := p.values[name]
	if !ok {
		return "", false
	}
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	p.fail(name, "is invalid")
	return "", false
}

// str returns a string parameter, nil when absent.
func (p *params) str(name string) *string {
	s, ok := p.text(name)
	if !ok {
		return nil
	}
	return &s
}

// empty reports whether a parameter is given as the empty string, which
// Grape coerces to nil for every type but String: an integer or a boolean
// given so is taken as not given (page= is the first page, admin= leaves
// the flag as it is), not refused.
func empty(v any) bool {
	s, ok := v.(string)
	return ok && s == ""
}

// integer returns an integer parameter, nil when absent, null or empty.
func (p *params) integer(name string) *int {
	v, ok := p.values[name]
	if !ok || v == nil || empty(v) {
		return nil
	}
	var s string
	switch v := v.(type) {
	case string:
		s = strings.TrimSpace(v)
	case json.Number:
		s = v.String()
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		p.fail(name, "is invalid")
		return nil
	}
	return &n
}

// boolean returns a boolean parameter, nil when absent, null or empty.
// Text takes the spellings Grape accepts: true/false, 1/0, t/f, yes/no,
// y/n, on/off.
func (p *params) boolean(name string) *bool {
	v, ok := p.values[name]
	if !ok || v == nil || empty(v) {
		return nil
	}
	var s string
	switch v := v.(type) {
	case bool:
		return &v
	case string:
		s = strings.ToLower(strings.TrimSpace(v))
	case json.Number:
		s = v.String()
	}
	var b bool
	switch s {
	case "true", "1", "t", "yes", "y", "on":
		b = true
	case "false", "0", "f", "no", "n", "off":
	default:
		p.fail(name, "is invalid")
		return nil
	}
	return &b
}

// GitLab's page sizes.
const (
	defaultPerPage = 20
	maxPerPage     = 100
	// maxPage keeps a page's offset far from overflowing.
	maxPage = 1 << 31
)

// page is the page of a list a request asks for.
type page struct {
	number, size int
}

// offset is the number of rows before the page.
func (pg page) offset() int { return (pg.number - 1) * pg.size }

// keysetParams are where GitLab's keyset pagination carries its position.
var keysetParams = []string{"cursor", "id_after", "id_before"}

// pagination reads page (from 1) and per_page (default 20; more than 100 is
// 100, as GitLab caps it). pagination is offset or keyset; keyset is served
// as pages whose links lead on, and a position in keyset's own parameters,
// which the face never gives out, is refused rather than ignored, since
// ignoring it would serve the first page again.
func (p *params) pagination() page {
	pg := page{number: 1, size: defaultPerPage}
	if mode, ok := p.text("pagination"); ok {
		switch mode {
		case "offset":
		case "keyset":
			for _, name := range keysetParams {
				if p.has(name) {
					p.fail(name, "is invalid")
				}
			}
		default:
			p.fail("pagination", "does not have a valid value")
		}
	}
	if n := p.integer("page"); n != nil {
		if *n < 1 || *n > maxPage {
			p.fail("page", "does not have a valid value")
		} else {
			pg.number = *n
		}
	}
	if n := p.integer("per_page"); n != nil {
		if *n < 1 {
			p.fail("per_page", "does not have a valid value")
		} else {
			pg.size = min(*n, maxPerPage)
		}
	}
	return pg
}

// slice returns the page's part of a whole list.
func slice[T any](items []T, pg page) []T {
	start := min(pg.offset(), len(items))
	end := min(start+pg.size, len(items))
	return items[start:end]
}

// setPageHeaders writes GitLab's pagination headers for page pg of a list
// of total items: X-Total, X-Total-Pages (at least 1), X-Per-Page, X-Page,
// X-Next-Page and X-Prev-Page (empty when there is none) and a Link header
// with prev, next, first and last.
func (h *Handler) setPageHeaders(w http.ResponseWriter, r *http.Request, pg page, total int) {
	h.writePageHeaders(w, r, pg, total, false)
}

// setUncountedPageHeaders writes the headers of a page of a list too large
// to count: as GitLab does past 10,000 rows, no X-Total, X-Total-Pages or
// last link; more says whether a next page follows.
func (h *Handler) setUncountedPageHeaders(w http.ResponseWriter, r *http.Request, pg page, more bool) {
	h.writePageHeaders(w, r, pg, -1, more)
}

// writePageHeaders writes the headers setPageHeaders describes, or those
// setUncountedPageHeaders does when total is -1.
func (h *Handler) writePageHeaders(w http.ResponseWriter, r *http.Request, pg page, total int, more bool) {
	pages := max(1, (total+pg.size-1)/pg.size)
	next, prev := "", ""
	inRange := pg.number <= pages || total < 0
	if inRange && (total < 0 && more || total >= 0 && pg.number < pages) {
		next = strconv.Itoa(pg.number + 1)
	}
	if inRange && pg.number > 1 {
		prev = strconv.Itoa(pg.number - 1)
	}
	hd := w.Header()
	if total >= 0 {
		hd.Set("X-Total", strconv.Itoa(total))
		hd.Set("X-Total-Pages", strconv.Itoa(pages))
	}
	hd.Set("X-Per-Page", strconv.Itoa(pg.size))
	hd.Set("X-Page", strconv.Itoa(pg.number))
	hd.Set("X-Next-Page", next)
	hd.Set("X-Prev-Page", prev)

	q, _ := url.ParseQuery(pumaQuery(r.URL.RawQuery))
	// The token parameters are left out of the links.
	for _, name := range tokenParams {
		q.Del(name)
	}
	q.Set("per_page", strconv.Itoa(pg.size))
	base := web.BaseURL(r, h.BaseURL) + r.URL.Path + "?"
	link := func(n, rel string) string {
		q.Set("page", n)
		return "<" + base + q.Encode() + `>; rel="` + rel + `"`
	}
	var links []string
	if prev != "" {
		links = append(links, link(prev, "prev"))
	}
	if next != "" {
		links = append(links, link(next, "next"))
	}
	links = append(links, link("1", "first"))
	if total >= 0 {
		links = append(links, link(strconv.Itoa(pages), "last"))
	}
	hd.Set("Link", strings.Join(links, ", "))
}
