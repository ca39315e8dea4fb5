package main

import (
	"fmt"
	"strings"
)

// asm collects the lines of a Plan 9 assembly file and lays them out as
// asmfmt (github.com/klauspost/asmfmt) does, so the output is asmfmt-clean
// without the tool: statements between blank lines, comment lines, labels
// and RET form a block whose first operands and trailing comments are
// aligned; a blank line goes before comments and labels unless a comment, a
// label or a blank line is already there. It knows only the constructs this
// generator writes.
type asm struct {
	out strings.Builder

	indentation int
	lastEmpty   bool
	lastComment bool
	lastLabel   bool
	anyContents bool
	queued      []stmt
	comments    []string

	// stmts is every statement and label in order (labels as "name:"),
	// for mca.go to read the loops back.
	stmts []stmt
}

type stmt struct {
	instr, params, comment string
}

// function is asmfmt's notion of a statement whose width is not aligned:
// one without operands (RET), or whose mnemonic holds '(' or '_'.
func (s stmt) function() bool {
	return s.params == "" || strings.ContainsAny(s.instr, "(_")
}

func (s stmt) command() bool { return strings.ToUpper(s.instr) == s.instr }

// comment adds a comment line; format is as for fmt.Sprintf.
func (a *asm) comment(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	a.flushQueued()
	if len(a.comments) == 0 {
		a.newLine()
	}
	switch {
	case text == "":
		text = "//"
	case strings.HasPrefix(text, "go:build"):
		text = "//" + text
	default:
		text = "// " + text
	}
	a.comments = append(a.comments, text)
	a.lastComment = true
	a.anyContents = true
	a.lastEmpty = false
}

// blank adds a blank line (at most one in a row).
func (a *asm) blank() {
	a.flush()
	if a.lastEmpty || !a.anyContents {
		return
	}
	a.lastEmpty = true
	a.out.WriteByte('\n')
}

// label adds a jump target.
func (a *asm) label(name string) {
	s := stmt{instr: name + ":"}
	a.stmts = append(a.stmts, s)
	a.level0(s)
}

// ins adds an instruction (or TEXT, #include) with its operands.
func (a *asm) ins(instr, params string) { a.insc(instr, params, "") }

// insc adds an instruction with a trailing comment.
func (a *asm) insc(instr, params, comment string) {
	s := stmt{instr, params, comment}
	a.stmts = append(a.stmts, s)
	if instr == "TEXT" || strings.HasPrefix(instr, "#") {
		a.level0(s)
		return
	}
	a.queued = append(a.queued, s)
	if instr == "RET" || instr == "JMP" {
		a.indentation = 1
		a.flush()
		a.indentation = 0
	} else if s.command() {
		a.indentation = 1
	}
	a.lastLabel = false
	a.anyContents = true
	a.lastEmpty = false
	a.lastComment = false
}

// word adds an encoded instruction with its mnemonic as the comment.
func (a *asm) word(w word) { a.insc("WORD", fmt.Sprintf("$0x%08x", w.bits), w.text) }

func (a *asm) level0(s stmt) {
	if s.instr == "TEXT" && len(a.queued) == 0 && len(a.comments) > 0 {
		a.indentation = 0
	}
	a.flush()
	a.newLine()
	a.indentation = 0
	a.queued = append(a.queued, s)
	a.flush()
	if !strings.HasPrefix(s.instr, "#") {
		a.indentation = 1
	}
	a.lastLabel = true
	a.anyContents = true
	a.lastEmpty = false
	a.lastComment = false
}

func (a *asm) newLine() {
	if !a.lastEmpty && !a.lastComment && !a.lastLabel && a.anyContents {
		a.out.WriteByte('\n')
	}
}

func (a *asm) flushQueued() {
	if len(a.queued) > 0 {
		a.flush()
	}
}

func (a *asm) flush() {
	indent := strings.Repeat("\t", a.indentation)
	for _, c := range a.comments {
		a.out.WriteString(indent + c + "\n")
	}
	a.comments = nil
	for _, l := range formatBlock(a.queued) {
		a.out.WriteString(indent + l + "\n")
	}
	a.queued = nil
}

// formatBlock aligns the operands and comments of a block of statements.
func formatBlock(block []stmt) []string {
	maxInstr, maxAlone, maxParam := 0, 0, 0
	for _, s := range block {
		il := len([]rune(s.instr)) + 1
		if il > maxInstr && !s.function() && !(s.command() && s.params == "") {
			maxInstr = il
		}
		if s.function() && il > maxAlone {
			maxAlone = il
		}
		maxParam = max(maxParam, len([]rune(s.params))+1)
	}
	maxParam += maxInstr
	if maxInstr == 0 {
		maxInstr = maxAlone
	}
	lines := make([]string, len(block))
	for i, s := range block {
		r := s.instr
		if s.params != "" || s.comment != "" {
			r += strings.Repeat(" ", max(0, maxInstr-len([]rune(r))))
		}
		r += s.params
		if s.comment != "" {
			r += strings.Repeat(" ", max(0, maxParam-len([]rune(r)))) + "// " + s.comment
		}
		lines[i] = r
	}
	return lines
}

// String ends the file and returns it.
func (a *asm) String() string {
	a.flush()
	return a.out.String()
}
