package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"usher"
)

// Optional is a JSON field that may be absent, null or a value; partial
// updates use it to tell "leave alone" (absent) from "clear" (null).
type Optional[T any] struct {
	Set   bool // present in the body, as a value or as null
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was present. A key given twice is
// the last one's, as encoding/json takes a plain field's: a value is not
// kept under a later null, nor an object merged into a later one.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	*o = Optional[T]{Set: true}
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// Ptr returns nil for an absent field, a pointer to the zero value for null,
// and a pointer to the value otherwise.
func (o Optional[T]) Ptr() *T {
	if !o.Set {
		return nil
	}
	v := o.Value
	return &v
}

// Invalid returns a KindInvalid error about one field of a request.
func Invalid(field, code, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	full := msg
	if field != "" {
		full = field + ": " + msg
	}
	e := &usher.Error{Kind: usher.KindInvalid, Code: code, Message: full}
	if field != "" {
		e.Fields = []usher.FieldError{{Field: field, Code: code, Message: msg}}
	}
	return e
}

// RenameFields returns err with its field problems named as the request
// names them (names maps the core's field to the request's: a face's
// "name" for the core's "username"), and its message naming the first of
// them so. Other errors are returned as they are.
func RenameFields(err error, names map[string]string) error {
	var e *usher.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = slices.Clone(e.Fields)
	for i := range out.Fields {
		if to, ok := names[out.Fields[i].Field]; ok {
			out.Fields[i].Field = to
		}
	}
	out.Message = out.Fields[0].Field + ": " + out.Fields[0].Message
	return &out
}

// ReadBody reads the whole request body, refusing one over MaxBody.
func ReadBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if IsTooLarge(err) || len(data) > MaxBody {
		return nil, &usher.Error{Kind: usher.KindTooLarge, Code: usher.CodeBodyTooLarge,
			Message: fmt.Sprintf("the request body is over %d bytes", MaxBody)}
	}
	if err != nil {
		return nil, Invalid("", usher.CodeUnreadableBody, "the request body could not be read")
	}
	return data, nil
}

// DecodeJSON decodes a JSON object body into dst, a pointer to a struct
// with json tags. It refuses a body that is not JSON, not an object, over
// MaxBody, or has a field dst does not know or a value of the wrong type;
// each error names the field.
func DecodeJSON(r *http.Request, dst any) error {
	data, err := ReadJSONBody(r)
	if err != nil {
		return err
	}
	return Unmarshal(data, dst)
}

// DecodeOptionalJSON is DecodeJSON for a request whose body may be left
// out: no body (of any type), white space or null leave dst as it is.
func DecodeOptionalJSON(r *http.Request, dst any) error {
	if r.ContentLength == 0 {
		return nil
	}
	data, err := ReadJSONBody(r)
	if err != nil {
		return err
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || string(t) == "null" {
		return nil
	}
	return Unmarshal(data, dst)
}

// ReadJSONBody reads a body that claims to be JSON, or names no type, as
// ReadBody does; a body of another type is refused as MediaType refuses it.
func ReadJSONBody(r *http.Request) ([]byte, error) {
	if _, err := MediaType(r, MediaJSON); err != nil {
		return nil, err
	}
	return ReadBody(r)
}

// The media types of the request bodies faces take.
const (
	MediaJSON      = "application/json" // and every +json type
	MediaForm      = "application/x-www-form-urlencoded"
	MediaMultipart = "multipart/form-data"
)

// MediaType returns which of accept the request's body is sent as, by its
// Content-Type; MediaJSON stands for every +json type too. A body that
// names no type, and a request without a body, whatever it names, are
// taken as accept[0]. A body of a type not in accept, or a Content-Type
// that does not parse, is a KindInvalid error with code
// unsupported_media_type, which the faces answer 415.
func MediaType(r *http.Request, accept ...string) (string, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" || r.Body == nil || r.Body == http.NoBody {
		return accept[0], nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, a := range accept {
			if mt == a || (a == MediaJSON && strings.HasSuffix(mt, "+json")) {
				return a, nil
			}
		}
	}
	return "", &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeUnsupportedMediaType,
		Message: "the body must be " + strings.Join(accept, " or ") + ", not " + sentAs(ct, mt)}
}

