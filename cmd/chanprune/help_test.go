package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
)

// runBuffers runs a command line in-process with buffers for stdout and
// stderr, as help must write to the writers run was given.
func runBuffers(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpEveryCommand(t *testing.T) {
	for _, c := range commands {
		h, ok := helpTexts[c.name]
		if !ok {
			t.Errorf("%s: no entry in helpTexts", c.name)
			continue
		}
		code, viaHelp, stderr := runBuffers("help", c.name)
		if code != 0 || stderr != "" {
			t.Errorf("help %s: exit %d, stderr %q", c.name, code, stderr)
		}
		for _, dashH := range []string{"-h", "--help"} {
			code, out, stderr := runBuffers(c.name, dashH)
			if code != 0 || stderr != "" || out != viaHelp {
				t.Errorf("%s %s: exit %d, stderr %q, stdout differs from help %s:\n%s", c.name, dashH, code, stderr, c.name, out)
			}
		}
		want := []string{
			"Usage: " + h.synopsis + "\n",
			"chanprune " + c.name,
			capitalize(c.summary),
			"Example:\n  chanprune " + c.name,
		}
		want = append(want, h.args...)
		if h.tensors {
			want = append(want, "FILE[#KEY]")
		}
		for _, w := range want {
			if !strings.Contains(viaHelp, w) {
				t.Errorf("help %s lacks %q:\n%s", c.name, w, viaHelp)
			}
		}
		if strings.Contains(viaHelp, "Commands:") {
			t.Errorf("help %s printed the general help:\n%s", c.name, viaHelp)
		}
	}
}

// TestHelpListsFlags checks that a command's help lists each of its flags
// as --name: eval's, which take values, and sweep's --quiet.
func TestHelpListsFlags(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"eval":  {"--weight W.npy", "--bias", "--scores", "--ratio R", "--format", "--method", "--stacked", "--quiet"},
		"sweep": {"--scores NAME=FILE[#KEY]", "--ratios", "--plot", "--quiet"},
		"score": {"--method NAME", "--out S.npy", "--quiet"},
	} {
		_, out, _ := runBuffers("help", cmd)
		for _, f := range flags {
			if !strings.Contains(out, "\n  "+f) {
				t.Errorf("help %s does not list %s:\n%s", cmd, f, out)
			}
		}
	}
}

// TestHelpExamplesParse runs each tensor command's example where its
// files do not exist: it must fail on a missing file, not on its flags.
func TestHelpExamplesParse(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, c := range commands {
		h := helpTexts[c.name]
		if !h.tensors {
			continue
		}
		args := strings.Fields(h.example)[1:]
		code, _, stderr := runBuffers(args...)
		if code != 1 || !strings.Contains(stderr, "no such file") {
			t.Errorf("%s: exit %d, %q; want a missing file", h.example, code, stderr)
		}
	}
}

func TestUsageExitStatus(t *testing.T) {
	code, out, stderr := runBuffers()
	if code != 2 || out != "" || !strings.Contains(stderr, "Commands:") {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", code, out, stderr)
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, stderr := runBuffers(args...)
		if code != 0 || stderr != "" || !strings.Contains(out, "Commands:") || !strings.Contains(out, "chanprune help COMMAND") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", args, code, out, stderr)
		}
	}
	for _, args := range [][]string{{"help", "bogus"}, {"help", "eval", "sweep"}} {
		code, out, stderr := runBuffers(args...)
		if code != 2 || out != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "chanprune: help") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line", args, code, out, stderr)
		}
	}
	if _, _, stderr := runBuffers("help", "bogus"); !strings.Contains(stderr, `"bogus"`) {
		t.Errorf("help bogus: %q does not name the topic", stderr)
	}
	if code, out, stderr := runBuffers("bogus", "x"); code != 2 || out != "" || !strings.Contains(stderr, `unknown command "bogus"`) {
		t.Errorf("bogus x: exit %d, stdout %q, stderr %q; want 2 (a usage error) naming the command", code, out, stderr)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, stderr := runBuffers(args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(out, "chanprune ") || strings.Count(out, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
	}
	if code, out, _ := runCLI(t, "--version"); code != 0 || !strings.HasPrefix(out, "chanprune ") {
		t.Errorf("built binary --version: exit %d, %q", code, out)
	}

	devel := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "e8e2082abc"},
		{Key: "vcs.modified", Value: "true"},
	}}
	release := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.1.0"}}
	for _, tc := range []struct {
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{devel, true, "chanprune (devel) e8e2082abc (modified), built with go1.26.0"},
		{release, true, "chanprune v0.1.0, built with go1.26.0"},
		{&debug.BuildInfo{}, true, "chanprune (devel)"},
		{nil, false, "chanprune (unknown version: no build information)"},
	} {
		if got := versionLine(tc.info, tc.ok); got != tc.want {
			t.Errorf("versionLine = %q, want %q", got, tc.want)
		}
	}
}

// The commands that take only flags refuse an argument rather than
// ignore it (demo 10 would otherwise build the default 100 batches).
func TestFlagOnlyCommandsRefuseArguments(t *testing.T) {
	for _, args := range [][]string{{"demo", "10"}, {"demo", "--batches", "1", "10"}, {"kernels", "peak"}, {"version", "x"}} {
		code, out, stderr := runBuffers(args...)
		if code != 1 || out != "" || !errLine.MatchString(stderr) || !strings.Contains(stderr, fmt.Sprintf("unexpected argument %q", args[len(args)-1])) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and one line naming the argument", args, code, out, stderr)
		}
	}
}

func TestHelpRequestIsErrHelp(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	_, err := parseFlags(fs, []string{"-h"})
	var h *helpRequest
	if !errors.As(err, &h) || h.fs != fs {
		t.Errorf("parseFlags(-h) = %v, want a helpRequest for its flag set", err)
	}
}
