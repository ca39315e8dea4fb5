package tensorfile

// Array is a tensor as the readers return it: float32 elements in C
// (row-major) order, Shape[len(Shape)-1] varying fastest. A scalar has an
// empty Shape and one element. Dtype is the type the file stores the
// elements in (Float32, Float16, BFloat16 or Float64).
type Array struct {
	Shape []int
	Data  []float32
	Dtype Dtype
}

// Len returns the number of elements implied by Shape: the product of the
// dimensions, 1 for a scalar. It does not check for overflow; arrays the
// readers return never overflow.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}
