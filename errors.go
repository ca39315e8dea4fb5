package chanprune

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them, so
// callers can test the kind with errors.Is; the message names the argument and
// the offending index or shape.
var (
	// ErrShape reports slices whose lengths do not match the layer's shape.
	ErrShape = errors.New("shape mismatch")
	// ErrRatio reports a prune ratio outside [0, 1] or NaN.
	ErrRatio = errors.New("prune ratio must be in [0, 1]")
	// ErrNaNScore reports a NaN importance score (±Inf scores are valid).
	ErrNaNScore = errors.New("importance score is NaN")
	// ErrEmpty reports an empty list of batches or a batch with no rows.
	ErrEmpty = errors.New("empty input")
	// ErrNonFinite reports a NaN or ±Inf in the weight, the bias or an
	// activation batch, or a layer output that overflows float32; under
	// WithMethod(Gram), also a batch whose float32 Gram sums overflow
	// (an entry of G = xᵀx or H⊙G), which the direct method evaluates.
	ErrNonFinite = errors.New("non-finite value")
	// ErrKernel reports an unknown kernel name or one this CPU cannot run.
	ErrKernel = errors.New("kernel not available")
	// ErrMethod reports an unknown method name.
	ErrMethod = errors.New("unknown method")
	// ErrOption reports an option given to a function it does not apply
	// to, such as WithMethod to Compact.
	ErrOption = errors.New("option does not apply")
	// ErrBusy reports a call on an Evaluator, or on one of its Streams,
	// while another call on it is in progress in another goroutine.
	ErrBusy = errors.New("evaluator in use")
	// ErrNil reports a nil where a call needs something to write to or
	// read from: EvaluateTo's metrics, SweepTo's points, Save's writer,
	// LoadEstimator's reader; and a call on the zero value of a type that
	// its constructor makes (an Evaluator, Stream, Layer or Fit).
	ErrNil = errors.New("nil argument")
)
