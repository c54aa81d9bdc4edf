// Package userfile reads and writes users as files for usher import and
// usher export: NDJSON, one JSON object per line, or CSV with a header
// row. A record that cannot be read is reported with its line number and
// the reader goes on with the next.
package userfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"usher"
)

// Format is a file format.
type Format string

// The formats.
const (
	NDJSON Format = "ndjson"
	CSV    Format = "csv"
)

// FormatFor returns the format named, or else the one the file's
// extension names, or else NDJSON.
func FormatFor(named, path string) (Format, error) {
	switch strings.ToLower(named) {
	case "ndjson", "jsonl":
		return NDJSON, nil
	case "csv":
		return CSV, nil
	case "":
	default:
		return "", fmt.Errorf("unknown format %q: use ndjson or csv", named)
	}
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return CSV, nil
	}
	return NDJSON, nil
}

// record is one user in a file. The CSV columns have the JSON names.
type record struct {
	Username       string            `json:"username"`
	Email          string            `json:"email,omitempty"`
	EmailConfirmed bool              `json:"email_confirmed,omitempty"`
	Name           string            `json:"name,omitempty"`
	FirstName      string            `json:"first_name,omitempty"`
	LastName       string            `json:"last_name,omitempty"`
	DisplayName    string            `json:"display_name,omitempty"`
	PasswordHash   string            `json:"password_hash,omitempty"`
	ExternalID     string            `json:"external_id,omitempty"`
	State          string            `json:"state,omitempty"`
	Kind           string            `json:"kind,omitempty"`
	Admin          bool              `json:"admin,omitempty"`
	External       bool              `json:"external,omitempty"`
	Plan           string            `json:"plan,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	SSHKeys        []keyRecord       `json:"ssh_keys,omitempty"`
	Emails         []string          `json:"emails,omitempty"`
	// GitLab is the user's GitLab profile in NDJSON. CSV has columns for
	// the two fields of it that bound what the user may create, read into
	// CanCreateGroup and ProjectsLimit when the file names them.
	GitLab         *gitLabRecord `json:"gitlab,omitempty"`
	CanCreateGroup *bool         `json:"-"`
	ProjectsLimit  *int          `json:"-"`
}

// gitLabRecord is the GitLab profile of a user in a file.
type gitLabRecord struct {
	Skype          string `json:"skype,omitempty"`
	LinkedIn       string `json:"linkedin,omitempty"`
	Twitter        string `json:"twitter,omitempty"`
	CanCreateGroup bool   `json:"can_create_group"`
	ProjectsLimit  int    `json:"projects_limit"`
	ThemeID        int    `json:"theme_id"`
	ColorSchemeID  int    `json:"color_scheme_id"`
}

type keyRecord struct {
	Title     string     `json:"title,omitempty"`
	Key       string     `json:"key"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// expiryOption is OpenSSH's authorized_keys option for a key's expiry,
// which a CSV cell's key line carries before the key (a cell holds the
// key alone): expiry-time="20261207052556Z", in UTC.
const (
	expiryOption = `expiry-time="`
	expiryLayout = "20060102150405Z"
)

// cellKey is a key line of a CSV cell, with its expiry as an option.
func cellKey(k keyRecord) string {
	if k.ExpiresAt == nil {
		return k.Key
	}
	return expiryOption + k.ExpiresAt.UTC().Format(expiryLayout) + `" ` + k.Key
}

// parseCellKey reads a key line of a CSV cell: the key, and its expiry
// when the line begins with one.
func parseCellKey(line string) (keyRecord, error) {
	rest, ok := strings.CutPrefix(line, expiryOption)
	if !ok {
		return keyRecord{Key: line}, nil
	}
	at, key, ok := strings.Cut(rest, `"`)
	// Exactly the layout: time.Parse would take a fraction of a second too.
	t, err := time.Parse(expiryLayout, at)
	if !ok || err != nil || len(at) != len(expiryLayout) {
		return keyRecord{}, fmt.Errorf("key %q: its expiry-time is not %s", line, expiryLayout)
	}
	return keyRecord{Key: strings.TrimSpace(key), ExpiresAt: &t}, nil
}

// columns are the CSV columns, in the order Writer writes them. Lists
// (ssh_keys, emails) hold one item per line of their cell; metadata is a
// JSON object.
var columns = []string{"username", "email", "email_confirmed", "name", "first_name", "last_name", "display_name",
	"password_hash", "external_id", "state", "kind", "admin", "external", "plan", "can_create_group", "projects_limit",
	"metadata", "ssh_keys", "emails"}

// LineError is a record that could not be read.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error() }
func (e *LineError) Unwrap() error { return e.Err }

// Reader reads users from a file.
type Reader struct {
	format Format
	lines  *bufio.Reader
	line   int
	csv    *csv.Reader
	bound  *recordBound
	header []string
}

// maxLine bounds an NDJSON line, and a CSV record.
const maxLine = 1 << 20

// errRecordTooLong is recordBound's, past a record's bound.
var errRecordTooLong = fmt.Errorf("a CSV record longer than %d bytes", maxLine)

// recordBound hands encoding/csv the bytes of a record up to maxLine past
// where it began (and csv's read-ahead), then errRecordTooLong: csv holds
// a whole record, every field of it, before it can be refused, and a
// record of a million commas, a million empty fields, took 145 times its
// size in memory, any size with it.
type recordBound struct {
	r           io.Reader
	read, limit int64
}

func (b *recordBound) Read(p []byte) (int, error) {
	if b.read >= b.limit {
		return 0, errRecordTooLong
	}
	if room := b.limit - b.read; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

// csvRead reads the next CSV record within its bound.
func (r *Reader) csvRead() ([]string, error) {
	// csv reads ahead of the record it hands out, 4 KiB at a time.
	r.bound.limit = r.csv.InputOffset() + maxLine + 4<<10
	return r.csv.Read()
}

// NewReader returns a reader of r in the format; for CSV it reads the
// header, which must name only known columns, username among them.
func NewReader(r io.Reader, f Format) (*Reader, error) {
	rd := &Reader{format: f}
	if f == NDJSON {
		rd.lines = bufio.NewReaderSize(r, 64<<10)
		return rd, nil
	}
	rd.bound = &recordBound{r: r}
	rd.csv = csv.NewReader(rd.bound)
	rd.csv.FieldsPerRecord = -1
	header, err := rd.csvRead()
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(columns, h) {
			return nil, fmt.Errorf("CSV header: unknown column %q (known: %s)", h, strings.Join(columns, ", "))
		}
		if slices.Contains(header[:i], h) {
			return nil, fmt.Errorf("CSV header: column %q twice", h)
		}
		header[i] = h
	}
	if !slices.Contains(header, "username") {
		return nil, errors.New("CSV header: no username column")
	}
	rd.header = header
	rd.line, _ = rd.csv.FieldPos(len(header) - 1)
	return rd, nil
}

// Next returns the next user and the line it starts on. A record that
// cannot be read is a *LineError, after which Next goes on; the end of the
// file is io.EOF; anything else ends the reading.
func (r *Reader) Next() (usher.ImportUser, int, error) {
	if r.format == NDJSON {
		return r.nextJSON()
	}
	return r.nextCSV()
}

func (r *Reader) nextJSON() (usher.ImportUser, int, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return usher.ImportUser{}, r.line, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !utf8.Valid(line) {
			return usher.ImportUser{}, r.line, &LineError{r.line, errors.New("not valid UTF-8")}
		}
		var rec record
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return usher.ImportUser{}, r.line, &LineError{r.line, jsonProblem(err)}
		}
		if dec.More() {
			return usher.ImportUser{}, r.line, &LineError{r.line, errors.New("more than one JSON value on the line")}
		}
		u, err := rec.user()
		if err != nil {
			return usher.ImportUser{}, r.line, &LineError{r.line, err}
		}
		return u, r.line, nil
	}
}

