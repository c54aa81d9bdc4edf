package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// A setting is given, from the strongest to the weakest, by its flag, its
// USHER_* variable, its key in the configuration file, or its default.
// The settings are the root's persistent flags and serve's flags; the
// file's keys are their names. Another command's flag of the same name
// (health --addr, mail test --smtp-url, keys --jwt-ttl) takes the file's
// value too.

// The sources of a setting's value, as config print --sources names them.
const (
	sourceFlag    = "flag"
	sourceEnv     = "env"
	sourceFile    = "file"
	sourceDefault = "default"
)

// redacted stands for a secret in config print.
const redacted = "REDACTED"

// secretSettings are the settings that hold a secret, with how each is
// shown: a URL keeps all but its password, another secret shows nothing.
var secretSettings = map[string]func(string) string{
	"database":             redactSecretURL,
	"smtp-url":             redactSecretURL,
	"blob-url":             redactSecretURL,
	"github-client-secret": redactAll,
	"oidc-client-secret":   redactAll,
	"metrics-token":        redactAll,
}

// envOnly are the settings only an environment variable gives: secrets
// that belong in no file, and the credentials of libraries usher uses.
var envOnly = []struct{ name, meaning string }{
	{"USHER_SECRET_KEY", "the key that seals secrets at rest, in base64, instead of --secret-key-file"},
	{"AWS_ACCESS_KEY_ID", "access key of the S3 bucket a --blob-url s3://… names"},
	{"AWS_SECRET_ACCESS_KEY", "secret key of that bucket"},
}

// redactAll hides a secret, showing only whether it is set.
func redactAll(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// redactSecretURL hides the password of a URL, in its user part or its
// query; a URL that does not parse is hidden whole.
func redactSecretURL(s string) string {
	if !strings.Contains(s, "://") {
		return s // a file path
	}
	u, err := url.Parse(s)
	if err != nil {
		return redactAll(s)
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword", "secret", "secret_key", "token"} {
		if q.Has(k) {
			q.Set(k, redacted)
		}
	}
	u.RawQuery = q.Encode()
	s, err = url.PathUnescape(u.String())
	if err != nil {
		return redactAll(s)
	}
	return s
}

// settings returns the flags that are settings, by name: the root's
// persistent flags and serve's flags.
func settings(root *cobra.Command) map[string]*pflag.Flag {
	out := map[string]*pflag.Flag{}
	add := func(f *pflag.Flag) {
		if f.Name != "help" && f.Name != "version" {
			out[f.Name] = f
		}
	}
	root.PersistentFlags().VisitAll(add)
	for _, c := range root.Commands() {
		if c.Name() == "serve" {
			c.Flags().VisitAll(add)
		}
	}
	return out
}

// settingNames returns the settings' names, sorted.
func settingNames(root *cobra.Command) []string {
	names := []string{}
	for n := range settings(root) {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// configError is a configuration file that cannot be used. It is not a
// usage error: the command line was right.
type configError struct {
	path string
	line int
	err  error
}

func (e *configError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("config file %s, line %d: %v", e.path, e.line, e.err)
	}
	return fmt.Sprintf("config file %s: %v", e.path, e.err)
}

func (e *configError) Unwrap() error { return e.err }

// fileValue is a setting's value in the configuration file.
type fileValue struct {
	value string
	line  int
}

// loadConfig reads the configuration file at path: a YAML mapping of
// setting names to values (a list for a setting that takes several). An
// unknown key, a key given twice or a value that is not a scalar or a list
// of scalars is an error naming its line.
func loadConfig(path string, known map[string]*pflag.Flag) (map[string]fileValue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &configError{path: path, err: errors.New("no such file")}
		}
		return nil, &configError{path: path, err: err}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &configError{path: path, err: fmt.Errorf("not YAML: %w", err)}
	}
	out := map[string]fileValue{}
	if len(doc.Content) == 0 {
		return out, nil // an empty file
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, &configError{path: path, line: top.Line, err: errors.New("the file must be a mapping of setting: value")}
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		bad := func(format string, args ...any) error {
			return &configError{path: path, line: k.Line, err: fmt.Errorf(format, args...)}
		}
		name := k.Value
		if prev, ok := out[name]; ok {
			return nil, bad("%s is set twice (first on line %d)", name, prev.line)
		}
		if name == "config" {
			return nil, bad("config names the file; it cannot be set in one")
		}
		if known[name] == nil {
			if near := nearest(name, known); near != "" {
				return nil, bad("unknown setting %q; did you mean %q?", name, near)
			}
			return nil, bad("unknown setting %q (the settings are the flags of usher serve; see usher config print)", name)
		}
		var value string
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag != "!!null" {
				value = v.Value
			}
		case yaml.SequenceNode:
			var items []string
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode {
					return nil, bad("%s: a list item must be a single value", name)
				}
				items = append(items, item.Value)
			}
			value = strings.Join(items, ",")
		default:
			return nil, bad("%s takes a value or a list of values, not a mapping", name)
		}
		out[name] = fileValue{value: value, line: k.Line}
	}
	return out, nil
}

