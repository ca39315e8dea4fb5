package chanprune

// A kernel is one implementation of the evaluation micro-kernel together
// with the register tile it is written for. Packing follows the tile: the
// activations are packed in panels of mr tokens, the weight in panels of nr
// outputs.
type kernel struct {
	name    string
	mr, nr  int
	eval    evalFunc
	gemm    gemmFunc
	gemmAcc gemmAccFunc

	// tail, if not nil, is a kernel of fewer rows and the same nr (eval,
	// gemm and gemmAcc only) for the last rows of a batch, so that those
	// rows are not padded to a whole mr panel (rowLayout, pack.go).
	tail *kernel
	// The small-T products (gemv.go), one function per token count:
	// gemv32[t-1] takes t tokens and a float32 weight panel, gemvBF16 and
	// gemvF16 the same for a panel stored in 16 bits. All three have the
	// same length, the most tokens one call takes.
	gemv32   []gemv32Func
	gemvBF16 []gemv16Func
	gemvF16  []gemv16Func
	// widenBF16 and widenF16 widen whole rows of a 16-bit panel for gemm
	// (product.block).
	widenBF16, widenF16 widen16Func
	// bf16Pairs: the kernel's bfloat16 panels are stored in pairs
	// (pack16.go).
	bf16Pairs bool

	// peak runs n iterations of independent FMAs, peakFlops flops each,
	// to measure the machine's limit for this instruction set; nil for
	// the generic kernel.
	peak      func(n int)
	peakFlops int

	// lowerSplit and contractSplit are the sweep's reductions of a row
	// segment of H⊙G, with column adds (lowerSplitFunc, contractSplitFunc).
	lowerSplit    lowerSplitFunc
	contractSplit contractSplitFunc
	// lowerSplitSets is lowerSplit for several score sets at once
	// (lowerSplitSetsFunc); a table that leaves it nil gets
	// lowerSplitEach (dispatch_asm.go).
	lowerSplitSets lowerSplitSetsFunc
	// sweepSplit is contractSplit and lowerSplitSets of a row segment in
	// one pass, any length (sweepSplitFunc); a table that leaves it nil
	// gets sweepSplitEach (dispatch_asm.go).
	sweepSplit sweepSplitFunc

	// contract is the Gram path's contraction of a row of H⊙G (contractFunc).
	contract contractFunc

	// dot4 and axpy4 are the inner loops of the float64 Cholesky factor
	// and solves of a lstsq repair (compensate_solve.go): four dot
	// products with one vector, four fused axpys of one vector.
	dot4  dot4Func
	axpy4 axpy4Func
	// widenAdd adds a strip of a fit set's Gram blocks into its float64
	// Σ xᵀx (widenAddFunc).
	widenAdd widenAddFunc
	// packGram lays a row of a Gram block out in its mr- and nr-channel
	// panels (packGramFunc); a table that leaves it nil gets
	// packGramGeneric (dispatch_asm.go).
	packGram packGramFunc
	// columnSums adds up a Gram panel's channels and their squares
	// (columnSumsFunc); a table that leaves it nil gets columnSumsGeneric
	// (dispatch_asm.go).
	columnSums columnSumsFunc
	// moveAdd moves a sweep band's column sums into the channels' sums
	// (moveAddFunc); a table that leaves it nil gets moveAddGeneric
	// (dispatch_asm.go).
	moveAdd moveAddFunc
	// packRows packs up to packRowsMax rows of a direct row panel
	// (packRowsFunc); nil where packActivationPanel's Go loop does it.
	packRows packRowsFunc

	// readSum streams memory for MeasureBandwidth (readSumFunc).
	readSum readSumFunc

	// The planner's exchange rates, in this kernel's multiply-adds (asm/
	// and gen/ say how each was set): what the Gram path spends per entry
	// of H⊙G it contracts (the contract kernel), and per batch beyond its
	// products (packing, hand-offs between workers); and what the direct
	// path spends per activation it packs, once per pair and token (0
	// where unmeasured: NEON, generic).
	gramEntryMACs  int
	gramBatchMACs  int
	directPackMACs int
}

