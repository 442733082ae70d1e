// Package mail sends Roster's plain-text emails (invites, password resets,
// sign-in links), either through an SMTP server or, when none is configured,
// into the log.
package mail

import (
	"context"
	"log/slog"
)

// Message is one plain-text email.
type Message struct {
	To, Subject, Text string
}

// Log writes messages to a slog.Logger instead of sending them, so a
// developer without an SMTP server can still copy links from the log.
// A nil Logger means slog.Default().
type Log struct {
	Logger *slog.Logger
}

// Send logs m at Info level, body included.
func (l Log) Send(ctx context.Context, m Message) error {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.InfoContext(ctx, "mail (not sent: no ROSTER_SMTP_URL)",
		"to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}