// warnReadableSecrets warns, naming the file and the settings but not
// their values, when the configuration file holds a secret and users other
// than its owner and group may read it.
func (m *Main) warnReadableSecrets(path string, file map[string]fileValue) {
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o004 == 0 {
		return
	}
	var secrets []string
	for name, fv := range file {
		if hide := secretSettings[name]; hide != nil && hide(fv.value) != fv.value {
			secrets = append(secrets, name)
		}
	}
	if len(secrets) == 0 {
		return
	}
	slices.Sort(secrets)
	_, _ = fmt.Fprintf(m.Stderr, "usher: warning: config file %s holds secrets (%s) and is readable by other users; let only usher's user read it, or give those settings as USHER_* variables\n",
		path, strings.Join(secrets, ", "))
}

// warnReadableFile warns, naming the file, when users other than its owner
// may read or write it: the secret key, or the SQLite database with its
// password and token hashes, is usher's user's alone.
func (m *Main) warnReadableFile(path, what string) {
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o077 == 0 {
		return
	}
	_, _ = fmt.Fprintf(m.Stderr, "usher: warning: %s %s may be read by users other than its owner (mode %#o); let only usher's user read it: chmod 600 %s\n",
		what, path, st.Mode().Perm(), path)
}

// applySettings sets every flag of cmd the command line left alone from its
// USHER_* variable or else from the configuration file (--config or
// USHER_CONFIG), and notes where each value came from.
func (m *Main) applySettings(cmd *cobra.Command) error {
	m.sources = map[string]string{}
	var errs []error
	path := ""
	if f := cmd.Flags().Lookup("config"); f != nil {
		if f.Changed {
			path = f.Value.String()
		} else if v := m.Getenv(envName(f.Name)); v != "" {
			path = v
			_ = f.Value.Set(v)
		}
	}
	var file map[string]fileValue
	if path != "" {
		var err error
		if file, err = loadConfig(path, settings(cmd.Root())); err != nil {
			return err
		}
		m.warnReadableSecrets(path, file)
	}
	apply := func(f *pflag.Flag) {
		if _, done := m.sources[f.Name]; done {
			return
		}
		if f.Changed {
			m.sources[f.Name] = sourceFlag
			return
		}
		if v := m.Getenv(envName(f.Name)); v != "" {
			m.sources[f.Name] = sourceEnv + " " + envName(f.Name)
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(f.Name), err))
			}
			return
		}
		if fv, ok := file[f.Name]; ok {
			m.sources[f.Name] = sourceFile
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				// A list replaces the default rather than adding to it.
				var items []string
				if fv.value != "" {
					items = strings.Split(fv.value, ",")
				}
				if err := sv.Replace(items); err != nil {
					errs = append(errs, &configError{path: path, line: fv.line, err: fmt.Errorf("%s: %w", f.Name, err)})
				}
				return
			}
			if err := f.Value.Set(fv.value); err != nil {
				errs = append(errs, &configError{path: path, line: fv.line, err: fmt.Errorf("%s: %w", f.Name, err)})
			}
			return
		}
		m.sources[f.Name] = sourceDefault
	}
	cmd.Flags().VisitAll(apply)
	cmd.InheritedFlags().VisitAll(apply)
	if len(errs) > 0 {
		// A file's error is reported alone, so that it exits 1.
		for _, err := range errs {
			if _, ok := errors.AsType[*configError](err); ok {
				return err
			}
		}
	}
	return errors.Join(errs...)
}

// nearest returns the known setting at most two edits from name, the
// likely meaning of a misspelt key, or "".
func nearest(name string, known map[string]*pflag.Flag) string {
	best, bestD := "", 3
	for k := range known {
		if d := editDistance(name, k); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
