package usher

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind is the category of an error. The set is closed: every face maps each
// kind to one status code of its own product, in one table.
type Kind uint8

// The error kinds. KindInternal is the zero value, so an error that carries no
// kind is treated as internal.
const (
	KindInternal        Kind = iota // a fault of usher or its database; details go to the log only
	KindInvalid                     // the request is malformed: bad JSON, wrong types, unknown parameters
	KindUnauthenticated             // no credential, or one that is not valid
	KindForbidden                   // the principal may not do this
	KindNotFound                    // the resource does not exist (or may not be seen)
	KindConflict                    // the change collides with existing state: a taken name, a duplicate
	KindPrecondition                // a conditional request's precondition failed (If-Match)
	KindTooLarge                    // the request body is over its limit
	KindUnprocessable               // well-formed input that breaks a validation rule
	KindRateLimited                 // too many attempts; retry later
)

var kindNames = [...]string{
	KindInternal:        "internal",
	KindInvalid:         "invalid",
	KindUnauthenticated: "unauthenticated",
	KindForbidden:       "forbidden",
	KindNotFound:        "not_found",
	KindConflict:        "conflict",
	KindPrecondition:    "precondition_failed",
	KindTooLarge:        "too_large",
	KindUnprocessable:   "unprocessable",
	KindRateLimited:     "rate_limited",
}

// String returns the kind's snake_case name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is the error the core returns. Code is a stable snake_case identifier
// that clients may depend on; Message is safe to show to the caller; Err is the
// cause, for logs only.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Fields lists per-field problems of a KindInvalid or KindUnprocessable error.
	Fields []FieldError
	// RetryAfter is set on KindRateLimited errors.
	RetryAfter time.Duration
	Err        error
}

// FieldError is one problem with one input field.
type FieldError struct {
	Field   string // the field's name as the API spells it, e.g. "email"
	Code    string // stable snake_case, e.g. "too_long", "taken", "required"
	Message string // safe to show
}

// Error returns the code, the message, the further field problems and the
// cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	// The message names the first field problem already.
	for _, f := range e.Fields[min(1, len(e.Fields)):] {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// FieldErrors returns a KindUnprocessable error carrying the given field
// problems; its message names the first of them.
func FieldErrors(fields ...FieldError) *Error {
	msg := "validation failed"
	if len(fields) > 0 {
		msg = fields[0].Field + ": " + fields[0].Message
	}
	return &Error{Kind: KindUnprocessable, Code: CodeValidationFailed, Message: msg, Fields: fields}
}

// ErrorKind returns the kind of err, looking through wrapping. Errors that are
// not *Error are KindInternal, except the storage sentinels ErrNotFound and
// ErrExists.
func ErrorKind(err error) Kind {
	var e *Error
	switch {
	case err == nil:
		return KindInternal
	case errors.As(err, &e):
		return e.Kind
	case errors.Is(err, ErrNotFound):
		return KindNotFound
	case errors.Is(err, ErrExists):
		return KindConflict
	}
	return KindInternal
}

// AsError returns err as an *Error. An error that is not one becomes a
// KindInternal error whose message reveals nothing of the cause.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch ErrorKind(err) {
	case KindNotFound:
		return &Error{Kind: KindNotFound, Code: CodeNotFound, Message: "not found", Err: err}
	case KindConflict:
		return &Error{Kind: KindConflict, Code: CodeConflict, Message: "already exists", Err: err}
	}
	return &Error{Kind: KindInternal, Code: CodeInternal, Message: "internal error", Err: err}
}

// The storage sentinels. A store backend returns ErrNotFound when a row does
// not exist and a *UniqueError (which matches ErrExists) when a write breaks a
// uniqueness constraint. The core turns both into errors with specific codes.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// UniqueError reports which unique field a write collided on.
type UniqueError struct {
	Field string // e.g. "username", "email", "external_id"
	// Fields lists every unique field the write collided on when the store
	// could tell, in the order username, email, external_id, uuid; Field is
	// then the first of them. Nil when only Field is known.
	Fields []string
	Err    error // the driver's error
}

// Error names the field.
func (e *UniqueError) Error() string { return e.Field + " already exists" }

// Is reports whether target is ErrExists.
func (e *UniqueError) Is(target error) bool { return target == ErrExists }

// Unwrap returns the driver's error.
func (e *UniqueError) Unwrap() error { return e.Err }
