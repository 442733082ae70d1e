package views

// SudoPage asks a person to prove it is them again before a sensitive
// action (handlers/sudo.go): with their password, or, without one, with a
// code mailed to their account email. The form posts to Action, the
// action that asked, carrying Fields, the values of the form that asked,
// so the action resumes with them. Target is the id of the section the
// prompt stands in for htmx; the page without JavaScript has it too.
type SudoPage struct {
	Page
	Action string
	Target string
	Fields []Field
	Form   Form
	// Password: the person has a password to give.
	Password bool
	// Code is set for a person without a password nor an authenticator
	// app: the prompt offers to mail a code, and CodeSent says one is on
	// its way.
	Code     bool
	CodeSent bool
	// TwoFactor: a code from the authenticator app or a recovery code
	// may be given. Passkey: "Use a passkey" is offered (static/passkey.js
	// runs it); PasskeyPage: the page loads that script itself.
	TwoFactor   bool
	Passkey     bool
	PasskeyPage bool
}

// Field is one value of a form carried through a page, as a hidden input.
type Field struct{ Name, Value string }

// SudoCodeMail carries the code that re-authenticates a person without a
// password.
type SudoCodeMail struct{ Name, Code string }

func (SudoCodeMail) mailFile() string { return "sudo_code.txt" }
