package server

import (
	"os"
	"testing"
	"time"

	"github.com/rosterhq/roster/password"
)

// TestMain lets the test binary serve as the servers' password hash
// worker, as the roster binary does.
func TestMain(m *testing.M) {
	if password.IsHashWorker() {
		os.Exit(HashWorker())
	}
	os.Exit(m.Run())
}

// testCommand is the command line as main.go builds it, serving the
// repository's static folder.
var testCommand = Command{Static: os.DirFS("../static"), Version: "dev"}

// envOf turns a map into the getenv that Command.Run and parseConfig take.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
