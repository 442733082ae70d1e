package handlers

import (
	"net/url"

	"github.com/rosterhq/roster/views"
)

// CheckHookURLForTest exposes the Slack and webhook URL check to the tests.
func CheckHookURLForTest(base, address string) bool {
	u, _ := url.Parse(base)
	h := &Handler{cfg: Config{BaseURL: u}}
	var form views.Form
	h.checkHookURL(&form, "webhook", address)
	return !form.Failed()
}
