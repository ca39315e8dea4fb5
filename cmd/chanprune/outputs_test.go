package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Outputs that are an input of the command, or one another, are refused
// with one line before any work, and the input is left as it was.
func TestOutputCollisions(t *testing.T) {
	f := newFixture(t)
	rdir, layers := newReportFixture(t)
	manifest, _ := writeManifests(t, rdir, layers)
	state := filepath.Join(f.dir, "state.json")
	if code, _, stderr := runCLI(t, "score", "--method", "l2norm", "--weight", f.w, "--state", state, f.x0); code != 0 {
		t.Fatal(stderr)
	}
	link := filepath.Join(f.dir, "link.npy") // another name for the weight
	if err := os.Symlink(f.w, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(f.dir, "hard.npy") // and another
	if err := os.Link(f.x1, hard); err != nil {
		t.Fatal(err)
	}
	plotLink := filepath.Join(rdir, "x.svg")
	if err := os.Link(filepath.Join(rdir, layers[0].batches[0]), plotLink); err != nil {
		t.Fatal(err)
	}
	wk, keep := filepath.Join(f.dir, "WK.npy"), filepath.Join(f.dir, "keep.npy")
	prune := []string{"prune", "--weight", f.w, "--scores", f.s, "--ratio", "0.5"}
	score := []string{"score", "--method", "l2norm", "--weight", f.w, f.x0, f.x1}
	for _, tc := range []struct {
		name string
		args []string
		want string // in the message
	}{
		{"report --out the manifest", []string{"report", "--out", manifest, manifest}, "input manifest"},
		{"report --out a layer's weight", []string{"report", "--out", filepath.Join(rdir, layers[1].w), manifest}, "weight"},
		{"report --plot, a hard link to a batch", []string{"report", "--plot", plotLink, manifest}, "batch"},
		{"score --out = --state", slices.Concat(score, []string{"--out", state, "--state", state}), "--state"},
		{"score --out = --resume", []string{"score", "--resume", state, "--weight", f.w, "--out", state, f.x1}, "--resume"},
		{"score --out a batch", slices.Concat(score, []string{"--out", hard}), "batch"},
		{"prune --out-weight = --out-keep", slices.Concat(prune, []string{"--out-weight", wk, "--out-keep", wk}), "--out-keep"},
		{"prune --out-weight, a link to --weight", slices.Concat(prune, []string{"--out-weight", link, "--out-keep", keep}), "--weight"},
		{"prune --out-keep, the scores", slices.Concat(prune, []string{"--out-weight", wk, "--out-keep", f.s}), "--scores"},
		{"sweep --plot, a link to the weight", []string{"sweep", "--weight", f.w, "--scores", "s=" + f.s, "--ratios", "0.5",
			"--plot", symlink(t, f.w, filepath.Join(f.dir, "w.svg")), f.x0}, "--weight"},
	} {
		before := snapshot(t, f.dir, rdir)
		code, stdout, stderr := runCLI(t, tc.args...)
		if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "same file") || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%s: exit %d, stderr %q, want one line naming %q", tc.name, code, stderr, tc.want)
		}
		if after := snapshot(t, f.dir, rdir); after != before {
			t.Errorf("%s: files changed", tc.name)
		}
	}
	// --state may update the --resume file in place.
	if code, _, stderr := runCLI(t, "score", "--resume", state, "--weight", f.w, "--state", state, f.x1); code != 0 {
		t.Errorf("--state = --resume: %s", stderr)
	}
}

// When one output cannot be written, none lands: --out-keep in a missing
// directory leaves the old --out-weight file as it was.
func TestOutputsAllOrNone(t *testing.T) {
	f := newFixture(t)
	wk := writeBytes(t, f.dir, "WK.npy", []byte("old"))
	code, _, stderr := runCLI(t, "prune", "--weight", f.w, "--scores", f.s, "--ratio", "0.5",
		"--out-weight", wk, "--out-keep", filepath.Join(f.dir, "missing", "keep.npy"))
	if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "--out-keep") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(wk); string(b) != "old" {
		t.Errorf("--out-weight was written though --out-keep failed")
	}
	if tmp := temporaries(f.dir); len(tmp) > 0 {
		t.Errorf("temporaries left: %v", tmp)
	}
}

// An output that is a link is written through to its target, keeping the
// target's mode; /dev/stdout is written directly.
func TestOutputThroughLinks(t *testing.T) {
	f := newFixture(t)
	elsewhere := t.TempDir()
	target := writeBytes(t, elsewhere, "WK.npy", []byte("old"))
	if err := os.Chmod(target, 0o600); err != nil {
		t.Fatal(err)
	}
	link := symlink(t, target, filepath.Join(f.dir, "WK.npy"))
	keep := filepath.Join(f.dir, "keep.npy")
	if code, _, stderr := runCLI(t, "prune", "--weight", f.w, "--scores", f.s, "--ratio", "0.5",
		"--out-weight", link, "--out-keep", keep); code != 0 {
		t.Fatal(stderr)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode().Type() != os.ModeSymlink {
		t.Errorf("the link was replaced by a file")
	}
	st, err := os.Stat(target)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("target mode %v (%v), want its 0600 kept", st.Mode().Perm(), err)
	}
	if b, _ := os.ReadFile(target); !bytes.HasPrefix(b, []byte("\x93NUMPY")) {
		t.Errorf("the target holds no .npy")
	}
	if tmp := append(temporaries(f.dir), temporaries(elsewhere)...); len(tmp) > 0 {
		t.Errorf("temporaries left: %v", tmp)
	}

	// /dev/stdout, reached through a link of the test's own so that a
	// regression replaces that link and not the system's /dev/stdout.
	if _, err := os.Lstat("/dev/stdout"); binPath == "" || err != nil {
		return // no /dev/stdout, or it is the test's own in-process
	}
	rdir, layers := newReportFixture(t)
	manifest, _ := writeManifests(t, rdir, layers)
	_, want, _ := runCLI(t, "report", "--format", "json", manifest)
	stdoutLink := symlink(t, "/dev/stdout", filepath.Join(t.TempDir(), "report.json"))
	code, stdout, stderr := runCLI(t, "report", "--format", "json", "--out", stdoutLink, manifest)
	if code != 0 || stdout != want {
		t.Errorf("--out /dev/stdout: exit %d, stderr %q, stdout\n%s\nwant\n%s", code, stderr, stdout, want)
	}
	if st, err := os.Lstat(stdoutLink); err != nil || st.Mode().Type() != os.ModeSymlink {
		t.Errorf("the link to /dev/stdout was replaced by a file")
	}
}

// temporaries lists the output temporaries in dir.
func temporaries(dir string) []string {
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".chanprune-tmp-") {
			names = append(names, e.Name())
		}
	}
	return names
}

func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// snapshot is the names and contents of the files under dirs.
func snapshot(t *testing.T, dirs ...string) string {
	t.Helper()
	var b strings.Builder
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				data, _ := os.ReadFile(p)
				b.WriteString(p + "\x00" + string(data) + "\x00")
			}
			return err
		})
	}
	return b.String()
}
