module gen

go 1.24

toolchain go1.26.8

require github.com/klauspost/asmfmt v1.3.2
