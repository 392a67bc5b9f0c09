#![doc = include_str!("../README.md")]

pub mod app;
pub mod auth;
pub mod blocking;
pub mod cache;
pub mod checks;
pub mod cli;
pub mod config;
pub mod core_app;
pub mod crypto;
pub mod db;
pub mod error;
pub mod events;
pub mod forms;
pub mod html;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod kv;
pub mod mail;
pub mod media;
pub mod models;
pub mod pagination;
pub mod ratelimit;
pub mod redis_client;
pub mod server;
pub mod session;
pub mod site;
pub mod staticfiles;
pub mod templates;
pub mod time;
pub mod urls;

pub use app::App;
pub use app::CoreState;
pub use error::{Error, Result};
pub use site::{Site, SiteBuilder};
