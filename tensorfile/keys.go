package tensorfile

import (
	"fmt"
	"strings"

	"github.com/chanprune/chanprune/internal/clip"
)

// maxListed is how many keys an error message lists.
const maxListed = 12

// onlyKey returns key, or for "" the file's only tensor.
func onlyKey(f file, key string) (string, error) {
	if key != "" {
		return key, nil
	}
	keys := f.keys()
	if len(keys) != 1 {
		return "", fmt.Errorf("%w: name one with FILE#KEY; the file holds %s", ErrKey, listKeys(keys))
	}
	return keys[0], nil
}

// missingKey reports a key the file lacks, with the keys it has.
func missingKey(f file, key string) error {
	return fmt.Errorf("%w %q; the file holds %s", ErrKey, clip.Value(key), listKeys(f.keys()))
}

// listKeys names the keys for a message, the first few of a long list.
func listKeys(keys []string) string {
	switch len(keys) {
	case 0:
		return "no tensors"
	case 1:
		return "1 tensor: " + clip.Value(keys[0])
	}
	listed := make([]string, min(len(keys), maxListed))
	for i := range listed {
		listed[i] = clip.Value(keys[i])
	}
	s := fmt.Sprintf("%d tensors: %s", len(keys), strings.Join(listed, ", "))
	if len(keys) > maxListed {
		s += fmt.Sprintf(", … (%d more)", len(keys)-maxListed)
	}
	return s
}

// naturalCompare orders names as people number them: runs of digits
// compare by value, so batch_2 comes before batch_10.
func naturalCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigit(a[i]) && isDigit(b[j]) {
			ei, ej := digitsEnd(a, i), digitsEnd(b, j)
			x, y := strings.TrimLeft(a[i:ei], "0"), strings.TrimLeft(b[j:ej], "0")
			if len(x) != len(y) {
				return len(x) - len(y)
			}
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
			i, j = ei, ej
			continue
		}
		if a[i] != b[j] {
			return int(a[i]) - int(b[j])
		}
		i, j = i+1, j+1
	}
	if c := (len(a) - i) - (len(b) - j); c != 0 {
		return c
	}
	return strings.Compare(a, b) // "a01" and "a1": any fixed order
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitsEnd(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}
