package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCompose checks the message built for SMTP: no recipient or subject
// can add a header line, end the header early or put a bare CR or LF in
// it; the headers read back as the recipient and subject given, and the
// body as the text.
func FuzzCompose(f *testing.F) {
	for _, s := range [][3]string{
		{"ann@example.com", "Your Roster invite", "Hello,\n\nhttps://roster.example.com/invites/abc\n"},
		{"Ann Lee <ann@example.com>", "Confirm this email address for Roster", "Code: 123456"},
		{"ann@example.com\r\nBcc: eve@evil.com", "Hi", ""},
		{"ann@example.com", "Hi\r\nBcc: eve@evil.com", ""},
		{"ann@example.com", "Hi\nX-Injected: 1", ""},
		{"=?utf-8?q?Ann=0D=0ABcc=3A_eve=40evil=2Ecom?= <ann@example.com>", "Hi", ""},
		{"\"Ann\\\r\\\nBcc: eve\" <ann@example.com>", "Hi", ""},
		{"Zoë <zoe@example.com>", "Invitation à rejoindre « Acmé »", "Body with\r\n.\r\nlone dot"},
		{"ann@example.com", "=?utf-8?q?=0D=0ABcc:_eve@evil.com?=", "\x00\xff"},
		{"ann@example.com", strings.Repeat("very long subject ", 30), strings.Repeat("x", 2000)},
		{"ann@example.com, bob@example.com", "Hi", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	s, err := NewSMTP("smtp://localhost:2525", "Roster <no-reply@roster.example.com>")
	if err != nil {
		f.Fatal(err)
	}
	wantHeaders := []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}
	f.Fuzz(func(t *testing.T, to, subject, text string) {
		rcpt, msg, err := s.compose(Message{To: to, Subject: subject, Text: text})
		if err != nil {
			if strings.ContainsAny(to+subject, "\r\n") {
				return
			}
			if _, perr := netmail.ParseAddress(to); perr == nil {
				t.Fatalf("compose refused To %q, which net/mail reads: %v", to, err)
			}
			return
		}
		if strings.ContainsAny(rcpt, "\r\n<>") || rcpt == "" {
			t.Fatalf("To %q gave the SMTP recipient %q", to, rcpt)
		}
		head, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("no end of the header in %q", msg)
		}
		lines := strings.Split(string(head), "\r\n")
		if len(lines) != len(wantHeaders) {
			t.Fatalf("To %q, Subject %q: %d header lines, want %d:\n%s", to, subject, len(lines), len(wantHeaders), head)
		}
		for i, line := range lines {
			if strings.ContainsAny(line, "\r\n") || !strings.HasPrefix(line, wantHeaders[i]+": ") {
				t.Fatalf("To %q, Subject %q: header line %d is %q, want %s", to, subject, i, line, wantHeaders[i])
			}
			if !utf8.ValidString(line) || strings.ContainsFunc(line, func(r rune) bool { return (r < 0x20 && r != '\t') || r > 0x7e }) {
				t.Fatalf("header line %q is not printable ASCII", line)
			}
		}
		m, err := netmail.ReadMessage(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("the message does not read back: %v\n%s", err, msg)
		}
		got, err := m.Header.AddressList("To")
		if err != nil || len(got) != 1 || got[0].Address != rcpt {
			t.Fatalf("To %q reads back as %v (err %v), want one address %q", to, got, err, rcpt)
		}
		if utf8.ValidString(subject) {
			var dec mime.WordDecoder
			// Space around a header's value is not part of it.
			if sub, err := dec.DecodeHeader(m.Header.Get("Subject")); err != nil || strings.Trim(sub, " \t") != strings.Trim(subject, " \t") {
				t.Fatalf("Subject %q reads back as %q (err %v)", subject, sub, err)
			}
		}
		b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		// Quoted-printable text mode writes every line end, CRLF, LF or a
		// lone CR, as CRLF.
		breaks := strings.NewReplacer("\r\n", "\r\n", "\r", "\r\n", "\n", "\r\n").Replace(text)
		if err != nil || string(b) != breaks {
			t.Fatalf("text %q reads back as %q (err %v)", text, b, err)
		}
	})
}
