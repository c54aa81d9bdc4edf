package pterodactyl

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"usher/web"
)

// input is a decoded JSON body as Laravel sees it after its input
// middleware: strings trimmed (passwords excepted) and empty strings turned
// into null.
type input map[string]json.RawMessage

// readInput reads a JSON body as Laravel reads one. A body sent as another
// type than JSON is a 415; one that does not parse is a 400, worded as
// Pterodactyl's IsValidJson middleware words it. An empty body, and JSON
// that is not an object, hold no fields, so that the validation names
// every required field.
func readInput(r *http.Request) (input, error) {
	data, err := web.ReadJSONBody(r)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return input{}, nil
	}
	if problem := phpUndecodable(data); problem != "" {
		// What Go's decoder takes and PHP's refuses: Go would store a
		// replacement character for each bad byte or lone surrogate.
		return nil, badRequest("BadRequestHttpException", "The JSON data passed in the request appears to be malformed: "+problem)
	}
	var in input
	if err := json.Unmarshal(data, &in); err != nil {
		if !json.Valid(data) {
			// PHP's json_decode names every syntax problem alike.
			return nil, badRequest("BadRequestHttpException",
				"The JSON data passed in the request appears to be malformed: Syntax error")
		}
		// An array or a scalar: Laravel reads no named fields in it.
		return input{}, nil
	}
	if in == nil {
		// The body was the JSON null.
		in = input{}
	}
	return in, nil
}

// phpMaxDepth is the depth the panel's IsValidJson middleware decodes
// with (json_decode's default): containers nested that deep are refused.
const phpMaxDepth = 512

// phpUndecodable returns json_last_error_msg's text for what PHP's
// json_decode refuses in data and Go's decoder takes — bytes that are not
// UTF-8, a lone UTF-16 surrogate escape, containers nested phpMaxDepth
// deep — or "" for none of them. A syntax error it leaves to the decoder.
func phpUndecodable(data []byte) string {
	if !utf8.Valid(data) {
		return "Malformed UTF-8 characters, possibly incorrectly encoded"
	}
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString && c == '\\' && i+1 < len(data) && data[i+1] == 'u':
			r, ok := hexRune(data, i+2)
			i += 5
			if !ok || !utf16.IsSurrogate(r) {
				continue
			}
			// A high surrogate must be followed by a low one.
			if r < 0xdc00 && i+6 < len(data) && data[i+1] == '\\' && data[i+2] == 'u' {
				if low, ok := hexRune(data, i+3); ok && low >= 0xdc00 && low <= 0xdfff {
					i += 6
					continue
				}
			}
			return "Single unpaired UTF-16 surrogate in unicode escape"
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == '[' || c == '{'):
			if depth++; depth >= phpMaxDepth {
				return "Maximum stack depth exceeded"
			}
		case !inString && (c == ']' || c == '}'):
			depth--
		}
	}
	return ""
}

// hexRune reads the four hex digits of a \u escape at data[at:].
func hexRune(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(data[at:at+4]), 16, 32)
	return rune(n), err == nil
}

// fieldKind is the JSON type a body field takes.
type fieldKind uint8

const (
	stringField fieldKind = iota
	boolField
)

// field describes one field of a request body: its type, whether it is
// required, whether null is a value (Laravel's "nullable"), and whether it
// is trimmed.
type field struct {
	name     string
	kind     fieldKind
	required bool
	nullable bool
	keepText bool // not trimmed: passwords are taken as typed
}

// userFields are the fields of Pterodactyl's StoreUserRequest and
// UpdateUserRequest, which share their rules.
var userFields = []field{
	{name: "email", required: true},
	{name: "username", required: true},
	{name: "first_name", required: true},
	{name: "last_name", required: true},
	{name: "external_id", nullable: true},
	{name: "password", nullable: true, keepText: true},
	{name: "language"},
	{name: "root_admin", kind: boolField},
}

// value is a decoded body field: absent, null, or a value.
type value struct {
	set  bool // present in the body
	null bool
	text string
	flag bool
}

// decode reads the fields of in by their descriptions. It refuses, as
// Laravel's validator does with one 422 naming each field, a required field
// that is absent, null or blank, and a value of the wrong JSON type. Like
// Laravel it ignores fields the endpoint does not take: billing modules
// send their own.
func decode(in input, fields []field) (map[string]value, error) {
	out := map[string]value{}
	var bad validationError
	for _, f := range fields {
		raw, ok := in[f.name]
		attr := attribute(f.name)
		v, typeOK := decodeValue(raw, ok, f)
		switch {
		case !typeOK && f.kind == boolField:
			bad = append(bad, violation{f.name, "boolean", "The " + attr + " field must be true or false."})
		case !typeOK:
			bad = append(bad, violation{f.name, "string", "The " + attr + " must be a string."})
		case f.required && (!v.set || v.null):
			bad = append(bad, violation{f.name, "required", "The " + attr + " field is required."})
		case v.null && !f.nullable && !f.required:
			// Laravel checks a present null against the field's type.
			rule, detail := "string", "The "+attr+" must be a string."
			if f.kind == boolField {
				rule, detail = "boolean", "The "+attr+" field must be true or false."
			}
			bad = append(bad, violation{f.name, rule, detail})
		default:
			out[f.name] = v
		}
	}
	if len(bad) > 0 {
		return nil, bad
	}
	return out, nil
}

// decodeValue decodes one field; ok is false for a value of the wrong type.
func decodeValue(raw json.RawMessage, present bool, f field) (v value, ok bool) {
	if !present {
		return value{}, true
	}
	v.set = true
	if string(bytes.TrimSpace(raw)) == "null" {
		v.null = true
		return v, true
	}
	switch f.kind {
	case boolField:
		// Laravel's "boolean" takes true, false, 1, 0, "1" and "0".
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			v.flag = b
			return v, true
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			// Trimmed, and then null when empty, as every string is
			// (TrimStrings, ConvertEmptyStringsToNull).
			switch s = strings.TrimSpace(s); s {
			case "":
				v.null = true
				return v, true
			case "1", "0":
				v.flag = s == "1"
				return v, true
			}
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil && (n == "1" || n == "0") {
			v.flag = n == "1"
			return v, true
		}
		return v, false
	default:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return v, false
		}
		if !f.keepText {
			s = strings.TrimSpace(s)
		}
		if s == "" {
			v.null = true
		}
		v.text = s
		return v, true
	}
}
