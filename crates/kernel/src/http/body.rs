//! Reading request bodies within limits, without holding more than a budget in memory.
//!
//! The request guard calls [`read`] for unsafe requests after the checks that need no body
//! (CSRF cookie and `Origin`) have passed, so a request that will be refused is refused before
//! its body is read. The rules, each with its setting:
//!
//! - A `Content-Length` above the limit is refused (413) before a byte is read.
//! - A body without files (`application/x-www-form-urlencoded`, JSON, ...) holds at most
//!   `uploads.max_body_bytes`: exactly the limit passes, one byte more is 413.
//! - `multipart/form-data` is accepted only by routes that take files (declared with
//!   [`crate::urls::RoutesBuilder::upload_route`]), and only from signed-in users; anything
//!   else is refused before the body is read. It is parsed as it arrives: text fields
//!   (together at most `uploads.max_body_bytes`) stay in memory, files stay in memory up to
//!   `uploads.file_memory_bytes` per request and are written to temporary files under
//!   `<data_dir>/tmp` beyond it. A file larger than `uploads.max_upload_bytes` is not kept:
//!   the form gets an error on that field and keeps its other values. The whole body holds at
//!   most `uploads.max_request_bytes` (413 beyond).
//! - Every byte held in memory is counted against `uploads.memory_budget_bytes`, shared by all
//!   requests; a request that would pass it gets 503 with `Retry-After` at once.
//! - The body must arrive within `server.body_read_timeout_seconds` (408 after that).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::form_data::{FileContent, FormData, UploadedFile};
use crate::config::UploadSettings;
use crate::error::Error;

/// Bytes counted as one permit of the budget.
const UNIT: usize = 1024;
/// Bytes of the start of each file kept apart (for checking its type by its magic number).
const HEAD_BYTES: usize = 64;

/// The memory all request bodies may hold at once.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    semaphore: Arc<Semaphore>,
    units: usize,
}

impl BodyBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        let units = bytes.div_ceil(UNIT).clamp(1, Semaphore::MAX_PERMITS);
        Self { semaphore: Arc::new(Semaphore::new(units)), units }
    }

    /// Bytes not held by any request now.
    pub fn available_bytes(&self) -> usize {
        self.semaphore.available_permits() * UNIT
    }

    /// Bytes of the whole budget.
    pub fn total_bytes(&self) -> usize {
        self.units * UNIT
    }

    /// An empty reservation that grows as a body is read.
    pub fn reservation(&self) -> Reservation {
        Reservation { semaphore: self.semaphore.clone(), permit: None, bytes: 0 }
    }
}

/// The part of the budget one request holds; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    semaphore: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

