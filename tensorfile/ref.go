package tensorfile

import (
	"os"
	"strings"
)

// Ref names a tensor: a file and, inside a container, a key (the array
// name of an .npz without .npy, a .safetensors tensor name, or a path
// through a .pt's dicts and lists with '/' between levels).
type Ref struct {
	Path, Key string
}

// ParseRef reads FILE[#KEY]. A string that names an existing file is a
// file without a key, whatever '#'s it holds; otherwise the key follows
// the last '#'. "FILE#" has no key.
func ParseRef(s string) Ref {
	if _, err := os.Stat(s); err == nil {
		return Ref{Path: s}
	}
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		return Ref{Path: s[:i], Key: s[i+1:]}
	}
	return Ref{Path: s}
}
