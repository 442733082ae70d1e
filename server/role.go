package server

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
// Fly-Replay takes (instance=). A replica that has lost its primary (the
// primary is down, or LiteFS is reconnecting, or the lease is changing
// hands) has no .primary either: LiteFS then still shows the database
// file read-only (mode 0444, 0666 on the primary: fuse/database_node.go in
// LiteFS v0.5.14, never cached), so a node is the primary only when it
// has no .primary and its database, if there is one yet, is writable. A
// nil *role is a single machine: always the primary.
type role struct {
	file string
	db   string // the database, whose mode LiteFS sets by the role
	pos  string // LiteFS's position file of the database, <db>-pos
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
	return &role{file: filepath.Join(filepath.Dir(cfg.DB), ".primary"), db: cfg.DB, pos: cfg.DB + "-pos", log: log}
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

// read reads .primary, and the database's mode when there is no
// .primary. A file it cannot read leaves the role as it was (said in the
// log): a replica that took itself for the primary would write and fail.
func (r *role) read() {
	b, err := os.ReadFile(r.file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if r.readOnly() {
			// A replica without a primary: it stays a replica and names
			// none, so writes are refused (503) until LiteFS reconnects.
			if !r.replica || r.primary != "" {
				r.log.Warn("litefs: this node is a replica and has no primary now: it serves reads, and refuses writes until LiteFS finds the primary again", "was_replica_of", r.primary)
			}
			r.primary, r.replica = "", true
			return
		}
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

// readOnly says whether the database file is there and nobody may write
// it: LiteFS's mark of a replica. No database yet is not read-only.
func (r *role) readOnly() bool {
	fi, err := os.Stat(r.db)
	return err == nil && fi.Mode().Perm()&0o222 == 0
}

// isReplica is current without the primary's name.
func (r *role) isReplica() bool {
	_, replica := r.current()
	return replica
}

// txid is the database's position on the LiteFS primary, formatted as
// LiteFS's proxy formats its __txid cookie (16 hex digits); false on a
// replica, on a single machine, or when the position cannot be read.
// LiteFS's mount exposes it in <db>-pos as "<txid>/<checksum>\n", both
// 16 hex digits (fuse/pos_node.go in LiteFS v0.5.14).
func (r *role) txid() (string, bool) {
	if r == nil || r.isReplica() {
		return "", false
	}
	b, err := os.ReadFile(r.pos)
	if err != nil {
		r.log.Warn("litefs: read the database's position", "file", r.pos, "err", err)
		return "", false
	}
	return parsePos(string(b))
}

// parsePos takes the TXID from the contents of a LiteFS -pos file.
func parsePos(s string) (string, bool) {
	txid, _, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok || len(txid) != 16 {
		return "", false
	}
	v, err := strconv.ParseUint(txid, 16, 64)
	if err != nil || v == 0 {
		return "", false
	}
	return fmt.Sprintf("%016x", v), true
}
