//! The harness end to end, briefly: the debug `quartet` binary that `cargo test` builds is
//! seeded, served and loaded for one second per page with four connections, and the JSON
//! report must list every page with requests and no errors. Needs wrk; without it the test is
//! skipped, except under `CI=true` where it fails.

use std::path::PathBuf;
use std::process::Command;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `target/debug/quartet`, beside this test's own `target/debug/deps/harness-…`.
fn quartet_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let binary = exe.parent()?.parent()?.join("quartet");
    binary.is_file().then_some(binary)
}

#[test]
fn a_short_run_reports_every_page_without_errors() {
    let wrk = Command::new("wrk").arg("-v").output().is_ok();
    let binary = quartet_binary();
    let (true, Some(binary)) = (wrk, binary) else {
        assert!(!in_ci(), "CI needs wrk (apt-get install wrk) and the quartet binary (cargo test builds it)");
        eprintln!("skipped: wrk or target/debug/quartet is missing");
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_quartet-bench"))
        .args(["run", "--quartet"])
        .arg(&binary)
        .args(["--duration", "1", "--warmup", "0", "--connections", "4", "--threads", "1", "--out"])
        .arg(out.path())
        .env_remove("QUARTET_BENCH_DATABASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let markdown = String::from_utf8_lossy(&run.stdout);
    assert!(markdown.contains("| blog-list | `/blog/` |"), "{markdown}");

    let json = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a JSON report");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let run = &report["runs"][0];
    assert_eq!(run["database"], "sqlite");
    let pages: Vec<&str> = run["endpoints"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(pages, ["home", "blog-list", "post-detail", "tag", "search", "feed", "sitemap", "healthz"]);
    for page in run["endpoints"].as_array().unwrap() {
        assert!(page["wrk"]["requests"].as_u64().unwrap() > 0, "{page}");
        assert_eq!(page["non_2xx"], 0, "{page}");
        assert_eq!(page["socket_errors"], 0, "{page}");
        assert!(page["bytes_per_response"].as_u64().unwrap() > 100, "{page}");
    }
    assert!(run["server"]["peak_rss_mib"].as_f64().unwrap() > 1.0);
    assert!(run["server"]["cpu_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_arguments_get_a_message_and_a_failing_exit() {
    let bench = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_quartet-bench")).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let message = bench(&["run", "--quartet", "/bin/true", "--connections", "0"]);
    assert!(message.contains("--connections, --threads and --duration must be at least 1"), "{message}");
    let message = bench(&["run", "--quartet", "/bin/true", "--threads", "8", "--connections", "4"]);
    assert!(message.contains("cannot exceed --connections"), "{message}");
    let message = bench(&["run", "--quartet", "/no/such/quartet"]);
    assert!(message.contains("the quartet binary /no/such/quartet is missing"), "{message}");
    let message = bench(&["run", "--quartet", "/bin/true", "--cache", "redis"]);
    assert!(message.contains("invalid value 'redis'"), "{message}");
    let message = bench(&["compare", "/no/such/a.json", "/no/such/b.json"]);
    assert!(message.contains("cannot read /no/such/a.json"), "{message}");
}
