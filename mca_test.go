package chanprune

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestMCA predicts, with llvm-mca (LLVM 19 or later), how close each
// kernel's inner loop comes to the FMA limit of CPUs we cannot run on. The
// loops are in testdata/mca, written by the generators (asm/, gen/) from the
// same instructions as kernel_amd64.s and kernel_arm64.s. For each kernel
// and CPU model it prints
//
//	mca KERNEL CPU UTILISATION
//
// where UTILISATION is the kernel's predicted FMA instructions per cycle ÷
// those of the peak loop of its ISA on the same model: the model's own
// limit, whatever the chip really has (README, "Modelled throughput").

// mcaIterations is long enough that the loop's start-up (a few dozen
// cycles) is noise in the total.
const mcaIterations = 300

// mcaTarget is the least utilisation a kernel must reach on an out-of-order
// model.
const mcaTarget = 0.9

// mcaCPUs lists the models run, with the instruction sets of their kernels.
type mcaModel struct {
	triple, cpu string
	isas        []string
	inOrder     bool // the target does not apply (see mcaCPU)
}

var mcaCPUs = []mcaModel{
	{"x86_64", "haswell", []string{"avx2"}, false},
	{"x86_64", "skylake-avx512", []string{"avx2", "avx512"}, false},
	{"x86_64", "icelake-server", []string{"avx2", "avx512"}, false},
	{"x86_64", "sapphirerapids", []string{"avx2", "avx512"}, false},
	{"x86_64", "znver3", []string{"avx2"}, false},
	{"x86_64", "znver4", []string{"avx2", "avx512"}, false},
	{"aarch64", "cortex-a53", []string{"neon"}, true},
	{"aarch64", "cortex-a76", []string{"neon"}, false},
	{"aarch64", "neoverse-n1", []string{"neon"}, false},
	{"aarch64", "neoverse-n2", []string{"neon"}, false},
	{"aarch64", "neoverse-v1", []string{"neon"}, false},
	{"aarch64", "neoverse-v2", []string{"neon"}, false},
	{"aarch64", "apple-m1", []string{"neon"}, false},
}

func TestMCA(t *testing.T) {
	mca, why := findMCA()
	if mca == "" {
		t.Skip("llvm-mca 19 or later not found (" + why + "); install Debian's llvm-19")
	}
	for _, c := range mcaCPUs {
		t.Run(c.cpu, func(t *testing.T) {
			t.Parallel()
			mcaCPU(t, mca, c)
		})
	}
}

// mcaCPU prints and checks the utilisation of each kernel of the given
// instruction sets on one CPU model.
func mcaCPU(t *testing.T, mca string, c mcaModel) {
	for _, isa := range c.isas {
		peak := mcaFMAsPerCycle(t, mca, c.triple, c.cpu, isa+"_peak")
		t.Logf("model limit: %s %s %.2f FMA instructions/cycle", c.cpu, isa, peak)
		for _, kind := range []string{"eval", "gemm"} {
			u := mcaFMAsPerCycle(t, mca, c.triple, c.cpu, isa+"_"+kind) / peak
			fmt.Printf("mca %s-%s %s %.2f\n", isa, kind, c.cpu, u)
			switch {
			case u > 1.01:
				t.Errorf("%s-%s on %s: %.2f of the peak loop: the peak loop is not the model's limit", isa, kind, c.cpu, u)
			case c.inOrder:
				// An in-order core issues the loop's loads and FMAs in
				// program order: a load-use stall is not hidden by other
				// work, so the figure is reported, not held to the target.
				t.Logf("%s-%s on %s: %.2f, in-order core, not asserted", isa, kind, c.cpu, u)
			case u < mcaTarget:
				t.Errorf("%s-%s on %s: %.2f of the peak loop, want >= %.2f", isa, kind, c.cpu, u, mcaTarget)
			}
		}
	}
}

// findMCA returns llvm-mca-19, or llvm-mca if it is version 19 or later,
// else "" and why not.
func findMCA() (path, why string) {
	if p, err := exec.LookPath("llvm-mca-19"); err == nil {
		return p, ""
	}
	p, err := exec.LookPath("llvm-mca")
	if err != nil {
		return "", "neither llvm-mca-19 nor llvm-mca is on PATH"
	}
	out, err := exec.Command(p, "--version").Output()
	if err != nil {
		return "", fmt.Sprintf("%s --version: %v", p, err)
	}
	m := regexp.MustCompile(`LLVM version (\d+)`).FindSubmatch(out)
	if m == nil {
		return "", p + " --version names no LLVM version"
	}
	if v, _ := strconv.Atoi(string(m[1])); v < 19 {
		return "", fmt.Sprintf("%s is LLVM %d", p, v)
	}
	return p, ""
}

var mcaTotalCycles = regexp.MustCompile(`(?m)^Total Cycles:\s+(\d+)$`)

// mcaFMAsPerCycle runs llvm-mca on testdata/mca/stem.s for the CPU and
// returns the FMA instructions of the marked region times the iterations,
// over the total cycles.
func mcaFMAsPerCycle(t *testing.T, mca, triple, cpu, stem string) float64 {
	t.Helper()
	file := filepath.Join("testdata", "mca", stem+".s")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fmas := mcaCountFMAs(string(src))
	if fmas == 0 {
		t.Fatalf("%s: no FMA in the marked loop", file)
	}
	out, err := exec.Command(mca, "-mtriple="+triple, "-mcpu="+cpu,
		fmt.Sprintf("-iterations=%d", mcaIterations), file).CombinedOutput()
	if err != nil {
		t.Fatalf("llvm-mca -mcpu=%s %s: %v\n%s", cpu, file, err, out)
	}
	m := mcaTotalCycles.FindSubmatch(out)
	if m == nil {
		t.Fatalf("llvm-mca -mcpu=%s %s: no Total Cycles in\n%s", cpu, file, out)
	}
	cycles, _ := strconv.Atoi(string(m[1]))
	return float64(fmas*mcaIterations) / float64(cycles)
}

// mcaCountFMAs counts the FMA instructions (vfmadd…, fmla) between the
// LLVM-MCA-BEGIN and LLVM-MCA-END markers.
func mcaCountFMAs(src string) int {
	n, in := 0, false
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.Contains(line, "LLVM-MCA-BEGIN"):
			in = true
		case strings.Contains(line, "LLVM-MCA-END"):
			in = false
		case in && (strings.HasPrefix(line, "vfmadd") || strings.HasPrefix(line, "fmla ")):
			n++
		}
	}
	return n
}
