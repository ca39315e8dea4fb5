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
	streams []*streamAt
	closer
}

func openZip(r io.ReaderAt, size int64, c io.Closer) (*zipFile, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: zip: %v", ErrFormat, err)
	}
	return &zipFile{r: r, size: size, z: z, closer: closer{c}}, nil
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

// member gives access to the uncompressed bytes of e and their number. A
// stored member is read straight from the file, after checking that its
// bytes lie inside it (sized); a deflated one streams, and its declared
// size may lie.
func (z *zipFile) member(e *zip.File) (r io.ReaderAt, n int64, sized bool, err error) {
	if e.UncompressedSize64 > math.MaxInt64 || e.CompressedSize64 > math.MaxInt64 {
		return nil, 0, false, fmt.Errorf("%w: zip member %s: size overflows", ErrTooLarge, e.Name)
	}
	n = int64(e.UncompressedSize64)
	switch e.Method {
	case zip.Store:
		off, err := e.DataOffset()
		if err != nil {
			return nil, 0, false, fmt.Errorf("%w: zip member %s: %v", ErrFormat, e.Name, err)
		}
		if e.CompressedSize64 != e.UncompressedSize64 || off > z.size || n > z.size-off {
			return nil, 0, false, fmt.Errorf("%w: zip member %s: %d stored bytes at %d of a %d-byte file",
				ErrTruncated, e.Name, n, off, z.size)
		}
		return io.NewSectionReader(z.r, off, n), n, true, nil
	case zip.Deflate:
		s := &streamAt{open: e.Open}
		z.streams = append(z.streams, s)
		return s, n, false, nil
	}
	return nil, 0, false, fmt.Errorf("%w: zip member %s: compression method %d (want stored or deflated)",
		ErrFormat, e.Name, e.Method)
}

// readMember reads all of a small member, refusing one over limit bytes.
func (z *zipFile) readMember(e *zip.File, limit int64) ([]byte, error) {
	r, n, _, err := z.member(e)
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w: zip member %s has %d bytes, more than %d", ErrTooLarge, e.Name, n, limit)
	}
	b, err := io.ReadAll(io.NewSectionReader(r, 0, n)) // grows as bytes arrive
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if int64(len(b)) != n {
		return nil, fmt.Errorf("%w: zip member %s: %d of %d bytes", ErrTruncated, e.Name, len(b), n)
	}
	return b, nil
}

func (z *zipFile) Close() error {
	for _, s := range z.streams {
		s.close()
	}
	z.streams = nil
	return z.closer.Close()
}

// streamAt reads a compressed zip member through ReadAt, reopening it only
// to go back: batches are read in order, so each byte is inflated about
// once.
type streamAt struct {
	open func() (io.ReadCloser, error)
	rc   io.ReadCloser
	pos  int64
}

func (s *streamAt) ReadAt(p []byte, off int64) (int, error) {
	if s.rc == nil || off < s.pos {
		s.close()
		rc, err := s.open()
		if err != nil {
			return 0, streamErr(err)
		}
		s.rc = rc
	}
	if off > s.pos {
		n, err := io.CopyN(io.Discard, s.rc, off-s.pos)
		s.pos += n
		if err != nil {
			return 0, streamErr(err)
		}
	}
	n, err := io.ReadFull(s.rc, p)
	s.pos += int64(n)
	return n, streamErr(err)
}

func (s *streamAt) close() {
	if s.rc != nil {
		s.rc.Close()
	}
	s.rc, s.pos = nil, 0
}

// streamErr keeps end-of-data errors, which callers report as truncation,
// and marks the others (a bad checksum, corrupt deflate data) as format
// errors.
func streamErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrFormat, err)
}
