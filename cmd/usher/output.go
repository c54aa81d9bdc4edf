package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// outputFormat is the value of --output: how a command prints what it
// read or changed.
type outputFormat string

// The output formats.
const (
	outputTable outputFormat = "table" // aligned columns with a header, for people
	outputJSON  outputFormat = "json"  // indented JSON, for scripts
)

// Set accepts table or json.
func (o *outputFormat) Set(s string) error {
	switch f := outputFormat(s); f {
	case outputTable, outputJSON:
		*o = f
		return nil
	}
	return errors.New("want table or json")
}

func (o *outputFormat) String() string { return string(*o) }

// Type names the flag's value in the help.
func (o *outputFormat) Type() string { return "table|json" }

// addOutputFlag gives cmd --output (-o).
func addOutputFlag(cmd *cobra.Command, o *outputFormat) {
	cmd.Flags().VarP(o, "output", "o", "output format: table or json")
}

// table is the rows a command prints in table form; the first is the
// header, unless the table is a single line.
type table struct {
	rows [][]string
}

// row adds a row of cells.
func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// print writes v as JSON, or the table fill makes, as the format asks.
func (m *Main) print(cmd *cobra.Command, format outputFormat, v any, fill func(t *table)) error {
	if format == outputJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	t := &table{}
	fill(t)
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	for _, r := range t.rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

// when formats an optional time for a table: "-" when unset.
func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// yesNo formats a flag for a table.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
