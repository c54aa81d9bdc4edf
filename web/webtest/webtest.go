// Package webtest sends the requests of the faces' HTTP tests: it encodes
// a request body the way the tests write them and reads an answer whole.
// Each face's tests add their own credentials and checks.
package webtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Response is an answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// NewRequest returns a request to url with body v: nothing for nil, a
// string or []byte as it is, url.Values as a form, anything else as JSON.
// Content-Type is set for a form or JSON and left to the caller for text
// and bytes, which the tests send as JSON unless they say otherwise.
func NewRequest(t testing.TB, method, url string, v any) *http.Request {
	t.Helper()
	body, contentType := encode(t, v)
	r, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func encode(t testing.TB, v any) (io.Reader, string) {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return nil, ""
	case string:
		return strings.NewReader(v), "application/json"
	case []byte:
		return bytes.NewReader(v), "application/json"
	case url.Values:
		return strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(data), "application/json"
}

// Do sends r with c and reads the answer whole.
func Do(t testing.TB, c *http.Client, r *http.Request) *Response {
	t.Helper()
	res, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: data}
}
