package views

import (
	"html/template"
	"strconv"
	"time"
)

// The security notices of passkeys, each with its mail/security_*.txt
// (Login names the passkey).
const (
	PasskeyAdded   SecurityChange = "passkey_added"
	PasskeyRemoved SecurityChange = "passkey_removed"
)

// PasskeyRow is one of the person's passkeys in #passkeys.
type PasskeyRow struct {
	ID       int64
	Name     string
	Created  time.Time
	LastUsed time.Time // zero: never used
}

// PasskeyLine is a PasskeyRow as #passkeys shows it.
type PasskeyLine struct {
	Name              string
	Created, LastUsed template.HTML // Page.Time of each; LastUsed empty when never used
	RenameForm        template.HTMLAttr
	RemoveForm        template.HTMLAttr
	NameID            string // the id of the rename field
}

// PasskeyLines are the Passkeys as #passkeys shows them.
func (p ProfilePage) PasskeyLines() []PasskeyLine {
	lines := make([]PasskeyLine, len(p.Passkeys))
	for i, k := range p.Passkeys {
		id := strconv.FormatInt(k.ID, 10)
		lines[i] = PasskeyLine{Name: k.Name, Created: p.Clock.Tag(k.Created),
			RenameForm: postTo("/profile/passkeys/" + id + "/name"), RemoveForm: postTo("/profile/passkeys/" + id + "/delete"),
			NameID: "passkey-name-" + id}
		if !k.LastUsed.IsZero() {
			lines[i].LastUsed = p.Clock.Tag(k.LastUsed)
		}
	}
	return lines
}