// evalFunc evaluates one mr×nr tile of the pruned layer and adds its
// reductions to s. Its contract, shared by every implementation:
//
//   - a holds len(idx) rows of mr activations: row p is channel idx[p] of the
//     tile's tokens (zero for padded tokens). Rows [0, nk) are the kept
//     channels, rows [nk, len(idx)) the pruned ones.
//   - w is a weight panel: row c (nr floats) holds W[o, c] for the panel's nr
//     outputs o, zero for padded outputs; the kernel reads row idx[p] for p.
//   - bias holds nr floats (zero padded), added to y'.
//   - m ≤ mr is the number of real tokens; rows m..mr-1 are left out of s.
//   - pf is memory the caller reads next, a hint: at its p-th K step the
//     kernel may prefetch the line pfStep·p bytes past pf's start, for
//     p < len(idx). Where pf is not empty, (len(idx)−1)·pfStep <
//     4·len(pf), so every such line is pf's. The amd64 kernels prefetch;
//     NEON and the generic kernel ignore pf.
//
// For the tile it forms y' = a[:nk]·w[idx[:nk]] + bias and
// d = a[nk:]·w[idx[nk:]] (what pruning removes, so y = y' + d), and adds
// Σd², Σy·y', Σy² and Σy'² to s in float64. Every SIMD kernel is checked
// against evalGeneric (kernel_generic.go).
type evalFunc func(a, w []float32, idx []int32, nk int, bias []float32, m int, s *sums, pf []float32, pfStep int)

// gemmFunc sets the top-left m×n part of an mr×nr tile of C to a·w + bias,
// the dense product that serving the pruned layer and the Gram path use:
//
//   - a holds k rows of mr floats (packed as for evalFunc);
//   - w holds k rows of nr floats, contiguous (no index);
//   - bias holds nr floats (zero padded);
//   - row i of the tile starts at c[i·ldc]; only c[i·ldc+j] for i < m,
//     j < n are written, so c may end right after the last of them.
//
// Every SIMD kernel is checked against gemmGeneric (kernel_generic.go).
type gemmFunc func(a, w []float32, k int, bias, c []float32, ldc, m, n int)

// gemmAccFunc adds a·w to the top-left m×n part of an mr×nr tile of C:
// c[i·ldc+j] += (a·w)[i][j] for i < m, j < n, the sum over the k rows
// formed first and then added to c. It is gemmFunc without bias, for the
// K blocks after the first of a product blocked over its depth (product.go):
//
//   - a, w and the layout of c are as for gemmFunc (a block of k rows of the
//     packed panels is itself a packed panel, so a caller addresses rows
//     [k0, k0+k) at a[k0·mr:] and w[k0·nr:]);
//   - only c[i·ldc+j] for i < m, j < n are read and written; k may be 0,
//     which leaves c as it was.
//
// Every SIMD kernel is checked against gemmAccGeneric (kernel_generic.go).
type gemmAccFunc func(a, w []float32, k int, c []float32, ldc, m, n int)

// gemv32Func is the small-T product of one weight panel, for the few
// tokens a serving call brings (its token count t is the function's: see
// kernel.gemv32). It sets c[i·ldc+j] to Σ_p x[i·ldx+p]·w[p·nr+j] + bias[j]
// for i < t, j < n:
//
//   - x holds t rows of at least depth floats, row i at x[i·ldx];
//   - w is one packed weight panel (packWeight): depth rows of nr floats;
//   - bias holds nr floats (zero padded);
//   - only c[i·ldc+j] for i < t, j < n are written.
//
// Each sum is formed in channel order p = 0, 1, … in float32, one
// multiply-add a channel, then bias is added; the SIMD kernels fuse the
// multiply-add and, for few tokens, may keep up to four partial sums in
// channel order that they add pairwise before bias (asm/gemv.go); they are
// checked against gemvGeneric (kernel_generic.go) within a dot product's
// error.
type gemv32Func func(x []float32, ldx int, w []float32, depth int, bias, c []float32, ldc, n int)

// gemv16Func is gemv32Func for a weight panel stored in 16 bits (bfloat16 or
// float16 by the kernel.gemv field it fills), widened to float32 exactly
// before the multiply-add, so it gives bit for bit what the same kernel's
// gemv32Func gives on the widened panel.
type gemv16Func func(x []float32, ldx int, w []uint16, depth int, bias, c []float32, ldc, n int)

// widen16Func sets dst to src widened to float32 in output order: src is
// whole rows of nr outputs of a 16-bit panel in the kernel's layout
// (bfloat16 or float16 by the kernel field it fills), dst as long. Every
// SIMD kernel is checked against kernel.unpack16 (pack16.go), bit for bit.
type widen16Func func(dst []float32, src []uint16)

