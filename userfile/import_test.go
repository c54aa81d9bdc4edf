package userfile_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/userfile"
)

// batches is a userfile.Users that records the size of each batch it is
// given, and how many it was given at once at most, and creates every
// user of it but those named in refuse. While loading, a batch waits to
// be written until another is given beside it, or until it has been given
// expect users in all.
type batches struct {
	loading bool
	refuse  map[string]bool // usernames whose record fails
	expect  int

	mu      sync.Mutex
	sizes   []int
	given   int // users given so far
	writing int // batches being written now
	most    int // the most written at once
	pair    chan struct{}
}

func (b *batches) Import(_ context.Context, batch []usher.ImportUser) ([]usher.ImportResult, error) {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(batch))
	b.given += len(batch)
	b.writing++
	b.most = max(b.most, b.writing)
	if b.pair == nil {
		b.pair = make(chan struct{})
	}
	pair, wait := b.pair, b.loading && b.given < b.expect
	if b.writing > 1 {
		close(b.pair)
		b.pair = nil
	}
	b.mu.Unlock()
	if wait {
		select {
		case <-pair:
		case <-time.After(10 * time.Second):
		}
	}
	results := make([]usher.ImportResult, len(batch))
	for i, u := range batch {
		results[i] = usher.ImportResult{ID: int64(i + 1), Outcome: usher.ImportCreated}
		if b.refuse[u.Username] {
			results[i] = usher.ImportResult{Err: errors.New("refused")}
		}
	}
	b.mu.Lock()
	b.writing--
	b.mu.Unlock()
	return results, nil
}

func (b *batches) AnalyzeImport(context.Context) error                         { return nil }
func (b *batches) ImportStart(context.Context) (bool, error)                   { return b.loading, nil }
func (b *batches) ImportFinish(context.Context) error                          { return nil }
func (b *batches) Export(context.Context, func(*usher.ExportUser) error) error { return nil }

// TestImportBatchSize: with no size named, an import writes batches of
// DefaultBatch, and of LoadBatch when it loads an empty database; a size
// named is kept either way.
func TestImportBatchSize(t *testing.T) {
	t.Parallel()
	const users = 2*userfile.LoadBatch + 500
	var file strings.Builder
	for i := range users {
		fmt.Fprintf(&file, `{"username":"u%d","email":"u%d@example.com"}`+"\n", i, i)
	}
	sizes := func(size, n int) []int {
		var s []int
		for left := n; left > 0; left -= size {
			s = append(s, min(size, left))
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		loading bool
		batch   int
		want    []int
	}{
		{"default", false, 0, sizes(userfile.DefaultBatch, users)},
		{"default, loading", true, 0, sizes(userfile.LoadBatch, users)},
		{"named", false, 700, sizes(700, users)},
		{"named, loading", true, 700, sizes(700, users)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &batches{loading: tc.loading}
			fail := func(line int, err error) { t.Errorf("line %d: %v", line, err) }
			got, err := userfile.Import(context.Background(), b, strings.NewReader(file.String()), userfile.NDJSON, tc.batch, fail, func(userfile.Tally) {})
			if err != nil || got.Created != users {
				t.Fatalf("Import = %v, %v; want %d created", got, err, users)
			}
			slices.Sort(b.sizes)
			slices.Sort(tc.want)
			if !slices.Equal(b.sizes, tc.want) {
				t.Fatalf("batches of %v, want %v", b.sizes, tc.want)
			}
		})
	}
}

