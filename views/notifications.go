package views

import (
	"html/template"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/rosterhq/roster/db"
)

// NotificationsPage is /profile/notifications: the routing matrix
// (#notification-routing) and the user's notifications, a page of outbox
// rows newest first (#notifications).
type NotificationsPage struct {
	Page
	Routes      []RouteRow
	Columns     []RouteColumn // the methods the matrix routes to
	RoutingForm Form
	Deliveries  []db.Delivery
	Pager       Pager
}

// DeliveryLine is a notification as the history table writes it
// (NotificationsPage.History): worked out once, where the row called five
// of the page's methods by reflection, each copying the page.
type DeliveryLine struct {
	Queued      template.HTML // Page.Time of when it was queued
	What, Where string
	State       string // the state's key, for the cell's class
	StateName   string
	Sent        bool
	SentAt      template.HTML
	Waiting     bool // queued: it says when the next attempt is
	NextAt      template.HTML
	Problem     string
	Attempts    int
}

// History is the Deliveries as the history table writes them.
func (n NotificationsPage) History() []DeliveryLine {
	lines := make([]DeliveryLine, len(n.Deliveries))
	for i, d := range n.Deliveries {
		l := DeliveryLine{Queued: n.Clock.Tag(d.CreatedAt), What: n.What(d), Where: n.Where(d), State: d.State, StateName: n.StateName(d),
			Sent: d.State == db.DeliverySent, Waiting: d.State == db.DeliveryQueued, Problem: n.Problem(d), Attempts: d.Attempts}
		if l.Sent {
			l.SentAt = n.Clock.Tag(d.SentAt)
		} else if l.Waiting {
			l.NextAt = n.Clock.Tag(d.NextAttemptAt)
		}
		lines[i] = l
	}
	return lines
}

// What says what a notification was about; a verification message never
// shows its code.
func (NotificationsPage) What(d db.Delivery) string {
	if d.Circumstance == db.CircumstanceVerify {
		return "Verification message"
	}
	return d.Subject
}

// Where names the kind and the address a notification went to, the
// address masked: the page may be on a shared screen.
func (NotificationsPage) Where(d db.Delivery) string {
	return d.KindName() + " " + MaskAddress(d.Kind, d.Address)
}

// StateName is a notification's state in words.
func (NotificationsPage) StateName(d db.Delivery) string {
	switch {
	case d.State == db.DeliverySent:
		return "Sent"
	case d.State == db.DeliveryFailed:
		return "Given up"
	case d.LastError != "":
		return "Retrying"
	}
	return "Queued"
}

// Problem is the last error of a notification in plain words, or "".
func (NotificationsPage) Problem(d db.Delivery) string {
	if d.LastError == "" || d.State == db.DeliverySent {
		return ""
	}
	return PlainDeliveryError(d.LastError)
}

// MaskAddress hides most of an address: the first letter and the domain of
// an email, the last four digits of a phone number, the host of a URL.
func MaskAddress(kind, address string) string {
	switch kind {
	case db.KindEmail:
		local, domain, ok := strings.Cut(address, "@")
		if !ok || local == "" {
			return "•••"
		}
		first, _ := utf8.DecodeRuneInString(local)
		return string(first) + "•••@" + domain
	case db.KindSMS, db.KindVoice:
		if len(address) <= 4 {
			return "•••"
		}
		return "•••" + address[len(address)-4:]
	case db.KindSlack, db.KindWebhook:
		u, err := url.Parse(address)
		if err != nil || u.Host == "" {
			return "•••"
		}
		return u.Scheme + "://" + u.Host + "/•••"
	}
	return "•••"
}

// deliveryErrors puts the notify package's failures in words: the first
// fragment found in the error wins.
var deliveryErrors = []struct{ fragment, words string }{
	{"non-public address", "The address leads into a private network, where Roster does not post."},
	{"no signing secret", "The webhook was deleted before the message could go."},
	{"no SMS and voice provider", "This server has no SMS or voice provider set up."},
	{"twilio", "The SMS and voice provider refused the message."},
	{"deadline exceeded", "The receiving server did not answer in time."},
	{"timeout", "The receiving server did not answer in time."},
	{"no such host", "The receiving server's name could not be found."},
	{"connection refused", "The receiving server refused the connection."},
	{"certificate", "The receiving server's certificate is not valid."},
	{" answered ", "The receiving server refused the message"},
	{"smtp", "The mail server refused the message."},
}

// PlainDeliveryError says in plain words why a delivery failed; the
// technical details stay in the server's log.
func PlainDeliveryError(msg string) string {
	lower := strings.ToLower(msg)
	for _, e := range deliveryErrors {
		if !strings.Contains(lower, strings.ToLower(e.fragment)) {
			continue
		}
		if e.fragment == " answered " {
			// "host answered 404 Not Found": the status is worth keeping.
			_, status, _ := strings.Cut(msg, " answered ")
			return e.words + " (" + status + ")."
		}
		return e.words
	}
	return "The message could not be delivered; the server's log has the details."
}