// readLine reads one line without its end; a last line without a newline
// is a line too.
func (r *Reader) readLine() ([]byte, error) {
	var buf []byte
	for {
		part, isPrefix, err := r.lines.ReadLine()
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				return buf, nil
			}
			return nil, err
		}
		if len(buf) == 0 {
			r.line++
		}
		buf = append(buf, part...)
		if len(buf) > maxLine {
			for isPrefix {
				if _, isPrefix, err = r.lines.ReadLine(); err != nil {
					break
				}
			}
			return nil, &LineError{r.line, fmt.Errorf("longer than %d bytes", maxLine)}
		}
		if !isPrefix {
			return buf, nil
		}
	}
}

// jsonProblem says what is wrong with a line's JSON in a few words.
func jsonProblem(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("not a JSON object (cut short or malformed): %w", err)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Errorf("not a JSON object but a JSON %s", typ.Value)
	case errors.As(err, &typ):
		return fmt.Errorf("%s: must be %s", typ.Field, typ.Type)
	}
	return err
}

func (r *Reader) nextCSV() (usher.ImportUser, int, error) {
	for {
		row, err := r.csvRead()
		var perr *csv.ParseError
		switch {
		case errors.As(err, &perr):
			r.line = max(r.line, perr.Line)
			return usher.ImportUser{}, perr.StartLine, &LineError{perr.StartLine, perr.Err}
		case errors.Is(err, errRecordTooLong):
			// Where such a record ends only reading it says: the
			// file is read no further. Blank lines csv skipped may
			// stand between the last record read and this one.
			return usher.ImportUser{}, r.line + 1, fmt.Errorf("after line %d: %w; the file is not read past it", r.line, err)
		case err != nil:
			return usher.ImportUser{}, 0, err
		}
		// FieldPos is only defined after a successful Read.
		line, _ := r.csv.FieldPos(0)
		if last, _ := r.csv.FieldPos(len(row) - 1); last > r.line {
			r.line = last
		}
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		if len(row) != len(r.header) {
			return usher.ImportUser{}, line, &LineError{line, fmt.Errorf("%d columns, the header has %d", len(row), len(r.header))}
		}
		u, err := r.csvRecord(row)
		if err != nil {
			return usher.ImportUser{}, line, &LineError{line, err}
		}
		return u, line, nil
	}
}

