package tensorfile

import (
	"archive/zip"
	"fmt"
	"slices"
	"strings"
)

// npzFile is an .npz archive: one .npy member per array, named after it
// (openZip refuses a name given twice).
type npzFile struct {
	*zipFile
	members map[string]*zip.File
	names   []string // natural order
}

func openNpz(z *zipFile) (*npzFile, error) {
	f := &npzFile{zipFile: z, members: map[string]*zip.File{}}
	for _, e := range z.z.File {
		name, ok := strings.CutSuffix(e.Name, ".npy")
		if !ok {
			continue
		}
		f.members[name] = e
		f.names = append(f.names, name)
	}
	slices.SortFunc(f.names, naturalCompare)
	return f, nil
}

func (f *npzFile) keys() []string               { return f.names }
func (f *npzFile) batchKeys() ([]string, error) { return f.names, nil }

func (f *npzFile) tensor(key string) (tensor, error) {
	key, err := onlyKey(f, key)
	if err != nil {
		return tensor{}, err
	}
	e := f.members[key]
	if e == nil {
		return tensor{}, missingKey(f, key)
	}
	m, sized, err := f.member(e)
	if err != nil {
		return tensor{}, err
	}
	t, err := npyTensor(m, m.n, sized)
	if err != nil {
		return tensor{}, fmt.Errorf("%s: %w", e.Name, err)
	}
	return t, nil
}
