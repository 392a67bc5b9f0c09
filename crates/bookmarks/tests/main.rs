//! Integration tests of the bookmarks site, on SQLite and (with QUARTET_TEST_DATABASE_URL) on
//! PostgreSQL.

mod actions;
mod admin;
mod browser;
mod dashboard;
mod images;
mod languages;
mod pages;
mod seed;
mod support;
mod thumbnails;
