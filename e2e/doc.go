// Package e2e tests Roster whole, as its users and its operator meet it:
// Chromium driving the pages (browser_*_test.go), and the built binary
// started, loaded, killed, backed up and replaced (process_test.go and the
// tests that use it). It holds tests only; `go test ./e2e/` runs them.
package e2e