// lowerSplitFunc splits a row segment of M = H⊙G by rank: with
// m_j = h[j]·g[j] rounded to float32 (a float32 multiply) and widened, it
// returns Σ m_j over the j < len(h) with rank[j] < below, summed in float64
// in any order, and adds m_j to col[j] for every other j < len(h) (one
// float64 add each, so col is the same whatever the kernel). len(g),
// len(rank) and len(col) ≥ len(h); any length. The sweep's Gram path calls
// it on the upper triangle's row i right of the diagonal, below = rank[i]
// in a score set's pruning order: a pair belongs to its channel ranked
// later, row i's sum or column j's (gram_sweep.go). Every SIMD kernel is
// checked against lowerSplitGeneric.
type lowerSplitFunc func(h, g []float32, rank []int32, below int32, col []float64) float64

// lowerSplitSetsFunc is lowerSplitFunc for several score sets in one pass
// over a row segment, so m_j is formed once for all of them. Set t <
// len(below) has its ranks at ranks[t·stride:] and its column at
// cols[t·stride:]: for j < len(h), with m_j as for lowerSplitFunc, it adds
// m_j to sums[t] (float64, any order) if ranks[t·stride+j] < below[t], and
// to cols[t·stride+j] otherwise (one float64 add). len(sums) ≥ len(below);
// len(ranks) and len(cols) ≥ (len(below)−1)·stride + len(h) when there is
// a set; any len(h) and any number of sets. Each set's cols are bit for
// bit what lowerSplitFunc gives it, a NaN or infinity reaching only its
// own column; its sum may be formed as Σm over the whole row less the
// column side's (the x86 kernels: no mask of the row's side to form), so
// it is held to 2(n+1)·2⁻⁵³·Σ|m| over the whole row, and a NaN or
// infinity on the column side may make it NaN. A pair whose sums that
// makes NaN is not certified (certified, gram_certify.go, refuses sums
// that are not finite), so Auto redoes its batch on the direct path and a
// forced Gram path counts it Uncertified. Such an entry of M is an
// overflowing float32 product, and the pairs whose sums it reached before
// are refused the same way. Every SIMD kernel is checked set by set
// against lowerSplitGeneric, which the generic kernel calls once per set
// (lowerSplitEach). The sweep calls it once per row segment for all its
// score sets (gram_sweep.go).
type lowerSplitSetsFunc func(h, g []float32, ranks []int32, below []int32, cols []float64, stride int, sums []float64)

// lowerSplitEach is a lowerSplitSetsFunc from k's lowerSplit, one call per
// set: the generic kernel's, and the fallback of a kernel table without
// lowerSplitSets.
func (k *kernel) lowerSplitEach(h, g []float32, ranks []int32, below []int32, cols []float64, stride int, sums []float64) {
	n := len(h)
	for t, b := range below {
		at := t * stride
		sums[t] += k.lowerSplit(h, g, ranks[at:at+n], b, cols[at:at+n])
	}
}

// contractFunc adds to s the contraction of one row segment of H⊙G with
// its rounding-error proxies (gram_certify.go). For j < len(h), with h
// and g widened to float64, v_j = h_j·g_j and
// w_j = fg·h_j²·gd_j + fh·g_j²·hd_j, it adds
//
//	s[0] += Σ v_j,  s[1] += Σ v_j·mask_j,  s[2] += Σ w_j,  s[3] += Σ w_j·mask_j
//
// in float64, in any order, for any len(h) (the SIMD kernels take the last
// len mod contractBlock entries under a mask, as if the row went on with
// zeros, or one by one); g, mask, hd and gd are at least as long. The Gram
// path calls it once per row segment, on the row of H
// and G right of the diagonal, mask 1 for a pruned channel and 0 for a
// kept one, hd and gd the diagonals of H and G: float32 values held as
// float64 (layerGram.diag, gramScratch.diag), so that each row
// segment loads them rather than widening them again (on Zen 4, where a
// 512-bit widening takes two 256-bit operations, the AVX-512 kernel ran in
// 0.70–0.74 of its time so). Every SIMD kernel is checked against
// contractGeneric.
type contractFunc func(h, g []float32, mask, hd, gd []float64, fg, fh float64, s *sums)

