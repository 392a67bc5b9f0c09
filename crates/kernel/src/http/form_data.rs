//! Submitted form data as the request guard read it: name/value pairs and uploaded files.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use bytes::Bytes;

use crate::error::Error;

/// Submitted form data: every `name=value` pair in order, and the uploaded files.
///
/// Read by the request guard within the limits of [`crate::http::body`]; while it lives, the
/// memory it holds is counted against `uploads.memory_budget_bytes`.
#[derive(Debug, Clone, Default)]
pub struct FormData {
    pairs: Vec<(String, String)>,
    files: Vec<UploadedFile>,
    too_large: Vec<String>,
    upload_limit: usize,
    reservation: Option<Arc<crate::http::body::Reservation>>,
}

/// Where the bytes of an uploaded file are.
#[derive(Debug, Clone)]
pub enum FileContent {
    /// Small files (within `uploads.file_memory_bytes` per request).
    Memory(Bytes),
    /// A temporary file under `<data_dir>/tmp`, deleted when the last clone is dropped.
    Disk(Arc<tempfile::TempPath>),
}

/// A file from a multipart form.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// The field name.
    pub field: String,
    /// The name the client gave (never used as a path).
    pub filename: String,
    /// The content type the client claimed (never trusted).
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its first bytes (up to 64), to check its type by its magic number.
    pub head: Bytes,
    /// The content.
    pub content: FileContent,
}

impl UploadedFile {
    /// A file held in memory (tests, generated files).
    pub fn in_memory(field: &str, filename: &str, bytes: Bytes) -> Self {
        Self {
            field: field.to_owned(),
            filename: filename.to_owned(),
            content_type: String::new(),
            size: bytes.len() as u64,
            head: bytes.slice(..bytes.len().min(64)),
            content: FileContent::Memory(bytes),
        }
    }

    /// The whole content (read from its temporary file if it is on disk).
    pub async fn read(&self) -> std::io::Result<Bytes> {
        match &self.content {
            FileContent::Memory(bytes) => Ok(bytes.clone()),
            FileContent::Disk(path) => tokio::fs::read(path.as_ref() as &std::path::Path).await.map(Bytes::from),
        }
    }
}

impl FormData {
    /// Data from pairs (tests, query strings).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { pairs: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), ..Self::default() }
    }

    pub(crate) fn push_pair(&mut self, name: String, value: String) {
        self.pairs.push((name, value));
    }

    pub(crate) fn push_file(&mut self, file: UploadedFile) {
        self.files.push(file);
    }

    pub(crate) fn push_too_large(&mut self, field: String, limit: usize) {
        self.too_large.push(field);
        self.upload_limit = limit;
    }

    pub(crate) fn hold(&mut self, reservation: crate::http::body::Reservation) {
        self.reservation = Some(Arc::new(reservation));
    }

    /// Whether a file sent in field `name` was larger than `uploads.max_upload_bytes` (and so
    /// was not kept).
    pub fn file_too_large(&self, name: &str) -> bool {
        self.too_large.iter().any(|f| f == name)
    }

    /// The size a file had to stay within (`uploads.max_upload_bytes` when the form was read),
    /// for the message of a field whose file [was too large](Self::file_too_large).
    pub fn upload_limit(&self) -> usize {
        self.upload_limit
    }

    /// Parses `application/x-www-form-urlencoded` bytes.
    pub fn from_urlencoded(bytes: &[u8]) -> Self {
        Self::from_pairs(url::form_urlencoded::parse(bytes).into_owned())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The uploaded file of field `name`, if a non-empty one was sent.
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.files.iter().find(|f| f.field == name && f.size > 0)
    }

    /// The fields whose names start with `prefix`, with the prefix removed: one form of a
    /// formset (`chapters-0-title` → `title` for `chapters-0-`).
    pub fn prefixed(&self, prefix: &str) -> Self {
        let pairs = self
            .pairs
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|name| (name.to_owned(), v.clone())))
            .collect();
        let files = self
            .files
            .iter()
            .filter_map(|f| {
                f.field.strip_prefix(prefix).map(|name| UploadedFile { field: name.to_owned(), ..f.clone() })
            })
            .collect();
        let too_large = self.too_large.iter().filter_map(|f| f.strip_prefix(prefix).map(ToOwned::to_owned)).collect();
        Self { pairs, files, too_large, upload_limit: self.upload_limit, reservation: self.reservation.clone() }
    }

    /// Whether any field other than `ignored` has a non-empty value or file.
    pub fn has_values_besides(&self, ignored: &[&str]) -> bool {
        self.pairs.iter().any(|(k, v)| !v.trim().is_empty() && !ignored.contains(&k.as_str()))
            || self.files.iter().any(|f| f.size > 0 && !ignored.contains(&f.field.as_str()))
            || self.too_large.iter().any(|f| !ignored.contains(&f.as_str()))
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Error;

    /// The form the request guard read (within the limits of [`crate::http::body`]); for GET
    /// and HEAD, the query string.
    async fn from_request(mut request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(form) = request.extensions_mut().remove::<FormData>() {
            return Ok(form);
        }
        if !super::is_unsafe(request.method()) {
            return Ok(Self::from_urlencoded(request.uri().query().unwrap_or("").as_bytes()));
        }
        Err(Error::bad_request("Forms must be sent as application/x-www-form-urlencoded or multipart/form-data."))
    }
}
