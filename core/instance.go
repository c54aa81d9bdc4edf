package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"usher"
	"usher/store"
)

// InstanceSettings manages the instance's settings: named JSON values that
// change how usher behaves at run time (see usher.SettingSignupEnabled and
// its neighbours) or that clients read (ui.*).
//
// Who may: administrators, and whom a rule allows instance_settings.read
// (to read) or instance_settings.manage (to change) — apart from the users'
// own settings.* rules, since instance settings may hold mail server
// credentials; there is no default for anyone else.
// Current, the subset any client may read, needs no credential.
//
// A stored setting overrides the configuration (flags and environment)
// that gives its default, from the moment its change commits on this
// process, and on every other process on the database as soon as its
// store hears of the change (see store.Store.Changes), within settingsTTL
// at the latest.
type InstanceSettings struct{ *env }

// Bounds of the instance settings.
const (
	maxInstanceSettingName  = 128
	maxInstanceSettingValue = 16 << 10 // bytes of one value
	maxInstanceSettings     = 500      // settings stored, and changed by one request
	// auditedValue is the largest value the audit log keeps whole; of a
	// larger one it keeps the size.
	auditedValue = 1 << 10
)

// settingsTTL bounds how long another replica's change of a setting can
// take to apply here; changes made through this process apply at once.
const settingsTTL = 2 * time.Second

// instanceNameRE is a setting's name: lower-case words of letters and
// digits joined by single dots, dashes and underscores.
var instanceNameRE = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

func errSettingNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeSettingNotFound, Message: "setting not set"}
}

// authorizeInstance decides whether ctx's principal may do act on the
// instance settings.
//
// Errors: Unauthenticated, Forbidden.
func (e *env) authorizeInstance(ctx context.Context, act action) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, act, nil); err != nil {
		return err
	}
	return e.decide(ctx, p, act, "", false)
}

// checkInstanceName adds to c what is wrong with a setting's name.
func checkInstanceName(c *checker, field, name string) {
	switch {
	case len(name) > maxInstanceSettingName || !instanceNameRE.MatchString(name):
		c.add(field, usher.CodeInvalidKey, "a setting's name is up to %d lower-case letters and digits, joined by . - _", maxInstanceSettingName)
	case !knownPrefix(name):
		c.add(field, usher.CodeInvalidKey, "a setting's name starts with one of %s", strings.Join(usher.InstanceSettingPrefixes, " "))
	}
}

func knownPrefix(name string) bool {
	for _, p := range usher.InstanceSettingPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// checkInstanceValue adds to c what is wrong with a value (not null) and
// returns it compacted.
func checkInstanceValue(c *checker, field, name string, v []byte) []byte {
	if len(v) > maxInstanceSettingValue {
		c.add(field, usher.CodeTooLarge, "is larger than %d bytes", maxInstanceSettingValue)
		return nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, v); err != nil || !storableJSON(compact.Bytes()) {
		c.add(field, usher.CodeInvalid, "is not JSON, or holds a NUL or half a surrogate pair")
		return nil
	}
	if out := compact.Bytes(); !usher.IsBoolSetting(name) || string(out) == "true" || string(out) == "false" {
		return out
	}
	c.add(field, usher.CodeInvalid, "must be true or false")
	return nil
}

// List returns the settings whose names start with prefix, by name.
//
// Errors: Unauthenticated, Forbidden, Invalid (a prefix filterText
// refuses).
func (s *InstanceSettings) List(ctx context.Context, prefix string) ([]*usher.InstanceSetting, error) {
	if err := s.authorizeInstance(ctx, actInstanceRead); err != nil {
		return nil, err
	}
	if err := filterText("prefix", prefix); err != nil {
		return nil, err
	}
	return s.store.InstanceSettingList(ctx, prefix)
}

// Get returns one setting.
//
// Errors: Unauthenticated, Forbidden, NotFound (the setting is not set).
func (s *InstanceSettings) Get(ctx context.Context, name string) (*usher.InstanceSetting, error) {
	if err := s.authorizeInstance(ctx, actInstanceRead); err != nil {
		return nil, err
	}
	if noSuchKey(name, maxInstanceSettingName) {
		return nil, errSettingNotFound()
	}
	st, err := s.store.InstanceSettingGet(ctx, name)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errSettingNotFound()
	}
	return st, err
}

// Set sets one setting to a JSON value and returns it; a nil or null value
// deletes it, and Set returns nil.
//
// Errors: Unauthenticated, Forbidden, Unprocessable (a bad name or value).
func (s *InstanceSettings) Set(ctx context.Context, name string, value []byte) (*usher.InstanceSetting, error) {
	out, err := s.Update(ctx, []usher.InstanceSettingValue{{Name: name, Value: value}})
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return out[0], nil
}

