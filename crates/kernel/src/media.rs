//! Uploaded files: images checked and re-encoded on the way in, served with safe headers.
//!
//! An uploaded image must start with the magic bytes of JPEG, PNG, GIF or WebP; its size in
//! pixels is read from the header and capped before it is decoded; it is then decoded and
//! encoded again (which drops metadata and anything hidden in the file) under a random name the
//! server chooses. Decoding runs on a small pool ([`ImagePool`], `uploads.image_concurrency`
//! at a time), so many uploads at once wait their turn instead of each holding a decoded image
//! in memory. Files are served from `/media/` with an exact content type, `nosniff`, a
//! sandboxing CSP, and as attachments unless they are images.

use std::io::Cursor;
use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use image::{ImageFormat, ImageReader, Limits};

use crate::app::CoreState;
use crate::error::Error;

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Not an image of an accepted type, or corrupt.
    #[error("Upload a valid image. The file you uploaded was either not an image or a corrupted image.")]
    NotAnImage,
    /// More pixels than allowed for this use.
    #[error("The image is too large (at most {megapixels} megapixels).")]
    TooManyPixels {
        /// The limit in millions of pixels.
        megapixels: String,
    },
    /// Writing the file failed.
    #[error("the file could not be stored: {0}")]
    Storage(#[from] std::io::Error),
}

/// The image type of `bytes` by its magic number.
pub fn sniff_image(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

impl UploadError {
    /// The message for the user, translated.
    pub fn message(&self, tr: &crate::i18n::Tr) -> String {
        match self {
            Self::TooManyPixels { megapixels } => {
                tr.f("The image is too large (at most {megapixels} megapixels).", &[("megapixels", megapixels)])
            }
            other => tr.t(&other.to_string()).to_owned(),
        }
    }
}

/// Image work (decode, re-encode, thumbnails) on the blocking pool, a few at a time.
pub type ImagePool = crate::blocking::BlockingPool;

/// A pixel count in megapixels, as people write it: `16`, `2.5`, `0.01`.
pub fn megapixels(pixels: u64) -> String {
    let text = format!("{:.2}", pixels as f64 / 1_000_000.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Checks, re-encodes and stores an image under `<folder>/<yyyy>/<mm>/<dd>/<random>.<ext>`
/// (at most `uploads.max_image_pixels`); returns that relative path.
pub async fn store_image(core: &CoreState, bytes: &[u8], folder: &str) -> Result<String, UploadError> {
    let input = bytes::Bytes::copy_from_slice(bytes);
    store_image_from(core, async move { Ok(input) }, folder, core.settings.uploads.max_image_pixels).await
}

/// Like [`store_image`] for an uploaded file, with its own pixel limit (profile photos have a
/// lower one); the file is read into memory only when its turn in the image pool comes.
pub async fn store_uploaded_image(
    core: &CoreState,
    file: &crate::forms::UploadedFile,
    folder: &str,
    max_pixels: u64,
) -> Result<String, UploadError> {
    if sniff_image(&file.head).is_none() {
        return Err(UploadError::NotAnImage);
    }
    store_image_from(core, file.read(), folder, max_pixels).await
}

async fn store_image_from(
    core: &CoreState,
    load: impl std::future::Future<Output = std::io::Result<bytes::Bytes>>,
    folder: &str,
    max_pixels: u64,
) -> Result<String, UploadError> {
    let (encoded, extension) = core
        .images
        .run(load, move |input: bytes::Bytes| {
            let format = sniff_image(&input).ok_or(UploadError::NotAnImage)?;
            reencode(&input, format, max_pixels)
        })
        .await??;
    write_new(core, &encoded, folder, extension).await
}

/// A new random path `<folder>/<yyyy>/<mm>/<dd>/<random>.<extension>` and its file.
fn new_path(core: &CoreState, folder: &str, extension: &str) -> (String, PathBuf) {
    let relative = format!(
        "{folder}/{}/{}.{extension}",
        core.now().format("%Y/%m/%d"),
        crate::crypto::random_string(20, crate::crypto::LOWER_ALNUM)
    );
    let target = core.settings.media_root().join(&relative);
    (relative, target)
}

/// Writes `bytes` under `<folder>/<yyyy>/<mm>/<dd>/<random>.<extension>`; returns that path.
async fn write_new(core: &CoreState, bytes: &[u8], folder: &str, extension: &str) -> Result<String, UploadError> {
    let (relative, target) = new_path(core, folder, extension);
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    tokio::fs::write(&target, bytes).await?;
    Ok(relative)
}

/// Stores any uploaded file under `<folder>/<yyyy>/<mm>/<dd>/<random>.<ext>`, keeping only a
/// short, plain extension of the client's name (the name itself is never used); returns that
/// relative path. It is served as an attachment, never run or shown inline.
pub async fn store_file(
    core: &CoreState,
    file: &crate::forms::UploadedFile,
    folder: &str,
) -> Result<String, UploadError> {
    let extension = file
        .filename
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| (1..=8).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "bin".to_owned());
    match &file.content {
        crate::forms::FileContent::Memory(bytes) => write_new(core, bytes, folder, &extension).await,
        crate::forms::FileContent::Disk(temp) => {
            let (relative, target) = new_path(core, folder, &extension);
            if let Some(parent) = target.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::copy(temp.as_ref() as &Path, &target).await?;
            Ok(relative)
        }
    }
}

fn reencode(bytes: &[u8], format: ImageFormat, max_pixels: u64) -> Result<(Vec<u8>, &'static str), UploadError> {
    encode(&decode(bytes, format, max_pixels)?, format)
}

/// Decodes an image of `format` once its header says it has at most `max_pixels`, with the
/// decoder's allocations bounded accordingly.
pub(crate) fn decode(bytes: &[u8], format: ImageFormat, max_pixels: u64) -> Result<image::DynamicImage, UploadError> {
    let (width, height) =
        ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().map_err(|_| UploadError::NotAnImage)?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(UploadError::TooManyPixels { megapixels: megapixels(max_pixels) });
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(max_pixels.saturating_mul(4) + 16 * 1024 * 1024);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    reader.decode().map_err(|_| UploadError::NotAnImage)
}

/// Encodes `image` as JPEG (quality 90) or WebP when `format` is one of those, else as PNG (the
/// first frame of a GIF too); returns the bytes and their extension.
pub(crate) fn encode(image: &image::DynamicImage, format: ImageFormat) -> Result<(Vec<u8>, &'static str), UploadError> {
    let mut out = Cursor::new(Vec::new());
    let extension = match format {
        ImageFormat::Jpeg => {
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
                .encode_image(&image.to_rgb8())
                .map_err(|_| UploadError::NotAnImage)?;
            "jpg"
        }
        ImageFormat::WebP => {
            image.to_rgba8().write_to(&mut out, ImageFormat::WebP).map_err(|_| UploadError::NotAnImage)?;
            "webp"
        }
        // PNG and (first frame of) GIF become PNG.
        _ => {
            image.write_to(&mut out, ImageFormat::Png).map_err(|_| UploadError::NotAnImage)?;
            "png"
        }
    };
    Ok((out.into_inner(), extension))
}

/// The content type of a stored file by its extension, and whether it may be shown inline.
pub(crate) fn content_type(path: &Path) -> (&'static str, bool) {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match extension.as_str() {
        "jpg" | "jpeg" => ("image/jpeg", true),
        "png" => ("image/png", true),
        "gif" => ("image/gif", true),
        "webp" => ("image/webp", true),
        "pdf" => ("application/pdf", false),
        _ => ("application/octet-stream", false),
    }
}

/// The file path of a stored relative path, refusing anything that could leave the media root.
pub fn resolve(root: &Path, relative: &str) -> Option<PathBuf> {
    if relative.is_empty() || relative.contains('\\') || relative.contains('\0') {
        return None;
    }
    let path = Path::new(relative);
    let safe =
        path.components().all(|c| matches!(c, Component::Normal(part) if !part.to_string_lossy().starts_with('.')));
    safe.then(|| root.join(path))
}

/// Deletes a stored file (missing files are fine).
pub async fn delete(core: &CoreState, relative: &str) {
    if let Some(path) = resolve(&core.settings.media_root(), relative)
        && let Err(e) = tokio::fs::remove_file(&path).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, path = %path.display(), "could not delete a media file");
    }
}

