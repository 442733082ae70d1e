package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMetadataFetchRefusesLocalAddresses: on an https install, the metadata
// URL cannot reach this machine or its private network, whatever the URL
// looks like; on a development (http) install it may.
func TestMetadataFetchRefusesLocalAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<EntityDescriptor/>"))
	}))
	defer srv.Close()
	ctx := context.Background()
	tests := []struct {
		name       string
		url        string
		allowLocal bool
		wantErr    string
	}{
		{"http to loopback on a development install", srv.URL, true, ""},
		{"http to loopback on an https install", srv.URL, false, "Use an https URL"},
		{"https to loopback on an https install", "https://127.0.0.1:1/metadata", false, "could not fetch"},
		{"https to a private address", "https://10.1.2.3/metadata", false, "could not fetch"},
		{"https to link-local metadata services", "https://169.254.169.254/latest", false, "could not fetch"},
		{"not a URL", "idp.example.com", false, "Enter the full URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, msg := fetchIdPMetadata(ctx, tt.url, tt.allowLocal)
			if tt.wantErr == "" && (msg != "" || !strings.Contains(string(b), "EntityDescriptor")) {
				t.Fatalf("got %q, %q; want the metadata", b, msg)
			}
			if tt.wantErr != "" && !strings.Contains(msg, tt.wantErr) {
				t.Fatalf("got message %q, want one containing %q", msg, tt.wantErr)
			}
		})
	}
}
