package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"

	"usher"
)

// MaxCursor is the longest cursor a request may carry, in bytes. The
// cursors the faces give out are a sort, an id and a key of at most a few
// hundred bytes.
const MaxCursor = 1024

// EncodeCursor makes an opaque cursor of v: its JSON in unpadded URL-safe
// base64.
func EncodeCursor(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		// The faces encode ids and plain structs, which always marshal.
		panic("web: cursor does not marshal: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(data)
}

// errCursor is why a cursor is refused; DecodeCursor reports every cause
// alike, so that a client learns nothing about the format.
var errCursor = errors.New("not a cursor")

// DecodeCursor reads a cursor made by EncodeCursor into v, strictly: unpadded
// URL-safe base64 of exactly one JSON value of v's type, with no field v
// lacks and not null. A cursor that is not one is a KindInvalid error with
// code invalid_cursor naming the parameter name.
func DecodeCursor(name, s string, v any) error {
	if err := decodeCursor(s, v); err != nil {
		return Invalid(name, usher.CodeInvalidCursor, "is not a cursor this API gave out")
	}
	return nil
}

func decodeCursor(s string, v any) error {
	if len(s) > MaxCursor {
		return errCursor
	}
	data, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return err
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return errCursor
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errCursor
	}
	return nil
}

// DecodeIDCursor reads a cursor made by EncodeCursor of an id, which is
// positive: a list never gives out a cursor before its first row.
func DecodeIDCursor(name, s string) (int64, error) {
	var id int64
	if err := DecodeCursor(name, s, &id); err != nil {
		return 0, err
	}
	if id <= 0 {
		return 0, Invalid(name, usher.CodeInvalidCursor, "is not a cursor this API gave out")
	}
	return id, nil
}

// Cursor reads the parameter as a cursor into v and reports whether one was
// given; a cursor that does not decode is kept as the query's error.
func (q *Query) Cursor(name string, v any) bool {
	s := q.String(name)
	if s == "" {
		return false
	}
	if err := DecodeCursor(name, s, v); err != nil {
		q.fail(err)
		return false
	}
	return true
}

// IDCursor reads the parameter as a cursor of an id, 0 when absent; a
// malformed one is kept as the query's error.
func (q *Query) IDCursor(name string) int64 {
	s := q.String(name)
	if s == "" {
		return 0
	}
	id, err := DecodeIDCursor(name, s)
	if err != nil {
		q.fail(err)
	}
	return id
}