// contractSplitFunc is contractFunc without the mask and with column
// adds: for j < len(h), with v_j and w_j as there, it adds Σ v_j to s[0]
// and Σ w_j to s[2] (float64, any order), leaves s[1] and s[3], and adds
// v_j to colV[j] and w_j to colW[j] (one float64 add each). len(h) is a
// multiple of contractBlock; g, hd, gd, colV and colW are at least as
// long. The sweep's Gram path calls it on the upper triangle's row right
// of the diagonal, so a row's sums and its column adds make the full rows
// of H⊙G (gram_sweep.go). Every SIMD kernel is checked against
// contractSplitGeneric.
type contractSplitFunc func(h, g []float32, hd, gd []float64, fg, fh float64, colV, colW []float64, s *sums)

// contractBlock is the length unit of contractSplitFunc, and contractFunc's
// iteration: one of the AVX-512 kernel, two of AVX2's and four of NEON's.
// Callers contract the last len mod contractBlock entries of a split row
// with contractSplitGeneric (contractSplitRow).
const contractBlock = 8

// contractSplitRow is contractSplitFunc for any length: the whole blocks go
// to the kernel's contractSplit, the rest to contractSplitGeneric.
func (k *kernel) contractSplitRow(h, g []float32, hd, gd []float64, fg, fh float64, colV, colW []float64, s *sums) {
	n := len(h) - len(h)%contractBlock
	k.contractSplit(h[:n], g, hd, gd, fg, fh, colV, colW, s)
	contractSplitGeneric(h[n:], g[n:], hd[n:], gd[n:], fg, fh, colV[n:], colW[n:], s)
}

// sweepSplitFunc is contractSplitFunc followed by lowerSplitSetsFunc on
// the same row segment, in one pass over it and for any len(h), for each of
// len(s) rows over the segment's columns (those of hd, gd, colV, colW,
// ranks and cols): row r's h, g, below and sums are the len(h), len(h),
// len(below) and len(sums) entries r·ldh, r·ldg, r·len(below) and
// r·len(sums) entries past the slices' first, within their capacity; its
// factors are fg = f[2r] and fh = f[2r+1], its sums s[r]. Row r leaves out
// its first lead + r·shift entries (all of them if that is len(h) or
// more): shift 1 is the rows a strip's diagonal cuts, each starting one
// past its diagonal. It adds nothing of them to anything, but a kernel may
// load them and store their column entries back as they were (AVX2, in
// the step the lead ends in), so the caller must own those columns too.
// For each row in order it adds v_j and w_j of the entries it keeps to
// colV[j] and colW[j] and their sums to s[r][0] and s[r][2] as
// contractSplitFunc does, then splits their m_j for each score set as
// lowerSplitSetsFunc does (ranks, cols, stride as there). Every column
// entry is what the two give it, row after row: colV and cols bit for
// bit, and colW bit for bit as the kernel's contractSplit forms w, for
// entries in the steps the lead or the end cut too, which a SIMD kernel
// does with the other entries of the step masked (left at zero, as it
// were); sweepSplitEach forms the last len mod contractBlock entries a row
// keeps as contractSplitRow does (contractSplitGeneric). The sums are held
// to the tolerances of the two. g, hd, gd, colV and colW are at least as
// long as h. The sweep calls it once for the rows of a strip right of the
// diagonal, and once for the rows the diagonal cuts, with their columns
// from a sweepAlign boundary (gram_sweep.go).
type sweepSplitFunc func(h, g []float32, hd, gd []float64, f []float64, colV, colW []float64, s []sums, ranks []int32, below []int32, cols []float64, stride int, sums []float64, ldh, ldg, lead, shift int)

// sweepLead returns how many of a row's n entries row r of a
// sweepSplitFunc call leaves out.
func sweepLead(n, lead, shift, r int) int { return min(n, lead+r*shift) }

// sweepSplitEach is a sweepSplitFunc from k's contractSplitRow and
// lowerSplitSets, one call each a row: the generic kernel's, and the
// fallback of a kernel table without sweepSplit.
func (k *kernel) sweepSplitEach(h, g []float32, hd, gd []float64, f []float64, colV, colW []float64, s []sums, ranks []int32, below []int32, cols []float64, stride int, setSums []float64, ldh, ldg, lead, shift int) {
	n, sets, ns := len(h), len(below), len(setSums)
	for r := range s {
		o := sweepLead(n, lead, shift, r)
		hr, gr := h[r*ldh+o:r*ldh+n], g[r*ldg+o:r*ldg+n]
		k.contractSplitRow(hr, gr, hd[o:], gd[o:], f[2*r], f[2*r+1], colV[o:], colW[o:], &s[r])
		k.lowerSplitSets(hr, gr, ranks[o:], below[r*sets:(r+1)*sets], cols[o:], stride, setSums[r*ns:(r+1)*ns])
	}
}

