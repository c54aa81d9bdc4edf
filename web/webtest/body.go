package webtest

import (
	"io"
	"sync/atomic"
)

// CountedBody is a request body that counts the bytes the server reads of
// it, for tests of refusals that must come before the body is read.
type CountedBody struct {
	r io.Reader
	n atomic.Int64
}

// NewCountedBody returns a body that reads r.
func NewCountedBody(r io.Reader) *CountedBody { return &CountedBody{r: r} }

func (c *CountedBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Close does nothing.
func (c *CountedBody) Close() error { return nil }

// Count is how many bytes were read.
func (c *CountedBody) Count() int64 { return c.n.Load() }
