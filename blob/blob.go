// Package blob keeps files' bytes for usher's attachments, avatars and
// previews: in a local directory (the default) or in S3-compatible storage
// (for several replicas). Both implement usher.BlobStore; keys are made up
// by the core, and a key that could escape its directory is refused.
package blob

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"usher"
)

// keyRE is a key usher makes: lower-case letters, digits, dots, dashes and
// underscores, in segments joined by slashes.
var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)

// checkKey refuses a key that is not one usher makes: empty, absolute, with
// "..", or with characters a path or an object name would treat specially.
func checkKey(key string) error {
	if len(key) > 512 || !keyRE.MatchString(key) || strings.Contains(key, "..") {
		return fmt.Errorf("blob: invalid key %q", key)
	}
	return nil
}

// Open opens the blob store a URL names:
//
//   - file:///var/lib/usher/blobs, or a plain path: a local directory,
//     created if missing;
//   - s3://bucket?endpoint=host:port&region=…&prefix=…&insecure=true: an
//     S3-compatible bucket (AWS S3, MinIO, Ceph, Garage…), its credentials
//     from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or MINIO_ROOT_USER
//     and MINIO_ROOT_PASSWORD).
func Open(ctx context.Context, raw string) (usher.BlobStore, error) {
	if !strings.Contains(raw, "://") {
		return NewDir(raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	switch u.Scheme {
	case "file":
		return NewDir(u.Path)
	case "s3":
		q := u.Query()
		return NewS3(ctx, S3Config{Bucket: u.Host, Endpoint: q.Get("endpoint"), Region: q.Get("region"),
			Prefix: q.Get("prefix"), Insecure: q.Get("insecure") == "true"})
	}
	return nil, fmt.Errorf("blob: unknown scheme %q (want file or s3)", u.Scheme)
}
