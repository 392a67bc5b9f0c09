//! Static files built into the binary, served with content-hashed names and long cache lifetimes.
//!
//! Each file is reachable at `/static/<path>` (short cache, for stable links such as the
//! bookmarklet) and at `/static/<stem>.<hash>.<ext>` (cached for a year, `immutable`). Pages
//! link to the hashed name through [`Assets::url`], so a changed file gets a new URL. Text files
//! are gzip-compressed once at start-up.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// A file shipped with an app.
#[derive(Debug, Clone)]
pub struct StaticFile {
    /// Path under `/static/`, e.g. `css/site.css`.
    pub path: String,
    /// The content.
    pub bytes: Cow<'static, [u8]>,
}

impl StaticFile {
    /// Lists every file of a `rust_embed` folder.
    pub fn all_of<E: rust_embed::RustEmbed>() -> Vec<StaticFile> {
        E::iter()
            .filter_map(|path| E::get(&path).map(|file| StaticFile { path: path.into_owned(), bytes: file.data }))
            .collect()
    }
}

const HASH_LEN: usize = 12;
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=3600";

#[derive(Debug)]
struct Asset {
    bytes: Bytes,
    gzip: Option<Bytes>,
    content_type: HeaderValue,
    etag: HeaderValue,
}

/// Every static file, by plain and by hashed path.
#[derive(Debug, Default)]
pub struct Assets {
    files: HashMap<String, Asset>,
    hashed_to_plain: HashMap<String, String>,
    plain_to_hashed: HashMap<String, String>,
}

impl Assets {
    /// Indexes the files; a later file with the same path replaces an earlier one.
    pub fn new(files: impl IntoIterator<Item = StaticFile>) -> Self {
        let mut assets = Self::default();
        for file in files {
            let digest = crate::crypto::sha256_hex(&file.bytes);
            let hashed = hashed_name(&file.path, &digest[..HASH_LEN]);
            let mime = mime_guess::from_path(&file.path).first_or_octet_stream();
            let is_text = mime.type_() == mime_guess::mime::TEXT
                || matches!(mime.subtype().as_str(), "javascript" | "json" | "svg" | "xml");
            let content_type = if is_text && mime.get_param("charset").is_none() {
                format!("{mime}; charset=utf-8")
            } else {
                mime.to_string()
            };
            let bytes = Bytes::from(file.bytes.into_owned());
            let gzip = (is_text && bytes.len() > 512).then(|| gzip(&bytes)).flatten();
            let asset = Asset {
                gzip,
                content_type: HeaderValue::from_str(&content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                etag: HeaderValue::from_str(&format!("\"{}\"", &digest[..24])).expect("hex is a valid header"),
                bytes,
            };
            assets.hashed_to_plain.insert(hashed.clone(), file.path.clone());
            assets.plain_to_hashed.insert(file.path.clone(), hashed);
            assets.files.insert(file.path, asset);
        }
        assets
    }

    /// The URL of a static file by its plain path (`css/site.css`), using the hashed name.
    pub fn url(&self, path: &str) -> String {
        match self.plain_to_hashed.get(path) {
            Some(hashed) => format!("/static/{hashed}"),
            None => {
                debug_assert!(false, "no static file {path}");
                tracing::error!(path, "link to a missing static file");
                format!("/static/{path}")
            }
        }
    }

    /// Plain paths of every file.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Writes every file under both names into `dir` (for a web server in front).
    pub fn collect_into(&self, dir: &Path) -> std::io::Result<usize> {
        let mut written = 0;
        for (plain, hashed) in &self.plain_to_hashed {
            let asset = &self.files[plain];
            for name in [plain, hashed] {
                let target = dir.join(name);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&target, &asset.bytes)?;
                written += 1;
            }
        }
        Ok(written)
    }

    fn lookup(&self, path: &str) -> Option<(&Asset, bool)> {
        if let Some(plain) = self.hashed_to_plain.get(path) {
            return self.files.get(plain).map(|a| (a, true));
        }
        self.files.get(path).map(|a| (a, false))
    }

    /// Answers a request for `/static/{*path}`.
    pub fn respond(&self, path: &str, request_headers: &HeaderMap) -> Response {
        let Some((asset, immutable)) = self.lookup(path) else {
            return crate::error::Error::NotFound.into_response();
        };
        let cache = HeaderValue::from_static(if immutable { IMMUTABLE } else { SHORT });
        let not_modified = request_headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|tag| tag.trim() == asset.etag.to_str().unwrap_or_default()));
        let mut response = if not_modified {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let accepts_gzip = request_headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
            match (&asset.gzip, accepts_gzip) {
                (Some(gz), true) => {
                    let mut r = Response::new(Body::from(gz.clone()));
                    r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    r
                }
                _ => Response::new(Body::from(asset.bytes.clone())),
            }
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, asset.content_type.clone());
        headers.insert(header::CACHE_CONTROL, cache);
        headers.insert(header::ETAG, asset.etag.clone());
        if asset.gzip.is_some() {
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        response
    }
}

/// `css/site.css` with hash `abc` → `css/site.abc.css`.
fn hashed_name(path: &str, hash: &str) -> String {
    let (dir, file) = path.rsplit_once('/').map_or(("", path), |(d, f)| (d, f));
    let name = match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}.{hash}.{ext}"),
        _ => format!("{file}.{hash}"),
    };
    if dir.is_empty() { name } else { format!("{dir}/{name}") }
}

fn gzip(bytes: &[u8]) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).ok()?;
    let compressed = encoder.finish().ok()?;
    (compressed.len() < bytes.len()).then(|| Bytes::from(compressed))
}

/// The handler of `/static/{*path}`.
pub async fn serve(
    State(assets): State<std::sync::Arc<Assets>>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    assets.respond(&path, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn assets() -> Assets {
        Assets::new([
            StaticFile { path: "css/site.css".into(), bytes: Cow::Owned(b"body{color:red}".repeat(100)) },
            StaticFile { path: "img/logo.svg".into(), bytes: Cow::Borrowed(b"<svg/>") },
        ])
    }

    #[test]
    fn hashed_names_keep_folder_and_extension() {
        assert_eq!(hashed_name("css/site.css", "abc"), "css/site.abc.css");
        assert_eq!(hashed_name("LICENSE", "abc"), "LICENSE.abc");
    }

    #[test]
    fn hashed_urls_are_immutable_and_plain_urls_are_short_lived() {
        let a = assets();
        let url = a.url("css/site.css");
        let hashed = url.strip_prefix("/static/").unwrap();
        assert_ne!(hashed, "css/site.css");
        let r = a.respond(hashed, &HeaderMap::new());
        assert_eq!(r.headers()[header::CACHE_CONTROL], IMMUTABLE);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/css; charset=utf-8");
        let r = a.respond("css/site.css", &HeaderMap::new());
        assert_eq!(r.headers()[header::CACHE_CONTROL], SHORT);
        assert_eq!(a.respond("nope.css", &HeaderMap::new()).status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn gzip_is_served_when_accepted_and_etags_answer_304() {
        let a = assets();
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip"));
        let r = a.respond("css/site.css", &h);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        let etag = r.headers()[header::ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(a.respond("css/site.css", &h).status(), StatusCode::NOT_MODIFIED);
    }
}
