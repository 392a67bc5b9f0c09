//! Integration tests of the blog: every test drives a real site over HTTP, on SQLite and (with
//! QUARTET_TEST_DATABASE_URL) on PostgreSQL.

mod admin;
mod browser;
mod counts;
mod feeds;
mod instances;
mod limits;
mod pages;
mod queries;
mod schema;
mod search;
mod support;
