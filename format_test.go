package chanprune

import (
	"errors"
	"math"
	"testing"
)

// Every finite 16-bit value widens exactly and narrows back to itself; the
// values halfway between neighbours round to the even one.
func TestFormatRoundTrip(t *testing.T) {
	for _, f := range []WeightFormat{BFloat16, Float16} {
		for h := range 1 << 16 {
			v := widen(f, uint16(h))
			if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
				continue
			}
			got, ok := narrow(f, v)
			if !ok || got != uint16(h) && v != 0 {
				t.Fatalf("%v: %#04x widens to %v, which narrows to %#04x (finite %v)", f, h, v, got, ok)
			}
			next := widen(f, uint16(h+1))
			if v <= 0 || math.IsInf(float64(next), 0) || next <= v {
				continue
			}
			mid := float32((float64(v) + float64(next)) / 2)
			want := uint16(h)
			if h&1 == 1 {
				want = uint16(h + 1)
			}
			if got, _ := narrow(f, mid); got != want {
				t.Fatalf("%v: midpoint %v of %#04x and %#04x narrows to %#04x, want %#04x", f, mid, h, h+1, got, want)
			}
		}
	}
}

func TestFormatKnownValues(t *testing.T) {
	for _, c := range []struct {
		f    WeightFormat
		v    float32
		want uint16
		ok   bool
	}{
		{Float16, 1, 0x3c00, true},
		{Float16, -2, 0xc000, true},
		{Float16, 65504, 0x7bff, true},
		{Float16, 65520, 0, false}, // rounds past the largest finite value
		{Float16, 0x1p-24, 0x0001, true},
		{Float16, 0x1p-25, 0x0000, true}, // a tie with zero: even
		{Float16, 0x1.8p-25, 0x0001, true},
		{Float16, float32(math.Inf(1)), 0, false},
		{BFloat16, 1, 0x3f80, true},
		{BFloat16, -0.5, 0xbf00, true},
		{BFloat16, math.MaxFloat32, 0, false},
		{BFloat16, float32(math.NaN()), 0, false},
	} {
		if got, ok := narrow(c.f, c.v); ok != c.ok || ok && got != c.want {
			t.Errorf("narrow(%v, %v) = %#04x, %v; want %#04x, %v", c.f, c.v, got, ok, c.want, c.ok)
		}
	}
}

func TestParseWeightFormat(t *testing.T) {
	for _, f := range []WeightFormat{Float32, BFloat16, Float16} {
		if got, err := ParseWeightFormat(f.String()); err != nil || got != f {
			t.Errorf("ParseWeightFormat(%q) = %v, %v", f.String(), got, err)
		}
	}
	if got, err := ParseWeightFormat("BF16"); err != nil || got != BFloat16 {
		t.Errorf("ParseWeightFormat(BF16) = %v, %v", got, err)
	}
	if _, err := ParseWeightFormat("int8"); !errors.Is(err, ErrOption) {
		t.Errorf("ParseWeightFormat(int8): %v, want ErrOption", err)
	}
	if s := WeightFormat(7).String(); s != "WeightFormat(7)" {
		t.Errorf("WeightFormat(7).String() = %q", s)
	}
}

// A weight a 16-bit format cannot hold as a finite number is an error that
// names it; an unknown format is an option error.
func TestWeightFormatErrors(t *testing.T) {
	l := Linear{In: 2, Out: 2, Weight: []float32{1, 2, 3, 1e5}}
	if _, err := NewLayer(l, WithWeightFormat(Float16)); !errors.Is(err, ErrNonFinite) {
		t.Errorf("float16 with 1e5: %v, want ErrNonFinite", err)
	}
	if _, err := NewLayer(l, WithWeightFormat(BFloat16)); err != nil {
		t.Errorf("bfloat16 with 1e5: %v", err)
	}
	if _, err := NewLayer(l, WithWeightFormat(WeightFormat(3))); !errors.Is(err, ErrOption) {
		t.Errorf("WeightFormat(3): %v, want ErrOption", err)
	}
}
