package core

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strconv"

	"usher"
	"usher/store"
)

// Settings manages users' settings: keys with JSON values.
type Settings struct{ *env }

// Limits on settings.
const (
	maxSettings     = 200
	maxSettingValue = 16 << 10
)

var settingKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

// Get returns a user's settings.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Settings) Get(ctx context.Context, key usher.UserKey) ([]usher.Setting, error) {
	u, err := s.owner(ctx, key, actSettingsRead)
	if err != nil {
		return nil, err
	}
	return s.store.SettingList(ctx, u.ID)
}

// Update changes the settings named in values and leaves the others alone;
// a nil value removes its setting. It returns every setting afterwards, as
// the caller may read them: one who may change an account's settings and
// not read them (a delegate holding settings.write alone) gets back those
// it named, which it knows — the others may hold a client's secrets.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (a bad key, a
// value that is not JSON or is over 16 KiB, more than 200 settings in the
// request or afterwards).
func (s *Settings) Update(ctx context.Context, key usher.UserKey, values map[string]json.RawMessage) ([]usher.Setting, error) {
	u, err := s.owner(ctx, key, actSettingsWrite)
	if err != nil {
		return nil, err
	}
	if len(values) > maxSettings {
		return nil, usher.FieldErrors(usher.FieldError{Field: "settings", Code: usher.CodeTooMany,
			Message: "a request changes at most " + strconv.Itoa(maxSettings) + " settings"})
	}
	var c checker
	for k, v := range values {
		switch {
		case !settingKeyRE.MatchString(k):
			c.add(k, usher.CodeInvalidKey, "setting keys are 1 to 100 letters, digits and _ . : -")
		case v != nil && len(v) > maxSettingValue:
			c.add(k, usher.CodeTooLong, "is over %d bytes", maxSettingValue)
		case v != nil && !storableJSON(v):
			c.add(k, usher.CodeInvalid, "is not JSON, or holds a NUL or half a surrogate pair")
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var out []usher.Setting
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		now := s.now()
		held, err := tx.SettingList(ctx, u.ID)
		if err != nil {
			return err
		}
		had := make(map[string][]byte, len(held))
		for _, st := range held {
			had[st.Key] = st.Value
		}
		// As the instance's settings are audited (auditValue): a value
		// left as it was is no change, and a large one is kept by its
		// size, else a loop of one user's writes filled the log.
		changes := map[string]usher.Change{}
		for k, v := range values {
			old, ok := had[k]
			if v == nil || string(v) == "null" {
				if !ok {
					continue
				}
				if err := tx.SettingDelete(ctx, u.ID, k); err != nil {
					return err
				}
				changes[k] = usher.Change{Old: auditValue(old), New: nil}
				continue
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, v); err != nil {
				return err
			}
			if ok && sameJSON(old, compact.Bytes()) {
				continue
			}
			if err := tx.SettingPut(ctx, u.ID, usher.Setting{Key: k, Value: compact.Bytes(), UpdatedAt: now}); err != nil {
				return err
			}
			changes[k] = usher.Change{Old: auditValue(old), New: auditValue(compact.Bytes())}
		}
		if out, err = tx.SettingList(ctx, u.ID); err != nil {
			return err
		}
		if len(out) > maxSettings {
			return usher.FieldErrors(usher.FieldError{Field: "settings", Code: usher.CodeTooMany, Message: "a user has at most " + strconv.Itoa(maxSettings) + " settings"})
		}
		if len(changes) == 0 {
			return nil
		}
		return s.record(ctx, tx, now, event{action: "settings.update", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10), changes: changes})
	})
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, actSettingsRead, u); usher.ErrorKind(err) == usher.KindForbidden {
		out = slices.DeleteFunc(out, func(st usher.Setting) bool {
			_, named := values[st.Key]
			return !named
		})
	} else if err != nil {
		return nil, err
	}
	return out, nil
}

// sameJSON reports whether two JSON texts hold one value: PostgreSQL keeps
// a setting as jsonb, which spaces and orders an object's keys its own way.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
