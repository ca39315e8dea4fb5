package tensorfile

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// zipFile is an open zip archive: an .npz or a torch.save file.
type zipFile struct {
	r       io.ReaderAt
	size    int64
	z       *zip.Reader
	members map[*zip.File]*member // opened so far, shared by every tensor they hold
	closer
}

// openZip opens the archive, refusing encrypted members and names given
// twice: Python's zipfile (numpy) takes the last member of a name, and
// torch's reader differs, so which one is meant is ambiguous.
func openZip(r io.ReaderAt, size int64, c io.Closer) (*zipFile, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: zip: %v", ErrFormat, err)
	}
	seen := make(map[string]bool, len(z.File))
	for _, e := range z.File {
		if e.Flags&1 != 0 {
			return nil, fmt.Errorf("%w: zip member %s is encrypted", ErrFormat, e.Name)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("%w: zip member %s given twice (ambiguous: which one is meant?)", ErrFormat, e.Name)
		}
		seen[e.Name] = true
	}
	return &zipFile{r: r, size: size, z: z, members: map[*zip.File]*member{}, closer: closer{c}}, nil
}

// torchPickle returns the entry ARCHIVE/data.pkl of a torch.save file, or
// nil if there is none.
func (z *zipFile) torchPickle() *zip.File {
	for _, e := range z.z.File {
		if dir, ok := strings.CutSuffix(e.Name, "/data.pkl"); ok && dir != "" && !strings.Contains(dir, "/") {
			return e
		}
	}
	return nil
}

// member gives access to the uncompressed bytes of e and their number, one
// *member per entry and open file, so that tensors viewing one member
// share its stream and its CRC-32 verdict. A stored member is read
// straight from the file, after checking that its bytes lie inside it
// (sized); a deflated one streams, and its declared size may lie.
func (z *zipFile) member(e *zip.File) (m *member, sized bool, err error) {
	if m := z.members[e]; m != nil {
		return m, m.stored != nil, nil
	}
	if e.UncompressedSize64 > math.MaxInt64 || e.CompressedSize64 > math.MaxInt64 {
		return nil, false, fmt.Errorf("%w: zip member %s: size overflows", ErrTooLarge, e.Name)
	}
	m = &member{e: e, n: int64(e.UncompressedSize64)}
	switch e.Method {
	case zip.Store:
		off, err := e.DataOffset()
		if err != nil {
			return nil, false, fmt.Errorf("%w: zip member %s: %v", ErrFormat, e.Name, err)
		}
		if e.CompressedSize64 != e.UncompressedSize64 || off > z.size || m.n > z.size-off {
			return nil, false, fmt.Errorf("%w: zip member %s: %d stored bytes at %d of a %d-byte file",
				ErrTruncated, e.Name, m.n, off, z.size)
		}
		m.stored = io.NewSectionReader(z.r, off, m.n)
	case zip.Deflate:
	default:
		return nil, false, fmt.Errorf("%w: zip member %s: compression method %d (want stored or deflated)",
			ErrFormat, e.Name, e.Method)
	}
	z.members[e] = m
	return m, m.stored != nil, nil
}

// readMember reads all of a small member, refusing one over limit bytes.
func (z *zipFile) readMember(e *zip.File, limit int64) ([]byte, error) {
	m, _, err := z.member(e)
	if err != nil {
		return nil, err
	}
	if m.n > limit {
		return nil, fmt.Errorf("%w: zip member %s has %d bytes, more than %d", ErrTooLarge, e.Name, m.n, limit)
	}
	b, err := io.ReadAll(io.NewSectionReader(m, 0, m.n)) // grows as bytes arrive
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if int64(len(b)) != m.n {
		return nil, fmt.Errorf("%w: zip member %s: %d of %d bytes", ErrTruncated, e.Name, len(b), m.n)
	}
	return b, m.verify() // free: the read passed every byte
}

func (z *zipFile) Close() error {
	for _, m := range z.members {
		m.close()
	}
	z.members = nil
	return z.closer.Close()
}
