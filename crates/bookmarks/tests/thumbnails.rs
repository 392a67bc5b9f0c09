//! Thumbnails at the reference's sizes: made once on first request, kept under the media
//! folder, served with a year's cache, 2× versions for dense screens, unregistered sizes 404.

use quartet_bookmarks::models::image;
use quartet_testkit::dbtest;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use crate::support::{add_image, bookmarks_site};

fn png(width: u32, height: u32) -> Vec<u8> {
    let pixels = ::image::RgbImage::from_fn(width, height, |x, _| ::image::Rgb([(x % 256) as u8, 10, 10]));
    let mut out = std::io::Cursor::new(Vec::new());
    pixels.write_to(&mut out, ::image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn fetch(url: &str) -> (u16, Option<String>, Vec<u8>) {
    quartet_core::http::fetch::install_crypto_provider();
    let response = reqwest::get(url).await.unwrap();
    let cache = response.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), cache, response.bytes().await.unwrap().to_vec())
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    ::image::load_from_memory(bytes).unwrap().to_rgb8().dimensions()
}

dbtest! { using bookmarks_site();
    async fn thumbnails_are_made_once_kept_and_cached(site) {
        let (client, me) = site.signed_in_client("ana").await;
        let stored = "images/2026/03/07/abcdefghijklmnopqrst.png";
        let file = site.core.settings.media_root().join(stored);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, png(1200, 900)).unwrap();
        let mut row: image::ActiveModel = add_image(&site, me.id, "Wide", 0).await.into();
        row.image = Set(stored.to_owned());
        let row = row.update(&site.core.db).await.unwrap();

        let list = client.get("/images/").await;
        let src = list.attrs(".image img", "src").pop().unwrap();
        assert_eq!(src, format!("/media/thumbs/300x300/{stored}"));
        assert_eq!(list.attrs(".image img", "srcset"), [format!("{src} 1x, /media/thumbs/600x600/{stored} 2x")]);
        let (status, cache, bytes) = fetch(&site.url(&src)).await;
        assert_eq!((status, cache.as_deref()), (200, Some("public, max-age=31536000, immutable")));
        assert_eq!(dimensions(&bytes), (300, 300));
        let kept = site.core.settings.media_root().join(format!("thumbs/300x300/{stored}"));
        assert!(kept.is_file(), "kept under the media folder");
        // Served from the kept file afterwards (it is not made again).
        std::fs::write(&kept, png(7, 7)).unwrap();
        assert_eq!(dimensions(&fetch(&site.url(&src)).await.2), (7, 7));

        let detail = client.get(&format!("/images/detail/{}/{}/", row.id, row.slug)).await;
        let big = detail.attrs(".image-detail-img", "src").pop().unwrap();
        assert_eq!(dimensions(&fetch(&site.url(&big)).await.2), (300, 225), "300 wide, in proportion");
        assert_eq!(dimensions(&fetch(&site.url(&format!("/media/thumbs/600x0/{stored}"))).await.2), (600, 450));
        assert_eq!(dimensions(&fetch(&site.url(&format!("/media/thumbs/80x80/{stored}"))).await.2), (80, 80));

        // Sizes nobody registered, missing images and paths out of the media folder: 404.
        for path in [
            format!("/media/thumbs/301x301/{stored}"),
            "/media/thumbs/300x300/images/missing.png".to_owned(),
            "/media/thumbs/300x300/../secrets.png".to_owned(),
            format!("/media/thumbs/abc/{stored}"),
        ] {
            assert_eq!(fetch(&site.url(&path)).await.0, 404, "{path}");
        }
    }
}