impl Reservation {
    fn held_units(&self) -> usize {
        self.permit.as_ref().map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// Counts `n` more bytes held; refuses (503) when the budget has no room for them.
    pub fn grow(&mut self, n: usize) -> Result<(), Error> {
        self.bytes += n;
        let needed = self.bytes.div_ceil(UNIT).saturating_sub(self.held_units());
        if needed == 0 {
            return Ok(());
        }
        let more = u32::try_from(needed)
            .ok()
            .and_then(|units| self.semaphore.clone().try_acquire_many_owned(units).ok())
            .ok_or_else(|| {
                tracing::warn!(bytes = self.bytes, "request body refused: the memory budget for bodies is spent");
                Error::Unavailable("request body memory budget".into())
            })?;
        match &mut self.permit {
            Some(permit) => permit.merge(more),
            None => self.permit = Some(more),
        }
        Ok(())
    }

    /// Counts `n` bytes no longer held (written to disk).
    pub fn shrink(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_sub(n);
        let surplus = self.held_units().saturating_sub(self.bytes.div_ceil(UNIT));
        if surplus > 0
            && let Some(permit) = &mut self.permit
        {
            drop(permit.split(surplus));
        }
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// What kind of body a request has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded` (or no content type).
    UrlEncoded,
    /// `multipart/form-data` with its boundary.
    Multipart(String),
    /// Anything else (JSON for an API, a webhook's payload).
    Other,
}

/// The kind of body the headers announce.
pub fn body_kind(headers: &axum::http::HeaderMap) -> BodyKind {
    let content_type =
        headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" | "" => BodyKind::UrlEncoded,
        "multipart/form-data" => multer::parse_boundary(&content_type).map_or(BodyKind::Other, BodyKind::Multipart),
        _ => BodyKind::Other,
    }
}

/// The declared `Content-Length`, if any.
pub fn content_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// Counts `a=1&b=2` pairs.
pub fn count_pairs(query: &str) -> usize {
    query.split('&').filter(|p| !p.is_empty()).count()
}

fn too_many_fields(limits: &UploadSettings) -> Error {
    Error::bad_request(format!("Too many fields were sent (more than {}).", limits.max_fields))
}

fn body_too_large(limits: &UploadSettings) -> Error {
    Error::PayloadTooLarge {
        message: "The request is too large (at most {size}).",
        limit: limits.max_body_bytes as u64,
    }
}

fn request_too_large(limits: &UploadSettings) -> Error {
    Error::PayloadTooLarge {
        message: "The upload is too large (at most {size} in all).",
        limit: limits.max_request_bytes as u64,
    }
}

/// A read body: the form it holds (urlencoded and multipart) and the raw bytes (urlencoded and
/// other kinds) to hand on to the handler.
#[derive(Debug)]
pub struct ReadBody {
    /// The parsed form, if the body is one.
    pub form: Option<FormData>,
    /// The raw bytes (empty for multipart, which is consumed while parsed).
    pub raw: Bytes,
}

/// Where a request's files go and who sends them.
pub struct UploadContext<'a> {
    /// Folder for temporary files.
    pub temp_dir: &'a std::path::Path,
    /// Awaited once, at the first file of the request, before its bytes are kept: refuses
    /// (429) when the sender has used up their hourly uploads.
    pub on_first_file: Option<futures_util::future::BoxFuture<'a, Result<(), Error>>>,
}

impl std::fmt::Debug for UploadContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadContext").field("temp_dir", &self.temp_dir).finish_non_exhaustive()
    }
}

/// Reads `body` of `kind` within `limits` and the memory `budget`, in `timeout` at most.
pub async fn read(
    kind: &BodyKind,
    body: Body,
    limits: &UploadSettings,
    budget: &BodyBudget,
    timeout: Duration,
    uploads: UploadContext<'_>,
) -> Result<ReadBody, Error> {
    let shared: SharedBody = Arc::new(tokio::sync::Mutex::new(body.into_data_stream()));
    let work = async {
        match kind {
            BodyKind::UrlEncoded => {
                let mut reservation = budget.reservation();
                let bytes =
                    read_all(&shared, limits.max_body_bytes, &mut reservation, || body_too_large(limits)).await?;
                let text =
                    std::str::from_utf8(&bytes).map_err(|_| Error::bad_request("The form data is not valid UTF-8."))?;
                if count_pairs(text) > limits.max_fields {
                    return Err(too_many_fields(limits));
                }
                let mut form = FormData::from_urlencoded(&bytes);
                form.hold(reservation);
                Ok(ReadBody { form: Some(form), raw: bytes })
            }
            BodyKind::Multipart(boundary) => {
                let form = read_multipart(shared.clone(), boundary, limits, budget, uploads).await?;
                Ok(ReadBody { form: Some(form), raw: Bytes::new() })
            }
            BodyKind::Other => {
                let mut reservation = budget.reservation();
                let raw = read_all(&shared, limits.max_body_bytes, &mut reservation, || body_too_large(limits)).await?;
                // The bytes live on in the handler; the budget covered the read.
                Ok(ReadBody { form: None, raw })
            }
        }
    };
    let limit = match kind {
        BodyKind::Multipart(_) => limits.max_request_bytes,
        _ => limits.max_body_bytes,
    };
    let outcome = tokio::time::timeout(timeout, work).await.unwrap_or_else(|_| {
        tracing::info!(seconds = timeout.as_secs(), "request body not received in time");
        Err(Error::RequestTimeout)
    });
    // A body refused for what it holds is read to its end (within bounds) so the client gets the
    // answer; one refused because the server is busy or the client is slow is not waited for.
    match &outcome {
        Err(Error::Unavailable(_) | Error::RequestTimeout) => {}
        Err(_) => {
            let _ = tokio::time::timeout(DRAIN_TIME, drain(&shared, limit.saturating_mul(DRAIN_FACTOR))).await;
        }
        // Multer stops at the closing boundary; what follows it (an epilogue, the last CRLF) is
        // read too, so the connection can serve the next request instead of being closed.
        Ok(_) => {
            let _ = tokio::time::timeout(DRAIN_TIME, drain(&shared, 64 * 1024)).await;
        }
    }
    outcome
}

