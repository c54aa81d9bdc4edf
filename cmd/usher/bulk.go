package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"usher"
	"usher/core"
	"usher/userfile"
)

// errSomeFailed is import's error when it ran through but some lines
// failed; they were reported one by one.
var errSomeFailed = errors.New("some lines were not imported")

func (m *Main) importCmd(cfg *config) *cobra.Command {
	var format string
	var batch int
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Create or update users from an NDJSON or CSV file (- for standard input)",
		Long: "Create or update users from an NDJSON or CSV file. A user whose external id, or else username,\n" +
			"exists is updated, so a second run changes nothing. Passwords come as hashes (argon2id, bcrypt,\n" +
			"PBKDF2-SHA256). A line that cannot be imported is reported with its number and skipped; the exit\n" +
			"status is then non-zero. See docs/import.md for the formats.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := userfile.FormatFor(format, args[0])
			if err != nil {
				return err
			}
			if batch < 1 || batch > 10000 {
				return errors.New("--batch must be 1 to 10000")
			}
			in, size, err := m.open(args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			return m.withCore(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				return m.importUsers(ctx, c, in, size, f, batch)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "ndjson or csv (default: from the file's extension, else ndjson)")
	cmd.Flags().IntVar(&batch, "batch", 1000, "users per transaction")
	return cmd
}

// open opens the file to import, or standard input for "-", with its size
// when known.
func (m *Main) open(path string) (io.ReadCloser, int64, error) {
	if path == "-" {
		return io.NopCloser(m.Stdin), -1, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// tally counts what an import did.
type tally struct {
	created, updated, unchanged, failed int
}

func (t tally) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d failed", t.created, t.updated, t.unchanged, t.failed)
}

// importUsers reads the file and imports it batch by batch.
func (m *Main) importUsers(ctx context.Context, c *core.Core, in io.Reader, size int64, f userfile.Format, batchSize int) (err error) {
	start := time.Now()
	var bar *progressbar.ProgressBar
	if m.terminal() {
		bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(m.Stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("importing"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		in = io.TeeReader(in, bar)
	}
	r, err := userfile.NewReader(in, f)
	if err != nil {
		return err
	}
	loading, err := c.Users.ImportStart(ctx)
	if err != nil {
		return err
	}
	if loading {
		// Cut short or failed, the import still builds what it set aside,
		// or the next one does.
		defer func() {
			if !loading {
				return
			}
			if ferr := c.Users.ImportFinish(context.WithoutCancel(ctx)); ferr != nil && err == nil {
				err = ferr
			}
		}()
	}
	var t tally
	fail := func(line int, err error) {
		t.failed++
		if bar != nil {
			_ = bar.Clear()
		}
		fmt.Fprintf(m.Stderr, "line %d: %v\n", line, describe(err))
	}
	// A username or external id twice in the file would make the second
	// line update the first's user: it is refused instead.
	seen := map[string]int{}
	var batch []usher.ImportUser
	var lines []int
	// The statistics are refreshed at 1,000 users written, then each time
	// the count has doubled: about 20 times for a million.
	analyzeAt := 1000
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		results, err := c.Users.Import(ctx, batch)
		if err != nil {
			return err
		}
		for i, res := range results {
			switch res.Outcome {
			case usher.ImportFailed:
				fail(lines[i], res.Err)
			case usher.ImportCreated:
				t.created++
			case usher.ImportUpdated:
				t.updated++
			case usher.ImportUnchanged:
				t.unchanged++
			}
		}
		batch, lines = batch[:0], lines[:0]
		if written := t.created + t.updated; written >= analyzeAt {
			analyzeAt = 2 * written
			return c.Users.AnalyzeImport(ctx)
		}
		return nil
	}
	for {
		u, line, err := r.Next()
		var le *userfile.LineError
		switch {
		case err == io.EOF:
			if err := flush(); err != nil {
				return err
			}
			switch {
			case loading:
				loading = false
				if err := c.Users.ImportFinish(ctx); err != nil {
					return err
				}
			case t.created+t.updated > 0:
				if err := c.Users.AnalyzeImport(ctx); err != nil {
					return err
				}
			}
			return m.importSummary(t, time.Since(start), bar)
		case errors.As(err, &le):
			fail(le.Line, le.Err)
			continue
		case err != nil:
			return fmt.Errorf("line %d: %w", line, err)
		}
		if first, dup := firstSeen(seen, u, line); dup {
			fail(line, fmt.Errorf("the user of line %d again (same username or external id)", first))
			continue
		}
		batch, lines = append(batch, u), append(lines, line)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// firstSeen records u's username and external id and, when one was seen
// before, returns the line it was first seen on.
func firstSeen(seen map[string]int, u usher.ImportUser, line int) (int, bool) {
	keys := []string{"u:" + strings.ToLower(u.Username)}
	if u.ExternalID != "" {
		keys = append(keys, "x:"+u.ExternalID)
	}
	for _, k := range keys {
		if first, ok := seen[k]; ok {
			return first, true
		}
	}
	for _, k := range keys {
		seen[k] = line
	}
	return 0, false
}

// importSummary reports the import; unchanged users are those the file
// named that needed nothing.
func (m *Main) importSummary(t tally, took time.Duration, bar *progressbar.ProgressBar) error {
	if bar != nil {
		_ = bar.Finish()
	}
	n := t.created + t.updated + t.unchanged
	rate := float64(n) / took.Seconds()
	fmt.Fprintf(m.Stderr, "imported: %s in %s (%.0f users/s)\n", t, took.Round(time.Millisecond), rate)
	if t.failed > 0 {
		return errSomeFailed
	}
	return nil
}

// terminal reports whether standard error is a terminal, for the progress
// bar.
func (m *Main) terminal() bool {
	f, ok := m.Stderr.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (m *Main) exportCmd(cfg *config) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export [FILE]",
		Short: "Write every user, with password hashes, SSH keys and e-mail addresses, as NDJSON or CSV",
		Long: "Write every live user as NDJSON or CSV, to FILE or standard output, in the format usher import\n" +
			"reads back. The output holds password hashes: keep it as safe as the database.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "-"
			if len(args) == 1 {
				path = args[0]
			}
			f, err := userfile.FormatFor(format, path)
			if err != nil {
				return err
			}
			// A database that does not exist is an error, not a new empty one.
			return m.withExisting(cmd.Context(), cfg, func(ctx context.Context, c *core.Core) error {
				out := m.Stdout
				if path != "-" {
					file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
					if err != nil {
						return err
					}
					defer file.Close()
					out = file
				}
				w, err := userfile.NewWriter(out, f)
				if err != nil {
					return err
				}
				n := 0
				if err := c.Users.Export(ctx, func(u *usher.ExportUser) error { n++; return w.Write(u) }); err != nil {
					return err
				}
				if err := w.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(m.Stderr, "exported %d users\n", n)
				if file, ok := out.(*os.File); ok && path != "-" {
					return file.Close()
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "ndjson or csv (default: from the file's extension, else ndjson)")
	return cmd
}
