package server

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/notify"
)

// validateNotify checks the Twilio settings: all three credentials or
// none, and an http(s) API base.
func (c *config) validateNotify() error {
	set := 0
	for _, v := range []string{c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioFrom} {
		if v != "" {
			set++
		}
	}
	if set != 0 && set != 3 {
		return fmt.Errorf("ROSTER_TWILIO_ACCOUNT_SID: set it with ROSTER_TWILIO_AUTH_TOKEN and ROSTER_TWILIO_FROM, or none of them")
	}
	u, err := url.Parse(c.TwilioAPIBase)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("ROSTER_TWILIO_API_BASE: want an https URL such as https://api.twilio.com, got %q", c.TwilioAPIBase)
	}
	c.TwilioAPIBase = strings.TrimSuffix(c.TwilioAPIBase, "/")
	return nil
}

// phone is the SMS and voice sender, or nil when Twilio is not configured.
func (c config) phone() notify.Phone {
	if c.TwilioAccountSID == "" {
		return nil
	}
	return &notify.Twilio{AccountSID: c.TwilioAccountSID, AuthToken: c.TwilioAuthToken, From: c.TwilioFrom, BaseURL: c.TwilioAPIBase}
}
