package userfile

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"usher"
)

// Users is what an import and an export need of the core's users.
type Users interface {
	Import(ctx context.Context, batch []usher.ImportUser) ([]usher.ImportResult, error)
	AnalyzeImport(ctx context.Context) error
	ImportStart(ctx context.Context) (bool, error)
	ImportFinish(ctx context.Context) error
	Export(ctx context.Context, fn func(*usher.ExportUser) error) error
}

// Tally counts what an import did.
type Tally struct {
	Created, Updated, Unchanged, Failed int
}

func (t Tally) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d failed", t.Created, t.Updated, t.Unchanged, t.Failed)
}

// The users an import writes in a transaction when its caller names no
// number. An import that loads an empty database (Users.ImportStart)
// writes larger batches: on SQLite each batch writes every page it changed
// to the log once, at its commit, and a load changes the pages of five
// unique indexes at random, so fewer, larger batches write each of them
// fewer times. A million users loaded in 75 s in batches of 10,000
// against 95–98 s in batches of 1,000. A batch that fails on one record is
// written again a record at a time, which into an empty database seldom
// happens.
const (
	DefaultBatch = 1000
	LoadBatch    = 10000
)

// loadStreams is how many batches a load writes at once. PostgreSQL's
// server works on a transaction in one process, on one core: a load of a
// million users, one batch at a time, took 75 s, of which the server's
// processes used 63 s of CPU and usher 19 s, so one core was busy and the
// other mostly idle; two batches at once took 59 s. SQLite writes one
// transaction at a time: there, the next batch is read and checked while
// one is written (76 s against 68 s).
const loadStreams = 2

// Import reads the users of in and imports them, batchSize to a
// transaction (when 0, DefaultBatch, or LoadBatch into an empty
// database), through the core: what usher import and the console's
// import page run. A line that cannot be read or imported is passed to
// fail and skipped; after each batch, progress has the tally so far. It
// returns the tally, and an error only for what stopped the import.
func Import(ctx context.Context, users Users, in io.Reader, f Format, batchSize int,
	fail func(line int, err error), progress func(Tally)) (t Tally, err error) {
	r, err := NewReader(in, f)
	if err != nil {
		return t, err
	}
	// Into a (nearly) empty database the users are loaded with the indexes
	// a load can do without set aside (Users.ImportStart). Cut short or
	// failed, the import still builds what it set aside, or the next one
	// does.
	loading, err := users.ImportStart(ctx)
	if err != nil {
		return t, err
	}
	if batchSize <= 0 {
		batchSize = DefaultBatch
		if loading {
			batchSize = LoadBatch
		}
	}
	if loading {
		defer func() {
			if !loading {
				return
			}
			if ferr := users.ImportFinish(context.WithoutCancel(ctx)); ferr != nil && err == nil {
				err = ferr
			}
		}()
	}
	// Failures are reported in the file's order: those found on reading
	// a line wait for the failures of the batch they precede or fall in,
	// which the batch's writing finds.
	type failure struct {
		line int
		err  error
	}
	var failures []failure
	report := func(fs []failure) {
		slices.SortStableFunc(fs, func(a, b failure) int { return a.line - b.line })
		for _, f := range fs {
			fail(f.line, f.err)
		}
	}
	defer func() { report(failures) }()
	// A load writes loadStreams batches at once; any other import one at a
	// time, so that of two lines that claim the same address or SSH key,
	// the earlier gets it and the later fails, as the file has them. A
	// load refuses the later line itself (firstSeen), so no batch can take
	// a key from a batch before it.
	streams := 1
	if loading {
		streams = loadStreams
	}
	// writing holds the batches sent to be written and not yet settled,
	// in the file's order, each with the failures found on reading up to
	// its last line.
	type write struct {
		lines   []int
		read    []failure
		done    chan struct{}
		results []usher.ImportResult
		err     error
	}
	var writing []*write
	// The statistics are refreshed at 1,000 users written, then each time
	// the count has doubled: about 20 times for a million.
	analyzeAt := 1000
	// settle waits for the oldest batch being written and counts and
	// reports what became of its lines.
	settle := func() error {
		w := writing[0]
		writing = writing[1:]
		<-w.done
		found := w.read
		defer func() { report(found) }()
		if w.err != nil {
			return w.err
		}
		for i, res := range w.results {
			switch res.Outcome {
			case usher.ImportFailed:
				t.Failed++
				found = append(found, failure{w.lines[i], res.Err})
			case usher.ImportCreated:
				t.Created++
			case usher.ImportUpdated:
				t.Updated++
			case usher.ImportUnchanged:
				t.Unchanged++
			}
		}
		progress(t)
		if written := t.Created + t.Updated; written >= analyzeAt {
			analyzeAt = 2 * written
			return users.AnalyzeImport(ctx)
		}
		return nil
	}
	// However the import ends, every batch sent is waited for and told
	// of: the users it wrote are in the tally.
	defer func() {
		for len(writing) > 0 {
			if serr := settle(); serr != nil && err == nil {
				err = serr
			}
		}
	}()
	// A username or external id twice in the file would make the second
	// line update the first's user: it is refused instead. So is, in a
	// load, an address twice in the file (primary or secondary): a load
	// claims the primary addresses at its end (store.LoadStart), and one
	// that is also another loaded user's secondary address would fail
	// there, for the whole load, instead of on its line. A load also
	// refuses an SSH key twice, which the database would refuse anyway, so
	// that of two batches written at once neither can take a key from a
	// line before it.
	seen := newSeenKeys()
	// Each batch of a load is written in its turn: its users take their ids
	// after those of the batch before it, as the file has them.
	var turn *usher.ImportTurn
	var batch []usher.ImportUser
	var lines []int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		w := &write{lines: lines, read: failures, done: make(chan struct{})}
		failures = nil
		bctx := ctx
		if streams > 1 {
			turn = usher.NextImportTurn(turn)
			bctx = usher.WithImportTurn(ctx, turn)
		}
		go func(batch []usher.ImportUser, turn *usher.ImportTurn) {
			defer close(w.done)
			// A batch refused before it reached the database gives its
			// turn up too.
			defer turn.Done()
			w.results, w.err = users.Import(bctx, batch)
		}(batch, turn)
		writing = append(writing, w)
		batch, lines = make([]usher.ImportUser, 0, batchSize), make([]int, 0, batchSize)
		if len(writing) < streams {
			return nil
		}
		return settle()
	}
	for {
		u, line, err := r.Next()
		var le *LineError
		switch {
		case err == io.EOF:
			if err := flush(); err != nil {
				return t, err
			}
			for len(writing) > 0 {
				if err := settle(); err != nil {
					return t, err
				}
			}
			switch {
			case loading:
				loading = false
				if err := users.ImportFinish(ctx); err != nil {
					return t, err
				}
			case t.Created+t.Updated > 0:
				if err := users.AnalyzeImport(ctx); err != nil {
					return t, err
				}
			}
			return t, nil
		case errors.As(err, &le):
			t.Failed++
			failures = append(failures, failure{le.Line, le.Err})
			continue
		case errors.Is(err, errRecordTooLong):
			// The reading ends there, what came before it imported.
			if ferr := flush(); ferr != nil {
				return t, ferr
			}
			return t, err
		case err != nil:
			return t, fmt.Errorf("line %d: %w", line, err)
		}
		if first, what := firstSeen(seen, u, line, loading); what != "" {
			t.Failed++
			failures = append(failures, failure{line, fmt.Errorf("the %s of line %d again", what, first)})
			continue
		}
		batch, lines = append(batch, u), append(lines, line)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return t, err
			}
		}
	}
}