// Update sets many settings at once, in one transaction with an audit
// event for each change; a nil or null value deletes its setting. It
// returns the settings it set, in the order asked, without those deleted.
// A name given twice takes its last value.
//
// Errors: Unauthenticated, Forbidden, Unprocessable (a bad name or value,
// more than 500 settings in the request or stored afterwards).
func (s *InstanceSettings) Update(ctx context.Context, values []usher.InstanceSettingValue) ([]*usher.InstanceSetting, error) {
	if err := s.authorizeInstance(ctx, actInstanceManage); err != nil {
		return nil, err
	}
	if len(values) > maxInstanceSettings {
		return nil, usher.FieldErrors(usher.FieldError{Field: "values", Code: usher.CodeTooMany,
			Message: "a request changes at most " + strconv.Itoa(maxInstanceSettings) + " settings"})
	}
	var c checker
	last := map[string]int{}
	compact := make([][]byte, len(values))
	for i, v := range values {
		field := v.Name
		checkInstanceName(&c, field, v.Name)
		if v.Value != nil && string(bytes.TrimSpace(v.Value)) != "null" {
			compact[i] = checkInstanceValue(&c, field, v.Name, v.Value)
		}
		last[v.Name] = i
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var out []*usher.InstanceSetting
	var drop []string
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		drop = drop[:0]
		out, err = s.write(ctx, tx, values, compact, last, &drop)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.dropBlobs(ctx, drop)
	return out, nil
}

// write applies checked values within tx (compact holds each value
// compacted, nil to delete; last the index of each name's last value),
// records an event for each change and returns the settings set. A
// setting's file that its setting no longer refers to is deleted, its
// blobs listed in drop.
func (s *InstanceSettings) write(ctx context.Context, tx store.Tx, values []usher.InstanceSettingValue, compact [][]byte,
	last map[string]int, drop *[]string) ([]*usher.InstanceSetting, error) {
	by := usher.PrincipalFrom(ctx).UserID()
	var out []*usher.InstanceSetting
	now := s.now()
	for i, v := range values {
		if last[v.Name] != i {
			continue
		}
		old, err := tx.InstanceSettingGet(ctx, v.Name)
		if err != nil && !errors.Is(err, usher.ErrNotFound) {
			return nil, err
		}
		var oldValue []byte
		if old != nil {
			oldValue = old.Value
		}
		if compact[i] == nil {
			if old == nil {
				continue
			}
			if err := tx.InstanceSettingDelete(ctx, v.Name); err != nil {
				return nil, err
			}
		} else {
			st := &usher.InstanceSetting{Name: v.Name, Value: compact[i], UpdatedAt: now, UpdatedBy: by}
			out = append(out, st)
			if old != nil && bytes.Equal(oldValue, st.Value) {
				continue // unchanged: neither written nor audited
			}
			if err := tx.InstanceSettingPut(ctx, st); err != nil {
				return nil, err
			}
		}
		if err := dropSettingFile(ctx, tx, v.Name, oldValue, compact[i], drop); err != nil {
			return nil, err
		}
		verb := "set"
		if compact[i] == nil {
			verb = "delete"
		}
		if err := s.record(ctx, tx, now, event{action: "setting." + verb, resourceType: "setting", resourceID: v.Name,
			changes: map[string]usher.Change{"value": {Old: auditValue(oldValue), New: auditValue(compact[i])}}}); err != nil {
			return nil, err
		}
	}
	all, err := tx.InstanceSettingList(ctx, "")
	if err != nil {
		return nil, err
	}
	if len(all) > maxInstanceSettings {
		return nil, usher.FieldErrors(usher.FieldError{Field: "values", Code: usher.CodeTooMany,
			Message: "the instance has at most " + strconv.Itoa(maxInstanceSettings) + " settings"})
	}
	// Settings left unchanged are answered as they are stored.
	stored := map[string]*usher.InstanceSetting{}
	for _, st := range all {
		stored[st.Name] = st
	}
	for i, st := range out {
		if cur := stored[st.Name]; cur != nil {
			out[i] = cur
		}
	}
	return out, nil
}

// auditValue is what the audit log keeps of a value: the JSON itself when
// small, its size otherwise, nil when there is none.
func auditValue(v []byte) any {
	switch {
	case v == nil:
		return nil
	case len(v) > auditedValue:
		return len(v)
	}
	return json.RawMessage(v)
}

// Current returns the settings any client may read, signed in or not: every
// ui.* setting, and whether internal log-in, sign-up, password reset,
// external log-in and each configured provider are on as usher applies
// them (the stored setting, or else the configured default).
//
// Errors: only when the settings cannot be read.
func (s *InstanceSettings) Current(ctx context.Context) (map[string]json.RawMessage, error) {
	values, err := s.instance.get(ctx, s.env)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for name, v := range values {
		if strings.HasPrefix(name, "ui.") {
			out[name] = json.RawMessage(v)
		}
	}
	internal := boolSetting(values, usher.SettingInternalEnabled, true)
	out[usher.SettingInternalEnabled] = jsonBool(internal)
	out[usher.SettingSignupEnabled] = jsonBool(boolSetting(values, usher.SettingSignupEnabled, s.policy.SignupEnabled))
	out[usher.SettingPasswordResetEnabled] = jsonBool(internal && boolSetting(values, usher.SettingPasswordResetEnabled, true))
	external := boolSetting(values, usher.SettingExternalEnabled, true)
	out[usher.SettingExternalEnabled] = jsonBool(external)
	for name := range s.connectors {
		out[usher.SettingProviderEnabled(name)] = jsonBool(external && boolSetting(values, usher.SettingProviderEnabled(name), true))
	}
	return out, nil
}

// Switches returns each boolean setting Current reports on as its own
// value: the stored setting, or else its own default, not what another
// switch implies (with password log-in off, Current says password reset is
// off, while its own value may be on). A form that shows switches shows
// these, so that saving it unchanged changes none.
//
// Errors: only when the settings cannot be read.
func (s *InstanceSettings) Switches(ctx context.Context) (map[string]bool, error) {
	values, err := s.instance.get(ctx, s.env)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{
		usher.SettingInternalEnabled:      boolSetting(values, usher.SettingInternalEnabled, true),
		usher.SettingSignupEnabled:        boolSetting(values, usher.SettingSignupEnabled, s.policy.SignupEnabled),
		usher.SettingPasswordResetEnabled: boolSetting(values, usher.SettingPasswordResetEnabled, true),
		usher.SettingExternalEnabled:      boolSetting(values, usher.SettingExternalEnabled, true),
	}
	for name := range s.connectors {
		out[usher.SettingProviderEnabled(name)] = boolSetting(values, usher.SettingProviderEnabled(name), true)
	}
	return out, nil
}

func jsonBool(b bool) json.RawMessage { return json.RawMessage(strconv.FormatBool(b)) }

// boolSetting is the boolean setting name, or def when it is not set (or,
// written around the core, is no boolean).
func boolSetting(values map[string][]byte, name string, def bool) bool {
	switch string(values[name]) {
	case "true":
		return true
	case "false":
		return false
	}
	return def
}

// signupOpen reports whether sign-up is on: the stored setting, or else
// the policy. An internal (password) sign-up also needs internal log-in on.
//
// Errors: only when the settings cannot be read.
func (e *env) signupOpen(ctx context.Context, internal bool) (bool, error) {
	values, err := e.instance.get(ctx, e)
	if err != nil {
		return false, err
	}
	if internal && !boolSetting(values, usher.SettingInternalEnabled, true) {
		return false, nil
	}
	return boolSetting(values, usher.SettingSignupEnabled, e.policy.SignupEnabled), nil
}

// passwordLoginOpen reports whether log-in by password is on: unless
// usher.SettingInternalEnabled turns it off. External log-ins and tokens
// do not ask.
//
// Errors: only when the settings cannot be read.
func (e *env) passwordLoginOpen(ctx context.Context) (bool, error) {
	values, err := e.instance.get(ctx, e)
	if err != nil {
		return false, err
	}
	return boolSetting(values, usher.SettingInternalEnabled, true), nil
}

// resetOpen reports whether password reset is on: unless a setting turns
// it or internal log-in off.
//
// Errors: only when the settings cannot be read.
func (e *env) resetOpen(ctx context.Context) (bool, error) {
	values, err := e.instance.get(ctx, e)
	if err != nil {
		return false, err
	}
	return boolSetting(values, usher.SettingInternalEnabled, true) &&
		boolSetting(values, usher.SettingPasswordResetEnabled, true), nil
}

// settingsCache keeps every instance setting, read at once: they are few,
// and sign-up and password reset consult them. A snapshot holds the
// store's count of committed writes when its read began; once the count
// has grown, any write might have changed a setting, and the settings are
// read again. Other processes' writes count when the store hears of them;
// for those it does not, the snapshot is read again after settingsTTL
// regardless.
type settingsCache struct {
	mu      sync.Mutex
	values  map[string][]byte
	changes uint64
	expires time.Time
}

// get returns the settings by name.
func (c *settingsCache) get(ctx context.Context, e *env) (map[string][]byte, error) {
	changes, now := e.store.Changes(), time.Now()
	c.mu.Lock()
	if c.values != nil && c.changes == changes && now.Before(c.expires) {
		v := c.values
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	list, err := e.store.InstanceSettingList(ctx, "")
	if err != nil {
		return nil, err
	}
	values := make(map[string][]byte, len(list))
	for _, st := range list {
		values[st.Name] = st.Value
	}
	c.mu.Lock()
	c.values, c.changes, c.expires = values, changes, now.Add(settingsTTL)
	c.mu.Unlock()
	return values, nil
}
