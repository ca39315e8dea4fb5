package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Manifests built to exhaust the parser: refused with one line, in bounded
// memory and stack.
func TestReportHostileManifests(t *testing.T) {
	dir := t.TempDir()
	deep := strings.Repeat("[", maxManifestBytes-100) // four million levels overflowed the stack
	for _, tc := range []struct{ name, file, text, mention string }{
		{"deep JSON", "deep.json", `{"layers": ` + deep, "nested more than 64 levels"},
		{"deep JSON in a string is fine", "str.json", `{"layers": "` + deep + `"}`, "want a non-empty list of layers"},
		{"deep YAML", "deep.yaml", "layers: " + deep, "deep.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeBytes(t, dir, tc.file, []byte(tc.text))
			code, stdout, stderr := runCLI(t, "report", path)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %.200q, stdout %.200q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
		})
	}
	// Past the cap, refused by its size before it is read: the file is
	// sparse, so the test writes nothing.
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(`{"layers": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, maxManifestBytes+1); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "report", big)
	if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "more than the 4 MiB") {
		t.Errorf("a manifest past the size cap: exit %d, %q", code, stderr)
	}
}
