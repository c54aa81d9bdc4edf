package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"usher/core"
	"usher/password"
	"usher/userfile"
)

// errSomeFailed is import's error when it ran through but some lines
// failed; they were reported one by one.
var errSomeFailed = errors.New("some lines were not imported")

func (m *Main) importCmd(cfg *config) *cobra.Command {
	var format string
	var batch int
	params := password.DefaultParams
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Create or update users from an NDJSON or CSV file (- for standard input)",
		Long: "Create or update users from an NDJSON or CSV file. A user whose external id, or else username\n" +
			"(or address, for a record without a username), exists is updated, so a second run changes\n" +
			"nothing. Passwords come as hashes (argon2id, bcrypt,\n" +
			"PBKDF2-SHA256). A line that cannot be imported is reported with its number and skipped; the exit\n" +
			"status is then non-zero. See docs/import.md for the formats.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := userfile.FormatFor(format, args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("batch") && (batch < 1 || batch > userfile.LoadBatch) {
				return fmt.Errorf("--batch must be 1 to %d", userfile.LoadBatch)
			}
			if err := params.Validate(); err != nil {
				return err
			}
			in, size, err := m.open(args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			return m.withHashing(cmd.Context(), cfg, params, func(ctx context.Context, c *core.Core) error {
				return m.importUsers(ctx, c, in, size, f, batch)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "ndjson or csv (default: from the file's extension, else ndjson)")
	cmd.Flags().IntVar(&batch, "batch", 0, fmt.Sprintf("users per transaction (default: %d, or %d into an empty database)",
		userfile.DefaultBatch, userfile.LoadBatch))
	// serve's: an argon2id hash that costs no more than the instance's own
	// is taken past the bound an import keeps to (about a second).
	cmd.Flags().Uint32Var(&params.Memory, "argon2-memory", params.Memory, "the instance's argon2id memory, KiB, as serve's")
	cmd.Flags().Uint32Var(&params.Time, "argon2-time", params.Time, "the instance's argon2id passes, as serve's")
	cmd.Flags().Uint8Var(&params.Threads, "argon2-threads", params.Threads, "the instance's argon2id threads, as serve's")
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

// importUsers reads the file and imports it batch by batch, as the
// console's import page does (userfile.Import).
func (m *Main) importUsers(ctx context.Context, c *core.Core, in io.Reader, size int64, f userfile.Format, batchSize int) error {
	start := time.Now()
	var bar *progressbar.ProgressBar
	if m.terminal() {
		bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(m.Stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("importing"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		in = io.TeeReader(in, bar)
	}
	fail := func(line int, err error) {
		if bar != nil {
			_ = bar.Clear()
		}
		fmt.Fprintf(m.Stderr, "line %d: %v\n", line, describe(err))
	}
	t, err := userfile.Import(ctx, c.Users, in, f, batchSize, fail, func(userfile.Tally) {})
	// What was imported is told, also before an import that stopped.
	if serr := m.importSummary(t, time.Since(start), bar); err == nil {
		err = serr
	}
	return err
}

// importSummary reports the import; unchanged users are those the file
// named that needed nothing.
func (m *Main) importSummary(t userfile.Tally, took time.Duration, bar *progressbar.ProgressBar) error {
	if bar != nil {
		_ = bar.Finish()
	}
	n := t.Created + t.Updated + t.Unchanged
	rate := float64(n) / took.Seconds()
	fmt.Fprintf(m.Stderr, "imported: %s in %s (%.0f users/s)\n", t, took.Round(time.Millisecond), rate)
	if t.Failed > 0 {
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
					file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
					if err != nil {
						return err
					}
					defer file.Close()
					if err := ownerOnly(file); err != nil {
						return err
					}
					out = file
				}
				n, err := userfile.Export(ctx, c.Users, out, f)
				if err != nil {
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

// ownerOnly readies file, just opened for an export, to hold password
// hashes: a regular file that was there keeps its mode through OpenFile,
// so it is made its owner's alone, as a new one is, and then emptied —
// in that order, so that one the caller may write but not change the mode
// of is refused whole rather than emptied. One another user owns is
// refused too, before anything: made 0600, it would still be theirs to
// read, and root may write and change any file (a link to it, put in a
// shared directory). A device, a FIFO or a terminal (/dev/stdout) is
// written as it is.
func ownerOnly(file *os.File) error {
	st, err := file.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return err
	}
	if ownedByAnother(st) {
		return fmt.Errorf("%s belongs to another user, who could read the password hashes the export holds; write it elsewhere", file.Name())
	}
	if err := file.Chmod(0o600); err != nil {
		return fmt.Errorf("%s: the export holds password hashes and this file would stay readable by others: %w", file.Name(), err)
	}
	return file.Truncate(0)
}
