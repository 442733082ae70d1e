package backup

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Supervisor keeps `roster replicate` running as a child process while
// Primary says this process is the primary: only the primary streams the
// database, and a machine that stops being it stops streaming.
type Supervisor struct {
	Exe  string   // the roster executable
	Args []string // its arguments, such as {"replicate"}
	Env  []string // the child's whole environment
	// Primary is asked every second; nil means always (a single machine).
	Primary func() bool
	Log     *slog.Logger
	Stderr  io.Writer // where the child logs
}

// checkEvery is how often Supervisor asks Primary.
const checkEvery = time.Second

// stopWait is how long a child has, after SIGTERM, to finish its first
// sync if it was still making it, and its final one.
const stopWait = 2*syncWait + 5*time.Second

// Run supervises until ctx ends, then stops the child (SIGTERM: it syncs
// what is left) and returns once it has exited. A child that exits on its
// own is started again after a pause that doubles from a second to a minute.
func (s Supervisor) Run(ctx context.Context) {
	pause := time.Second
	waiting := false
	for ctx.Err() == nil {
		if !s.primary() {
			if !waiting {
				s.Log.Info("not the primary: continuous backup waits")
				waiting = true
			}
			sleep(ctx, checkEvery)
			continue
		}
		waiting = false
		started := time.Now()
		err := s.runChild(ctx)
		if ctx.Err() != nil {
			return
		}
		if !s.primary() {
			s.Log.Info("no longer the primary: continuous backup stopped")
			continue
		}
		if time.Since(started) > time.Minute {
			pause = time.Second
		}
		s.Log.Error("continuous backup stopped; starting it again", "err", err, "in", pause.String())
		sleep(ctx, pause)
		pause = min(2*pause, time.Minute)
	}
}

func (s Supervisor) primary() bool { return s.Primary == nil || s.Primary() }

// runChild runs one child until it exits, ctx ends or this process stops
// being the primary.
func (s Supervisor) runChild(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Exe, s.Args...)
	cmd.Env = s.Env
	cmd.Stdout, cmd.Stderr = s.Stderr, s.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopWait
	dieWithParent(cmd)
	// Linux sends the parent-death signal when the thread that started the
	// child exits, not the process (a Go thread ends when a goroutine locked
	// to it returns): this goroutine keeps its thread until the child is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return err
	}
	if s.Primary != nil {
		go func() {
			t := time.NewTicker(checkEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if !s.Primary() {
						cancel()
						return
					}
				}
			}
		}()
	}
	err := cmd.Wait()
	if err == nil {
		err = errors.New("exited")
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
