package chanprune

import "testing"

// TestUnpackWeightRowInvertsPack packs weights of shapes around the panel
// widths and checks that every row unpacks to the original.
func TestUnpackWeightRowInvertsPack(t *testing.T) {
	for _, nr := range []int{4, 12, 16, 32} {
		for _, sh := range [][2]int{{1, 1}, {3, 5}, {7, nr - 1}, {5, nr}, {9, 2*nr + 3}} {
			in, out := sh[0], sh[1]
			w := make([]float32, out*in)
			for i := range w {
				w[i] = float32(i + 1)
			}
			packed := make([]float32, panels(out, nr)*nr*in)
			packWeight(packed, w, in, out, nr)
			row := make([]float32, in)
			for o := range out {
				unpackWeightRow(row, packed, o, in, nr)
				for c, v := range row {
					if want := w[o*in+c]; v != want {
						t.Fatalf("nr %d, %d→%d: row %d channel %d = %v, want %v", nr, in, out, o, c, v, want)
					}
				}
			}
		}
	}
}

func TestAllChannels(t *testing.T) {
	ch := allChannels([]int32{7, 7, 7, 7})
	for i, c := range ch {
		if c != int32(i) {
			t.Fatalf("allChannels = %v, want 0 1 2 3", ch)
		}
	}
}

// TestZeroedReusesAndClears checks that zeroed keeps the memory of a buffer
// large enough and clears what it returns.
func TestZeroedReusesAndClears(t *testing.T) {
	buf := []float32{1, 2, 3, 4}
	got := zeroed(buf, 3)
	if &got[0] != &buf[0] {
		t.Fatal("zeroed allocated for a buffer large enough")
	}
	for i, v := range got {
		if v != 0 {
			t.Fatalf("zeroed(...)[%d] = %v, want 0", i, v)
		}
	}
	if got := zeroed(buf, 9); len(got) != 9 {
		t.Fatalf("zeroed grew to %d values, want 9", len(got))
	}
}
