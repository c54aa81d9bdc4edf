package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server running in a child process: usher serve or the ceiling.
type proc struct {
	name    string
	cmd     *exec.Cmd
	addr    string
	started time.Time
	startup string        // what the server said its start-up took, if it did
	done    chan struct{} // closed when the process has exited
	log     *logWatch
}

// startProc starts a server and waits until it says where it listens: a
// JSON log line {"msg":"listening","addr":…} on its standard error. Its
// output goes to logPath. The child gets SIGTERM if the bench dies
// without stopping it.
func startProc(ctx context.Context, name, logPath string, env []string, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	w := &logWatch{f: f, listening: make(chan listening, 1)}
	// Not CommandContext: stop ends it, more gently than a kill.
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.WaitDelay = 5 * time.Second
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: w}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case l := <-w.listening:
		p.addr, p.startup = l.Addr, l.startupText()
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before listening: %s\n%s", name, cmd.ProcessState, lastLines(w.tail(), 10))
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	case <-timeout.C:
		p.stop()
		return nil, fmt.Errorf("%s did not say where it listens within 30s:\n%s", name, lastLines(w.tail(), 10))
	}
}

// waitReady polls /readyz until it answers 200 and returns the time from
// the process's start.
func (p *proc) waitReady(ctx context.Context) (time.Duration, error) {
	c := &http.Client{Timeout: time.Second}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/readyz", nil)
		if err != nil {
			return 0, err
		}
		if res, err := c.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return time.Since(p.started), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-p.done:
			return 0, fmt.Errorf("%s exited: %s\n%s", p.name, p.cmd.ProcessState, lastLines(p.log.tail(), 10))
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: /readyz did not answer 200 within 30s", p.name)
		}
	}
}

// alive reports whether the process still runs. It gives the process a
// moment to be reaped, so that one that has just died is not taken for
// alive.
func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	case <-time.After(50 * time.Millisecond):
		return true
	}
}

// stop ends the process with SIGTERM, then SIGKILL if it lingers.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// memory returns the process's resident set now and its peak, in KiB,
// from /proc, with those of its children (usher serve's key process) added,
// and how many children it counted. A peak so summed is an upper bound:
// the processes may have peaked at different moments, and the binary's
// pages they share are counted in each.
func (p *proc) memory() (rss, peak int64, children int, err error) {
	pid := p.cmd.Process.Pid
	if rss, peak, err = procMemory(pid); err != nil {
		return 0, 0, 0, fmt.Errorf("memory of %s: %w", p.name, err)
	}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, f := range strings.Fields(string(b)) {
			child, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			// A child that ended meanwhile has nothing left to count.
			if r, pk, err := procMemory(child); err == nil {
				rss, peak, children = rss+r, peak+pk, children+1
			}
		}
	}
	return rss, peak, children, nil
}

// procMemory returns a process's VmRSS and VmHWM, in KiB.
func procMemory(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc status %s: %w", k, err)
		}
		if k == "VmRSS" {
			rss = n
		} else {
			peak = n
		}
	}
	return rss, peak, nil
}

// listening is the log line a server writes when it listens.
type listening struct {
	Msg     string   `json:"msg"`
	Addr    string   `json:"addr"`
	Startup *float64 `json:"startup_ms"` // milliseconds, as usher logs durations
}

// startupText renders the start-up time a server reported, if any.
func (l listening) startupText() string {
	if l.Startup == nil {
		return ""
	}
	return time.Duration(*l.Startup * float64(time.Millisecond)).Round(10 * time.Microsecond).String()
}

// logWatch writes a server's standard error to its log file and watches
// for the line that says where it listens.
type logWatch struct {
	f         *os.File
	listening chan listening

	mu    sync.Mutex
	found bool
	line  []byte // the incomplete last line, until found
	last  []byte // the last few KiB written, for error messages
}

func (w *logWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = append(w.last, b...)
	if len(w.last) > 8<<10 {
		w.last = append([]byte(nil), w.last[len(w.last)-4<<10:]...)
	}
	if !w.found {
		w.line = append(w.line, b...)
		for !w.found {
			i := bytes.IndexByte(w.line, '\n')
			if i < 0 {
				break
			}
			var l listening
			if json.Unmarshal(w.line[:i], &l) == nil && l.Msg == "listening" && l.Addr != "" {
				w.found = true
				w.listening <- l
			}
			w.line = w.line[i+1:]
		}
		if w.found {
			w.line = nil
		}
	}
	return w.f.Write(b)
}

// tail returns the last output written.
func (w *logWatch) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.last)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
