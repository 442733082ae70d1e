package server

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// roleEvery is how long the role read from the .primary file is believed:
// a promotion or demotion is seen within it, and a busy replica stats the
// file at most once per roleEvery.
const roleEvery = time.Second

// role tells whether this process serves the LiteFS primary or a replica
// (ROSTER_LITEFS). LiteFS keeps a .primary file in its mount, beside the
// database, on replicas only; it holds the primary's hostname, the name
// Fly-Replay takes (instance=). A nil *role is a single machine: always
// the primary.
type role struct {
	file string
	log  *slog.Logger

	mu      sync.Mutex
	checked time.Time
	primary string // the primary's name, on a replica
	replica bool
}

// newRole is the role of the process whose database is dbPath, or nil
// when LiteFS is off.
func newRole(cfg config, log *slog.Logger) *role {
	if !cfg.LiteFS {
		return nil
	}
	return &role{file: filepath.Join(filepath.Dir(cfg.DB), ".primary"), log: log}
}

// current says whether this process serves a replica, and names the
// primary then. It reads .primary at most once per roleEvery.
func (r *role) current() (primary string, replica bool) {
	if r == nil {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= roleEvery {
		r.checked = now
		r.read()
	}
	return r.primary, r.replica
}

// read reads .primary. A file it cannot read leaves the role as it was
// (said in the log): a replica that took itself for the primary would
// write and fail.
func (r *role) read() {
	b, err := os.ReadFile(r.file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if r.replica {
			r.log.Info("litefs: this node is now the primary", "was_replica_of", r.primary)
		}
		r.primary, r.replica = "", false
	case err != nil:
		r.log.Error("litefs: read the primary's name", "file", r.file, "err", err)
	default:
		name := string(bytes.TrimSpace(b))
		if !r.replica || name != r.primary {
			r.log.Info("litefs: this node is a replica: it serves reads, and sends writes to the primary", "primary", name)
		}
		r.primary, r.replica = name, true
	}
}

// isReplica is current without the primary's name.
func (r *role) isReplica() bool {
	_, replica := r.current()
	return replica
}
