package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time with -ldflags "-X github.com/parti-dev/parti/cmd.version=…".
var (
	version = ""
	commit  = ""
	date    = ""
)

// VersionInfo describes the running binary.
type VersionInfo struct {
	Version   string `json:"version" yaml:"version"`
	Commit    string `json:"commit" yaml:"commit"`
	Date      string `json:"date,omitempty" yaml:"date,omitempty"`
	GoVersion string `json:"go_version" yaml:"go_version"`
	Platform  string `json:"platform" yaml:"platform"`
}

// BuildVersion returns the version information, from ldflags when set and
// from the Go build info otherwise.
func BuildVersion() VersionInfo {
	v := VersionInfo{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && v.Commit == "":
				v.Commit = s.Value
			case s.Key == "vcs.time" && v.Date == "":
				v.Date = s.Value
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func newCmdVersion(f *Factory) *cobra.Command {
	var out outputFlag
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version of parti",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			v := BuildVersion()
			return out.print(f.IO, v, func(t *table) {
				t.header("VERSION", "COMMIT", "DATE", "GO", "PLATFORM")
				t.row(v.Version, v.Commit, v.Date, v.GoVersion, v.Platform)
			}, func() string {
				return fmt.Sprintf("parti %s (commit %s, %s, %s)\n", v.Version, v.Commit, v.GoVersion, v.Platform)
			})
		},
	}
	out.register(c, "text")
	return c
}
