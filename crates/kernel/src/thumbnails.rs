//! Thumbnails of stored images (easy-thumbnails' role): `/media/thumbs/<W>x<H>/<path>` is the
//! image at `<path>` scaled to `W` pixels wide (`H` = 0 keeps its proportions) or cropped to
//! `W`×`H` around its centre. A thumbnail is made on its first request, on the bounded image
//! pool, written under the media folder (`thumbs/…`) and served from there afterwards. Stored
//! images never change (each has a random name of its own), so thumbnails are served with a
//! year's `immutable` cache. Only the sizes apps registered ([`ThumbnailSize`], contributed
//! with `AppRegistry::add`) are made: any other size is a 404, so a visitor cannot make the
//! server compute sizes nobody shows.
//!
//! ```
//! use quartet_kernel::thumbnails::{ThumbnailSize, srcset, url};
//!
//! let size = ThumbnailSize::new(300, 300);
//! assert_eq!(url("images/2026/03/07/abc.png", size), "/media/thumbs/300x300/images/2026/03/07/abc.png");
//! assert_eq!(
//!     srcset("images/a.png", size),
//!     "/media/thumbs/300x300/images/a.png 1x, /media/thumbs/600x600/images/a.png 2x"
//! );
//! ```

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use image::imageops::FilterType;

use crate::app::CoreState;
use crate::error::Error;
use crate::media::{UploadError, content_type, decode, encode, resolve, sniff_image};

/// A thumbnail size: `width` pixels wide and `height` high (cropped around the centre), or
/// `height` 0 to keep the image's proportions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThumbnailSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels, or 0.
    pub height: u32,
}

impl ThumbnailSize {
    /// A size.
    pub const fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }

    /// The same size for screens of twice the density (`srcset`'s `2x`).
    pub const fn doubled(self) -> Self {
        Self { width: self.width * 2, height: self.height * 2 }
    }

    /// The size and its doubled one, as an app registers them.
    pub const fn with_doubled(self) -> [Self; 2] {
        [self, self.doubled()]
    }

    /// `300x300`.
    pub fn name(&self) -> String {
        format!("{}x{}", self.width, self.height)
    }

    fn parse(text: &str) -> Option<Self> {
        let (width, height) = text.split_once('x')?;
        let size = Self { width: width.parse().ok()?, height: height.parse().ok()? };
        (size.width > 0).then_some(size)
    }
}

/// The address of `relative`'s thumbnail at `size`.
pub fn url(relative: &str, size: ThumbnailSize) -> String {
    format!("/media/thumbs/{}/{relative}", size.name())
}

/// `srcset` for `relative` at `size` and twice its size.
pub fn srcset(relative: &str, size: ThumbnailSize) -> String {
    format!("{} 1x, {} 2x", url(relative, size), url(relative, size.doubled()))
}

/// Scales or crops `bytes` (an image) to `size`; a smaller image is not enlarged.
fn make(bytes: &[u8], size: ThumbnailSize, max_pixels: u64) -> Result<(Vec<u8>, &'static str), UploadError> {
    let format = sniff_image(bytes).ok_or(UploadError::NotAnImage)?;
    let image = decode(bytes, format, max_pixels)?;
    let thumb = if size.height == 0 {
        if image.width() <= size.width { image } else { image.resize(size.width, u32::MAX, FilterType::Lanczos3) }
    } else {
        image.resize_to_fill(size.width.min(image.width()), size.height.min(image.height()), FilterType::Lanczos3)
    };
    encode(&thumb, format)
}

/// The handler of `/media/thumbs/{size}/{*path}`.
pub async fn serve(State(core): State<CoreState>, UrlPath((size, relative)): UrlPath<(String, String)>) -> Response {
    let registered = core.registry.contributions::<ThumbnailSize>();
    let Some(size) = ThumbnailSize::parse(&size).filter(|s| registered.iter().any(|r| r.item == *s)) else {
        return Error::NotFound.into_response();
    };
    let root = core.settings.media_root();
    let (Some(source), Some(target)) =
        (resolve(&root, &relative), resolve(&root, &format!("thumbs/{}/{relative}", size.name())))
    else {
        return Error::NotFound.into_response();
    };
    let bytes = match tokio::fs::read(&target).await {
        Ok(bytes) => bytes,
        Err(_) => match made(&core, &source, &target, size).await {
            Some(bytes) => bytes,
            None => return Error::NotFound.into_response(),
        },
    };
    let (content_type, inline) = content_type(&target);
    if !inline {
        return Error::NotFound.into_response();
    }
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

/// Makes the thumbnail of `source` on the image pool and writes it at `target` (through a
/// temporary file, so a reader never sees half of one); `None` when the source is missing or
/// not an image.
async fn made(
    core: &CoreState,
    source: &std::path::Path,
    target: &std::path::Path,
    size: ThumbnailSize,
) -> Option<Vec<u8>> {
    let max_pixels = core.settings.uploads.max_image_pixels;
    let source = source.to_owned();
    let load = async move { tokio::fs::read(&source).await.map(bytes::Bytes::from) };
    let (bytes, _) = match core.images.run(load, move |input: bytes::Bytes| make(&input, size, max_pixels)).await {
        Ok(Ok(made)) => made,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, path = %target.display(), "no thumbnail: the source is not an image");
            return None;
        }
        Err(_) => return None,
    };
    let parent = target.parent()?;
    let temporary = parent.join(format!(".{}.tmp", crate::crypto::random_string(12, crate::crypto::LOWER_ALNUM)));
    let written = async {
        tokio::fs::create_dir_all(parent).await?;
        tokio::fs::write(&temporary, &bytes).await?;
        tokio::fs::rename(&temporary, target).await
    };
    if let Err(e) = written.await {
        tracing::warn!(error = %e, path = %target.display(), "a thumbnail could not be kept; it is served anyway");
        let _ = tokio::fs::remove_file(&temporary).await;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        image::RgbImage::new(width, height).write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn dimensions(bytes: &[u8]) -> (u32, u32) {
        image::load_from_memory(bytes).unwrap().to_rgb8().dimensions()
    }

    #[test]
    fn thumbnails_scale_crop_and_never_enlarge() {
        let big = png(900, 600);
        assert_eq!(dimensions(&make(&big, ThumbnailSize::new(300, 0), 10_000_000).unwrap().0), (300, 200));
        assert_eq!(dimensions(&make(&big, ThumbnailSize::new(180, 180), 10_000_000).unwrap().0), (180, 180));
        let small = png(100, 50);
        assert_eq!(dimensions(&make(&small, ThumbnailSize::new(300, 0), 10_000_000).unwrap().0), (100, 50));
        assert_eq!(dimensions(&make(&small, ThumbnailSize::new(80, 80), 10_000_000).unwrap().0), (80, 50));
        assert!(make(b"not an image", ThumbnailSize::new(80, 80), 10_000_000).is_err());
        assert!(matches!(make(&big, ThumbnailSize::new(80, 80), 1000), Err(UploadError::TooManyPixels { .. })));
    }

    #[test]
    fn sizes_parse_from_their_names_only() {
        assert_eq!(ThumbnailSize::parse("300x0"), Some(ThumbnailSize::new(300, 0)));
        for bad in ["0x0", "x300", "300", "300x", "-1x5", "99999999999x1", "300X300"] {
            assert_eq!(ThumbnailSize::parse(bad), None, "{bad}");
        }
    }
}
