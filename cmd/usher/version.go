package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is the release's version, set at build time:
//
//	go build -ldflags "-X main.version=v1.2.0" ./cmd/usher
//
// Without it the module's version from the build information is used
// (set by go install usher/cmd/usher@v1.2.0), and "devel" when there is none.
var version = ""

// buildInfo is what usher knows of its own build.
type buildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	Time      string `json:"time,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go"`
}

// readBuildInfo reads the version and the VCS stamps go build records.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if b.Version == "" {
			b.Version = "devel"
		}
		return b
	}
	b.GoVersion = bi.GoVersion
	if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = bi.Main.Version
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is the one line usher version prints.
func (b buildInfo) String() string {
	var parts []string
	if b.Revision != "" {
		rev := "revision " + b.Revision[:min(12, len(b.Revision))]
		if b.Modified {
			rev += ", modified"
		}
		parts = append(parts, rev)
	}
	if b.Time != "" {
		parts = append(parts, b.Time)
	}
	if b.GoVersion != "" {
		parts = append(parts, b.GoVersion)
	}
	if len(parts) == 0 {
		return "usher " + b.Version
	}
	return "usher " + b.Version + " (" + strings.Join(parts, ", ") + ")"
}

func (m *Main) versionCmd() *cobra.Command {
	output := outputTable
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version and the revision usher was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b := readBuildInfo()
			return m.print(cmd, output, b, func(t *table) { t.row(b.String()) })
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

// versionTemplate is what usher --version prints.
func versionTemplate() string {
	return fmt.Sprintln(readBuildInfo())
}
