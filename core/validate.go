package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"usher"
)

// Limits on user fields. Each is at least what every supported product
// allows, so input valid there is valid here.
const (
	maxUsername   = 100
	maxEmail      = 254
	maxName       = 255
	maxProfile    = 255
	maxLanguage   = 35
	maxExternalID = 191
	maxMetaKeys   = 50
	maxMetaKey    = 40
	maxMetaValue  = 500
	// maxMeta and maxMetaDepth bound a user's meta object: 16 KiB written
	// compactly, 8 levels of nesting.
	maxMeta      = 16 << 10
	maxMetaDepth = 8
	// maxIdentities bounds the external identities one request links: a
	// person has an account at a few providers, not thousands.
	maxIdentities = 20
)

// A username starts with a letter, digit or underscore and goes on with
// those and . @ + -; it must hold a non-digit so that it never reads as an id.
var (
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$`)
	languageRE = regexp.MustCompile(`^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$`)
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// checker collects field problems so that one answer names them all.
type checker struct {
	errs []usher.FieldError
	// kept holds, by field, the names of what a change checks as they were
	// stored before it: listedName refuses a line separator only in a name
	// that is not one of them.
	kept map[string]string
}

// A handle starts with a letter or digit and goes on with those and _ . -.
var handleRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// handle checks the handle of a group or an organisation. Digits alone are
// not one: a path segment of digits is an id.
func (c *checker) handle(h string) {
	switch {
	case !handleRE.MatchString(h):
		c.add("handle", usher.CodeInvalid, "must be 1 to 100 letters, digits and _ . -, starting with a letter or digit")
	case strings.Trim(h, "0123456789") == "":
		c.add("handle", usher.CodeInvalid, "must not be digits alone")
	}
}

func (c *checker) add(field, code, format string, args ...any) {
	c.errs = append(c.errs, usher.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// derived drops the problems of fields derived from the sent ones where
// those have problems of their own: a name made of a first and a last
// name breaks the rule they break, and the caller, who sent the one, is
// told of it once, under the field it sent.
func (c *checker) derived(sent []string, derived ...string) {
	if !slices.ContainsFunc(c.errs, func(e usher.FieldError) bool { return slices.Contains(sent, e.Field) }) {
		return
	}
	c.errs = slices.DeleteFunc(c.errs, func(e usher.FieldError) bool { return slices.Contains(derived, e.Field) })
}

// err returns the collected problems as one KindUnprocessable error.
func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return usher.FieldErrors(c.errs...)
}

// endOfTime is the Unix time of 10000-01-01: a time a caller gives must
// come before it. RFC 3339 writes no later year, and the stores keep a
// time as microseconds since 1970 in 63 bits, which wrap round to a
// past time in the year 294247.
const endOfTime = 253402300800

// future checks a time a caller gives for something to happen, if any: in
// the future, and before the year 10000.
func (c *checker) future(field string, at *time.Time, now time.Time) {
	switch {
	case at == nil:
	case !at.After(now):
		c.add(field, usher.CodeInPast, "must be in the future")
	case at.Unix() >= endOfTime:
		c.add(field, usher.CodeOutOfRange, "must be before the year 10000")
	}
}

// text checks a free-text field: valid UTF-8, no control characters, at most
// max characters, present when required.
func (c *checker) text(field, v string, limit int, required bool) {
	switch {
	case v == "" && required:
		c.add(field, usher.CodeRequired, "is required")
	case !utf8.ValidString(v):
		c.add(field, usher.CodeInvalidUTF8, "is not valid UTF-8")
	case utf8.RuneCountInString(v) > limit:
		c.add(field, usher.CodeTooLong, "is longer than %d characters", limit)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		c.add(field, usher.CodeControlCharacter, "contains a control character")
	}
}

// name checks a name people read, as text, and refuses invisible format
// characters in it (see formatChar).
func (c *checker) name(field, v string, limit int, required bool) {
	n := len(c.errs)
	if c.text(field, v, limit, required); len(c.errs) == n && formatChar(v, true) {
		c.add(field, usher.CodeFormatCharacter, "contains an invisible formatting character, such as a bidirectional override or a zero-width space")
	}
}

// listedName checks a name that stands for an account, a group, an
// organisation or an application wherever they are listed, as a name, and
// refuses a new one a line or paragraph separator (U+2028, U+2029), which
// many renderers draw as the line break a control character would be: a
// user's display name shown as "Root" over "(administrator)". A name kept
// as it was stored (c.kept) is not refused, but for the spaces around and
// between its words (faces trim what they read, and a full name made of a
// first and a last one is joined again): one an earlier release stored
// stays with its holder until changed, as an address or a handle does,
// else a change of any other field would be refused.
func (c *checker) listedName(field, v string, limit int, required bool) {
	n := len(c.errs)
	c.name(field, v, limit, required)
	kept, ok := c.kept[field]
	if len(c.errs) == n && (!ok || !slices.Equal(words(v), words(kept))) && strings.ContainsFunc(v, lineSeparator) {
		c.add(field, usher.CodeControlCharacter, "contains a line or paragraph separator")
	}
}

// words splits v at white space other than a line or paragraph separator,
// which stays in the word it is in: a separator put where a space was
// makes other words.
func words(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return unicode.IsSpace(r) && !lineSeparator(r) })
}

// lineSeparator reports whether r is a line or paragraph separator.
func lineSeparator(r rune) bool { return unicode.In(r, unicode.Zl, unicode.Zp) }

// formatChar reports whether v holds a format character (Unicode category
// Cf): the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069, U+061C, U+200E, U+200F), the zero-width space, word joiner
// and invisible operators (U+200B, U+2060–U+2064), the byte-order mark
// (U+FEFF) and the rest. They draw nothing, yet reorder or split what is
// drawn around them, so that two names that read alike are different
// strings, or a name reads backwards. With joiners, a zero-width non-joiner
// or joiner (U+200C, U+200D) between two letters, marks or symbols is
// allowed, as Unicode's identifier rules (UTS #31) allow it in context:
// Persian, Indic scripts and emoji sequences need them there.
func formatChar(v string, joiners bool) bool {
	var prev rune
	for i, r := range v {
		if !unicode.Is(unicode.Cf, r) {
			prev = r
			continue
		}
		if !joiners || (r != '\u200c' && r != '\u200d') || !joinable(prev) {
			return true
		}
		next, size := utf8.DecodeRuneInString(v[i+utf8.RuneLen(r):])
		if size == 0 || !joinable(next) {
			return true
		}
		prev = r
	}
	return false
}

// ignorable reports whether r is one of Unicode's default-ignorable code
// points, which a reader does not see: a format character (Cf: zero-width
// spaces and joiners, a soft hyphen, bidirectional controls), a variation
// selector, or another (a combining grapheme joiner, Hangul fillers).
// It is a superset of the derived property, which leaves out a few format
// characters no address needs either.
func ignorable(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// joinable reports whether a joiner may stand next to r.
func joinable(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.S)
}

// resourceNameRE is usher.NameResource: lowercase letters, digits and
// hyphens, neither first nor last a hyphen.
var resourceNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// nameRule checks a username against a product's rule, once it has passed
// usher's own.
func (c *checker) nameRule(rule usher.NameRule, v string) {
	switch rule {
	case "":
	case usher.NameResource:
		if !resourceNameRE.MatchString(v) {
			c.add("username", usher.CodeInvalid, "must be lowercase letters, digits and hyphens, and must not start or end with a hyphen")
		}
	default:
		c.add("username", usher.CodeInvalid, "follows an unknown rule %q", rule)
	}
}

// reservedUsername reports whether v is a name no account takes now (see
// freshUsername).
func reservedUsername(v string) bool { return strings.EqualFold(v, "me") }

// freshUsername refuses a name a face's paths give another meaning, to a
// user who takes it now: Lenses' /api/v1/users/me is the caller when read,
// while its writes under the same path (/profile, /groups) reached a user
// named "me", whom no one could read by name. A user who held the name
// before keeps it.
func (c *checker) freshUsername(v string) {
	if reservedUsername(v) {
		c.add("username", usher.CodeNotAllowed, "is reserved: a path ending in /users/me names the caller")
	}
}

func (c *checker) username(v string) {
	switch {
	case v == "":
		c.add("username", usher.CodeRequired, "is required")
	case len(v) > maxUsername:
		c.add("username", usher.CodeTooLong, "is longer than %d characters", maxUsername)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		c.add("username", usher.CodeControlCharacter, "contains a control character")
	case formatChar(v, false):
		// A username is an identifier: no joiner belongs in one.
		c.add("username", usher.CodeFormatCharacter, "contains an invisible formatting character, such as a bidirectional override or a zero-width space")
	case !usernameRE.MatchString(v):
		c.add("username", usher.CodeInvalid, "may hold only letters, digits and _ . @ + - and must not start with . @ + or -")
	case strings.Trim(v, "0123456789") == "":
		c.add("username", usher.CodeInvalid, "must contain a character other than a digit")
	}
}

// email checks an e-mail address: a bare addr-spec of at most 254 bytes.
func (c *checker) email(field, v string, required bool) {
	if v == "" {
		if required {
			c.add(field, usher.CodeRequired, "is required")
		}
		return
	}
	if len(v) > maxEmail {
		c.add(field, usher.CodeTooLong, "is longer than %d characters", maxEmail)
		return
	}
	if !validEmail(v) {
		c.add(field, usher.CodeInvalid, "is not a valid e-mail address")
		return
	}
	// An invisible character makes an address that reads as another's and
	// is keyed apart from it: NFKC_Casefold drops these, EmailKey keeps
	// them, so none is taken.
	if strings.IndexFunc(v, ignorable) >= 0 {
		c.add(field, usher.CodeFormatCharacter, "contains an invisible character, such as a zero-width space, a soft hyphen or a bidirectional override")
		return
	}
	// A compatibility character (a Kelvin sign, a full-width letter) makes
	// an address that looks like another: only NFKC-normal ones are taken.
	if !norm.NFKC.IsNormalString(v) {
		c.add(field, usher.CodeNotNormalized, "has a compatibility character; write it as it normally is written")
	}
}

// storableEmail reports whether v is an address an account may hold: one
// the checker's email rules take.
func storableEmail(v string) bool {
	return checkedEmail(v) == nil
}

// MaxFilterIDs is the most ids a list of users or groups may be asked to
// keep to: each is a statement's argument, and SQLite takes at most
// 32,766 in all.
const MaxFilterIDs = 1000

// checkFilterIDs refuses a list of more ids than a filter takes.
func checkFilterIDs(ids []int64) error {
	if len(ids) > MaxFilterIDs {
		return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeTooMany, Message: "ids: names more than 1000 ids",
			Fields: []usher.FieldError{{Field: "ids", Code: usher.CodeTooMany, Message: "names more than 1000 ids"}}}
	}
	return nil
}

// checkedEmail returns the checker's objection to an address as one
// KindUnprocessable error, or nil: for an address stored before a rule
// and set or proved now.
func checkedEmail(v string) error {
	var c checker
	c.email("email", v, true)
	return c.err()
}

// validEmail reports whether v is a plain address such as a@example.com.
func validEmail(v string) bool {
	if strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return false
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v {
		return false
	}
	at := strings.LastIndexByte(v, '@')
	return at > 0 && at < len(v)-1
}

// url checks a web address: when it names a scheme, the scheme is http or
// https, so that no javascript: link reaches a page that shows it.
func (c *checker) url(field, v string) {
	if v == "" {
		return
	}
	scheme, _, ok := strings.Cut(v, ":")
	if ok && !strings.ContainsAny(scheme, "/.?#") && !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		c.add(field, usher.CodeInvalidScheme, "must be an http or https address")
	}
}

func (c *checker) language(v string) {
	if v != "" && (len(v) > maxLanguage || !languageRE.MatchString(v)) {
		c.add("language", usher.CodeInvalid, "is not a language tag such as en or pt-BR")
	}
}

func (c *checker) metadata(m map[string]string) {
	if len(m) > maxMetaKeys {
		c.add("metadata", usher.CodeTooMany, "has more than %d keys", maxMetaKeys)
		return
	}
	for k, v := range m {
		switch {
		case k == "" || len(k) > maxMetaKey || !utf8.ValidString(k) || strings.IndexFunc(k, unicode.IsControl) >= 0:
			c.add("metadata", usher.CodeInvalidKey, "keys must be 1 to %d bytes of UTF-8 without control characters", maxMetaKey)
			return
		case len(v) > maxMetaValue || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0:
			c.add("metadata", usher.CodeInvalidValue, "values must be at most %d bytes of UTF-8 without control characters", maxMetaValue)
			return
		}
	}
}

// meta checks a user's meta: a JSON object of at most maxMeta bytes,
// nested at most maxMetaDepth deep.
func (c *checker) meta(raw json.RawMessage) {
	switch {
	case len(raw) == 0:
	case !storableJSON(raw):
		c.add("meta", usher.CodeInvalid, "is not valid JSON, or holds a NUL or half a surrogate pair")
	case raw[0] != '{':
		c.add("meta", usher.CodeInvalid, "must be a JSON object")
	case len(raw) > maxMeta:
		c.add("meta", usher.CodeTooLong, "is longer than %d bytes written compactly", maxMeta)
	case jsonDepth(raw) > maxMetaDepth:
		c.add("meta", usher.CodeInvalid, "is nested more than %d levels deep", maxMetaDepth)
	}
}

// compactJSON returns raw written compactly, or raw as it is when it is
// not JSON (the checker then says so); nil for nothing, null or an empty
// object.
func compactJSON(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	if b.Len() == 0 || b.String() == "{}" || b.String() == "null" {
		return nil
	}
	return b.Bytes()
}

// jsonDepth returns how deeply valid JSON nests objects and arrays.
func jsonDepth(raw []byte) int {
	depth, most, quoted, escaped := 0, 0, false, false
	for _, b := range raw {
		switch {
		case escaped:
			escaped = false
		case quoted && b == '\\':
			escaped = true
		case b == '"':
			quoted = !quoted
		case quoted:
		case b == '{' || b == '[':
			depth++
			most = max(most, depth)
		case b == '}' || b == ']':
			depth--
		}
	}
	return most
}

func (c *checker) identity(id usher.Identity) {
	c.text("provider", id.Provider, maxProfile, true)
	c.text("extern_uid", id.ExternUID, maxProfile, true)
}

// identities checks the identities a user is created with: a few, each
// provider once.
func (c *checker) identities(ids []usher.Identity) {
	if len(ids) > maxIdentities {
		c.add("identities", usher.CodeTooMany, "links at most %d identities", maxIdentities)
		return
	}
	providers := map[string]bool{}
	for _, id := range ids {
		c.identity(id)
		if providers[id.Provider] {
			c.add("identities", usher.CodeDuplicateProvider, "name each provider once")
		}
		providers[id.Provider] = true
	}
}

// userText is one of a user's free-text fields.
type userText struct {
	field, v string
	max      int
	name     bool // a name the account is listed by (checker.listedName)
}

// userTexts lists u's free-text fields.
func userTexts(u *usher.User) []userText {
	return []userText{
		{"name", u.Name, maxName, true}, {"first_name", u.FirstName, maxName, true},
		{"last_name", u.LastName, maxName, true}, {"display_name", u.DisplayName, maxName, true},
		{"bio", u.Bio, maxProfile, false}, {"location", u.Location, maxProfile, false},
		{"skype", u.GitLab.Skype, maxProfile, false}, {"linkedin", u.GitLab.LinkedIn, maxProfile, false},
		{"twitter", u.GitLab.Twitter, maxProfile, false}, {"website_url", u.WebsiteURL, maxProfile, false},
		{"external_id", u.ExternalID, maxExternalID, false},
	}
}

// user checks every field of a user as it is about to be stored but the
// address, which its caller checks (email) where one is set: an address
// stored before a rule it breaks was added (an invisible character) stays
// with its holder until changed, as a handle does, else the account could
// not be changed at all, not even to another address. was is the user as
// stored before the change, nil for a new one: a name it held is kept (see
// listedName). A user without a username is the caller's to allow or
// refuse.
func (c *checker) user(u, was *usher.User) {
	if u.Username != "" {
		c.username(u.Username)
	}
	if was != nil {
		c.kept = map[string]string{}
		for _, f := range userTexts(was) {
			c.kept[f.field] = f.v
		}
	}
	for _, f := range userTexts(u) {
		if f.name {
			c.listedName(f.field, f.v, f.max, false)
		} else {
			c.text(f.field, f.v, f.max, false)
		}
	}
	c.url("website_url", u.WebsiteURL)
	if strings.HasPrefix(u.WebsiteURL, "/") || strings.HasPrefix(u.WebsiteURL, "\\") {
		// A path is a page of usher's, no website.
		c.add("website_url", usher.CodeInvalidScheme, "must be an http or https address")
	}
	c.language(u.Language)
	c.metadata(u.Metadata)
	c.meta(u.Meta)
	if !u.Kind.Valid() {
		c.add("kind", usher.CodeInvalid, "must be one of normal, bot, service_account")
	}
	if !u.State.Valid() {
		c.add("state", usher.CodeInvalid, "is not a known state")
	}
	c.count("projects_limit", u.GitLab.ProjectsLimit)
	c.count("theme_id", u.GitLab.ThemeID)
	c.count("color_scheme_id", u.GitLab.ColorSchemeID)
}

// count checks a number kept in a 32-bit column (PostgreSQL's integer, as
// GitLab keeps it): from 0 to math.MaxInt32.
func (c *checker) count(field string, n int) {
	switch {
	case n < 0:
		c.add(field, usher.CodeNegative, "must not be negative")
	case n > math.MaxInt32:
		c.add(field, usher.CodeOutOfRange, "must be less than or equal to %d", math.MaxInt32)
	}
}

// password checks a new password against the policy's length limits.
func (c *checker) password(p Policy, pw string) {
	switch {
	case len(pw) > p.PasswordMaxBytes:
		c.add("password", usher.CodeTooLong, "is longer than %d bytes", p.PasswordMaxBytes)
	case utf8.RuneCountInString(pw) < p.PasswordMinLength:
		c.add("password", usher.CodeTooShort, "is shorter than %d characters", p.PasswordMinLength)
	case !utf8.ValidString(pw):
		c.add("password", usher.CodeInvalidUTF8, "is not valid UTF-8")
	}
}

// invalid returns a KindInvalid error about one request parameter.
func invalid(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: field + ": " + msg,
		Fields: []usher.FieldError{{Field: field, Code: usher.CodeInvalid, Message: msg}}}
}

// storableJSON reports whether raw is JSON that every backend stores alike:
// valid, UTF-8, and with no string holding U+0000 or half of a UTF-16
// surrogate pair (PostgreSQL's jsonb refuses both, SQLite keeps them, and
// Go would turn the half pair into U+FFFD on reading). Every JSON value a
// client sends is checked by it before it is kept or written to the audit.
func storableJSON(raw []byte) bool {
	if !json.Valid(raw) || !utf8.Valid(raw) {
		return false
	}
	inString := false
	for i := 0; i < len(raw); i++ {
		switch b := raw[i]; {
		case b == '"':
			inString = !inString
		case b == '\\' && inString:
			if raw[i+1] != 'u' {
				i++ // an escaped character: \" or \\ among them
				continue
			}
			r := hexRune(raw[i+2 : i+6])
			i += 5
			switch {
			case r == 0, r >= 0xDC00 && r <= 0xDFFF:
				return false
			case r >= 0xD800 && r <= 0xDBFF:
				// A high half must be followed by a low half.
				if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
					return false
				}
				if lo := hexRune(raw[i+3 : i+7]); lo < 0xDC00 || lo > 0xDFFF {
					return false
				}
				i += 6
			}
		}
	}
	return true
}

// hexRune reads the four hex digits of a \u escape, which json.Valid has
// checked.
func hexRune(h []byte) rune {
	n, _ := strconv.ParseUint(string(h), 16, 32)
	return rune(n)
}
