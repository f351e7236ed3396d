package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// Typed errors a caller tests with errors.Is.
var (
	// ErrUnavailable: the repository cannot be reached or used at all (server down, bucket or
	// directory missing, access refused). Nothing was written.
	ErrUnavailable = errors.New("backup repository unavailable")
	// ErrFull: the repository has no room for what is being written.
	ErrFull = errors.New("backup repository full")
	// ErrNotFound: the restore point or file does not exist (or is not complete).
	ErrNotFound = errors.New("not found in the backup repository")
	// ErrCorrupt: a stored file does not match its manifest or SHA256SUMS.
	ErrCorrupt = errors.New("restore point corrupt")
)

// S3 upload tuning: the memory one file being written holds is bounded by these (see the package
// documentation), whatever the file's size.
const (
	// PartSize is the S3 multipart part size; S3 allows at most 10,000 parts, so a file larger
	// than 10,000 x PartSize needs a size hint (WriteFileSized) to get larger parts.
	PartSize = 8 << 20
	// PartConcurrency is how many parts of one file are uploaded at once.
	PartConcurrency = 1
	// maxParts is S3's limit on the parts of one upload, with some room.
	maxParts = 9000
	// copyBufferSize is the buffer a file is streamed through on its way to the blob writer.
	copyBufferSize = 1 << 20
)

// Repository is an open backup repository.
type Repository struct {
	loc    Location
	bucket *blob.Bucket
	// root is the key prefix of everything vmgmt stores: "" or "<prefix>/".
	root string
	// wrapWriter, when set, wraps the writer each data file is streamed into; tests inject
	// failures with it.
	wrapWriter func(name string, w io.Writer) io.Writer
	// beforeDelete, when set, runs before each key is deleted and can fail the delete; tests
	// interrupt deletes with it.
	beforeDelete func(key string) error
}

// Open opens the repository at loc and checks cheaply that it can be used: a file repository's
// directory is created if it is missing (its parent must exist, so that an unmounted share is
// not silently replaced by a directory on the local disk) and must be writable; an S3
// repository's bucket must answer a one-key listing with the environment's credentials.
// Credentials come only from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_PROFILE, web identity, instance roles: whatever the AWS SDK's default chain finds).
// Failures are ErrUnavailable.
func Open(ctx context.Context, loc Location) (*Repository, error) {
	switch loc.Scheme {
	case "file":
		return openFile(loc)
	case "s3":
		return openS3(ctx, loc)
	}
	return nil, fmt.Errorf("the repository %q has scheme %q: vmgmt stores restore points in file:// or s3:// repositories", loc, loc.Scheme)
}

// Location is where the repository is.
func (r *Repository) Location() Location { return r.loc }

// Close releases the repository's connections.
func (r *Repository) Close() error { return r.bucket.Close() }

func openFile(loc Location) (*Repository, error) {
	dir := loc.Path
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: the directory %s cannot be created because %s does not exist: "+
				"create it, or mount the share it belongs on", ErrUnavailable, dir, filepath.Dir(dir))
		}
		return nil, fmt.Errorf("%w: the directory %s cannot be created: %v", ErrUnavailable, dir, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrUnavailable, dir)
	}
	probe, err := os.CreateTemp(dir, ".vmgmt-probe-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("%w: the directory %s cannot be written by this process (uid %d): %v; "+
			"give it write permission or choose another directory", ErrUnavailable, dir, os.Getuid(), err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	// Temporary files go beside their targets (NoTempDir), so that the rename that completes a
	// file never crosses file systems; no metadata side files, so the layout is only the data.
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, dir, err)
	}
	return &Repository{loc: loc, bucket: b}, nil
}

