package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/server"
)

// TestMain lets the test binary serve as the password hash worker of the
// servers the tests run in their own process, as the roster binary does.
func TestMain(m *testing.M) {
	if password.IsHashWorker() {
		os.Exit(server.HashWorker())
	}
	os.Exit(m.Run())
}

// roster is the command line as main.go builds it, serving the
// repository's static folder.
var roster = server.Command{Static: os.DirFS("../static"), Version: "dev"}

// envOf turns a map into the getenv that roster.Run takes.
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