/// The URL of a stored file.
pub fn url(relative: &str) -> String {
    format!("/media/{relative}")
}

/// The handler of `/media/{*path}`.
pub async fn serve(State(core): State<CoreState>, UrlPath(relative): UrlPath<String>) -> Response {
    let Some(path) = resolve(&core.settings.media_root(), &relative) else {
        return Error::NotFound.into_response();
    };
    match tokio::fs::metadata(&path).await {
        Ok(meta) if meta.is_file() => {}
        _ => return Error::NotFound.into_response(),
    }
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(_) => return Error::NotFound.into_response(),
    };
    let (content_type, inline) = content_type(&path);
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    if !inline {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("download");
        let safe: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c)).collect();
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide_the_type() {
        assert_eq!(sniff_image(b"\xFF\xD8\xFF\xE0rest"), Some(ImageFormat::Jpeg));
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest"), Some(ImageFormat::Png));
        assert_eq!(sniff_image(b"GIF89a..."), Some(ImageFormat::Gif));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageFormat::WebP));
        assert_eq!(sniff_image(b"<html><script>"), None);
        assert_eq!(sniff_image(b""), None);
    }

    #[test]
    fn paths_cannot_leave_the_media_root() {
        let root = Path::new("/srv/media");
        assert_eq!(resolve(root, "users/2026/a.jpg"), Some(PathBuf::from("/srv/media/users/2026/a.jpg")));
        for bad in [
            "../etc/passwd",
            "users/../../x",
            "/etc/passwd",
            "",
            ".git/config",
            "users/.hidden",
            "a\\b",
            "a\0b",
            "users//../x",
        ] {
            assert_eq!(resolve(root, bad), None, "{bad}");
        }
    }

    #[test]
    fn images_are_reencoded_and_bombs_refused() {
        let mut png = Cursor::new(Vec::new());
        image::RgbImage::from_pixel(4, 3, image::Rgb([200, 10, 10])).write_to(&mut png, ImageFormat::Png).unwrap();
        let (out, ext) = reencode(png.get_ref(), ImageFormat::Png, 1000).unwrap();
        assert_eq!(ext, "png");
        assert_eq!(sniff_image(&out), Some(ImageFormat::Png));
        assert!(matches!(reencode(png.get_ref(), ImageFormat::Png, 11), Err(UploadError::TooManyPixels { .. })));
        assert_eq!(megapixels(16_000_000), "16");
        assert_eq!(megapixels(2_500_000), "2.5");
        assert_eq!(megapixels(10_000), "0.01");
        assert!(matches!(
            reencode(b"\x89PNG\r\n\x1a\ntruncated", ImageFormat::Png, 1000),
            Err(UploadError::NotAnImage)
        ));
    }
}
