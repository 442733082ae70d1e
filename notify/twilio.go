package notify

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Twilio sends SMS and places voice calls through Twilio's REST API, or any
// API that speaks it (BaseURL).
type Twilio struct {
	AccountSID string
	AuthToken  string
	From       string       // an E.164 number or a messaging service the account owns
	BaseURL    string       // https://api.twilio.com unless set
	Client     *http.Client // nil: a client of its own with a 20-second timeout

	once   sync.Once
	client *http.Client
}

func (t *Twilio) httpClient() *http.Client {
	t.once.Do(func() {
		t.client = t.Client
		if t.client == nil {
			// Its own transport, not http.DefaultTransport, whose idle
			// connections other code may close at any time.
			t.client = &http.Client{Timeout: 20 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
		}
	})
	return t.client
}

// SendSMS sends body to the E.164 number to.
func (t *Twilio) SendSMS(ctx context.Context, to, body string) error {
	return t.create(ctx, "Messages.json", url.Values{"To": {to}, "From": {t.From}, "Body": {body}})
}

// Call rings to and reads say out, twice.
func (t *Twilio) Call(ctx context.Context, to, say string) error {
	var b strings.Builder
	b.WriteString("<Response><Say>")
	xml.EscapeText(&b, []byte(say))
	b.WriteString(`</Say><Pause length="1"/><Say>`)
	xml.EscapeText(&b, []byte(say))
	b.WriteString("</Say></Response>")
	return t.create(ctx, "Calls.json", url.Values{"To": {to}, "From": {t.From}, "Twiml": {b.String()}})
}

func (t *Twilio) create(ctx context.Context, resource string, form url.Values) error {
	base := strings.TrimSuffix(t.BaseURL, "/")
	if base == "" {
		base = "https://api.twilio.com"
	}
	u := base + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/" + resource
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := t.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("twilio: %w", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
	if res.StatusCode/100 != 2 {
		// Twilio's error JSON names the problem (a bad number, a blocked
		// sender) without echoing secrets; keep a bounded piece of it.
		return fmt.Errorf("twilio %s: %s", res.Status, strings.TrimSpace(string(b)))
	}
	return nil
}