/// A request body that the reader and, after an early refusal, the drain take turns reading.
type SharedBody = Arc<tokio::sync::Mutex<axum::body::BodyDataStream>>;

/// The next chunk of a shared body.
async fn next_chunk(shared: &SharedBody) -> Option<Result<Bytes, axum::Error>> {
    shared.lock().await.next().await
}

/// A body refused before its end is read on and dropped, up to this many times its limit (and
/// [`DRAIN_TIME`]), so the client (still sending) gets the answer instead of a reset
/// connection; past that the connection is closed. Nothing of it is kept in memory.
const DRAIN_FACTOR: usize = 2;
/// The longest a refused body is drained.
const DRAIN_TIME: Duration = Duration::from_secs(3);

/// Reads and drops a body refused before it was read (see [`DRAIN_FACTOR`]): one declaring more
/// than `DRAIN_FACTOR × limit` is not read at all (the connection closes after the answer),
/// one without a length at most that many bytes; never longer than [`DRAIN_TIME`].
pub async fn drain_refused(body: Body, declared: Option<u64>, limit: usize) {
    let cap = limit.saturating_mul(DRAIN_FACTOR);
    if declared.is_some_and(|n| n > cap as u64) {
        return;
    }
    let shared: SharedBody = Arc::new(tokio::sync::Mutex::new(body.into_data_stream()));
    let _ = tokio::time::timeout(DRAIN_TIME, drain(&shared, cap)).await;
}

/// Reads and drops what is left of `shared`, at most `cap` bytes.
async fn drain(shared: &SharedBody, cap: usize) {
    let mut dropped = 0usize;
    while let Some(Ok(chunk)) = next_chunk(shared).await {
        dropped += chunk.len();
        if dropped > cap {
            break;
        }
    }
}

/// Reads a whole body of at most `limit` bytes, counting them against `reservation`.
async fn read_all(
    shared: &SharedBody,
    limit: usize,
    reservation: &mut Reservation,
    too_large: impl Fn() -> Error,
) -> Result<Bytes, Error> {
    let mut out = BytesMut::new();
    while let Some(chunk) = next_chunk(shared).await {
        let data = chunk.map_err(|_| Error::bad_request("The request body could not be read."))?;
        if out.len() + data.len() > limit {
            return Err(too_large());
        }
        reservation.grow(data.len())?;
        out.extend_from_slice(&data);
    }
    Ok(out.freeze())
}

/// The body as a stream for multer that stops with an error past `limit` bytes.
fn limited_stream(
    shared: SharedBody,
    limit: usize,
    exceeded: Arc<std::sync::atomic::AtomicBool>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold((shared, 0usize), move |(shared, seen)| {
        let exceeded = exceeded.clone();
        async move {
            let chunk = match next_chunk(&shared).await? {
                Ok(chunk) => chunk,
                Err(e) => return Some((Err(std::io::Error::other(e)), (shared, seen))),
            };
            let seen = seen + chunk.len();
            if seen > limit {
                exceeded.store(true, std::sync::atomic::Ordering::Relaxed);
                return Some((Err(std::io::Error::other("the body is larger than allowed")), (shared, seen)));
            }
            Some((Ok(chunk), (shared, seen)))
        }
    })
}

