package core

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"usher"
	"usher/store"
)

// maxHandleTries bounds the suffixes tried for a derived handle: past them
// the user is made without a handle, which they may choose later.
const maxHandleTries = 20

// handleBase derives a handle from what a new user has: the name, else
// the username, else the local part of the address, the first that leaves
// a valid handle. Letters and digits of ASCII are kept, lower-cased, as are
// _ . and -; a run of anything else becomes one hyphen. It is "" when none
// leaves one.
func handleBase(u *usher.User) string {
	local, _, _ := strings.Cut(u.Email, "@")
	for _, from := range []string{u.Name, u.Username, local} {
		if h := handleFrom(from); h != "" {
			return h
		}
	}
	return ""
}

// handleFrom makes a valid handle of s, or "".
func handleFrom(s string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(s) {
		if b.Len() >= maxUsername-10 {
			// Room for a suffix.
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			if gap && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			gap = false
		default:
			gap = true
		}
	}
	h := strings.TrimLeft(b.String(), "_.-")
	var c checker
	if c.handle(h); len(c.errs) > 0 {
		return ""
	}
	return h
}

// freeHandle returns base, or base with the first suffix -2, -3, … that no
// live user holds, within tx; "" when base is "" or the tries run out. A
// concurrent creation may still take it first: the write then fails with
// a conflict on the handle.
func freeHandle(ctx context.Context, tx store.Tx, base string) (string, error) {
	if base == "" {
		return "", nil
	}
	for i := 1; i <= maxHandleTries; i++ {
		h := base
		if i > 1 {
			h += "-" + strconv.Itoa(i)
		}
		_, err := tx.UserGet(ctx, usher.UserKey{Handle: h})
		if errors.Is(err, usher.ErrNotFound) {
			return h, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", nil
}

// checkOrganisation refuses a user's reference to an organisation that p
// may not name (orgNamed): none with the id, a deleted one, or one a rule
// hides from p; 0 (none) is always valid.
func (e *env) checkOrganisation(ctx context.Context, tx store.Tx, p *usher.Principal, id int64) error {
	if id == 0 {
		return nil
	}
	named, err := e.orgNamed(ctx, tx, p, id)
	if err == nil && !named {
		return usher.FieldErrors(usher.FieldError{Field: "organisation_id", Code: usher.CodeUnknown, Message: "no organisation has this id"})
	}
	return err
}
