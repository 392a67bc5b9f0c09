//! Build script of the crates whose tests need a service (core, blog, the server): it turns the
//! service variables into cfgs, so that a test whose service is not configured is reported by
//! `cargo test` as *ignored*, never as passed. In CI (`CI=true`) every cfg is on: the tests
//! run, and one whose service is missing fails (see `quartet_testkit::service_url`).
//!
//! | variable | cfg |
//! |---|---|
//! | `QUARTET_TEST_DATABASE_URL` | `quartet_postgres` |
//! | `QUARTET_TEST_REDIS_URL` | `quartet_redis` |
//! | `QUARTET_TEST_MEMCACHED_URL` | `quartet_memcached` |
//! | `QUARTET_TEST_AMQP_URL` | `quartet_amqp` |
//! | Debian's `/usr/bin/chromium` and `/usr/bin/chromedriver` both installed | `quartet_chromium` |
//!
//! Setting or clearing one of them, or installing the browser, rebuilds the crate (its flags
//! change), once.

const SERVICES: [(&str, &str); 4] = [
    ("QUARTET_TEST_DATABASE_URL", "quartet_postgres"),
    ("QUARTET_TEST_REDIS_URL", "quartet_redis"),
    ("QUARTET_TEST_MEMCACHED_URL", "quartet_memcached"),
    ("QUARTET_TEST_AMQP_URL", "quartet_amqp"),
];

/// What the browser tests drive (the paths `quartet_testkit::Browser` starts).
const BROWSER: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromedriver"];

fn main() {
    println!("cargo::rerun-if-changed={}/../testkit/service-cfgs.rs", env!("CARGO_MANIFEST_DIR"));
    println!("cargo::rerun-if-env-changed=CI");
    let ci = matches!(std::env::var("CI").as_deref(), Ok("true" | "1"));
    for (variable, cfg) in SERVICES {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-env-changed={variable}");
        if ci || std::env::var(variable).is_ok_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    println!("cargo::rustc-check-cfg=cfg(quartet_chromium)");
    // The folder, not the files: a file that does not exist would rerun this script every build.
    println!("cargo::rerun-if-changed=/usr/bin");
    if ci || BROWSER.iter().all(|path| std::path::Path::new(path).exists()) {
        println!("cargo::rustc-cfg=quartet_chromium");
    }
}
