package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/internal/osfile"
)

// writeString is a write func that writes s.
func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// wantFile fails unless path holds want.
func wantFile(t *testing.T, path, want string) {
	t.Helper()
	if b, err := os.ReadFile(path); err != nil || string(b) != want {
		t.Errorf("%s holds %q (%v), want %q", path, b, err, want)
	}
}

// wantNoTemps fails if a temporary is left in dir.
func wantNoTemps(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".chanprune-tmp-") {
			t.Errorf("temporary %s left in %s", e.Name(), dir)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A failed write leaves the old file and no temporary behind.
	boom := errors.New("boom")
	if err := Write(path, func(w io.Writer) error { w.Write([]byte("half")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	wantFile(t, path, "old")
	if err := Write(path, writeString("new")); err != nil {
		t.Fatal(err)
	}
	wantFile(t, path, "new")
	wantNoTemps(t, dir)
	// An existing file keeps its mode; a new one gets 0644 less the umask.
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the file's 0600 kept", st.Mode().Perm())
	}
	fresh := filepath.Join(dir, "new.txt")
	if err := Write(fresh, writeString("x")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(fresh); st.Mode().Perm()&^0o644 != 0 || st.Mode().Perm()&0o600 != 0o600 {
		t.Errorf("new file mode %v, want 0644 less the umask", st.Mode().Perm())
	}
	if err := Write(filepath.Join(dir, "missing", "x"), func(io.Writer) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: got %v", err)
	}
}

// A link is written through to its target, atomically in the target's
// directory; a dangling link creates its target.
func TestWriteThroughSymlink(t *testing.T) {
	linkDir, targetDir := t.TempDir(), t.TempDir()
	target := filepath.Join(targetDir, "real.txt")
	if err := os.WriteFile(target, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(linkDir, "link.txt")
	if err := os.Symlink(filepath.Join("..", filepath.Base(targetDir), "real.txt"), link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, writeString("new")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode().Type() != os.ModeSymlink {
		t.Errorf("the link was replaced: %v %v", st.Mode(), err)
	}
	wantFile(t, target, "new")
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o640 {
		t.Errorf("target mode %v, want 0640 kept", st.Mode().Perm())
	}
	wantNoTemps(t, linkDir)
	wantNoTemps(t, targetDir)

	dangling := filepath.Join(linkDir, "dangling.txt")
	created := filepath.Join(targetDir, "created.txt")
	if err := os.Symlink(created, dangling); err != nil {
		t.Fatal(err)
	}
	if err := Write(dangling, writeString("made")); err != nil {
		t.Fatal(err)
	}
	wantFile(t, created, "made")
	if st, _ := os.Lstat(dangling); st.Mode().Type() != os.ModeSymlink {
		t.Errorf("the dangling link was replaced")
	}
}

func TestWriteRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, writeString("x")); !errors.Is(err, osfile.ErrNotRegular) || !strings.Contains(err.Error(), "directory") {
		t.Errorf("a directory: got %v, want osfile.ErrNotRegular", err)
	}
}

// Writing /dev/null writes to it directly: the device is not replaced.
func TestWriteDevice(t *testing.T) {
	st, err := os.Stat(os.DevNull)
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Skip("no character device", os.DevNull)
	}
	if err := Write(os.DevNull, writeString("gone")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a device: %v %v", os.DevNull, st.Mode(), err)
	}
}