// sentAs names the media type a body was sent as, for a message: the
// parsed type, or the header as it came when it does not parse, cut short.
func sentAs(header, parsed string) string {
	if parsed != "" {
		return parsed
	}
	if len(header) > 64 {
		header = header[:64]
	}
	return strconv.Quote(header)
}

// Unmarshal decodes data like DecodeJSON decodes a body.
func Unmarshal(data []byte, dst any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return Invalid("", usher.CodeEmptyBody, "the request body is empty; a JSON object is expected")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Invalid("", usher.CodeMalformedJSON, "the body is not valid JSON (at byte %d)", se.Offset)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Invalid("", usher.CodeMalformedJSON, "the body is not valid JSON (it ends too soon)")
		}
		return Invalid("", usher.CodeMalformedJSON, "the body must be a JSON object")
	}
	if fields == nil {
		// null, which decodes into a map as nothing, is no object.
		return Invalid("", usher.CodeMalformedJSON, "the body must be a JSON object, not null")
	}
	known := jsonFields(reflect.TypeOf(dst))
	for name := range fields {
		if !known[name] {
			return Invalid(name, usher.CodeUnknownField, "is not a field of this request")
		}
	}
	if err := json.Unmarshal(data, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := requestField(reflect.TypeOf(dst), te.Field)
			if field == "" {
				field = "body"
			}
			return Invalid(field, usher.CodeWrongType, "must be %s, not %s", typeName(te.Type), te.Value)
		}
		return Invalid("", usher.CodeMalformedJSON, "the body could not be decoded: %v", err)
	}
	return nil
}

// requestField is a decoding error's field path as the request names it:
// Go's decoder names in the path a struct embedded in dst's type by its
// type's name ("planJSON.project_limit"), which no request holds.
func requestField(t reflect.Type, path string) string {
	if path == "" {
		return ""
	}
	var out []string
	for seg := range strings.SplitSeq(path, ".") {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			out, t = append(out, seg), nil
			continue
		}
		if f, ok := t.FieldByName(seg); ok && f.Anonymous && f.Tag.Get("json") == "" {
			t = f.Type
			continue
		}
		out, t = append(out, seg), jsonFieldType(t, seg)
	}
	return strings.Join(out, ".")
}

// jsonFieldType is the type of t's field that JSON names name, in t or a
// struct embedded in it; nil when there is none.
func jsonFieldType(t reflect.Type, name string) reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == name || tag == "" && !f.Anonymous && f.Name == name:
			return f.Type
		case tag == "" && f.Anonymous:
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if found := jsonFieldType(ft, name); found != nil {
					return found
				}
			}
		}
	}
	return nil
}

// jsonFields returns the JSON names of the fields of the struct t points to.
func jsonFields(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case name != "":
			out[name] = true
		case f.Anonymous:
			for k := range jsonFields(f.Type) {
				out[k] = true
			}
		default:
			out[f.Name] = true
		}
	}
	return out
}

// typeName says in words what JSON a Go type takes.
func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// WriteJSON writes v as JSON with the given status. The content type is
// application/json unless the caller set another.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// WriteJSONPages answers 200 with a list too long to hold whole: the text
// open, then the elements of every page next yields, comma-separated, then
// close — open ends with the array's "[", close begins with its "]". next
// returns a page and whether another follows. The first page is read
// before anything is written, so that its error is answered as any
// handler's; a later one's can only cut the answer short, which it does
// (http.ErrAbortHandler) once log has it (LogError logs nothing for a
// client that has gone).
func WriteJSONPages[T any](w http.ResponseWriter, r *http.Request, log *slog.Logger, open, close string, next func() ([]T, bool, error)) error {
	items, more, err := next()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	sep := open
	for {
		for _, v := range items {
			if _, err := io.WriteString(w, sep); err != nil {
				return nil
			}
			if err := enc.Encode(v); err != nil {
				return nil
			}
			sep = ","
		}
		if !more {
			break
		}
		if items, more, err = next(); err != nil {
			LogError(log, r, err)
			panic(http.ErrAbortHandler)
		}
	}
	if sep == open {
		io.WriteString(w, open)
	}
	io.WriteString(w, close)
	return nil
}

// EncodeJSON returns the bytes WriteJSON writes for v, for an answer whose
// headers depend on them (an entity tag that digests the representation).
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
