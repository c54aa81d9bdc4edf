package sqldb

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"usher"
)

// countTTL is how long a count past a page's bound is kept and given as an
// estimate of the same list's total.
const countTTL = time.Minute

// maxCounts bounds the counts kept: one per list and filter recently
// counted past its bound.
const maxCounts = 1024

// countCache keeps the full counts of lists that hold more rows than a
// page's CountUpTo, by their statement and arguments: a client paging
// through a large list counts it once a minute, not on every page.
// Concurrent pages of a list never counted wait for one count; once a
// count is kept, no page waits again: past countTTL the kept count is
// still given while one count in the background replaces it.
type countCache struct {
	mu       sync.Mutex
	kept     map[string]keptCount
	counting map[string]*counting
}

type keptCount struct {
	n  int
	at time.Time
}

// counting is a count under way; done is closed when n and err are set.
type counting struct {
	done chan struct{}
	n    int
	err  error
}

// refreshTimeout bounds a count made in the background, which no request
// waits for or can cancel.
const refreshTimeout = time.Minute

func newCountCache() *countCache {
	return &countCache{kept: map[string]keptCount{}, counting: map[string]*counting{}}
}

// count returns the count kept under key when it is younger than countTTL;
// an older one, while it has count made anew in the background (once); the
// one another caller is making; or else the one count makes, kept. A
// caller whose wait ends in the other's error counts for itself.
func (cc *countCache) count(ctx context.Context, key string, count func(context.Context) (int, error)) (int, error) {
	now := time.Now()
	cc.mu.Lock()
	if k, ok := cc.kept[key]; ok {
		if _, busy := cc.counting[key]; !busy && now.Sub(k.at) >= countTTL {
			c := &counting{done: make(chan struct{})}
			cc.counting[key] = c
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
			go func() {
				defer cancel()
				cc.finish(bg, key, c, count, time.Now())
			}()
		}
		cc.mu.Unlock()
		return k.n, nil
	}
	if c, ok := cc.counting[key]; ok {
		cc.mu.Unlock()
		select {
		case <-c.done:
			if c.err == nil {
				return c.n, nil
			}
			return count(ctx)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	c := &counting{done: make(chan struct{})}
	cc.counting[key] = c
	cc.mu.Unlock()
	cc.finish(ctx, key, c, count, now)
	return c.n, c.err
}

// finish makes the count c stands for, keeps it unless it failed, and
// tells those waiting for it.
func (cc *countCache) finish(ctx context.Context, key string, c *counting, count func(context.Context) (int, error), at time.Time) {
	c.n, c.err = count(ctx)
	cc.mu.Lock()
	delete(cc.counting, key)
	if c.err == nil {
		cc.put(key, c.n, at)
	}
	cc.mu.Unlock()
	close(c.done)
}

// get returns the count kept under key when it is younger than countTTL
// and past bound (a bound of 0 asks for an exact count: none is kept).
func (cc *countCache) get(key string, bound int) (int, bool) {
	if bound <= 0 {
		return 0, false
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	k, ok := cc.kept[key]
	if !ok || time.Since(k.at) >= countTTL || k.n <= bound {
		return 0, false
	}
	return k.n, true
}

// put keeps a count, under mu; when maxCounts are kept, it drops the stale
// ones first, and every one if none is stale.
func (cc *countCache) put(key string, n int, now time.Time) {
	if len(cc.kept) >= maxCounts {
		for k, v := range cc.kept {
			if now.Sub(v.at) >= countTTL {
				delete(cc.kept, k)
			}
		}
		if len(cc.kept) >= maxCounts {
			clear(cc.kept)
		}
	}
	cc.kept[key] = keptCount{n: n, at: now}
}

// selectFrom writes to b a list's statement without its order, cursor or
// limit: "SELECT cols FROM … WHERE …", the rows of the list.
type selectFrom func(b *Builder, cols string)

// total counts the rows of a list for a page that asked (WithTotal):
// exactly up to req.CountUpTo rows, reading no more than one past them;
// past that, a full count made within countTTL of the same statement, or a
// new one that is then kept, flagged as an estimate; in a transaction, an
// exact count. A CountUpTo of 0 counts exactly. It returns -1 when the
// page did not ask.
func (c *conn) total(ctx context.Context, name string, req usher.PageRequest, list selectFrom) (int, bool, error) {
	if !req.WithTotal {
		return -1, false, nil
	}
	full := &Builder{d: c.d}
	full.Write("SELECT count(*) FROM (")
	list(full, "1")
	full.Write(") counted")
	key := fmt.Sprintf("%s\x00%v", full.String(), full.Args())
	// A transaction counts for itself: its reads see its own writes, and
	// a count kept for every reader is none of its to give, or to make
	// anew in the background on its connection, which ends with it.
	shared := c.write != nil
	if n, ok := c.counts.get(key, req.CountUpTo); shared && ok {
		// A list counted past the bound within the minute is not
		// counted up to the bound again on each of its pages.
		return n, true, nil
	}
	var n int
	if req.CountUpTo > 0 {
		b := &Builder{d: c.d}
		b.Write("SELECT count(*) FROM (")
		list(b, "1")
		b.Write(" LIMIT " + b.Arg(req.CountUpTo+1) + ") counted")
		if err := c.q.QueryRowContext(ctx, b.String(), b.Args()...).Scan(&n); err != nil {
			return 0, false, c.fail(name+"Count", err)
		}
		if n <= req.CountUpTo {
			return n, false, nil
		}
	}
	countAll := func(ctx context.Context) (int, error) {
		var n int
		if err := c.q.QueryRowContext(ctx, full.String(), full.Args()...).Scan(&n); err != nil {
			return 0, c.fail(name+"Count", err)
		}
		return n, nil
	}
	if req.CountUpTo == 0 || !shared {
		n, err := countAll(ctx)
		return n, false, err
	}
	n, err := c.counts.count(ctx, key, countAll)
	if err != nil {
		return 0, false, err
	}
	return n, true, nil
}

// writePage ends a list's statement with the page's limit, one row more
// to learn whether another page follows (every row without a limit), and
// its offset.
func writePage(b *Builder, req usher.PageRequest) {
	writeLimit(b, req.Limit)
	if req.Offset > 0 {
		b.Write(" OFFSET " + b.Arg(req.Offset))
	}
}

// pageOf makes a page of rows read by writePage: the extra row, when there
// is one, only says that another page follows, which continues after the
// last row kept.
func pageOf[T any](rows []T, req usher.PageRequest, key func(T) usher.Cursor) *usher.Page[T] {
	p := &usher.Page[T]{Items: rows, Total: -1, Limit: req.Limit}
	if req.Limit > 0 && len(rows) > req.Limit {
		p.Items = rows[:req.Limit]
		next := key(rows[req.Limit-1])
		p.Next = &next
	}
	return p
}

// idKey is the cursor of a row of a list ordered by id.
func idKey[T any](id func(T) int64) func(T) usher.Cursor {
	return func(v T) usher.Cursor { return usher.Cursor{ID: id(v)} }
}

// sortExpr is the expression a list sorted by s orders by, past which its
// cursor's rows follow: names and handles ignoring case.
func sortExpr(s usher.Sort) string {
	switch col := s.Column(); col {
	case "name", "handle":
		return "lower(" + col + ")"
	case "created_at", "updated_at":
		return col
	}
	return "id"
}

// writeAfter adds to b, in a list sorted by s, the condition of the rows
// after the cursor (when there is one), for a statement that writeOrder
// ends. The cursor's key is the sort column's value as usher.Sort.Cursor
// writes it; a name or a handle is compared through the same expression
// as the column's, so that both engines fold it alike.
func writeAfter(b *Builder, s usher.Sort, after *usher.Cursor) error {
	if after == nil {
		return nil
	}
	op := ">"
	if s.Desc() {
		op = "<"
	}
	var key string
	switch col := s.Column(); col {
	case "id":
		b.Where("id " + op + " " + b.Arg(after.ID))
		return nil
	case "name", "handle":
		key = "lower(" + b.Arg(after.Key) + ")"
	case "created_at", "updated_at":
		us, err := strconv.ParseInt(after.Key, 10, 64)
		if err != nil {
			return fmt.Errorf("sqldb: bad %s cursor %q: %w", col, after.Key, err)
		}
		key = b.Time(time.UnixMicro(us).UTC())
	default:
		return fmt.Errorf("sqldb: unknown sort %q", s)
	}
	b.Where(fmt.Sprintf("(%s, id) %s (%s, %s)", sortExpr(s), op, key, b.Arg(after.ID)))
	return nil
}

// writeOrder writes the ORDER BY of a list sorted by s, ties by id in the
// same direction.
func writeOrder(b *Builder, s usher.Sort) {
	dir := " ASC"
	if s.Desc() {
		dir = " DESC"
	}
	if expr := sortExpr(s); expr != "id" {
		b.Write(" ORDER BY " + expr + dir + ", id" + dir)
		return
	}
	b.Write(" ORDER BY id" + dir)
}
