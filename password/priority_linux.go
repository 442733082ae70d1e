package password

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// lowPriorityWorks: startLowPriority can lower a child alone.
const lowPriorityWorks = true

// selfExe is the running program's own file, even after an upgrade has
// replaced or removed the file at its path: a worker is always the same
// build as its server, so they speak the same protocol.
const selfExe = "/proc/self/exe"

// workerNice is the CPU priority of a worker in lowClass. Against a thread
// of the server's (nice 0) that wants the same core, a worker thread gets
// about a tenth of it: pages come first, and sign-ins still go on, a few
// times slower, when pages take every core. At 19 they would nearly stop.
const workerNice = 10

// A worker's class is how it shares the CPU with the server.
type class int

const (
	// idleClass (SCHED_IDLE) runs only on CPU that nothing else on the
	// machine wants: a page's thread that wakes takes the core from it at
	// once, which nice 10 does not give (the kernel lets a running thread
	// finish its slice first, and a nice-10 thread still takes a tenth of
	// a busy core). When pages keep every core busy it hardly runs, and
	// workerPatience hands its hashes to a lowClass worker.
	idleClass class = iota
	// lowClass is nice workerNice.
	lowClass
)

func (c class) String() string {
	if c == idleClass {
		return "idle"
	}
	return "low"
}

// startLowPriority starts cmd in class c and says in which class it runs:
// lowClass where the system refuses SCHED_IDLE. Linux keeps a priority per
// thread and a new process inherits its creator's, so cmd is started from a
// thread of its own lowered first; every thread the child makes then
// inherits it too. The thread cannot be raised again without privileges,
// so it ends with its goroutine.
func startLowPriority(cmd *exec.Cmd, c class) (class, error) {
	type started struct {
		c   class
		err error
	}
	done := make(chan started, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), workerNice); err != nil {
			done <- started{c, err}
			return
		}
		// SCHED_IDLE keeps the nice set above, which counts again if
		// the worker ever leaves it.
		if c == idleClass && unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_IDLE}, 0) != nil {
			c = lowClass
		}
		done <- started{c, cmd.Start()}
	}()
	s := <-done
	return s.c, s.err
}

// cpuTime is the CPU time process pid has used, all its threads, in
// user and system mode: fields 14 and 15 of /proc/PID/stat, in clock ticks
// of 10 ms (USER_HZ, 100 on every Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
