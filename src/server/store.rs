//! The storage backend behind the in-process S3 server. It owns the buckets: per bucket an
//! in-memory index of keys (any UTF-8, never a file path) to object metadata, and the multipart
//! uploads in progress. Object bytes live in blob files under generated names in a private
//! directory (see `body`). The operations are in `buckets`, `objects`, `listing`, `multipart` and
//! `multipart_list`; this module holds the shared types and hands each S3 operation to its
//! implementation.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use md5::Digest;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

use super::body::Extent;
use super::checksum::{Algo, Sum};

/// Largest single PUT, part or copy source.
pub(crate) const MAX_OBJECT: u64 = 5 * 1024 * 1024 * 1024;
/// Longest key, in bytes.
pub(crate) const MAX_KEY: usize = 1024;

/// The S3 backend: buckets in memory, bytes in files under a private temporary directory of the
/// server's root (removed when the store goes).
pub struct Store {
    dir: tempfile::TempDir,
    /// The region buckets are in (GetBucketLocation).
    pub(crate) region: String,
    next: AtomicU64,
    pub(crate) buckets: RwLock<BTreeMap<String, Arc<Bucket>>>,
}

/// One bucket: its keys and its multipart uploads in progress.
pub(crate) struct Bucket {
    pub created: SystemTime,
    pub objects: RwLock<BTreeMap<String, Arc<ObjectMeta>>>,
    /// By upload id.
    pub uploads: Mutex<BTreeMap<String, Arc<Upload>>>,
}

/// Headers stored with an object and given back on HEAD and GET.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attrs {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub metadata: Option<HashMap<String, String>>,
    pub storage_class: Option<String>,
}

/// One object version: its bytes (as extents) and what S3 says about it.
#[derive(Debug)]
pub(crate) struct ObjectMeta {
    pub data: Vec<Extent>,
    pub size: u64,
    /// Without quotes: hex MD5, or `hex-N` for a multipart object.
    pub etag: String,
    pub modified: SystemTime,
    pub attrs: Attrs,
    pub checksum: Option<Sum>,
    /// The part sizes of a multipart object (empty otherwise).
    pub parts: Vec<u64>,
}

/// A multipart upload in progress.
pub(crate) struct Upload {
    pub key: String,
    pub initiated: SystemTime,
    pub attrs: Attrs,
    pub algo: Option<Algo>,
    /// Whether the object's checksum is to be composite (the default) or of the full object.
    pub composite: bool,
    pub parts: Mutex<BTreeMap<i32, Arc<PartMeta>>>,
}

/// One uploaded part.
pub(crate) struct PartMeta {
    pub data: Vec<Extent>,
    pub size: u64,
    pub md5: [u8; 16],
    pub checksum: Option<Sum>,
    pub modified: SystemTime,
}

impl Store {
    /// A store keeping its files in a new directory inside `root`.
    pub fn new(root: &Path, region: &str) -> std::io::Result<Store> {
        let dir = tempfile::Builder::new().prefix("s3s-").tempdir_in(root)?;
        Ok(Store {
            dir,
            region: region.to_string(),
            next: AtomicU64::new(1),
            buckets: RwLock::new(BTreeMap::new()),
        })
    }

    /// A fresh file name for a blob.
    pub(crate) fn blob_path(&self) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("{n:012}"))
    }

    /// A fresh multipart upload id.
    pub(crate) fn upload_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("{n:x}{nanos:08x}")
    }

    pub(crate) fn bucket(&self, name: &str) -> S3Result<Arc<Bucket>> {
        read(&self.buckets)
            .get(name)
            .cloned()
            .ok_or_else(|| s3_error!(NoSuchBucket, "The specified bucket does not exist"))
    }

    pub(crate) fn object(&self, bucket: &str, key: &str) -> S3Result<Arc<ObjectMeta>> {
        read(&self.bucket(bucket)?.objects)
            .get(key)
            .cloned()
            .ok_or_else(|| s3_error!(NoSuchKey, "The specified key does not exist."))
    }

    /// The source object of a copy (refused when archived).
    pub(crate) fn copy_source(&self, src: &CopySource) -> S3Result<Arc<ObjectMeta>> {
        match src {
            CopySource::Bucket { bucket, key, .. } => {
                let meta = self.object(bucket, key)?;
                check_readable(&meta)?;
                Ok(meta)
            }
            _ => Err(s3_error!(
                NotImplemented,
                "copy sources other than bucket/key"
            )),
        }
    }
}

impl Bucket {
    pub(crate) fn new() -> Self {
        Bucket {
            created: SystemTime::now(),
            objects: RwLock::new(BTreeMap::new()),
            uploads: Mutex::new(BTreeMap::new()),
        }
    }
}

