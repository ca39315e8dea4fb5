package chanprune

import (
	"errors"
	"fmt"
)

// Compensation is how the layer is repaired after its pruned channels are
// removed (README, "Compensation"). With the fit set's mean m and centred
// scatter S, kept channels K and pruned P:
//
//   - CompensateNone: the seed, W_K and b unchanged;
//   - CompensateBias: b' = b + W_P·m_P (FLAP's bias compensation);
//   - CompensateLstsq: C = (S_KK + λI)⁻¹·S_KP, λ = damp·mean_{c∈K} S_cc,
//     W_K' = W_K + W_P·Cᵀ and b' = b + W_P·(m_P − Cᵀ·m_K): the ridge
//     least-squares refit of the kept weights to the layer's own outputs.
type Compensation int

const (
	CompensateNone Compensation = iota
	CompensateBias
	CompensateLstsq
)

// DefaultDamp is the ridge damping a user gets unless another is given:
// λ = DefaultDamp·mean_{c∈K} S_cc.
const DefaultDamp = 0.01

// ErrNotPositiveDefinite reports a lstsq repair whose S_KK + λI is not
// positive definite (a kept channel constant or a copy of others on the fit
// set, with too small a damp): a larger damp makes it so.
var ErrNotPositiveDefinite = errors.New("the kept channels are (nearly) linearly dependent on the fit set: raise damp")

var compensationNames = []string{"none", "bias", "lstsq"}

// Compensations lists the names ParseCompensation accepts, none first.
func Compensations() []string { return append([]string(nil), compensationNames...) }

func (c Compensation) String() string {
	if c < 0 || int(c) >= len(compensationNames) {
		return fmt.Sprintf("Compensation(%d)", int(c))
	}
	return compensationNames[c]
}

// ParseCompensation returns the Compensation named "none", "bias" or "lstsq".
func ParseCompensation(s string) (Compensation, error) {
	for i, n := range compensationNames {
		if s == n {
			return Compensation(i), nil
		}
	}
	return 0, fmt.Errorf("compensation %q: want none, bias or lstsq: %w", s, ErrOption)
}

// checkRepair refuses a mode or damp no repair is defined for.
func checkRepair(mode Compensation, damp float64) error {
	if mode < CompensateNone || mode > CompensateLstsq {
		return fmt.Errorf("compensation %v: want none, bias or lstsq: %w", mode, ErrOption)
	}
	if !(damp >= 0) || !isFinite(damp) {
		return fmt.Errorf("damp %v: want a finite number ≥ 0: %w", damp, ErrOption)
	}
	return nil
}

// checkRepairOn is checkRepair of r's mode and damp, and refuses a fit set
// of another width than e's layer.
func (e *Evaluator) checkRepairOn(r Repair) error {
	if err := checkRepair(r.Mode, r.Damp); err != nil {
		return err
	}
	if r.Fit != nil && r.Fit.in != e.in {
		return fmt.Errorf("repair: the fit set has In = %d, the layer %d: %w", r.Fit.in, e.in, ErrShape)
	}
	return nil
}
