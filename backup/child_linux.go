package backup

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel stop the child when the server dies
// (SIGKILL, the OOM killer) so that no orphan streams a database that a
// new server, with its own child, is writing. Its own process group keeps
// a terminal's Ctrl-C from reaching it before the server: the server stops
// it last, once its own writes are done.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
}
