package npy

// Gather copies the elements of src, laid out with the given strides (in
// elements, one per axis of shape), into dst in C order: a Fortran-order
// array, a transposed or offset torch tensor.
func Gather(dst, src []float32, shape, strides []int) {
	nd := len(shape)
	if nd == 0 {
		dst[0] = src[0]
		return
	}
	inner, step := shape[nd-1], strides[nd-1]
	idx := make([]int, nd-1)
	off := 0 // offset in src of idx
	for o := 0; o < len(dst); o += inner {
		for j := range inner {
			dst[o+j] = src[off+j*step]
		}
		for k := nd - 2; k >= 0; k-- { // advance idx, carrying into earlier axes
			idx[k]++
			off += strides[k]
			if idx[k] < shape[k] {
				break
			}
			off -= idx[k] * strides[k]
			idx[k] = 0
		}
	}
}
