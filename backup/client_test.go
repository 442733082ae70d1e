package backup_test

import (
	"testing"

	"github.com/benbjohnson/litestream/file"
	"github.com/benbjohnson/litestream/s3"

	"github.com/rosterhq/roster/backup"
	"github.com/rosterhq/roster/internal/proctest"
)

// TestClientS3Settings: where each S3 setting comes from. The replication
// itself against an S3 server is TestS3Replica.
func TestClientS3Settings(t *testing.T) {
	tests := []struct {
		name                     string
		url                      string
		env                      map[string]string
		endpoint, region, bucket string
		path, key                string
		pathStyle                bool
	}{
		{name: "AWS", url: "s3://b/roster/prod", env: map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
			region: "eu-west-1", bucket: "b", path: "roster/prod", key: "k"},
		{name: "Roster's endpoint", url: "s3://b/roster", env: map[string]string{backup.EnvEndpoint: "http://127.0.0.1:9000", "AWS_ENDPOINT_URL_S3": "https://other.example.com"},
			endpoint: "http://127.0.0.1:9000", bucket: "b", path: "roster", pathStyle: true},
		{name: "the SDK's endpoint (Fly's Tigris)", url: "s3://b/roster", env: map[string]string{"AWS_ENDPOINT_URL_S3": "https://fly.storage.tigris.dev", "AWS_REGION": "auto"},
			endpoint: "https://fly.storage.tigris.dev", region: "auto", bucket: "b", path: "roster", pathStyle: true},
		{name: "Litestream's query", url: "s3://b/roster?endpoint=http://127.0.0.1:9000&region=r1", env: map[string]string{backup.EnvEndpoint: "https://ignored.example.com", "AWS_REGION": "ignored"},
			endpoint: "http://127.0.0.1:9000", region: "r1", bucket: "b", path: "roster", pathStyle: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := backup.Client(tt.url, proctest.Env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			sc, ok := c.(*s3.ReplicaClient)
			if !ok {
				t.Fatalf("got %T, want *s3.ReplicaClient", c)
			}
			got := []any{sc.Endpoint, sc.Region, sc.Bucket, sc.Path, sc.AccessKeyID, sc.ForcePathStyle}
			want := []any{tt.endpoint, tt.region, tt.bucket, tt.path, tt.key, tt.pathStyle}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("endpoint, region, bucket, path, key, path style: got %v, want %v", got, want)
					break
				}
			}
		})
	}
	c, err := backup.Client("file:///var/backups/roster/", proctest.Env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if fc, ok := c.(*file.ReplicaClient); !ok || fc.Path() != "/var/backups/roster" {
		t.Errorf("file:///var/backups/roster/: got %T %v", c, c)
	}
}
