package server

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rosterhq/roster/backup"
)

// backupEnv are the variables `roster replicate` and `roster restore` read.
var backupEnv = []string{"ROSTER_DB", backup.EnvURL, backup.EnvEndpoint, backup.EnvDir,
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3"}

// validateBackup checks ROSTER_LITESTREAM_URL and its S3 settings, and
// prepares the environment of the replicate child. ROSTER_LITESTREAM_DIR
// may be set without a URL (litefs.yml sets it for whoever adds one), but
// on a LiteFS mount a URL needs it, outside the mount: LiteFS's FUSE mount
// holds databases only, and refuses Litestream's state folder.
func (c *config) validateBackup(getenv func(string) string) error {
	if c.LitestreamDir != "" {
		if !filepath.IsAbs(c.LitestreamDir) {
			return fmt.Errorf("%s: want an absolute path, got %q", backup.EnvDir, c.LitestreamDir)
		}
		if c.LiteFS {
			mount, _ := filepath.Abs(filepath.Dir(c.DB))
			if rel, err := filepath.Rel(mount, filepath.Clean(c.LitestreamDir)); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
				return fmt.Errorf("%s: %s is inside the LiteFS mount, which holds databases only; use a directory on the volume, such as /var/lib/litefs/litestream", backup.EnvDir, c.LitestreamDir)
			}
		}
	}
	if c.LitestreamURL != "" && c.LiteFS && c.LitestreamDir == "" {
		return fmt.Errorf("%s: set it with ROSTER_LITESTREAM_URL on LiteFS, to a directory outside the mount such as /var/lib/litefs/litestream: Litestream cannot keep its state beside the database there", backup.EnvDir)
	}
	if c.LitestreamURL == "" {
		if c.LitestreamEndpoint != "" {
			return fmt.Errorf("%s: set only along with ROSTER_LITESTREAM_URL", backup.EnvEndpoint)
		}
		return nil
	}
	if _, err := backup.Client(c.LitestreamURL, c.backupGetenv(getenv)); err != nil {
		return err
	}
	c.replicaEnv = nil
	for _, name := range backupEnv {
		if v := c.backupGetenv(getenv)(name); v != "" {
			c.replicaEnv = append(c.replicaEnv, name+"="+v)
		}
	}
	return nil
}

// backupGetenv reads the backup's variables, the flags' values first.
func (c *config) backupGetenv(getenv func(string) string) func(string) string {
	return func(name string) string {
		switch name {
		case "ROSTER_DB":
			return c.DB
		case backup.EnvURL:
			return c.LitestreamURL
		case backup.EnvEndpoint:
			return c.LitestreamEndpoint
		case backup.EnvDir:
			return c.LitestreamDir
		}
		return getenv(name)
	}
}