/// Locks for reading; a panic elsewhere while holding the lock does not poison the store.
pub(crate) fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Storage classes whose objects must be restored before they can be read, as on AWS.
const ARCHIVED: [&str; 2] = ["GLACIER", "DEEP_ARCHIVE"];

/// Refuses to read (GET, or copy from) an archived object: `403 InvalidObjectState`, as AWS
/// answers for a GLACIER or DEEP_ARCHIVE object that was not restored.
pub(crate) fn check_readable(meta: &ObjectMeta) -> S3Result<()> {
    match meta.attrs.storage_class.as_deref() {
        Some(class) if ARCHIVED.contains(&class) => Err(s3_error!(
            InvalidObjectState,
            "The operation is not valid for the object's storage class"
        )),
        _ => Ok(()),
    }
}

pub(crate) fn check_key(key: &str) -> S3Result<()> {
    if key.len() > MAX_KEY {
        return Err(s3_error!(KeyTooLongError, "Your key is too long"));
    }
    Ok(())
}

/// The ETag of an object, part or copy as the DTO wants it (quoted on the wire).
pub(crate) fn etag(value: &str) -> ETag {
    ETag::Strong(value.to_string())
}

impl Store {
    /// Adds objects directly to the index, all with the same bytes (one blob shared by every
    /// key), creating the bucket if needed: seeds huge listings without a request per key.
    pub(crate) fn seed(
        &self,
        bucket: &str,
        keys: impl IntoIterator<Item = String>,
        bytes: &[u8],
    ) -> std::io::Result<usize> {
        let path = self.blob_path();
        std::fs::write(&path, bytes)?;
        let blob = Arc::new(super::body::Blob::new(path));
        let size = bytes.len() as u64;
        let etag = hex::encode(md5::Md5::digest(bytes));
        let modified = SystemTime::now();
        let b = write(&self.buckets)
            .entry(bucket.to_string())
            .or_insert_with(|| Arc::new(Bucket::new()))
            .clone();
        let mut objects = write(&b.objects);
        let mut n = 0;
        for key in keys {
            let meta = ObjectMeta {
                data: super::body::whole(blob.clone(), size),
                size,
                etag: etag.clone(),
                modified,
                attrs: Attrs::default(),
                checksum: None,
                parts: Vec::new(),
            };
            objects.insert(key, Arc::new(meta));
            n += 1;
        }
        Ok(n)
    }
}

/// The store as the S3 service sees it: shared with the [`super::LocalS3Server`] handle (which
/// seeds it and reads its counters), and counting operations in flight.
pub(crate) struct Served {
    pub store: Arc<Store>,
    pub stats: Arc<super::stats::ServerStats>,
    /// Added to every operation, to play a slow store.
    pub latency: Option<std::time::Duration>,
}

type Op<'a, T> = Pin<Box<dyn Future<Output = S3Result<S3Response<T>>> + Send + 'a>>;

/// Implements each listed trait method (the trait is `#[async_trait]`) by boxing the inherent
/// `Store` method of the same name, counted in flight while it runs.
macro_rules! delegate {
    ($($name:ident: $input:ty => $output:ty;)*) => {$(
        fn $name<'life0, 'async_trait>(&'life0 self, req: S3Request<$input>) -> Op<'async_trait, $output>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                let _in_flight = self.stats.enter(stringify!($name));
                if let Some(d) = self.latency {
                    tokio::time::sleep(d).await;
                }
                Store::$name(&self.store, req).await
            })
        }
    )*};
}

/// Every operation not listed here answers `NotImplemented` (the trait's default).
impl S3 for Served {
    delegate! {
        list_buckets: ListBucketsInput => ListBucketsOutput;
        create_bucket: CreateBucketInput => CreateBucketOutput;
        head_bucket: HeadBucketInput => HeadBucketOutput;
        delete_bucket: DeleteBucketInput => DeleteBucketOutput;
        get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput;
        list_objects: ListObjectsInput => ListObjectsOutput;
        list_objects_v2: ListObjectsV2Input => ListObjectsV2Output;
        head_object: HeadObjectInput => HeadObjectOutput;
        get_object: GetObjectInput => GetObjectOutput;
        put_object: PutObjectInput => PutObjectOutput;
        delete_object: DeleteObjectInput => DeleteObjectOutput;
        delete_objects: DeleteObjectsInput => DeleteObjectsOutput;
        copy_object: CopyObjectInput => CopyObjectOutput;
        create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput;
        upload_part: UploadPartInput => UploadPartOutput;
        upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput;
        list_parts: ListPartsInput => ListPartsOutput;
        complete_multipart_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput;
        abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput;
        list_multipart_uploads: ListMultipartUploadsInput => ListMultipartUploadsOutput;
    }
}
