//! The RSS feed and the sitemap parse as XML and hold the right items.

use quartet_testkit::dbtest;

use crate::support::{NewPost, add_post, at, blog_site};

fn children<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    node.children().filter(|n| n.tag_name().name() == name).collect()
}

fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> String {
    children(node, name).first().and_then(|n| n.text()).unwrap_or_default().to_owned()
}

dbtest! { using blog_site();
    async fn the_feed_is_rss_with_the_five_latest_posts(site) {
        let long_body = (1..=40).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        for i in 0..7 {
            add_post(&site, NewPost::published(&format!("Post <{i}> & co"), at(i)).body(&long_body)).await;
        }
        add_post(&site, NewPost::published("Draft", at(99)).draft()).await;

        let page = site.client().get("/blog/feed/").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.header("content-type"), Some("application/rss+xml; charset=utf-8"));
        let doc = roxmltree::Document::parse(&page.body).expect("the feed is well-formed XML");
        let rss = doc.root_element();
        assert_eq!(rss.tag_name().name(), "rss");
        assert_eq!(rss.attribute("version"), Some("2.0"));
        let channel = children(rss, "channel")[0];
        assert_eq!(child_text(channel, "title"), "My blog");
        assert_eq!(child_text(channel, "description"), "New posts of my blog.");
        assert_eq!(child_text(channel, "link"), site.url("/blog/"));
        let items = children(channel, "item");
        let titles: Vec<String> = items.iter().map(|i| child_text(*i, "title")).collect();
        assert_eq!(titles, ["Post <6> & co", "Post <5> & co", "Post <4> & co", "Post <3> & co", "Post <2> & co"]);
        assert_eq!(child_text(items[0], "link"), site.url("/blog/2026/3/7/post-6-co/"));
        assert_eq!(child_text(items[0], "pubDate"), "Sat, 7 Mar 2026 16:00:00 +0000");
        let description = child_text(items[0], "description");
        assert!(description.starts_with("<p>w1 w2"), "{description}");
        assert!(description.contains("w30 …</p>") && !description.contains("w31"), "{description}");
    }
}

dbtest! { using blog_site();
    async fn the_sitemap_lists_published_posts_and_their_tags(site) {
        add_post(&site, NewPost::published("First", at(0)).tags(&["Rust"])).await;
        add_post(&site, NewPost::published("Second", at(30)).tags(&["Rust", "Web"])).await;
        add_post(&site, NewPost::published("Draft", at(40)).tags(&["Secret"]).draft()).await;

        let page = site.client().get("/sitemap.xml").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.header("content-type"), Some("application/xml; charset=utf-8"));
        let doc = roxmltree::Document::parse(&page.body).expect("the sitemap is well-formed XML");
        let urlset = doc.root_element();
        assert_eq!(urlset.tag_name().namespace(), Some("http://www.sitemaps.org/schemas/sitemap/0.9"));
        let urls: Vec<(String, String, String, String)> = children(urlset, "url")
            .iter()
            .map(|u| (child_text(*u, "loc"), child_text(*u, "lastmod"), child_text(*u, "changefreq"), child_text(*u, "priority")))
            .collect();
        assert_eq!(
            urls,
            [
                (site.url("/blog/2026/3/8/second/"), "2026-03-08".into(), "weekly".into(), "0.9".into()),
                (site.url("/blog/2026/3/7/first/"), "2026-03-07".into(), "weekly".into(), "0.9".into()),
                (site.url("/blog/tag/rust/"), "2026-03-08".into(), "weekly".into(), "0.6".into()),
                (site.url("/blog/tag/web/"), "2026-03-08".into(), "weekly".into(), "0.6".into()),
            ]
        );

        // The sitemap is kept whole per host: another allowed host gets its own links.
        let other = site.url("/").replace("127.0.0.1", "localhost");
        let host = other.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let client = site.client();
        let page = client.send(client.request(reqwest::Method::GET, "/sitemap.xml").header("host", host)).await;
        let doc = roxmltree::Document::parse(&page.body).unwrap();
        let locs: Vec<String> = children(doc.root_element(), "url").iter().map(|u| child_text(*u, "loc")).collect();
        assert_eq!(locs.len(), 4);
        assert!(locs.iter().all(|loc| loc.starts_with(&other)), "{locs:?}");
    }
}
