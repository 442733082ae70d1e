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
	// Code is set for a person without a password: the prompt offers to
	// mail a code, and CodeSent says one is on its way.
	Code     bool
	CodeSent bool
}

// Field is one value of a form carried through a page, as a hidden input.
type Field struct{ Name, Value string }

// SudoCodeMail carries the code that re-authenticates a person without a
// password.
type SudoCodeMail struct{ Name, Code string }

func (SudoCodeMail) mailFile() string { return "sudo_code.txt" }
