package main

import "io"

// checkedWriter remembers the first error writing to w, so that a run
// whose stdout was lost (a full disk, a closed pipe) does not exit 0:
// most commands print their last lines without looking at the error.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
