package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// TestNewAddressesInASCII: an address Roster is to store (an invite, as a
// sign-up in TestValidation) is refused with a non-ASCII letter, some of
// which lowercase onto ASCII ones; a form that only looks one up (forgot
// password) still takes it, so a profile whose address came from a login
// provider can ask for its reset link.
func TestNewAddressesInASCII(t *testing.T) {
	a := newApp(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	acc := a.seedAccount(t, ann, "Acme")
	c := a.client(t)
	c.adopt(ann.ID)
	msg := fieldError("Enter an email address without accented letters or other alphabets, such as ann@example.com.")
	res := c.postForm(fmt.Sprintf("/accounts/%d/invites", acc.ID), url.Values{"email": {"\u212Aarl@example.com"}, "role": {db.RoleNormal}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, msg) {
		t.Errorf("invite the Kelvin sign: got %d; body %s", res.status, res.body)
	}
	if res := a.client(t).postForm("/password/forgot", url.Values{"email": {"zoë@example.com"}}); res.status != http.StatusSeeOther || strings.Contains(res.body, msg) {
		t.Errorf("forgot password for zoë@example.com: got %d, want the usual answer; body %s", res.status, res.body)
	}
}
