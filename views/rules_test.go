package views

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// TestRuleTextCoversRules: every rule db declares (db.Rules, kept complete
// by db's TestRulesListed) has a sentence, also when wrapped.
func TestRuleTextCoversRules(t *testing.T) {
	for _, rule := range db.Rules() {
		text := RuleText(fmt.Errorf("some operation: %w", rule))
		if text == "" || !strings.HasSuffix(text, ".") || text == string(rule) {
			t.Errorf("RuleText(%q) = %q, want a sentence for people", string(rule), text)
		}
	}
	if got := RuleText(fmt.Errorf("delete card 3: %w", db.CardInUseError{Account: "Acme"})); !strings.Contains(got, "pays for the account Acme.") {
		t.Errorf("RuleText(CardInUseError{Acme}) = %q, want it to name Acme", got)
	}
	if got := RuleText(db.ErrNotFound); got != "" {
		t.Errorf("RuleText(ErrNotFound) = %q, want \"\"", got)
	}
}
