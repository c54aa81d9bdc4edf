package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// channel is the LISTEN/NOTIFY channel on which every usher process on a
// database says that it has committed a write. A notification's payload is
// only the name of the schema written to: it says "something changed
// there", and every cache drops.
const channel = "usher_changes"

// Bounds of the wait between attempts to connect the listening session.
const (
	reconnectMin = 100 * time.Millisecond
	reconnectMax = 5 * time.Second
)

// notifyTimeout bounds one NOTIFY, and the last one sent at Close.
const notifyTimeout = 5 * time.Second

// signal tells the other usher processes on the database of this process's
// writes, and this process of theirs, over one session of its own that
// LISTENs on channel and sends the NOTIFYs.
//
// Writes are told after they commit, and coalesced: while one NOTIFY is
// under way, any number of further writes make one more. So a process that
// commits a thousand writes a second sends at most one NOTIFY per round
// trip, and no transaction pays for one: a NOTIFY in the writing
// transaction would cost a statement each, and PostgreSQL serialises the
// commits of transactions that notify.
//
// Each notification heard from another session on the same schema, and
// each reconnection of the listening session, counts as a change
// (sqldb.DB.ChangedElsewhere): what was written while it was not
// listening is not known, so everything is taken to have changed. The caches' time limits remain the safety net
// for what is not heard at all (the session down, a notification lost).
type signal struct {
	url   string
	heard func() // counts a change another process made
	// kick holds one pending "this process wrote"; more coalesce into it.
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func newSignal(url string) *signal {
	return &signal{url: url, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// wrote records that this process committed a write, without waiting.
func (s *signal) wrote() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// start connects the session, once before it returns, so that a store
// that opens without error hears of other processes' writes from then on;
// when that fails (the database is a standby, which takes no LISTEN) it
// keeps trying in the background. The session runs until stop; heard
// counts another process's change.
func (s *signal) start(ctx context.Context, heard func()) {
	conn, _ := s.connect(ctx)
	run, cancel := context.WithCancel(context.Background())
	s.heard, s.cancel = heard, cancel
	go s.run(run, conn)
}

// stop ends the session, after sending the NOTIFY of writes not yet told
// if the session is up. It may be called more than once, and before start.
func (s *signal) stop() {
	s.once.Do(func() {
		if s.cancel == nil {
			return
		}
		s.cancel()
		<-s.done
	})
}

// run serves conn, if it is not nil, then connects again and serves until
// ctx ends. Each connection after the first counts as a change.
func (s *signal) run(ctx context.Context, conn *session) {
	defer close(s.done)
	wait := reconnectMin
	for {
		if conn != nil {
			_ = s.serve(ctx, conn)
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(closeCtx)
			cancel()
			conn = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		var err error
		if conn, err = s.connect(ctx); err != nil {
			wait = min(2*wait, reconnectMax)
			continue
		}
		wait = reconnectMin
		s.heard()
	}
}

// session is the connection of the signal, and the schema it serves.
type session struct {
	*pgx.Conn
	// scope is the payload of the notifications of the database's usher
	// processes that use the same schema: its name. Those of other schemas
	// (another usher on the same database) are not counted.
	scope string
}

// connect opens the session, finds its schema and listens on channel.
func (s *signal) connect(ctx context.Context) (*session, error) {
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect the listening session: %w", err)
	}
	var scope *string
	err = conn.QueryRow(ctx, "SELECT current_schema()").Scan(&scope)
	if err == nil {
		_, err = conn.Exec(ctx, "LISTEN "+channel)
	}
	if err != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	sess := &session{Conn: conn}
	if scope != nil {
		sess.scope = *scope
	}
	return sess, nil
}

// serve sends a NOTIFY for each coalesced kick and counts each notification
// another session sends, until ctx ends (then it sends the last kick's
// NOTIFY) or the session fails. A kick the failed session could not tell
// is left pending for the next one.
func (s *signal) serve(ctx context.Context, conn *session) error {
	for {
		kicked, err := s.wait(ctx, conn)
		closing := ctx.Err() != nil
		if err != nil && !closing {
			if kicked {
				s.wrote()
			}
			return err
		}
		if kicked {
			// The writes already made are still told when stop comes
			// meanwhile: a NOTIFY under way is not cut short by it (it has
			// notifyTimeout), and a kick that came during it is sent next,
			// by the loop, as closing. Cut short, it left that kick
			// pending when the session ended, and a write made just before
			// Close, behind another's NOTIFY, was never told.
			err := s.notify(context.WithoutCancel(ctx), conn)
			if err != nil {
				s.wrote()
				return err
			}
		}
		if closing {
			return ctx.Err()
		}
	}
}

// wait waits for a notification or a kick. A notification from another
// session on the same schema is counted; the session's own are not.
// kicked says a kick arrived (or was pending when ctx ended); err is nil
// when the session is still good.
func (s *signal) wait(ctx context.Context, conn *session) (kicked bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	got := make(chan bool, 1)
	go func() {
		select {
		case <-s.kick:
			got <- true
			cancel()
		case <-wctx.Done():
			// ctx ended: a kick pending now is still to be told.
			select {
			case <-s.kick:
				got <- true
			default:
				got <- false
			}
		}
	}()
	n, err := conn.WaitForNotification(wctx)
	cancel()
	kicked = <-got
	switch {
	case err == nil:
		if n.PID != conn.PgConn().PID() && n.Payload == conn.scope {
			s.heard()
		}
		return kicked, nil
	case kicked && errors.Is(err, context.Canceled) && ctx.Err() == nil:
		// Woken to send: the session stays good.
		return true, nil
	}
	return kicked, err
}

// notify sends one notification on channel, for conn's schema.
func (s *signal) notify(ctx context.Context, conn *session) error {
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT pg_notify($1, $2)", channel, conn.scope); err != nil {
		return fmt.Errorf("postgres: notify: %w", err)
	}
	return nil
}
