//! The harness end to end, briefly: the debug `quartet` binary that `cargo test` builds is
//! seeded, served and loaded for two rounds of one second per page with four connections, and the JSON
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
        .args(["--duration", "1", "--rounds", "2", "--warmup", "0", "--connections", "4", "--threads", "1", "--out"])
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
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let run = &report["runs"][0];
    assert_eq!(run["database"], "sqlite");
    let pages: Vec<&str> = run["endpoints"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        pages,
        [
            "home",
            "blog-list",
            "post-detail",
            "tag",
            "search",
            "feed",
            "sitemap",
            "healthz",
            "image-detail",
            "image-list",
            "image-ranking",
            "dashboard"
        ]
    );
    let checks = run["checks"].as_array().unwrap();
    assert!(checks[0].as_str().unwrap().ends_with("none lost"), "every view counted once: {checks:?}");
    for page in run["endpoints"].as_array().unwrap() {
        assert!(page["wrk"]["requests"].as_u64().unwrap() > 0, "{page}");
        assert_eq!(page["non_2xx"], 0, "{page}");
        assert_eq!(page["socket_errors"], 0, "{page}");
        assert!(page["bytes_per_response"].as_u64().unwrap() > 100, "{page}");
        assert_eq!(page["rounds_rps"].as_array().unwrap().len(), 2, "{page}");
    }
    assert!(run["server"]["peak_rss_mib"].as_f64().unwrap() > 1.0);
    assert!(run["server"]["cpu_seconds"].as_f64().unwrap() > 0.0);

    // The run checked against itself passes; against a baseline twice as fast it fails.
    let compare = |baseline: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_quartet-bench"))
            .arg("compare")
            .args([baseline, json.as_path()])
            .args(["--check", "--max-p99-ms", "60000"])
            .output()
            .unwrap()
    };
    let same = compare(&json);
    let stdout = String::from_utf8_lossy(&same.stdout);
    assert!(same.status.success(), "{stdout}");
    assert!(stdout.contains("Check passed"), "{stdout}");
    let mut faster = report.clone();
    let list = faster["runs"][0]["endpoints"].as_array_mut().unwrap().iter_mut().find(|e| e["name"] == "blog-list");
    let list = list.unwrap();
    list["requests_per_second"] = serde_json::json!(list["requests_per_second"].as_f64().unwrap() * 2.0);
    let baseline = out.path().join("baseline.json");
    std::fs::write(&baseline, faster.to_string()).unwrap();
    let slower = compare(&baseline);
    let stdout = String::from_utf8_lossy(&slower.stdout);
    assert_eq!(slower.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("- sqlite blog-list: ") && stdout.contains("is below 80% of the earlier"), "{stdout}");
    assert!(String::from_utf8_lossy(&slower.stderr).contains("1 shortfall(s)"));
}

#[test]
fn bad_arguments_get_a_message_and_a_failing_exit() {
    let bench = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_quartet-bench")).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let message = bench(&["run", "--quartet", "/bin/true", "--connections", "0"]);
    assert!(message.contains("--connections, --threads, --duration and --rounds must be at least 1"), "{message}");
    let message = bench(&["run", "--quartet", "/bin/true", "--rounds", "0"]);
    assert!(message.contains("--rounds must be at least 1"), "{message}");
    let message = bench(&["run", "--quartet", "/bin/true", "--threads", "8", "--connections", "4"]);
    assert!(message.contains("cannot exceed --connections"), "{message}");
    let message = bench(&["run", "--quartet", "/no/such/quartet"]);
    assert!(message.contains("the quartet binary /no/such/quartet is missing"), "{message}");
    let message = bench(&["run", "--quartet", "/bin/true", "--cache", "riak"]);
    assert!(message.contains("invalid value 'riak'"), "{message}");
    let message = bench(&["run", "--quartet", "/bin/true", "--profile", "techempower", "--connections", "8"]);
    assert!(message.contains("cannot be used with"), "{message}");
    let message = bench(&["run", "--quartet", "/bin/true", "--profile", "tpc"]);
    assert!(message.contains("invalid value 'tpc'"), "{message}");
    let message = bench(&["run", "--quartet", "/bin/true", "--check-against", "/no/such/baseline.json"]);
    assert!(message.contains("cannot read /no/such/baseline.json"), "{message}");
    let message = bench(&["compare", "/no/such/a.json", "/no/such/b.json"]);
    assert!(message.contains("cannot read /no/such/a.json"), "{message}");
}