func openS3(ctx context.Context, loc Location) (*Repository, error) {
	var cfgOpts []func(*awsconfig.LoadOptions) error
	if loc.Region != "" {
		cfgOpts = append(cfgOpts, awsconfig.WithRegion(loc.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, cfgOpts...)
	if err != nil {
		return nil, fmt.Errorf("%w: the AWS configuration of the environment cannot be loaded for %s: %v", ErrUnavailable, loc, err)
	}
	if cfg.Region == "" && loc.Endpoint != "" {
		// S3-compatible servers mostly ignore the region, but the SDK signs with one.
		cfg.Region = "us-east-1"
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("%w: no region for %s: add ?region=... to the repository URL or set AWS_REGION", ErrUnavailable, loc)
	}
	opts := &s3blob.Options{}
	if loc.Endpoint != "" {
		// S3-compatible servers do not all understand the SDK's default trailing checksums.
		cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if loc.Endpoint != "" {
			o.BaseEndpoint = aws.String(loc.Endpoint)
		}
		o.UsePathStyle = loc.PathStyle
	})
	b, err := s3blob.OpenBucket(ctx, client, loc.Bucket, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, loc, err)
	}
	r := &Repository{loc: loc, bucket: b}
	if loc.Prefix != "" {
		r.root = loc.Prefix + "/"
	}
	if _, _, err := b.ListPage(ctx, blob.FirstPageToken, 1, &blob.ListOptions{Prefix: r.root}); err != nil {
		_ = b.Close()
		return nil, r.unavailable(err)
	}
	return r, nil
}

// unavailable explains why the repository cannot be used, as an ErrUnavailable.
func (r *Repository) unavailable(err error) error {
	switch {
	case isConnectionError(err):
		return fmt.Errorf("%w: %s cannot be reached: %v", ErrUnavailable, r.loc, err)
	case gcerrors.Code(err) == gcerrors.NotFound:
		return fmt.Errorf("%w: the bucket %q of %s does not exist: create it, or correct the URL", ErrUnavailable, r.loc.Bucket, r.loc)
	case gcerrors.Code(err) == gcerrors.PermissionDenied:
		return fmt.Errorf("%w: %s refuses access with the environment's credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...): %v",
			ErrUnavailable, r.loc, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, r.loc, err)
}

// classify makes a storage error typed: ErrUnavailable when the repository cannot be reached,
// ErrNotFound for a missing key; other errors stay as they are.
func (r *Repository) classify(err error) error {
	if err == nil {
		return nil
	}
	if isConnectionError(err) || gcerrors.Code(err) == gcerrors.PermissionDenied {
		return r.unavailable(err)
	}
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}

// isConnectionError says whether err is a failure to talk to the server at all.
func isConnectionError(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &de) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// isFull says whether err means the repository has no room.
func isFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	// S3-compatible servers answer a full disk or quota with these codes.
	for _, code := range []string{"XMinioStorageFull", "QuotaExceeded", "InsufficientStorage", "EntityTooLarge"} {
		if strings.Contains(err.Error(), code) {
			return true
		}
	}
	return false
}

// WriteError is a failure to write a file of a restore point: the repository is full, failing or
// gone. The point is left partial (no manifest), and Abort removes it.
type WriteError struct {
	Point Point
	File  string
	Err   error
}

func (e *WriteError) Error() string {
	hint := ""
	switch {
	case isFull(e.Err):
		hint = ": the repository is full; free space or raise its quota, then run the job again"
	case isConnectionError(e.Err):
		hint = ": the repository cannot be reached"
	}
	return fmt.Sprintf("writing %s of restore point %s: %v%s", e.File, e.Point, e.Err, hint)
}

func (e *WriteError) Unwrap() error { return e.Err }

// Is makes a write error ErrFull or ErrUnavailable by its cause.
func (e *WriteError) Is(target error) bool {
	switch target {
	case ErrFull:
		return isFull(e.Err)
	case ErrUnavailable:
		return isConnectionError(e.Err)
	}
	return false
}

// CorruptError is a stored file that does not match what the point's manifest and SHA256SUMS say.
type CorruptError struct {
	Point Point
	File  string
	// Reason says what differs: the hash, the size, a file missing from one of the lists.
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("restore point %s is corrupt: %s %s", e.Point, e.File, e.Reason)
}

// Is makes a CorruptError ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
