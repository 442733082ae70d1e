package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
)

// notificationRow captures the "What" cell of a row of /profile/notifications.
var notificationRow = regexp.MustCompile(`<tr>\n<td data-label="Queued"><time[^>]*>[^<]*</time></td>\n<td data-label="What">([^<]*)</td>`)

// cardRow captures the label of a row of the saved cards.
var cardRow = regexp.MustCompile(`<td data-label="Card">(\w+ ending \d{4})`)

// listRows gets path and returns the first group of each match of row.
func listRows(t *testing.T, c *client, path string, row *regexp.Regexp) ([]string, string) {
	t.Helper()
	res := c.get(path)
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200", path, res.status)
	}
	var got []string
	for _, m := range row.FindAllStringSubmatch(res.body, -1) {
		got = append(got, html.UnescapeString(m[1]))
	}
	return got, res.body
}

// checkThreePages checks a list of 30 rows at page size 10 on path: 10 rows
// a page, first is the newest on page 1 and last the oldest on page 3, and
// the first/previous/next/last links reach the ends.
func checkThreePages(t *testing.T, c *client, path string, row *regexp.Regexp, first, last string, lastRows int) {
	t.Helper()
	rows, body := listRows(t, c, path, row)
	if len(rows) != 10 || rows[0] != first {
		t.Fatalf("%s page 1: got %d rows starting %q, want 10 starting %q", path, len(rows), rows, first)
	}
	links := pagerLinks(body)
	if links["first"] != "" || links["prev"] != "" || links["next"] != path+"?page=2" || links["last"] != path+"?page=3" {
		t.Errorf("%s page 1: got links %v, want only next page=2 and last page=3", path, links)
	}
	if !strings.Contains(body, "Page 1 of 3") {
		t.Errorf("%s page 1: missing \"Page 1 of 3\"", path)
	}
	rows, body = listRows(t, c, path+"?page=2", row)
	if l := pagerLinks(body); len(rows) != 10 || l["first"] != path+"?page=1" || l["prev"] != path+"?page=1" ||
		l["next"] != path+"?page=3" || l["last"] != path+"?page=3" {
		t.Errorf("%s page 2: got %d rows, links %v; want 10 and links to pages 1, 1, 3, 3", path, len(rows), l)
	}
	rows, body = listRows(t, c, path+"?page=3", row)
	if len(rows) != lastRows || rows[len(rows)-1] != last {
		t.Errorf("%s page 3: got %d rows ending %q, want %d ending %q", path, len(rows), rows, lastRows, last)
	}
	if l := pagerLinks(body); l["first"] != path+"?page=1" || l["prev"] != path+"?page=2" || l["next"] != "" || l["last"] != "" {
		t.Errorf("%s page 3: got links %v, want first page=1, previous page=2 and no next or last", path, l)
	}
	// Past the end shows the last page.
	if rows, _ := listRows(t, c, path+"?page=99", row); len(rows) != lastRows {
		t.Errorf("%s page 99: got %d rows, want the last page's %d", path, len(rows), lastRows)
	}
}

// TestNotificationsFollowPageSize: 30 notifications at page size 10 are
// three pages, newest first, linked from the profile and the activity log.
func TestNotificationsFollowPageSize(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	for i := 1; i <= 30; i++ {
		n := db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Notice " + strconv.Itoa(i), Body: "body"}
		if _, err := a.store.Enqueue(context.Background(), ann.ID, n); err != nil {
			t.Fatal(err)
		}
	}
	if res := c.postHTMX("/preferences", url.Values{"page_size": {"10"}}); res.status != http.StatusOK {
		t.Fatalf("save page size 10: got %d", res.status)
	}
	checkThreePages(t, c, "/profile/notifications", notificationRow, "Notice 30", "Notice 1", 10)

	_, body := listRows(t, c, "/profile/notifications", notificationRow)
	if !strings.Contains(body, "Email a•••@example.com") || strings.Contains(body, annEmail) {
		t.Errorf("notifications: want the address masked as a•••@example.com, never %s in full", annEmail)
	}
	for _, path := range []string{"/profile", "/profile/activity"} {
		if body := c.get(path).body; !strings.Contains(body, `href="/profile/notifications"`) {
			t.Errorf("%s: no link to /profile/notifications", path)
		}
	}
}

// TestNotificationStates shows the state, attempts and last error of each
// notification in plain words.
func TestNotificationStates(t *testing.T) {
	t.Parallel()
	// No background worker: this test claims the rows itself.
	a := newApp(t, func(ac *appConfig) { ac.manualWorker = true })
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	ctx := context.Background()
	for _, subject := range []string{"Given up", "Retrying", "Delivered"} {
		if _, err := a.store.Enqueue(ctx, ann.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: subject}); err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := a.store.ClaimDeliveries(ctx, "w", time.Now().Add(time.Minute), time.Minute, 3)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: got %d rows (%v), want 3", len(claimed), err)
	}
	next := time.Now().Add(time.Hour)
	for _, d := range claimed {
		switch d.Subject {
		case "Given up":
			err = a.store.MarkFailed(ctx, d.ID, "w", "dial tcp: lookup mail.example.com: no such host", next, true)
		case "Retrying":
			err = a.store.MarkFailed(ctx, d.ID, "w", "hooks.example.com answered 503 Service Unavailable", next, false)
		default:
			err = a.store.MarkSent(ctx, d.ID, "w", time.Now())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	body := c.get("/profile/notifications").body
	for _, want := range []string{
		`Given up<br><small>The receiving server&#39;s name could not be found.</small></td>`,
		`The receiving server refused the message (503 Service Unavailable).</small></td>`,
		`<td class="state-sent" data-label="State">Sent<br><small><time datetime=`,
		`<td data-label="Attempts">1</td>`,
		`Retrying<br><small>Next attempt <time datetime="` + next.UTC().Format(time.RFC3339) + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("notifications: missing %s", want)
		}
	}
	if strings.Contains(body, "dial tcp") {
		t.Error("notifications: the technical error is shown; want plain words only")
	}
}

// TestCardsFollowPageSize: 25 cards at page size 10 are three pages, the
// default card first.
func TestCardsFollowPageSize(t *testing.T) {
	t.Parallel()
	a, c, ann := cardsClient(t, withCards(newFakeStripe()))
	for i := 1; i <= 25; i++ {
		nc := db.NewCard{StripeID: fmt.Sprintf("pm_%d", i), Brand: "visa", Last4: fmt.Sprintf("%04d", i),
			ExpMonth: 12, ExpYear: 2099, Fingerprint: fmt.Sprintf("fp_%d", i)}
		if _, err := a.store.AddCard(context.Background(), ann.ID, nc, db.Event{Kind: db.EventCardAdded}); err != nil {
			t.Fatal(err)
		}
	}
	if res := c.postHTMX("/preferences", url.Values{"page_size": {"10"}}); res.status != http.StatusOK {
		t.Fatalf("save page size 10: got %d", res.status)
	}
	// The first card saved is the default and comes first; then newest first.
	checkThreePages(t, c, "/cards", cardRow, "Visa ending 0001", "Visa ending 0002", 5)
}
