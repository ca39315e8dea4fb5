package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/klauspost/asmfmt"
)

// asm collects the lines of a Plan 9 assembly file, one statement a line,
// and lays them out with asmfmt (blank lines, indentation, aligned operands
// and comments), as the amd64 kernels from avo are laid out.
type asm struct {
	out bytes.Buffer

	// stmts is every statement and label in order (labels as "name:"),
	// for mca.go to read the loops back.
	stmts []stmt
}

type stmt struct {
	instr, params, comment string
}

// comment adds a comment line; format is as for fmt.Sprintf.
func (a *asm) comment(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	switch {
	case text == "":
		text = "//"
	case strings.HasPrefix(text, "go:build"):
		text = "//" + text
	default:
		text = "// " + text
	}
	a.out.WriteString(text + "\n")
}

// blank adds a blank line.
func (a *asm) blank() { a.out.WriteByte('\n') }

// label adds a jump target.
func (a *asm) label(name string) {
	a.stmts = append(a.stmts, stmt{instr: name + ":"})
	a.out.WriteString(name + ":\n")
}

// ins adds an instruction (or TEXT, #include) with its operands.
func (a *asm) ins(instr, params string) { a.insc(instr, params, "") }

// insc adds an instruction with a trailing comment.
func (a *asm) insc(instr, params, comment string) {
	a.stmts = append(a.stmts, stmt{instr, params, comment})
	line := instr
	if params != "" {
		line += " " + params
	}
	if comment != "" {
		line += " // " + comment
	}
	a.out.WriteString(line + "\n")
}

// word adds an encoded instruction with its mnemonic as the comment.
func (a *asm) word(w word) { a.insc("WORD", fmt.Sprintf("$0x%08x", w.bits), w.text) }

// format returns the file laid out by asmfmt.
func (a *asm) format() ([]byte, error) {
	src, err := asmfmt.Format(&a.out)
	if err != nil {
		return nil, fmt.Errorf("asmfmt: %w", err)
	}
	return src, nil
}
