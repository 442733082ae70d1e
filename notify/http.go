package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/netguard"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the request
// body under the webhook's secret.
const SignatureHeader = "X-Roster-Signature"

// DeliveryHeader carries the outbox id: a receiver that sees it twice (a
// retry after a lost answer) can drop the copy.
const DeliveryHeader = "X-Roster-Delivery"

// HTTPClient is the client of Slack and webhook posts: a timeout, no
// redirects, and no connection to a non-public address (netguard), checked
// on the address actually dialled: a user's webhook must not reach into
// the server's own network. allowLocal (a development install on http)
// lets loopback through, and nothing else.
func HTTPClient(allowLocal bool) *http.Client {
	dialer := netguard.Dialer(10*time.Second, allowLocal)
	return &http.Client{
		Timeout:       attemptTimeout,
		Transport:     &http.Transport{Proxy: nil, DialContext: dialer.DialContext, TLSHandshakeTimeout: 10 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Sign is the SignatureHeader value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is body's signature under secret, in
// constant time; receivers in Go can use it as it is.
func Verify(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// WebhookPayload is the JSON body of a webhook post.
type WebhookPayload struct {
	ID           int64  `json:"id"`
	Circumstance string `json:"circumstance"`
	Severity     int    `json:"severity,omitempty"`
	Subject      string `json:"subject"`
	Body         string `json:"body"`
	CreatedAt    string `json:"created_at"`
	SentAt       string `json:"sent_at"`
}

func postWebhook(ctx context.Context, client *http.Client, d db.Delivery, now time.Time) error {
	if d.Secret == "" {
		return errors.New("the webhook has no signing secret (deleted?)")
	}
	body, err := json.Marshal(WebhookPayload{
		ID: d.ID, Circumstance: d.Circumstance, Severity: d.Severity, Subject: d.Subject, Body: d.Body,
		CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339), SentAt: now.UTC().Format(time.RFC3339),
	})
	if err != nil {
		return err
	}
	return post(ctx, client, d.Address, body, map[string]string{
		SignatureHeader: Sign(d.Secret, body),
		DeliveryHeader:  strconv.FormatInt(d.ID, 10),
	})
}

func postSlack(ctx context.Context, client *http.Client, d db.Delivery) error {
	text := "*" + d.Subject + "*"
	if d.Body != "" {
		text += "\n" + d.Body
	}
	body, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return err
	}
	return post(ctx, client, d.Address, body, nil)
}

// post sends a JSON body; any answer but 2xx is a failure, named by its
// status (the body of the answer is not kept: it is not ours to store).
func post(ctx context.Context, client *http.Client, url string, body []byte, header map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Roster-Notify/1")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", req.URL.Host, res.Status)
	}
	return nil
}
