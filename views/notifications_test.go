package views

import (
	"testing"

	"github.com/rosterhq/roster/db"
)

func TestMaskAddress(t *testing.T) {
	tests := []struct{ kind, address, want string }{
		{db.KindEmail, "ann@example.com", "a•••@example.com"},
		{db.KindEmail, "élodie@example.fr", "é•••@example.fr"},
		{db.KindEmail, "not an email", "•••"},
		{db.KindSMS, "+14155550123", "•••0123"},
		{db.KindVoice, "+33612345678", "•••5678"},
		{db.KindSlack, "https://hooks.slack.com/services/T0/B0/secret", "https://hooks.slack.com/•••"},
		{db.KindWebhook, "https://example.com/hook?token=x", "https://example.com/•••"},
		{db.KindWebhook, "::", "•••"},
	}
	for _, tt := range tests {
		if got := MaskAddress(tt.kind, tt.address); got != tt.want {
			t.Errorf("MaskAddress(%q, %q): got %q, want %q", tt.kind, tt.address, got, tt.want)
		}
	}
}

func TestPlainDeliveryError(t *testing.T) {
	tests := []struct{ err, want string }{
		{"refused to connect to non-public address 10.0.0.1", "The address leads into a private network, where Roster does not post."},
		{"hooks.slack.com answered 404 Not Found", "The receiving server refused the message (404 Not Found)."},
		{`Post "https://x.example/": context deadline exceeded`, "The receiving server did not answer in time."},
		{"twilio 400 Bad Request: {\"code\":21211}", "The SMS and voice provider refused the message."},
		{"no SMS and voice provider is configured (ROSTER_TWILIO_*)", "This server has no SMS or voice provider set up."},
		{"something odd at 0x1234", "The message could not be delivered; the server's log has the details."},
	}
	for _, tt := range tests {
		if got := PlainDeliveryError(tt.err); got != tt.want {
			t.Errorf("PlainDeliveryError(%q): got %q, want %q", tt.err, got, tt.want)
		}
	}
}
