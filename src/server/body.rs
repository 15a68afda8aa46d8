//! Object bytes on disk: blobs (immutable files under generated names, removed when the last
//! reference goes), extents over blobs, streaming a request body into a blob while hashing it
//! (MD5 and a checksum), streaming extents back out, and reading extents through for digests.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use s3s::checksum::ChecksumHasher;
use s3s::dto::StreamingBlob;
use s3s::{S3Error, S3Result, s3_error};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::checksum::{Algo, Sum};

/// Bytes sent per chunk of a GET body.
const READ_CHUNK: u64 = 256 * 1024;

/// A file holding bytes that never change once written. It is deleted when dropped, so an
/// object replaced or deleted while a GET still streams it stays readable until that GET ends.
#[derive(Debug)]
pub(crate) struct Blob {
    path: PathBuf,
}

impl Blob {
    pub(crate) fn new(path: PathBuf) -> Self {
        Blob { path }
    }
}

impl Drop for Blob {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `len` bytes of a blob from `offset`. An object or a part is a list of extents, so copies and
/// completed multipart uploads share blobs instead of copying bytes.
#[derive(Debug, Clone)]
pub(crate) struct Extent {
    pub blob: Arc<Blob>,
    pub offset: u64,
    pub len: u64,
}

/// The extents covering `range` of the concatenation of `extents`.
pub(crate) fn slice(extents: &[Extent], range: Range<u64>) -> Vec<Extent> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for e in extents {
        let (start, end) = (at, at + e.len);
        at = end;
        let (a, b) = (range.start.max(start), range.end.min(end));
        if a < b {
            out.push(Extent {
                blob: e.blob.clone(),
                offset: e.offset + (a - start),
                len: b - a,
            });
        }
    }
    out
}

/// A whole new blob as an object's or part's data (none when empty).
pub(crate) fn whole(blob: Arc<Blob>, size: u64) -> Vec<Extent> {
    if size == 0 {
        return Vec::new();
    }
    vec![Extent {
        blob,
        offset: 0,
        len: size,
    }]
}

/// MD5, length and optionally one checksum of bytes as they pass.
pub(crate) struct Hashing {
    md5: Md5,
    sum: Option<(Algo, ChecksumHasher)>,
    pub len: u64,
}

impl Hashing {
    pub(crate) fn new(algo: Option<Algo>) -> Self {
        Hashing {
            md5: Md5::new(),
            sum: algo.map(|a| (a, a.hasher())),
            len: 0,
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        if let Some((_, h)) = &mut self.sum {
            h.update(data);
        }
        self.len += data.len() as u64;
    }

    /// The binary MD5 and the full-object checksum.
    pub(crate) fn finish(self) -> ([u8; 16], Option<Sum>) {
        let md5: [u8; 16] = self.md5.finalize().into();
        let sum = self.sum.and_then(|(algo, h)| {
            Some(Sum {
                algo,
                value: algo.field(&h.finalize())?.clone(),
                composite: false,
            })
        });
        (md5, sum)
    }
}

/// Checks a `Content-MD5` header against the MD5 of what arrived.
pub(crate) fn check_content_md5(header: Option<&str>, md5: &[u8; 16]) -> S3Result<()> {
    let Some(h) = header else { return Ok(()) };
    let claimed = aws_smithy_types::base64::decode(h)
        .ok()
        .filter(|d| d.len() == 16)
        .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))?;
    if claimed != md5 {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    Ok(())
}

pub(crate) fn internal(e: std::io::Error) -> S3Error {
    S3Error::internal_error(e)
}

/// Streams a request body into a new blob at `path`, hashing it. On any error the blob (and
/// its file) is dropped.
pub(crate) async fn write_blob(
    path: PathBuf,
    mut body: StreamingBlob,
    hashing: &mut Hashing,
    max: u64,
) -> S3Result<Arc<Blob>> {
    let blob = Arc::new(Blob::new(path));
    let file = tokio::fs::File::create(&blob.path)
        .await
        .map_err(internal)?;
    let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| match e.downcast::<S3Error>() {
            Ok(s3) => *s3,
            Err(e) => s3_error!(IncompleteBody, "reading the request body: {e}"),
        })?;
        hashing.update(&chunk);
        if hashing.len > max {
            return Err(s3_error!(
                EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed size"
            ));
        }
        out.write_all(&chunk).await.map_err(internal)?;
    }
    out.flush().await.map_err(internal)?;
    Ok(blob)
}

/// A GET body: the bytes of `extents`, read by a task that stops when the client goes.
pub(crate) fn read_extents(extents: Vec<Extent>) -> StreamingBlob {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        for e in &extents {
            match send_extent(e, &tx).await {
                Ok(true) => {}
                Ok(false) => return, // the client went away
                Err(err) => {
                    let _ = tx.send(Err(err)).await;
                    return;
                }
            }
        }
    });
    StreamingBlob::wrap(ChannelBody { rx })
}

async fn send_extent(
    e: &Extent,
    tx: &mpsc::Sender<std::io::Result<Bytes>>,
) -> std::io::Result<bool> {
    let mut f = tokio::fs::File::open(&e.blob.path).await?;
    f.seek(SeekFrom::Start(e.offset)).await?;
    let mut left = e.len;
    while left > 0 {
        let mut buf = vec![0u8; left.min(READ_CHUNK) as usize];
        f.read_exact(&mut buf).await?;
        left -= buf.len() as u64;
        if tx.send(Ok(Bytes::from(buf))).await.is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

struct ChannelBody {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
}

impl Stream for ChannelBody {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// Reads `extents` through, for the MD5 and checksum of a server-side copy.
pub(crate) async fn hash_extents(extents: Vec<Extent>, algo: Option<Algo>) -> S3Result<Hashing> {
    tokio::task::spawn_blocking(move || {
        let mut h = Hashing::new(algo);
        let mut buf = vec![0u8; 1 << 20];
        for e in &extents {
            let mut f = std::fs::File::open(&e.blob.path)?;
            f.seek(SeekFrom::Start(e.offset))?;
            let mut left = e.len;
            while left > 0 {
                let n = left.min(buf.len() as u64) as usize;
                f.read_exact(&mut buf[..n])?;
                h.update(&buf[..n]);
                left -= n as u64;
            }
        }
        Ok(h)
    })
    .await
    .map_err(|e| S3Error::internal_error(std::io::Error::other(e)))?
    .map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_across_extents() {
        let blob = Arc::new(Blob::new(PathBuf::new()));
        let ext = |offset, len| Extent {
            blob: blob.clone(),
            offset,
            len,
        };
        let all = [ext(100, 10), ext(0, 5), ext(50, 20)];
        let got: Vec<(u64, u64)> = slice(&all, 8..17)
            .iter()
            .map(|e| (e.offset, e.len))
            .collect();
        assert_eq!(got, [(108, 2), (0, 5), (50, 2)]);
        assert!(slice(&all, 35..35).is_empty());
        assert_eq!(slice(&all, 0..35).len(), 3);
    }
}
