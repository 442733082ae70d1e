package password

import (
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// lowPriorityWorks: startLowPriority can lower a child alone.
const lowPriorityWorks = true

// selfExe is the running program's own file, even after an upgrade has
// replaced or removed the file at its path: a worker is always the same
// build as its server, so they speak the same protocol.
const selfExe = "/proc/self/exe"

// workerNice is the hash worker's CPU priority. Against a thread of the
// server's (nice 0) that wants the same core, a worker thread gets about a
// tenth of it: pages come first, and sign-ins still go on, a few times
// slower, when pages take every core. At 19 they would nearly stop.
const workerNice = 10

// startLowPriority starts cmd at workerNice. Linux keeps a priority per
// thread and a new process inherits its creator's, so cmd is started from
// a thread of its own lowered first; every thread the child makes then
// inherits it too. The thread cannot be raised again without privileges, so
// it ends with its goroutine.
func startLowPriority(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), workerNice); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}
