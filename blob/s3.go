package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"usher"
)

// S3Config names an S3-compatible bucket.
type S3Config struct {
	Bucket string
	// Endpoint is host:port of the service; s3.amazonaws.com when empty.
	Endpoint string
	Region   string
	// Prefix is put before every key, so that one bucket serves several
	// instances.
	Prefix string
	// Insecure speaks plain HTTP to the endpoint.
	Insecure bool
	// Creds are the credentials; from the environment when nil
	// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or MinIO's).
	Creds *credentials.Credentials
}

// S3 keeps blobs as objects of an S3-compatible bucket.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
}

var _ usher.BlobStore = (*S3)(nil)

// NewS3 connects to the bucket and checks that it exists.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("blob: s3 needs a bucket")
	}
	endpoint := cfg.Endpoint
	lookup := minio.BucketLookupPath // what MinIO and most S3-compatible servers expect
	if endpoint == "" {
		endpoint, lookup = "s3.amazonaws.com", minio.BucketLookupAuto
	}
	creds := cfg.Creds
	if creds == nil {
		creds = credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.EnvMinio{}})
	}
	client, err := minio.New(endpoint, &minio.Options{Creds: creds, Secure: !cfg.Insecure, Region: cfg.Region, BucketLookup: lookup})
	if err != nil {
		return nil, fmt.Errorf("blob: s3: %w", err)
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: s3 bucket %s: %w", cfg.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob: s3 bucket %s does not exist", cfg.Bucket)
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3{client: client, bucket: cfg.Bucket, prefix: prefix}, nil
}

// Put uploads the object; S3 makes it visible whole or not at all.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, r, size,
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("blob put %s: %w", key, err)
	}
	return nil
}

// Get opens the object, asking for it at once so that a missing one is
// ErrNotFound here rather than at the first read.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("blob get %s: %w", key, err)
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, usher.ErrNotFound
		}
		return nil, fmt.Errorf("blob get %s: %w", key, err)
	}
	return obj, nil
}

// Delete removes the object; S3 answers a missing one as removed.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("blob delete %s: %w", key, err)
	}
	return nil
}
