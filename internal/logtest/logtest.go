// Package logtest holds what tests need to read a log, or any output, that
// a server writes while it runs.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that a server may write while a test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