func (r *Reader) csvRecord(row []string) (usher.ImportUser, error) {
	var rec record
	for i, v := range row {
		if !utf8.ValidString(v) {
			return usher.ImportUser{}, fmt.Errorf("%s: not valid UTF-8", r.header[i])
		}
		v = fromCell(v)
		var err error
		switch r.header[i] {
		case "username":
			rec.Username = v
		case "email":
			rec.Email = v
		case "email_confirmed":
			rec.EmailConfirmed, err = parseBool(v)
		case "name":
			rec.Name = v
		case "first_name":
			rec.FirstName = v
		case "last_name":
			rec.LastName = v
		case "display_name":
			rec.DisplayName = v
		case "password_hash":
			rec.PasswordHash = v
		case "external_id":
			rec.ExternalID = v
		case "state":
			rec.State = v
		case "kind":
			rec.Kind = v
		case "admin":
			rec.Admin, err = parseBool(v)
		case "external":
			rec.External, err = parseBool(v)
		case "plan":
			rec.Plan = v
		case "can_create_group":
			if strings.TrimSpace(v) != "" {
				var b bool
				b, err = parseBool(v)
				rec.CanCreateGroup = &b
			}
		case "projects_limit":
			if strings.TrimSpace(v) != "" {
				var n int
				n, err = strconv.Atoi(strings.TrimSpace(v))
				rec.ProjectsLimit = &n
			}
		case "metadata":
			if strings.TrimSpace(v) != "" {
				err = json.Unmarshal([]byte(v), &rec.Metadata)
			}
		case "ssh_keys":
			for _, line := range cellItems(v) {
				var k keyRecord
				if k, err = parseCellKey(line); err != nil {
					break
				}
				rec.SSHKeys = append(rec.SSHKeys, k)
			}
		case "emails":
			rec.Emails = cellItems(v)
		}
		if err != nil {
			return usher.ImportUser{}, fmt.Errorf("%s: %v", r.header[i], err)
		}
	}
	return rec.user()
}

// A spreadsheet takes a cell that starts with one of formulaStart as a
// formula (or, for a tab or a carriage return, strips them and looks
// again): a name such as =HYPERLINK("https://…?"&H2) in an export would
// run when an administrator opens it, beside every user's password hash.
// So a CSV file written here puts a quote before such a cell, as the
// spreadsheets' own "text" prefix does, and before one that starts with a
// quote already; the reader takes one quote off a cell that starts with
// one before either, so that an export imports as it was.
const formulaStart = "=+-@\t\r"

