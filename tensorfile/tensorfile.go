// Package tensorfile reads float tensors from the files PyTorch and NumPy
// users have: .npy, .npz (np.savez, stored or deflated), .safetensors and
// torch.save's .pt/.pth (a zip holding a pickle and raw storages). It is
// the reader the chanprune command uses, with the same guarantees.
//
// A reference FILE#KEY names one tensor of a container (ParseRef, Ref);
// Read reads it and Keys lists a container's tensors. OpenBatches plans a
// list of activation batches, from files, containers or the rows of one
// stacked array, and Batches.Read reads them one at a time into a reused
// buffer. The format is told by the file's first bytes, not its name.
// Every tensor comes back as an *Array of float32 in C order, converted
// from float32, float16, bfloat16 or float64 (Array.Dtype says which);
// other dtypes are refused, naming the dtype. Open keeps one file open to
// read several of its tensors, its int64 ones (File.ReadInt64) and a
// .safetensors file's metadata. WriteSafetensors writes tensors in
// float32, bfloat16, float16 or int64, refusing a value its dtype cannot
// hold exactly. Errors wrap the sentinels below (errors.Is).
//
// Guarantees, for files from anywhere:
//
//   - Only regular files are opened: a named pipe, device, socket or
//     directory is refused (ErrNotRegular) without blocking on it.
//   - No size a file declares is trusted: each is checked against the
//     bytes the file really has before anything is allocated for it, and
//     data from a compressed zip member grows as it arrives, capped at the
//     count its header gives. Memory is bounded by the tensor read (one
//     batch at a time with Batches), never by a header's claim.
//   - No tensor comes back from a zip member whose bytes fail the CRC-32
//     of the zip's directory; encrypted members and member names given
//     twice are refused.
//   - Pickles are never executed: they are walked opcode by opcode before
//     they are unpickled, and the unpickler builds only tensors, dicts
//     (including collections.OrderedDict; a key set twice takes its last
//     value, as in Python), lists, tuples and scalars. Every other global
//     (os.system, __builtin__.object, …) is refused by name (ErrForbidden).
//   - Data is decoded with encoding/binary, so big-endian hosts read the
//     same values. Nothing the caller passes is modified, except the
//     buffer given to Batches.Read, which is reused.
package tensorfile

import (
	"errors"
	"fmt"
	"io"

	"github.com/chanprune/chanprune/internal/osfile"
)

// Sentinel errors, for use with errors.Is.
var (
	// ErrFormat reports a file that is not a valid file of its format.
	ErrFormat = errors.New("tensorfile: malformed file")
	// ErrDtype reports a tensor whose dtype does not convert to float32.
	ErrDtype = errors.New("tensorfile: unsupported dtype")
	// ErrKey reports a key the file does not have, or a missing key.
	ErrKey = errors.New("tensorfile: no such tensor")
	// ErrTruncated reports data shorter than the file declares.
	ErrTruncated = errors.New("tensorfile: data shorter than declared")
	// ErrTooLarge reports a size beyond a limit or that overflows.
	ErrTooLarge = errors.New("tensorfile: too large")
	// ErrForbidden reports a pickle that names a global other than the
	// tensor rebuilders and storage types of torch.
	ErrForbidden = errors.New("tensorfile: forbidden pickle global")
	// ErrBatches reports arguments to OpenBatches that name no batches, or
	// a stacked array whose rows cannot be read as batches.
	ErrBatches = errors.New("tensorfile: not batches")
	// ErrNotRegular reports a path that names a named pipe, a device, a
	// socket or a directory rather than a regular file.
	ErrNotRegular = osfile.ErrNotRegular
)

// file is an open tensor file.
type file interface {
	// keys lists every tensor, in the file's order: natural order of the
	// names for .npz and .safetensors, depth-first for a .pt; nil for .npy.
	keys() []string
	// batchKeys lists the tensors a batch argument without a key names.
	batchKeys() ([]string, error)
	// tensor finds a tensor by key; "" names the file's only tensor.
	tensor(key string) (tensor, error)
	io.Closer
}

// Read reads the tensor ref names: a .npy file, or a tensor of a container
// (without a key, the container's only tensor). The file is opened, read
// and closed.
func Read(ref Ref) (*Array, error) {
	f, err := open(ref.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := f.tensor(ref.Key)
	if err != nil {
		return nil, err
	}
	return t.read(nil)
}

// Keys lists the tensors of the container at path, in its order: natural
// order of the names for .npz and .safetensors (batch_2 before batch_10),
// depth-first through a .pt's dicts (in insertion order) and lists; a .npy
// file has none.
func Keys(path string) ([]string, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.keys(), nil
}

// open opens the file at path and tells its format from its first bytes.
func open(path string) (file, error) {
	f, size, err := osfile.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	tf, err := openAt(f, size, f)
	if err == nil {
		return tf, nil
	}
	f.Close()
	return nil, err
}

// openAt opens a tensor file of size bytes read through r; closer, if not
// nil, is closed with it.
func openAt(r io.ReaderAt, size int64, closer io.Closer) (file, error) {
	var magic [9]byte
	n, err := r.ReadAt(magic[:], 0)
	if n < len(magic) && err != io.EOF {
		return nil, err
	}
	m := string(magic[:n])
	switch {
	case len(m) >= 6 && m[:6] == "\x93NUMPY":
		return openNpy(r, size, closer)
	case len(m) >= 4 && (m[:4] == "PK\x03\x04" || m[:4] == "PK\x05\x06"):
		z, err := openZip(r, size, closer)
		if err != nil {
			return nil, err
		}
		if pkl := z.torchPickle(); pkl != nil {
			return openTorch(z, pkl)
		}
		return openNpz(z)
	case len(m) == 9 && m[8] == '{':
		return openSafetensors(r, size, closer)
	case len(m) >= 1 && m[0] == 0x80:
		return nil, fmt.Errorf("%w: a bare pickle, as torch.save wrote before torch 1.6 or with "+
			"_use_new_zipfile_serialization=False: load it and save it again with torch.save's default", ErrFormat)
	}
	return nil, fmt.Errorf("%w: not a .npy, .npz, .safetensors or torch.save file", ErrFormat)
}

// closer closes what an open file holds, once.
type closer struct{ c io.Closer }

func (c *closer) Close() error {
	if c.c == nil {
		return nil
	}
	err := c.c.Close()
	c.c = nil
	return err
}