// seenKeys holds the line on which an import met each username,
// external id and address first. A file of a million users names some
// three million. Kept as strings, they took 170 MB of the import's peak
// memory, and the garbage collector followed every one of them at each
// cycle. They are kept as 128-bit hashes instead, two maphash values under
// seeds of their own, in a map with no pointer for the collector to
// follow. Two different keys among three million share a hash with a
// probability of about 10⁻²⁶; the later line would then be refused as a
// repeat.
type seenKeys struct {
	seeds [2]maphash.Seed
	lines map[[2]uint64]int
}

func newSeenKeys() *seenKeys {
	return &seenKeys{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, lines: map[[2]uint64]int{}}
}

func (s *seenKeys) hash(key string) [2]uint64 {
	return [2]uint64{maphash.String(s.seeds[0], key), maphash.String(s.seeds[1], key)}
}

// firstSeen records u's username and external id, and when loading is
// true its addresses and SSH keys, and, when one was seen before, returns
// the line it was first seen on and what it is ("username", "external
// id", "address …", "SSH key"); what is empty when all are new.
func firstSeen(seen *seenKeys, u usher.ImportUser, line int, loading bool) (int, string) {
	var keys []string
	if u.Username != "" {
		keys = append(keys, "u:"+strings.ToLower(u.Username))
	} else if k := usher.EmailKey(u.Email); k != "" {
		// A record without a username names its account by its address,
		// in every import.
		keys = append(keys, "e:"+k)
	}
	if u.ExternalID != "" {
		keys = append(keys, "x:"+u.ExternalID)
	}
	if loading {
		// A record's own repeats are one key: found in a set, not by
		// walking the keys so far, which made a record of tens of
		// thousands of addresses (the core refuses more than 100, after
		// the reading) take seconds.
		own := make(map[string]bool, len(keys)+1+len(u.Emails)+len(u.SSHKeys))
		for _, k := range keys {
			own[k] = true
		}
		add := func(k string) {
			if !own[k] {
				own[k] = true
				keys = append(keys, k)
			}
		}
		for _, e := range append([]string{u.Email}, u.Emails...) {
			if k := usher.EmailKey(e); k != "" {
				add("e:" + k)
			}
		}
		for _, k := range u.SSHKeys {
			// The key itself, without its comment: what its fingerprint is
			// of. A key that cannot be read is the core's to refuse.
			pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.Key))
			if err != nil {
				continue
			}
			add("k:" + string(pub.Marshal()))
		}
	}
	hashes := make([][2]uint64, len(keys))
	for i, k := range keys {
		hashes[i] = seen.hash(k)
		if first, ok := seen.lines[hashes[i]]; ok {
			return first, map[byte]string{'u': "username", 'x': "external id", 'e': "address " + k[2:], 'k': "SSH key"}[k[0]]
		}
	}
	for _, h := range hashes {
		seen.lines[h] = line
	}
	return 0, ""
}

// Export writes every live user to w in the format, through the core,
// and returns how many it wrote.
func Export(ctx context.Context, users Users, w io.Writer, f Format) (int, error) {
	wr, err := NewWriter(w, f)
	if err != nil {
		return 0, err
	}
	n := 0
	if err := users.Export(ctx, func(u *usher.ExportUser) error { n++; return wr.Write(u) }); err != nil {
		return n, err
	}
	return n, wr.Flush()
}