// toCell is v as a CSV cell no spreadsheet runs.
func toCell(v string) string {
	if v != "" && strings.IndexByte(formulaStart+"'", v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// fromCell is the value a CSV cell holds, undoing toCell.
func fromCell(v string) string {
	if len(v) > 1 && v[0] == '\'' && strings.IndexByte(formulaStart+"'", v[1]) >= 0 {
		return v[1:]
	}
	return v
}

// parseBool reads a CSV truth value: empty is false.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "f", "n":
		return false, nil
	case "1", "true", "yes", "t", "y":
		return true, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

// cellItems splits a list cell: one item per line.
func cellItems(v string) []string {
	var out []string
	for _, item := range strings.Split(v, "\n") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// user turns a record into an import, checking what only the file can
// say: the rest is the core's to check.
func (rec record) user() (usher.ImportUser, error) {
	// An account without a username (the native and Corteza APIs make
	// them) is named by its address.
	if strings.TrimSpace(rec.Username) == "" && strings.TrimSpace(rec.Email) == "" {
		return usher.ImportUser{}, errors.New("username: is missing, and no email names the account")
	}
	u := usher.ImportUser{UserCreate: usher.UserCreate{
		Username: rec.Username, Email: rec.Email, EmailConfirmed: rec.EmailConfirmed, Name: rec.Name,
		FirstName: rec.FirstName, LastName: rec.LastName, DisplayName: rec.DisplayName,
		PasswordHash: rec.PasswordHash, ExternalID: rec.ExternalID, State: usher.UserState(rec.State),
		Kind: usher.UserKind(rec.Kind), Admin: rec.Admin, External: rec.External, Plan: rec.Plan, Metadata: rec.Metadata,
	}, Emails: rec.Emails}
	u.GitLab.CanCreateGroup, u.GitLab.ProjectsLimit = rec.CanCreateGroup, rec.ProjectsLimit
	if g := rec.GitLab; g != nil {
		u.GitLab = usher.GitLabProfileUpdate{
			Skype: &g.Skype, LinkedIn: &g.LinkedIn, Twitter: &g.Twitter, CanCreateGroup: &g.CanCreateGroup,
			ProjectsLimit: &g.ProjectsLimit, ThemeID: &g.ThemeID, ColorSchemeID: &g.ColorSchemeID,
		}
	}
	for _, k := range rec.SSHKeys {
		u.SSHKeys = append(u.SSHKeys, usher.ImportKey{Title: k.Title, Key: k.Key, ExpiresAt: k.ExpiresAt})
	}
	return u, nil
}

// Writer writes users to a file.
type Writer struct {
	format Format
	w      *bufio.Writer
	csv    *csv.Writer
	enc    *json.Encoder
}

// NewWriter returns a writer in the format; for CSV it writes the header.
func NewWriter(w io.Writer, f Format) (*Writer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	wr := &Writer{format: f, w: bw}
	if f == CSV {
		wr.csv = csv.NewWriter(bw)
		if err := wr.csv.Write(columns); err != nil {
			return nil, err
		}
		return wr, nil
	}
	wr.enc = json.NewEncoder(bw)
	wr.enc.SetEscapeHTML(false)
	return wr, nil
}

// Write writes one user.
func (w *Writer) Write(x *usher.ExportUser) error {
	u := x.User
	rec := record{
		Username: u.Username, Email: u.Email, EmailConfirmed: u.EmailConfirmedAt != nil, Name: u.Name,
		FirstName: u.FirstName, LastName: u.LastName, DisplayName: u.DisplayName, PasswordHash: x.PasswordHash,
		ExternalID: u.ExternalID, State: string(u.State), Kind: string(u.Kind), Admin: u.Admin, External: u.External,
		Plan: u.Plan, Metadata: u.Metadata,
	}
	if len(rec.Metadata) == 0 {
		rec.Metadata = nil
	}
	for _, k := range x.SSHKeys {
		rec.SSHKeys = append(rec.SSHKeys, keyRecord{Title: k.Title, Key: k.Key, ExpiresAt: k.ExpiresAt})
	}
	// Only proved addresses: a record has no place for an address's proof,
	// and an import confirms every address it adds, so an address its
	// holder never proved would come back proved.
	for _, e := range x.Emails {
		if e.ConfirmedAt != nil {
			rec.Emails = append(rec.Emails, e.Email)
		}
	}
	if w.format == NDJSON {
		g := gitLabRecord(u.GitLab)
		rec.GitLab = &g
		return w.enc.Encode(rec)
	}
	keys := make([]string, len(rec.SSHKeys))
	for i, k := range rec.SSHKeys {
		keys[i] = cellKey(k)
	}
	meta := ""
	if rec.Metadata != nil {
		b, err := json.Marshal(rec.Metadata)
		if err != nil {
			return err
		}
		meta = string(b)
	}
	row := []string{rec.Username, rec.Email, strconv.FormatBool(rec.EmailConfirmed), rec.Name, rec.FirstName,
		rec.LastName, rec.DisplayName, rec.PasswordHash, rec.ExternalID, rec.State, rec.Kind,
		strconv.FormatBool(rec.Admin), strconv.FormatBool(rec.External), rec.Plan, strconv.FormatBool(u.GitLab.CanCreateGroup),
		strconv.Itoa(u.GitLab.ProjectsLimit), meta, strings.Join(keys, "\n"), strings.Join(rec.Emails, "\n")}
	for i, v := range row {
		row[i] = toCell(v)
	}
	return w.csv.Write(row)
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	if w.csv != nil {
		w.csv.Flush()
		if err := w.csv.Error(); err != nil {
			return err
		}
	}
	return w.w.Flush()
}
