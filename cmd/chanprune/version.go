package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

func runVersion(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	info, ok := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, versionLine(info, ok))
	return nil
}

// versionLine says which build this is: the module version (a tagged
// release for go install …@version, "(devel)" for a build from a checkout)
// and, when the build recorded them, the commit and whether the tree had
// changes, and the Go version.
func versionLine(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "chanprune (unknown version: no build information)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	line := "chanprune " + v
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision":
			line += " " + s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			line += " (modified)"
		}
	}
	if info.GoVersion != "" {
		line += fmt.Sprintf(", built with %s", info.GoVersion)
	}
	return line
}
