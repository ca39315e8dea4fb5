package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Outputs that name one file, by path, through a link or as a hard link,
// are refused; so is an output that is an input.
func TestSetCollisions(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.npy")
	if err := os.WriteFile(a, []byte("input"), 0o644); err != nil {
		t.Fatal(err)
	}
	link, hard := filepath.Join(dir, "link.npy"), filepath.Join(dir, "hard.npy")
	if err := os.Symlink("a.npy", link); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(a, hard); err != nil {
		t.Fatal(err)
	}
	spellings := []string{a, link, hard, filepath.Join(dir, "sub", "..", "a.npy")}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for _, first := range spellings {
		for _, second := range spellings {
			var s Set
			if _, err := s.Add("--out-weight", first); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Add("--out-keep", second); !errors.Is(err, ErrCollision) {
				t.Errorf("outputs %s and %s: got %v, want ErrCollision", first, second, err)
			}
			if err := s.Input("--weight", second); !errors.Is(err, ErrCollision) {
				t.Errorf("output %s, input %s: got %v, want ErrCollision", first, second, err)
			}
		}
	}
	// A new file named two ways is one file too.
	var s Set
	if _, err := s.Add("--out", filepath.Join(dir, "new.npy")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add("--state", filepath.Join(dir, "sub", "..", "new.npy")); !errors.Is(err, ErrCollision) {
		t.Errorf("a new file twice: got %v", err)
	}
	if _, err := s.Add("--plot", filepath.Join(dir, "other.svg")); err != nil {
		t.Errorf("a different file: %v", err)
	}
	if err := s.Input("--weight", a); err != nil {
		t.Errorf("a different input: %v", err)
	}
	// Devices may repeat: /dev/null twice discards both.
	if st, err := os.Stat(os.DevNull); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		if _, err := s.Add("--out-weight", os.DevNull); err != nil {
			t.Error(err)
		}
		if _, err := s.Add("--out-keep", os.DevNull); err != nil {
			t.Errorf("%s twice: %v", os.DevNull, err)
		}
	}
}

// When one output fails, none lands and no temporary is left; nor does
// Commit rename anything while an output is unwritten.
func TestSetAllOrNone(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(a, []byte("old a"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	func() {
		var s Set
		defer s.Abort()
		oa, _ := s.Add("--out-weight", a)
		ob, _ := s.Add("--out-keep", b)
		if err := oa.Write(writeString("new a")); err != nil {
			t.Fatal(err)
		}
		if err := ob.Write(func(io.Writer) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("got %v, want boom", err)
		}
	}()
	wantFile(t, a, "old a")
	if _, err := os.Stat(b); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("b was written: %v", err)
	}
	wantNoTemps(t, dir)

	var s Set
	defer s.Abort()
	oa, _ := s.Add("--out-weight", a)
	s.Add("--out-keep", b)
	if err := oa.Write(writeString("new a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err == nil {
		t.Error("Commit with an output unwritten succeeded")
	}
	wantFile(t, a, "old a")
}

// A dropped output is left as it was, staged or failed, and Commit lands
// the others.
func TestSetDrop(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	if err := os.WriteFile(b, []byte("old b"), 0o644); err != nil {
		t.Fatal(err)
	}
	var s Set
	defer s.Abort()
	oa, _ := s.Add("--out", a)
	ob, _ := s.Add("--plot", b)
	oc, _ := s.Add("--other", c)
	if err := oa.Write(writeString("new a")); err != nil {
		t.Fatal(err)
	}
	if err := ob.Write(writeString("new b")); err != nil {
		t.Fatal(err)
	}
	s.Drop(ob) // staged
	s.Drop(oc) // never written
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, a, "new a")
	wantFile(t, b, "old b")
	if _, err := os.Stat(c); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dropped unwritten output was created: %v", err)
	}
	wantNoTemps(t, dir)
}

// RemoveTemps deletes the staged temporaries, and nothing is renamed or
// staged after it.
func TestRemoveTemps(t *testing.T) {
	t.Cleanup(func() { live.Lock(); live.stopped = false; live.Unlock() })
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	var s Set
	o, _ := s.Add("--state", a)
	if err := o.Write(writeString("state")); err != nil {
		t.Fatal(err)
	}
	if Stopped() {
		t.Fatal("Stopped before RemoveTemps")
	}
	RemoveTemps()
	if !Stopped() {
		t.Error("not Stopped after RemoveTemps")
	}
	wantNoTemps(t, dir)
	if err := s.Commit(); !errors.Is(err, errStopped) {
		t.Errorf("Commit after RemoveTemps: %v", err)
	}
	if _, err := os.Stat(a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s landed after RemoveTemps", a)
	}
	if err := Write(filepath.Join(dir, "b"), writeString("b")); !errors.Is(err, errStopped) {
		t.Errorf("Write after RemoveTemps: %v", err)
	}
}

// An output whose directory is missing, or is a file, is refused when it
// is declared, before any work, and leaves nothing behind.
func TestSetRefusesUnwritableDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing", "out.npy"), filepath.Join(file, "out.npy")} {
		var s Set
		if _, err := s.Add("--out", path); err == nil || !strings.HasPrefix(err.Error(), "--out "+path+": ") {
			t.Errorf("Add(%s): %v, want refused naming the output", path, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries left in the directory, want the one file", len(entries))
	}
}