/// A file being received: in memory until the request's memory share for files is used, then
/// in a temporary file.
enum Sink {
    Memory(BytesMut),
    Disk { file: tokio::fs::File, temp: tempfile::TempPath },
}

async fn read_multipart(
    shared: SharedBody,
    boundary: &str,
    limits: &UploadSettings,
    budget: &BodyBudget,
    mut uploads: UploadContext<'_>,
) -> Result<FormData, Error> {
    let exceeded = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stream = limited_stream(shared, limits.max_request_bytes, exceeded.clone());
    let mut multipart = multer::Multipart::new(stream, boundary.to_owned());
    let mut form = FormData::default();
    let mut reservation = budget.reservation();
    let (mut fields, mut files, mut text_bytes, mut file_memory) = (0usize, 0usize, 0usize, 0usize);
    let malformed = |exceeded: &std::sync::atomic::AtomicBool| {
        if exceeded.load(std::sync::atomic::Ordering::Relaxed) {
            request_too_large(limits)
        } else {
            Error::bad_request("The multipart form data is malformed.")
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(|_| malformed(&exceeded))? {
        let name = field.name().unwrap_or_default().to_owned();
        let Some(filename) = field.file_name().map(ToOwned::to_owned) else {
            fields += 1;
            if fields > limits.max_fields {
                return Err(too_many_fields(limits));
            }
            let mut value = BytesMut::new();
            while let Some(chunk) = field.chunk().await.map_err(|_| malformed(&exceeded))? {
                text_bytes += chunk.len();
                if text_bytes > limits.max_body_bytes {
                    return Err(body_too_large(limits));
                }
                reservation.grow(chunk.len())?;
                value.extend_from_slice(&chunk);
            }
            form.push_pair(name, String::from_utf8_lossy(&value).into_owned());
            continue;
        };
        let content_type = field.content_type().map(ToString::to_string).unwrap_or_default();
        let mut size = 0usize;
        let mut head = BytesMut::new();
        let mut sink: Option<Sink> = None;
        let mut too_large = false;
        while let Some(chunk) = field.chunk().await.map_err(|_| malformed(&exceeded))? {
            if chunk.is_empty() {
                continue;
            }
            if size == 0 {
                files += 1;
                if files > limits.max_files {
                    return Err(Error::bad_request(format!(
                        "Too many files were sent (more than {}).",
                        limits.max_files
                    )));
                }
                if let Some(check) = uploads.on_first_file.take() {
                    check.await?;
                }
            }
            size += chunk.len();
            if head.len() < HEAD_BYTES {
                head.extend_from_slice(&chunk[..chunk.len().min(HEAD_BYTES - head.len())]);
            }
            if too_large {
                continue;
            }
            if size > limits.max_upload_bytes {
                // Not kept; the rest of this file is read and dropped so the fields after it arrive.
                too_large = true;
                if let Some(Sink::Memory(buffer)) = sink.take() {
                    reservation.shrink(buffer.len());
                    file_memory -= buffer.len();
                }
                continue;
            }
            sink = Some(write_chunk(sink, chunk, &mut file_memory, limits, &mut reservation, uploads.temp_dir).await?);
        }
        if too_large {
            form.push_too_large(name, limits.max_upload_bytes);
            continue;
        }
        let content = match sink {
            None => continue, // no file chosen: browsers send an empty part
            Some(Sink::Memory(buffer)) => FileContent::Memory(buffer.freeze()),
            Some(Sink::Disk { mut file, temp }) => {
                file.flush().await.map_err(disk_error)?;
                FileContent::Disk(Arc::new(temp))
            }
        };
        form.push_file(UploadedFile {
            field: name,
            filename,
            content_type,
            size: size as u64,
            head: head.freeze(),
            content,
        });
    }
    form.hold(reservation);
    Ok(form)
}

async fn write_chunk(
    sink: Option<Sink>,
    chunk: Bytes,
    file_memory: &mut usize,
    limits: &UploadSettings,
    reservation: &mut Reservation,
    temp_dir: &std::path::Path,
) -> Result<Sink, Error> {
    match sink {
        Some(Sink::Disk { mut file, temp }) => {
            file.write_all(&chunk).await.map_err(disk_error)?;
            Ok(Sink::Disk { file, temp })
        }
        Some(Sink::Memory(mut buffer)) if *file_memory + chunk.len() <= limits.file_memory_bytes => {
            reservation.grow(chunk.len())?;
            *file_memory += chunk.len();
            buffer.extend_from_slice(&chunk);
            Ok(Sink::Memory(buffer))
        }
        None if *file_memory + chunk.len() <= limits.file_memory_bytes => {
            reservation.grow(chunk.len())?;
            *file_memory += chunk.len();
            Ok(Sink::Memory(BytesMut::from(&chunk[..])))
        }
        earlier => {
            // Past this request's memory share for files: to a temporary file.
            tokio::fs::create_dir_all(temp_dir).await.map_err(disk_error)?;
            let dir = temp_dir.to_owned();
            let temp = tokio::task::spawn_blocking(move || {
                tempfile::Builder::new().prefix("upload-").suffix(".part").tempfile_in(dir)
            })
            .await
            .map_err(Error::internal)?
            .map_err(disk_error)?
            .into_temp_path();
            let mut file = tokio::fs::OpenOptions::new().write(true).open(&temp).await.map_err(disk_error)?;
            if let Some(Sink::Memory(buffer)) = earlier {
                file.write_all(&buffer).await.map_err(disk_error)?;
                reservation.shrink(buffer.len());
                *file_memory -= buffer.len();
            }
            file.write_all(&chunk).await.map_err(disk_error)?;
            Ok(Sink::Disk { file, temp })
        }
    }
}

/// A write to disk failed: a full disk is the server's state, not the client's fault (503).
pub fn disk_error(e: std::io::Error) -> Error {
    if is_disk_full(&e) {
        tracing::error!(error = %e, "the disk is full");
        Error::Unavailable("disk full".into())
    } else {
        Error::internal(anyhow::Error::new(e).context("writing an upload to a temporary file"))
    }
}

/// Whether an I/O error means there is no space left (or the quota is spent).
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_grows_and_shrinks_by_whole_units() {
        let budget = BodyBudget::new(10 * UNIT);
        let mut a = budget.reservation();
        a.grow(1).unwrap();
        assert_eq!(budget.available_bytes(), 9 * UNIT);
        a.grow(UNIT - 1).unwrap();
        assert_eq!(budget.available_bytes(), 9 * UNIT, "still one unit");
        a.grow(8 * UNIT).unwrap();
        let mut b = budget.reservation();
        b.grow(UNIT).unwrap();
        assert_eq!(budget.available_bytes(), 0);
        assert!(matches!(b.grow(1), Err(Error::Unavailable(_))), "past the budget");
        a.shrink(4 * UNIT);
        assert_eq!(budget.available_bytes(), 4 * UNIT);
        drop(a);
        drop(b);
        assert_eq!(budget.available_bytes(), 10 * UNIT);
    }

    #[test]
    fn kinds_come_from_the_content_type() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(body_kind(&headers), BodyKind::UrlEncoded);
        headers.insert("content-type", "multipart/form-data; boundary=xyz".parse().unwrap());
        assert_eq!(body_kind(&headers), BodyKind::Multipart("xyz".into()));
        headers.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(body_kind(&headers), BodyKind::Other);
        headers.insert("content-type", "multipart/form-data".parse().unwrap());
        assert_eq!(body_kind(&headers), BodyKind::Other, "no boundary");
    }

    #[test]
    fn pairs_are_counted_like_django_counts_fields() {
        assert_eq!(count_pairs(""), 0);
        assert_eq!(count_pairs("a=1&b=2&&c"), 3);
    }
}
