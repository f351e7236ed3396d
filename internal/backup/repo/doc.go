// Package repo is the backup repository: where restore points live, a filesystem directory or an
// S3 bucket, read and written through one blob API. It imports neither Terraform nor govmomi, so
// that the runner, the resource's plan-time checks and the restore commands share it.
//
// # Why gocloud.dev/blob
//
// The repository is written through gocloud.dev/blob (fileblob and s3blob) rather than through
// the file system and the aws-sdk-go-v2 S3 client separately: one Bucket API (streaming writers
// and readers, listing by prefix, delete) serves both, so the code that writes, lists, verifies
// and prunes restore points exists once and the file repository is not a second-class test
// double. Azure Blob Storage and Google Cloud Storage are then a driver import and a URL scheme
// away (azureblob, gcsblob), with no change here. The cost is the Go CDK module in go.mod; the S3
// driver underneath is still aws-sdk-go-v2, configured here (credentials, endpoint, path style)
// and handed to s3blob.OpenBucket.
//
// # Layout
//
// The layout is plain files and JSON, readable without vmgmt. Below the repository's root (the
// directory of a file:// URL, the bucket and prefix of an s3:// URL):
//
//	<job>/<vm>/<point>/disk-2000.vmdk        one file per disk, by device key, raw bytes as exported
//	<job>/<vm>/<point>/SHA256SUMS            "<sha256>  <file>" lines: sha256sum -c SHA256SUMS
//	<job>/<vm>/<point>/manifest.json         written last: the point is complete once it exists
//	<job>/hosts/<host>/<point>/configBundle.tgz
//	<job>/hosts/<host>/<point>/SHA256SUMS
//	<job>/hosts/<host>/<point>/manifest.json
//
// A point ID is the point's UTC creation time, to the millisecond, and a random part,
// 20261202T031500.123Z-1a2b3c, so that points sort by time as text. Job, VM and host names are escaped into one path element each:
// ASCII letters, digits, '-', '_' and '.' stay, every other byte is written %XX as in a URL (a VM
// "web/01 ü" is the directory "web%2F01%20%C3%BC"); a VM named "hosts" is "%68osts", so that it
// never meets the host points.
//
// A point without manifest.json is partial (a run was interrupted, or a delete was): it is never
// listed as a restore point, and PartialPoints finds it for cleanup. manifest.json is written
// last, in one piece (a rename on a file system, a single PUT on S3), and deleted first.
//
// # Memory
//
// Files are streamed, never held whole, so the memory one file being written takes does not grow
// with its size. A file repository writes through a 1 MiB copy buffer into a temporary file
// beside the target, renamed into place on success. An S3 repository uploads through the AWS
// transfer manager, which first reads up to 16 MiB (its multipart threshold, which gocloud.dev
// does not expose) and then keeps PartConcurrency+1 parts of PartSize in memory: about
// 16 MiB + 2 x 8 MiB = 32 MiB live per file, plus what the garbage collector has not yet
// reclaimed (GOMEMLIMIT bounds that). Write several files at once only within that budget.
package repo
