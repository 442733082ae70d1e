package views

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// TwoFactorSection is the profile's "Two-factor authentication" panel
// (#two-factor): off, enrolling (the QR code and the text secret, and a
// field for the first code), or on (recovery codes left, new codes, off).
type TwoFactorSection struct {
	On           bool
	RecoveryLeft int
	Enrolling    bool
	// The secrets shown once (ProfilePage.HoldsSecret) are neither kept by
	// the render memo nor compressed.
	Secret   string        // while enrolling: the secret as typed into an app
	QR       template.HTML // while enrolling: the otpauth URL as an SVG QR code
	NewCodes []string      // recovery codes just made: this answer is the only one that shows them
	Form     Form          // the outcome of the panel's last POST
}

// SecretGroups is the secret in groups of four letters, easier to type.
func (s TwoFactorSection) SecretGroups() string {
	var b strings.Builder
	for i, r := range s.Secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CodesFile is NewCodes as a text file, for the download link: the codes
// live only in this answer, so the file cannot be fetched again later.
func (s TwoFactorSection) CodesFile() template.URL {
	var b strings.Builder
	b.WriteString("Roster recovery codes\n\nEach code logs you in once in place of a code from your authenticator app.\nKeep them somewhere safe.\n\n")
	for _, c := range s.NewCodes {
		b.WriteString(c + "\n")
	}
	return template.URL("data:text/plain;charset=utf-8," + url.PathEscape(b.String()))
}

// SecondStepPage is the sign-in's second step: a code from the
// authenticator app or a recovery code.
type SecondStepPage struct {
	Page
	Form Form
	// Passkey: the pending person has a passkey, and "Use a passkey" is
	// offered; PasskeyError says why one was refused.
	Passkey      bool
	PasskeyError string
}

// QRCode draws content as a QR code in SVG, one square per dark module
// inside a quiet zone of four, dark on a white square so that it scans
// in the dark theme too. label is its accessible name.
func QRCode(content, label string) (template.HTML, error) {
	// The level and mode pquerna/otp's Key.Image uses.
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	const quiet = 4
	size := code.Bounds().Dx()
	var path strings.Builder
	for y := range size {
		for x := range size {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	n := size + 2*quiet
	return template.HTML(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 %d %d" width="200" height="200" role="img" aria-label="%s" shape-rendering="crispEdges">`+
		`<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`, n, n, template.HTMLEscapeString(label), n, n, path.String())), nil
}
