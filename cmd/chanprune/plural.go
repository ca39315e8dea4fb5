package main

import (
	"strconv"
	"strings"
)

// plural writes n and the noun, plural unless n is 1: "1 batch", "3
// batches", "2 layers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "ch") {
		return strconv.Itoa(n) + " " + noun + "es"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
