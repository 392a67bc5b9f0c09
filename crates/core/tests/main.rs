//! Integration tests of the core framework: every test drives a real site over HTTP, on
//! SQLite and (with QUARTET_TEST_DATABASE_URL) on PostgreSQL.

mod accounts;
mod admin;
mod admin_browser;
mod admin_hooks;
mod admin_inlines;
mod admin_translated;
mod admin_uploads;
mod browser;
mod cache;
mod content_types;
mod devtools;
mod dump;
mod events;
mod extras;
mod fetch;
mod first_minute;
mod forms;
mod hardening;
mod http;
mod jobs;
mod jobs_amqp;
mod kv;
mod library;
mod page_cache;
mod passwords;
mod routes;
mod schema;
mod security;
mod services;
mod services_page;
mod sessions;
mod social_auth;
mod startup;
mod support;
mod ws;
