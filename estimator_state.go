package chanprune

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// An estimator's state is one JSON object:
//
//	{"format": "chanprune estimator state", "version": 1,
//	 "estimator": "l2norm", "options": {…}, "in": 1024, "out": 4096,
//	 "layer_crc32c": 123456789, "batches": 40, "state": {…}}
//
// where "state" holds the estimator's own accumulators and "options" the
// batch layout among the rest: a state saved before layouts were recorded
// has none and loads as LayoutSeqFirst, the only layout there was. Go's encoding/json
// writes each float64 in the shortest form that parses back to the same
// bits, so a resumed run is bitwise the run that was never interrupted.

const (
	stateFormat  = "chanprune estimator state"
	stateVersion = 1
)

type stateFile struct {
	Format    string           `json:"format"`
	Version   int              `json:"version"`
	Estimator string           `json:"estimator"`
	Options   EstimatorOptions `json:"options"`
	In        int              `json:"in"`
	Out       int              `json:"out"`
	Checksum  uint32           `json:"layer_crc32c"` // layerChecksum
	Batches   int              `json:"batches"`
	State     json.RawMessage  `json:"state"`
}

func (e *estimator) Save(w io.Writer) error {
	if w == nil {
		return fmt.Errorf("%s: saving the state: writer: %w", e.kind.name, ErrNil)
	}
	state, err := json.Marshal(e.scorer)
	if err != nil {
		return fmt.Errorf("%s: saving the state: %w", e.kind.name, err)
	}
	f := stateFile{stateFormat, stateVersion, e.kind.name, e.opts, e.in, e.out, e.checksum, e.batches, state}
	if err := json.NewEncoder(w).Encode(f); err != nil {
		return fmt.Errorf("%s: saving the state: %w", e.kind.name, err)
	}
	return nil
}

// LoadEstimator restores an estimator that Save wrote, for layer: the
// state must have been saved for a layer of the same shape, weight and
// bias (compared by CRC-32C), and its counts and sums must be ones a run
// on float32 data can reach, so that no later batch takes a sum to Inf or
// a score to NaN.
func LoadEstimator(r io.Reader, layer Linear) (Estimator, error) {
	if r == nil {
		return nil, fmt.Errorf("estimator state: reader: %w", ErrNil)
	}
	var f stateFile
	if err := decodeStrict(r, &f); err != nil {
		return nil, err
	}
	if f.Format != stateFormat || f.Version != stateVersion {
		return nil, fmt.Errorf("estimator state: format %q version %d, want %q version %d: %w",
			f.Format, f.Version, stateFormat, stateVersion, ErrState)
	}
	if f.In != layer.In || f.Out != layer.Out {
		return nil, fmt.Errorf("estimator state: saved for a %d → %d layer, not %d → %d: %w", f.In, f.Out, layer.In, layer.Out, ErrState)
	}
	if f.Batches < 0 {
		return nil, fmt.Errorf("estimator state: batches %d: %w", f.Batches, ErrState)
	}
	est, err := NewEstimator(f.Estimator, layer, f.Options)
	if err != nil {
		return nil, fmt.Errorf("estimator state: %w", err)
	}
	e := est.(*estimator)
	if e.checksum != f.Checksum {
		return nil, fmt.Errorf("estimator state: saved for another layer of this shape (weight and bias CRC-32C %d, this one's %d): %w",
			f.Checksum, e.checksum, ErrState)
	}
	if err := decodeStrict(bytes.NewReader(f.State), e.scorer); err != nil {
		return nil, err
	}
	if err := e.scorer.restore(e.in, f.Batches); err != nil {
		return nil, fmt.Errorf("estimator state: %s: %w", e.kind.name, err)
	}
	e.batches = f.Batches
	return e, nil
}

// decodeStrict decodes the one JSON value r holds into v, refusing unknown
// fields and trailing data.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("estimator state: %v: %w", err, ErrState)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("estimator state: data after the JSON value: %w", ErrState)
	}
	return nil
}

// layerChecksum is the CRC-32C of the weight's then the bias's float32
// bits, little-endian.
func layerChecksum(l Linear) uint32 {
	var buf [4 << 10]byte
	sum := uint32(0)
	table := crc32.MakeTable(crc32.Castagnoli)
	for _, x := range [][]float32{l.Weight, l.Bias} {
		for len(x) > 0 {
			n := min(len(x), len(buf)/4)
			for i, v := range x[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			sum = crc32.Update(sum, table, buf[:4*n])
			x = x[n:]
		}
	}
	return sum
}
