// The command-line tool is its own module, so that the library's go.mod
// requires only what the library uses (not plotting, YAML or terminal
// packages). In this repository go.work resolves the library to ../..;
// a release tags both modules (v0.1.0 and cmd/chanprune/v0.1.0), which is
// what `go install github.com/chanprune/chanprune/cmd/chanprune@latest`
// resolves.
module github.com/chanprune/chanprune/cmd/chanprune

go 1.24.0

require (
	github.com/chanprune/chanprune v0.1.0
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/rivo/uniseg v0.4.7
	github.com/schollz/progressbar/v3 v3.19.0
	golang.org/x/term v0.40.0
	gonum.org/v1/plot v0.17.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	codeberg.org/go-fonts/liberation v0.5.0 // indirect
	codeberg.org/go-latex/latex v0.2.0 // indirect
	codeberg.org/go-pdf/fpdf v0.11.1 // indirect
	git.sr.ht/~sbinet/gg v0.7.0 // indirect
	github.com/ajstarks/svgo v0.0.0-20211024235047-1546f124cd8b // indirect
	github.com/golang/freetype v0.0.0-20170609003504-e2365dfdc4a0 // indirect
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/nlpodyssey/gopickle v0.2.0 // indirect
	golang.org/x/image v0.30.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.28.0 // indirect
)
