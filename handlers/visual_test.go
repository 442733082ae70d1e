package handlers_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// The markup the visual system's CSS (static/app.css) relies on: the owner's
// destructive forms sit in the console's danger zone and nowhere else, and
// every table that becomes stacked cards on a phone labels each cell.

// sectionHTML is the element <section id="id"> of body, nested sections
// included; "" when there is none.
func sectionHTML(body, id string) string {
	start := strings.Index(body, `<section id="`+id+`"`)
	if start < 0 {
		return ""
	}
	depth := 0
	for i := start; i < len(body); {
		open := strings.Index(body[i:], "<section")
		end := strings.Index(body[i:], "</section>")
		if end < 0 {
			return ""
		}
		if open >= 0 && open < end {
			depth++
			i += open + len("<section")
			continue
		}
		depth--
		i += end + len("</section>")
		if depth == 0 {
			return body[start:i]
		}
	}
	return ""
}

var (
	stackTable = regexp.MustCompile(`(?s)<table class="stack">.*?</table>`)
	cellTag    = regexp.MustCompile(`<td\b[^>]*>`)
	emptyTH    = regexp.MustCompile(`<th\b[^>]*>\s*</th>`)
)

// wantStackTables checks that page has n stacked tables, that each labels
// every cell, and that no table of the page has an empty header.
func wantStackTables(t *testing.T, path, body string, n int) {
	t.Helper()
	tables := stackTable.FindAllString(body, -1)
	if len(tables) != n {
		t.Errorf("%s: got %d tables with class stack, want %d", path, len(tables), n)
	}
	for _, table := range tables {
		cells := cellTag.FindAllString(table, -1)
		if len(cells) == 0 {
			t.Errorf("%s: a stacked table has no cells:\n%s", path, table)
		}
		for _, td := range cells {
			if !strings.Contains(td, ` data-label="`) {
				t.Errorf("%s: cell %s has no data-label", path, td)
			}
		}
	}
	if th := emptyTH.FindString(body); th != "" {
		t.Errorf("%s: empty table header %s", path, th)
	}
}

func TestVisualMarkup(t *testing.T) {
	t.Parallel()
	a, annC, ann := cardsClient(t, withCards(newFakeStripe()))
	acc := a.seedAccount(t, ann, "Acme")
	bob := a.seedUser(t, bobName, bobEmail, bobPassword)
	a.join(t, acc, ann, bob, db.RoleAdmin)
	a.seedInvite(t, acc, ann, "carol@example.com", db.RoleNormal)
	nc := db.NewCard{StripeID: "pm_1", Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2099, Fingerprint: "fp_1"}
	if _, err := a.store.AddCard(context.Background(), ann.ID, nc, db.Event{Kind: db.EventCardAdded}); err != nil {
		t.Fatal(err)
	}
	console := fmt.Sprintf("/accounts/%d/manage", acc.ID)
	deleteForm := fmt.Sprintf(`action="/accounts/%d/delete"`, acc.ID)
	ownerForm := fmt.Sprintf(`action="/accounts/%d/owner"`, acc.ID)

	t.Run("owner's console", func(t *testing.T) {
		res := annC.get(console)
		if res.status != 200 {
			t.Fatalf("GET %s: got %d", console, res.status)
		}
		zone := sectionHTML(res.body, "danger-zone")
		if !strings.HasPrefix(zone, `<section id="danger-zone" class="danger-zone">`) || !strings.Contains(zone, "<h2>Danger zone</h2>") {
			t.Fatalf("console: danger zone is %q, want a section.danger-zone headed Danger zone", zone)
		}
		for _, want := range []string{deleteForm, ownerForm, `<section id="danger">`, `<section id="owner">`,
			`<button type="submit" class="danger">Delete this account</button>`, `<button type="submit" class="danger">Transfer ownership</button>`,
			`name="confirm_name"`} {
			if !strings.Contains(zone, want) {
				t.Errorf("danger zone lacks %s:\n%s", want, zone)
			}
		}
		rest := strings.Replace(res.body, zone, "", 1)
		for _, form := range []string{deleteForm, ownerForm} {
			if strings.Contains(rest, form) {
				t.Errorf("console: %s outside the danger zone", form)
			}
		}
		// The zone is the console's last section, after the ordinary forms.
		if strings.Index(res.body, zone) < strings.Index(res.body, `<section id="settings">`) {
			t.Error("console: the danger zone comes before Settings")
		}
		wantStackTables(t, console, res.body, 2) // members, pending invites
		for _, want := range []string{`<td data-label="Email">` + bobEmail + `</td>`, `<td data-label="Email">carol@example.com</td>`,
			`<td class="actions" data-label="Actions">`, `<div class="field">`} {
			if !strings.Contains(res.body, want) {
				t.Errorf("console lacks %s", want)
			}
		}
		if strings.Contains(res.body, `class="secondary`) {
			t.Error(`console: a "secondary" button; want outline for secondary actions`)
		}
	})

	t.Run("Admin's console", func(t *testing.T) {
		bobC := a.client(t)
		bobC.adopt(bob.ID)
		res := bobC.get(console)
		if res.status != 200 {
			t.Fatalf("GET %s as Bob: got %d", console, res.status)
		}
		if strings.Contains(res.body, "danger-zone") || strings.Contains(res.body, deleteForm) {
			t.Error("an Admin who is not the owner sees the danger zone")
		}
		wantStackTables(t, console, res.body, 2)
	})

	for path, n := range map[string]int{fmt.Sprintf("/accounts/%d", acc.ID): 1, "/cards": 1} {
		t.Run(path, func(t *testing.T) {
			res := annC.get(path)
			if res.status != 200 {
				t.Fatalf("GET %s: got %d", path, res.status)
			}
			wantStackTables(t, path, res.body, n)
		})
	}
}
