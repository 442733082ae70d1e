// Package clip cuts text to the length a column, a log line or a table
// cell allows. It is the one copy for handlers, session and notify.
package clip

// String returns s cut to at most n bytes.
func String(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
