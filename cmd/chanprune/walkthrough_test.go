package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeWalkthrough runs the README walk-through's commands, as written
// there, on the files its Python snippet produced for a small model.
func TestReadmeWalkthrough(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(readme, []byte("## Walk-through"))
	if start < 0 {
		t.Fatal("README has no walk-through")
	}
	section := string(readme[start:])
	section = section[:strings.Index(section[3:], "\n## ")+3]
	section = strings.ReplaceAll(section, "\\\n", " ")
	var commands [][]string
	for _, line := range regexp.MustCompile(`(?m)^    chanprune (.*)$`).FindAllStringSubmatch(section, -1) {
		commands = append(commands, strings.Fields(line[1]))
	}
	if len(commands) != 4 {
		t.Fatalf("found %d commands in the walk-through, want 4", len(commands))
	}
	// Run them in a folder holding the two files, as a user would.
	dir := t.TempDir()
	for _, name := range []string{"walk_acts.safetensors", "walk_layer.safetensors"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tensors", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	for _, args := range commands {
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("chanprune %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
	png, err := os.ReadFile("sweep.png")
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("sweep.png: %v", err)
	}
	// The same sweep as JSON has every score set at every ratio.
	sweep := append(commands[3][:len(commands[3]):len(commands[3])], "--format", "json")
	code, stdout, stderr := runCLI(t, sweep...)
	var points []pointJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &points) != nil || len(points) != 15 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
}
