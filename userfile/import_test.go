package userfile_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"usher"
	"usher/userfile"
)

// batches is a userfile.Users that records the size of each batch it is
// given and creates every user of it.
type batches struct {
	loading bool
	sizes   []int
}

func (b *batches) Import(_ context.Context, batch []usher.ImportUser) ([]usher.ImportResult, error) {
	b.sizes = append(b.sizes, len(batch))
	results := make([]usher.ImportResult, len(batch))
	for i := range results {
		results[i] = usher.ImportResult{ID: int64(i + 1), Outcome: usher.ImportCreated}
	}
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
			if !slices.Equal(b.sizes, tc.want) {
				t.Fatalf("batches of %v, want %v", b.sizes, tc.want)
			}
		})
	}
}
