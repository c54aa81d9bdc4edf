package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// The exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line was wrong; nothing was done
)

// usageError is a command line that is wrong: an unknown command or flag,
// a missing or extra argument, a flag value out of range.
type usageError struct {
	err error
	cmd *cobra.Command
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usage error of cmd.
func usagef(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...), cmd: cmd}
}

// Main runs the command line args, reports an error on standard error in
// one sentence (with the usage line for a usage error) and returns the
// exit status: 0, 1 for a failure, 2 for a usage error.
func (m *Main) Main(ctx context.Context, args []string) int {
	err := m.Run(ctx, args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(m.Stderr, "usher:", err)
	if ue, ok := errors.AsType[*usageError](err); ok {
		if c := ue.cmd; c != nil {
			line := c.UseLine()
			if c.HasAvailableSubCommands() {
				line = c.CommandPath() + " COMMAND [flags]"
			}
			fmt.Fprintf(m.Stderr, "usage: %s\nRun '%s --help' for more.\n", line, c.CommandPath())
		}
		return exitUsage
	}
	return exitFailure
}

// checkArgs makes every argument check of the tree under cmd, and its
// flag errors, usage errors, and notes when a command starts to run: an
// error before that is about the command line.
func (m *Main) checkArgs(cmd *cobra.Command) {
	if !cmd.Runnable() && cmd.HasSubCommands() {
		// cobra prints the help of a command that only groups others,
		// whatever follows it, and succeeds.
		cmd.RunE = func(c *cobra.Command, a []string) error {
			if len(a) > 0 {
				return usagef(c, "unknown command %q for %q", a[0], c.CommandPath())
			}
			return usagef(c, "%s needs a command; %s --help lists them", c.CommandPath(), c.CommandPath())
		}
	}
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, a []string) error {
			m.started = true
			return run(c, a)
		}
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err: err, cmd: c} })
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return &usageError{err: err, cmd: c}
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		m.checkArgs(c)
	}
}
