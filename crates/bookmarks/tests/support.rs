//! Helpers: a site with the bookmarks installed.

use quartet_bookmarks::BookmarksApp;
use quartet_testkit::TestSiteBuilder;

/// A site with the bookmarks installed.
pub fn bookmarks_site() -> TestSiteBuilder {
    TestSiteBuilder::new().app(BookmarksApp)
}