// TestImportStreams: a load writes two batches at once, any other import
// one; either way the lines refused on reading and on writing are
// reported in the file's order, and a load refuses an SSH key a line
// before it named.
func TestImportStreams(t *testing.T) {
	t.Parallel()
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	file := strings.Join([]string{
		`{"username":"u1"}`,
		`{"username":"u2"}`,
		`{"username":"u3","colour":"blue"}`,
		`{"username":"u4","ssh_keys":[{"key":"` + key + ` ann@laptop"}]}`,
		`{"username":"u5"}`,
		`{"username":"u6","ssh_keys":[{"key":"` + key + ` ann@desktop"}]}`,
		`{"username":"u7","email":"seven@example.com"}`,
		`{"username":"u8","emails":["Seven@example.com"]}`,
		`{"username":"u9"}`,
		`{"username":"u10","colour":"red"}`,
		`{"username":"u11"}`,
		``,
	}, "\n")
	for _, tc := range []struct {
		name    string
		loading bool
		most    int
		want    []string
	}{
		{"loading", true, 2, []string{"2: refused", "3: json: unknown field", "6: the SSH key of line 4 again",
			"8: the address seven@example.com of line 7 again", "9: refused", "10: json: unknown field"}},
		{"not loading", false, 1, []string{"2: refused", "3: json: unknown field", "9: refused", "10: json: unknown field"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &batches{loading: tc.loading, refuse: map[string]bool{"u2": true, "u9": true}, expect: 7}
			var got []string
			fail := func(line int, err error) { got = append(got, fmt.Sprintf("%d: %v", line, err)) }
			if _, err := userfile.Import(context.Background(), b, strings.NewReader(file), userfile.NDJSON, 2, fail, func(userfile.Tally) {}); err != nil {
				t.Fatal(err)
			}
			if b.most != tc.most {
				t.Errorf("%d batches written at once, want %d", b.most, tc.most)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("reported %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("report %d: %q, want it to start with %q", i+1, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestRecordOfManyAddressesReadInTime: loading an empty database, the
// reader looked for each address of a record among those before it: one
// record of 60,000 addresses (under an NDJSON line's bound; the core
// refuses more than 100, after the reading) took seconds, and a console
// upload of such records hours of a core.
func TestRecordOfManyAddressesReadInTime(t *testing.T) {
	t.Parallel()
	for _, f := range []userfile.Format{userfile.NDJSON, userfile.CSV} {
		addrs := make([]string, 60000)
		for i := range addrs {
			addrs[i] = fmt.Sprintf("a%07d@x.io", i)
		}
		file := `{"username":"x","emails":["` + strings.Join(addrs, `","`) + `"]}` + "\n"
		if f == userfile.CSV {
			file = "username,emails\nx,\"" + strings.Join(addrs, "\n") + "\"\n"
		}
		start := time.Now()
		if _, err := userfile.Import(context.Background(), &batches{loading: true, expect: 1}, strings.NewReader(file), f, 0,
			func(int, error) {}, func(userfile.Tally) {}); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s: one record of %d addresses (%d bytes) read in %v", f, len(addrs), len(file), took)
		}
	}
}

// TestTooLongRecordKeepsWhatCameBefore: a CSV record past its bound ends
// the reading; the records before it are imported, where the first
// version dropped the batch being built, and the error names the line
// after which the reading stopped, past the lines refused before it.
func TestTooLongRecordKeepsWhatCameBefore(t *testing.T) {
	t.Parallel()
	file := "username\na\nb\"q\nb\nc\n" + strings.Repeat("x", 2<<20) + "\n"
	users := &batches{}
	tally, err := userfile.Import(context.Background(), users, strings.NewReader(file), userfile.CSV, 0,
		func(int, error) {}, func(userfile.Tally) {})
	if err == nil || !strings.Contains(err.Error(), "after line 5: a CSV record longer than") {
		t.Errorf("the import's error: %v", err)
	}
	if users.given != 3 || tally.Created != 3 || tally.Failed != 1 {
		t.Errorf("%d given to the core; %s", users.given, tally)
	}
	// Straight after the header, the header's line is the last read
	// (it said "after line 0").
	_, err = userfile.Import(context.Background(), &batches{}, strings.NewReader("username\n"+strings.Repeat("x", 2<<20)), userfile.CSV, 0,
		func(int, error) {}, func(userfile.Tally) {})
	if err == nil || !strings.Contains(err.Error(), "after line 1: ") {
		t.Errorf("a long first record: %v", err)
	}
}
