package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Store keeps the bytes of media under opaque keys. Objects are never
// public: a disk store streams them through the API, an S3 store hands out
// short-lived presigned URLs.
type Store interface {
	// Put writes the object key.
	Put(ctx context.Context, key string, data []byte, contentType string) error
	// Open returns the object's bytes and size; a missing object is
	// ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// Delete removes the object; a missing one is no error.
	Delete(ctx context.Context, key string) error
	// Presign returns a URL that fetches the object without credentials
	// for ttl, or "" when the store cannot make one (the API then streams).
	Presign(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Credentials are an S3 store's access key pair.
type Credentials struct {
	AccessKey, SecretKey string
}

// OpenStore returns the store of kind "file" (target a directory) or "s3"
// (target a bucket; opts endpoint, region, secure and lookup), as
// config.Config.MediaStore parses APP_MEDIA_URL.
func OpenStore(kind, target string, opts url.Values, creds Credentials) (Store, error) {
	if kind == "file" {
		return NewDisk(target), nil
	}
	lookup := minio.BucketLookupPath // works with every S3-compatible store and an endpoint given as an address
	if opts.Get("lookup") == "dns" {
		lookup = minio.BucketLookupDNS
	}
	client, err := minio.New(opts.Get("endpoint"), &minio.Options{
		Creds:        credentials.NewStaticV4(creds.AccessKey, creds.SecretKey, ""),
		Secure:       opts.Get("secure") != "false",
		Region:       opts.Get("region"),
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("media store: %w", err)
	}
	return NewS3(client, target), nil
}

// Disk keeps media as files under one directory. It serves one API
// process (or several on one machine): a deployment on several machines
// needs S3.
type Disk struct{ dir string }

// NewDisk returns a disk store under dir, created on first write.
func NewDisk(dir string) *Disk { return &Disk{dir: dir} }

func (d *Disk) path(key string) (string, error) {
	if key == "" || strings.Contains(key, "..") || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("media: bad key %q", key)
	}
	return filepath.Join(d.dir, filepath.FromSlash(key)), nil
}

// Put writes the file through a temporary name, so a reader never sees half of it.
func (d *Disk) Put(_ context.Context, key string, data []byte, _ string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Open opens the file.
func (d *Disk) Open(_ context.Context, key string) (io.ReadCloser, int64, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// Delete removes the file.
func (d *Disk) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Presign is "": a disk store is streamed by the API.
func (d *Disk) Presign(context.Context, string, time.Duration) (string, error) { return "", nil }

// S3 keeps media in a private bucket of an S3-compatible store.
type S3 struct {
	client *minio.Client
	bucket string
}

// NewS3 returns the store on bucket through client.
func NewS3(client *minio.Client, bucket string) *S3 { return &S3{client: client, bucket: bucket} }

// Put uploads the object.
func (s *S3) Put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("media: put %s: %w", key, err)
	}
	return nil
}

// Open downloads the object.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("media: get %s: %w", key, err)
	}
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, 0, ErrNotFound
		}
		return nil, 0, fmt.Errorf("media: stat %s: %w", key, err)
	}
	return obj, st.Size, nil
}

// Delete removes the object.
func (s *S3) Delete(ctx context.Context, key string) error {
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return fmt.Errorf("media: delete %s: %w", key, err)
	}
	return nil
}

// Presign returns a presigned GET URL valid for ttl (at least a second).
func (s *S3) Presign(ctx context.Context, key string, ttl time.Duration) (string, error) {
	ttl = max(ttl, time.Second)
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("media: presign %s: %w", key, err)
	}
	return u.String(), nil
}
