package chanprune

// WeightFormat is the element type a Layer stores its weight in: Float32,
// or BFloat16 or Float16 for weights that are exactly values of those
// formats (as read from a bf16 or fp16 checkpoint).
type WeightFormat int

// The weight formats.
const (
	Float32 WeightFormat = iota
	BFloat16
	Float16
)

// WithWeightFormat has NewLayer and Compact store the weight in format f.
func WithWeightFormat(f WeightFormat) Option { return func(c *config) { c.format = f } }
