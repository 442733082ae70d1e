package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/samltest"
)

// rawPost sends body as a form POST with c's cookies and CSRF header.
// chunked hides the length, so only reading the body can find its size.
func (c *client) rawPost(path, body string, chunked bool) *response {
	c.t.Helper()
	var r io.Reader = strings.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // not a *strings.Reader: no Content-Length
	}
	req, err := http.NewRequest(http.MethodPost, c.app.server.URL+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", c.csrf())
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// TestRequestLimits sends what no form of Roster sends, through the real
// router: each is refused before a handler runs, and the name stays.
func TestRequestLimits(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c := a.client(t)
	c.adopt(ann.ID)
	many := make([]string, 101)
	for i := range many {
		many[i] = "f" + strconv.Itoa(i) + "=x"
	}
	tests := []struct {
		name    string
		body    string
		chunked bool
		want    int
		text    string
	}{
		{"body over 256 KiB", "name=" + strings.Repeat("a", 300<<10), false, http.StatusRequestEntityTooLarge, "What you sent is too large."},
		{"body over 256 KiB without a length", "name=" + strings.Repeat("a", 300<<10), true, http.StatusRequestEntityTooLarge, "What you sent is too large."},
		{"value over 64 KiB", "name=" + strings.Repeat("a", 64<<10+1), false, http.StatusRequestEntityTooLarge, "A field of this form is too long."},
		{"101 values", "name=Bo&" + strings.Join(many, "&"), false, http.StatusRequestEntityTooLarge, "This form has too many fields."},
		{"101 values of one key", "name=Bo" + strings.Repeat("&name=Bo", 100), false, http.StatusRequestEntityTooLarge, "This form has too many fields."},
		{"invalid UTF-8 in a value", "name=Bo%FF%FEb", false, http.StatusBadRequest, "not valid UTF-8"},
		{"invalid UTF-8 in a key", "na%C3me=Bob", false, http.StatusBadRequest, "not valid UTF-8"},
		{"bad percent escape", "name=Bo%zzb", false, http.StatusBadRequest, "This form could not be read."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.rawPost("/profile/name", tt.body, tt.chunked)
			if res.status != tt.want || !strings.Contains(res.body, tt.text) {
				t.Errorf("got %d, want %d with %q; body %.300s", res.status, tt.want, tt.text, res.body)
			}
		})
	}
	if u, err := a.store.UserByID(context.Background(), ann.ID); err != nil || u.Name != annName {
		t.Errorf("name after refused posts: got %q, %v, want %q", u.Name, err, annName)
	}
	t.Run("invalid UTF-8 in the query", func(t *testing.T) {
		if res := c.get("/profile?page=%FF"); res.status != http.StatusBadRequest {
			t.Errorf("GET /profile?page=%%FF: got %d, want 400", res.status)
		}
	})
	t.Run("signed payloads are left to their own parsers", func(t *testing.T) {
		for _, path := range []string{"/stripe/webhook", "/saml/1/acs"} {
			res := a.client(t).rawPost(path, "SAMLResponse=%FF&"+strings.Join(many, "&"), false)
			if strings.Contains(res.body, "not valid UTF-8") || strings.Contains(res.body, "too many fields") {
				t.Errorf("POST %s: got %d from formLimits, want its own handler's answer", path, res.status)
			}
		}
	})
	t.Run("100 values and a 64 KiB value pass", func(t *testing.T) {
		long := strings.Repeat("é", 32<<10) // 64 KiB of UTF-8
		body := "name=" + url.QueryEscape(long) + "&" + strings.Join(many[:98], "&")
		if res := c.rawPost("/profile/name", body, false); res.status == http.StatusRequestEntityTooLarge || res.status == http.StatusBadRequest {
			t.Errorf("got %d, want the handler's answer; body %.300s", res.status, res.body)
		}
	})
}

// TestPastedMetadataOverFieldLimit: IdP metadata is the one field allowed
// past 64 KiB; 150 KiB of it still adds a connection.
func TestPastedMetadataOverFieldLimit(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	idp := samltest.New(t, nil)
	res, err := http.Get(idp.URL + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	md, _ := io.ReadAll(res.Body)
	res.Body.Close()
	padded := string(md) + "\n<!-- " + strings.Repeat("x", 150<<10) + " -->\n"

	owner := a.seedUser(t, annName, "ann@acme.test", annPassword)
	acc := a.seedAccount(t, owner, "Acme")
	admin := a.client(t)
	admin.adopt(owner.ID)
	got := admin.postForm("/accounts/"+strconv.FormatInt(acc.ID, 10)+"/saml", url.Values{
		"name": {"Big IdP"}, "metadata_xml": {padded}, "email_domains": {"example.com"}, "role": {"normal"},
	})
	if got.status != http.StatusSeeOther {
		t.Fatalf("paste %d KiB of metadata: got %d, want 303; body %.500s", len(padded)>>10, got.status, got.body)
	}
	if conns, err := a.store.SAMLConnections(context.Background(), acc.ID); err != nil || len(conns) != 1 {
		t.Errorf("connections: got %d, %v, want 1", len(conns), err)
	}
}
