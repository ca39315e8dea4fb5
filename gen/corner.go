package main

import "fmt"

// cornerRegs names the general registers copyCorner uses: the scratch tile,
// c, ldc in bytes, the rows m and columns n (both consumed or kept as
// noted), and three temporaries.
type cornerRegs struct{ tile, c, ldc, m, n, src, dst, cnt string }

// copyCorner emits the end of a product whose n < NR: the m×n corner of the
// scratch tile (rows of rowBytes, from r.tile) copied to c (row i at
// c + i·ldc), or added to c's values with accumulate, then RET at the label
// done. It consumes r.tile, r.c and r.m.
func copyCorner(a *asm, r cornerRegs, rowBytes int, accumulate bool) {
	a.insc("CMP", "$1, "+r.m, "if m < 1 or n < 1: done")
	a.ins("BLT", "done")
	a.ins("CMP", "$1, "+r.n)
	a.ins("BLT", "done")
	a.label("rows")
	a.ins("MOVD", r.tile+", "+r.src)
	a.ins("MOVD", r.c+", "+r.dst)
	a.ins("MOVD", r.n+", "+r.cnt)
	a.label("cols")
	a.ins("FMOVS.P", "4("+r.src+"), F0")
	if accumulate {
		a.ins("FMOVS", "("+r.dst+"), F1")
		a.insc("FADDS", "F1, F0, F0", "tile[i][j] + c[i·ldc+j]")
		a.insc("FMOVS.P", "F0, 4("+r.dst+")", "c[i·ldc+j] = the sum")
	} else {
		a.insc("FMOVS.P", "F0, 4("+r.dst+")", "c[i·ldc+j] = tile[i][j]")
	}
	a.ins("SUBS", "$1, "+r.cnt+", "+r.cnt)
	a.ins("BNE", "cols")
	a.ins("ADD", fmt.Sprintf("$%d, %s, %s", rowBytes, r.tile, r.tile))
	a.ins("ADD", r.ldc+", "+r.c+", "+r.c)
	a.ins("SUBS", "$1, "+r.m+", "+r.m)
	a.ins("BNE", "rows")
	a.label("done")
	a.ins("RET", "")
}
