package tensorfile

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// member reads the uncompressed bytes of a zip member through ReadAt and
// checks them against the CRC-32 of the zip's central directory, as
// Python's zipfile does (archive/zip checks it only at the end of a
// stream, and not at all when the directory says 0).
//
// A stored member is read straight from the file. A deflated one streams,
// reopening only to go back: batches and the views of one storage are read
// in order, so each byte is inflated about once.
//
// Every read folds the bytes it passes, in order from the start, into a
// running CRC-32, so a member read whole is checked by that read, with no
// extra pass; verify checks the rest of a member read in part with a pass
// of its own. The verdict is kept: once a mismatch is seen, every read
// fails.
type member struct {
	e      *zip.File
	n      int64
	stored io.ReaderAt // a stored member's bytes; nil if deflated

	rc  io.ReadCloser // a deflated member's stream, at pos
	pos int64

	crc     uint32 // CRC-32 of the bytes before crcEnd
	crcEnd  int64
	checked bool
	verdict error
}

func (m *member) ReadAt(p []byte, off int64) (int, error) {
	if m.verdict != nil {
		return 0, m.verdict
	}
	if m.stored == nil {
		n, err := m.inflateAt(p, off)
		if m.verdict != nil {
			return 0, m.verdict
		}
		return n, streamErr(err)
	}
	n, err := m.stored.ReadAt(p, off)
	if m.fold(p[:n], off); m.verdict != nil {
		return 0, m.verdict
	}
	return n, err
}

// inflateAt reads a deflated member at off, folding every byte the stream
// passes, skipped ones included.
func (m *member) inflateAt(p []byte, off int64) (int, error) {
	if m.rc == nil || off < m.pos {
		m.close()
		rc, err := m.inflate()
		if err != nil {
			return 0, err
		}
		m.rc = rc
	}
	if off > m.pos {
		pooled := chunks.Get().(*[chunkBytes]byte)
		defer chunks.Put(pooled)
		for m.pos < off {
			k, err := io.ReadFull(m.rc, pooled[:min(int64(chunkBytes), off-m.pos)])
			m.fold(pooled[:k], m.pos)
			m.pos += int64(k)
			if err != nil {
				return 0, err
			}
		}
	}
	n, err := io.ReadFull(m.rc, p)
	m.fold(p[:n], m.pos)
	m.pos += int64(n)
	return n, err
}

// inflate opens a stream of a deflated member's bytes, leaving the
// checksum to fold and verify.
func (m *member) inflate() (io.ReadCloser, error) {
	raw, err := m.e.OpenRaw()
	if err != nil {
		return nil, err
	}
	return flate.NewReader(raw), nil
}

// fold adds to the running CRC-32 the part of b, read at off, that
// continues the bytes folded so far, and gives the verdict when they
// reach the end.
func (m *member) fold(b []byte, off int64) {
	end := off + int64(len(b))
	if m.checked || off > m.crcEnd || end <= m.crcEnd {
		return
	}
	m.crc = crc32.Update(m.crc, crc32.IEEETable, b[m.crcEnd-off:])
	if m.crcEnd = end; end >= m.n {
		m.judge(m.crc)
	}
}

// verify returns the member's verdict. Unless the reads so far passed
// every byte in order, it reads the whole member for it, with a stream of
// its own so that the reads' stream stays where it is.
func (m *member) verify() error {
	if m.checked {
		return m.verdict
	}
	var r io.Reader
	if m.stored != nil {
		r = io.NewSectionReader(m.stored, 0, m.n)
	} else {
		rc, err := m.inflate()
		if err != nil {
			return streamErr(err)
		}
		defer rc.Close()
		r = io.LimitReader(rc, m.n)
	}
	pooled := chunks.Get().(*[chunkBytes]byte)
	defer chunks.Put(pooled)
	h := crc32.NewIEEE()
	k, err := io.CopyBuffer(h, r, pooled[:])
	switch {
	case err != nil && m.stored == nil:
		return streamErr(err)
	case err != nil:
		return err
	case k < m.n:
		m.checked = true
		m.verdict = fmt.Errorf("%w: zip member %s: %d of %d bytes", ErrTruncated, m.e.Name, k, m.n)
	default:
		m.judge(h.Sum32())
	}
	return m.verdict
}

// judge compares the CRC-32 of the member's bytes with the directory's.
func (m *member) judge(crc uint32) {
	m.checked = true
	if crc != m.e.CRC32 {
		m.verdict = fmt.Errorf("%w: zip member %s: bad CRC-32 %08x (the zip directory says %08x): the data is damaged",
			ErrFormat, m.e.Name, crc, m.e.CRC32)
	}
}

func (m *member) close() {
	if m.rc != nil {
		m.rc.Close()
	}
	m.rc, m.pos = nil, 0
}

// streamErr keeps end-of-data errors, which callers report as truncation,
// and marks the others (corrupt deflate data) as format errors.
func streamErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrFormat, err)
}
