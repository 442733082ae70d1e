package server

import (
	"fmt"

	"github.com/rosterhq/roster/backup"
)

// backupEnv are the variables `roster replicate` and `roster restore` read.
var backupEnv = []string{"ROSTER_DB", backup.EnvURL, backup.EnvEndpoint,
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3"}

// validateBackup checks ROSTER_LITESTREAM_URL and its S3 settings, and
// prepares the environment of the replicate child.
func (c *config) validateBackup(getenv func(string) string) error {
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
		}
		return getenv(name)
	}
}