// readSumFunc returns the float32 sum of x, len(x) a multiple of
// readBlock, reading each element once with the widest loads the kernel
// has: MeasureBandwidth's streaming read. The sum is what makes the loads
// observable; the SIMD kernels add in their own order, so tests hold them
// to readSumGeneric on data whose sums are exact in any order.
type readSumFunc func(x []float32) float32

// readBlock is the length unit of readSumFunc: one iteration of the SIMD
// kernels (512 bytes; asm/readsum.go and gen/readsum.go generate it).
const readBlock = 128

// sums are the reductions of (y', d) from which the metrics follow, in the
// order the kernels add them (an array, so assembly can name the type).
type sums = [4]float64

// Indexes into sums.
const (
	sDD   = iota // Σd² = Σ(y'-y)²
	sYY1         // Σy·y'
	sYY          // Σy²
	sY1Y1        // Σy'²
)

// addSums adds t to s element by element.
func addSums(s *sums, t sums) {
	for i := range s {
		s[i] += t[i]
	}
}

// dot4Func sets s[k] to the dot product of a with b_k over len(a) entries
// (each b_k at least as long), k < 4, each summed as dot64 sums: entry i of
// a whole block of 8 is fused-multiply-added into partial sum i mod 8, the
// partials are added pairwise as (l, l+4), then (l, l+2), then (0, 1), and
// the entries past the last whole block are fused-multiply-added into that
// sum one by one. Every kernel's result is therefore dot64's bit for bit
// (dot4Generic), so a solve does not depend on the kernel.
type dot4Func func(a, b0, b1, b2, b3 []float64, s *[4]float64)

// axpy4Func adds s[k]·x to y_k (each at least len(x) long) for k < 4, each
// entry with one rounding (a fused multiply-add), so that every kernel
// agrees with axpy4Generic bit for bit.
type axpy4Func func(x []float64, s *[4]float64, y0, y1, y2, y3 []float64)

// widenAddFunc adds src, widened to float64, to dst (at least len(src)
// long): dst[i] += float64(src[i]). Widening is exact and each add rounds
// once, so every kernel agrees with widenAddGeneric bit for bit.
type widenAddFunc func(dst []float64, src []float32)

// packGramFunc lays row x (one token of len(x) channels) of a Gram block
// out in the block's two panel layouts (gramBuilder), whose panels are
// laid out for rows rows (panelRows), whole panels only: for
// p < len(x)/mr it copies x[p·mr:(p+1)·mr] to
// a[p·rows·mr:], for p < len(x)/nr x[p·nr:(p+1)·nr] to w[p·rows·nr:], and
// writes nothing else. The caller passes a and w from the row's place in
// the first panel, and packs a last panel that len(x) leaves partial
// itself (packLast). A copy, so every kernel agrees with packGramGeneric
// bit for bit.
type packGramFunc func(a, w, x []float32, rows int)

// columnSumsFunc adds up the nr channels of one nr-channel Gram panel
// (gramBuilder.w's layout: len(panel)/nr rows of nr floats): for each
// channel c < nr, in row order, s[c] += x and q[c] += x·x, with x the
// entry widened to float64 (whose square is exact in float64, fused or
// not). len(s) and len(q) ≥ nr. Each channel's adds are the same in every
// kernel, so every kernel agrees with columnSumsGeneric bit for bit.
type columnSumsFunc func(panel []float32, s, q []float64)

// moveAddFunc adds src to dst entry by entry and zeroes src: dst[j] +=
// src[j], then src[j] = 0, for j < len(src) (len(dst) ≥ len(src)). Each add
// rounds once, so every kernel agrees with moveAddGeneric bit for bit.
type moveAddFunc func(dst, src []float64)

// packRowsFunc copies, for every p, column perm[p] of the first rows rows
// of x (rows of in floats, row r at x[r·in:]) to dst[p·mr : p·mr+rows]:
// dst[p·mr+r] = x[r·in+perm[p]]. It takes 1 to packRowsMax rows and writes
// nothing else; the caller checks the bounds. A copy, so every kernel
// agrees with packActivationPanel's Go loop bit for bit.
type packRowsFunc func(dst, x []float32, in, mr int, perm []int32, rows int)
