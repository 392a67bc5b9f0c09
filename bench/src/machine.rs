//! What the report says about the machine and the software measured, and the server process's
//! CPU time and memory, read from `/proc`.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The machine the run happened on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// CPUs the harness and the server share.
    pub cores: usize,
    /// Total memory.
    pub memory_mib: u64,
    /// `/proc/cpuinfo`'s model name.
    pub cpu: String,
    /// `uname -sr`.
    pub kernel: String,
}

impl Machine {
    /// Reads this machine.
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            memory_mib: field_kib(&meminfo, "MemTotal:").unwrap_or(0) / 1024,
            cpu: cpuinfo
                .lines()
                .find_map(|l| {
                    l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned())
                })
                .unwrap_or_else(|| "unknown".into()),
            kernel: output("uname", &["-sr"]).unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// The software measured and measuring.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Versions {
    /// `quartet --version`.
    pub quartet: String,
    /// The commit built, with `-dirty` when the tree had changes.
    pub commit: String,
    /// `rustc --version`.
    pub rustc: String,
    /// The load generator.
    pub load_generator: String,
}

/// Reads the versions of the binary, the tree and the tools.
pub fn versions(binary: &Path, wrk: String) -> Versions {
    let commit = output("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = output("git", &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Versions {
        quartet: output(&binary.to_string_lossy(), &["--version"]).unwrap_or_else(|| "unknown".into()),
        commit: if dirty { format!("{commit}-dirty") } else { commit },
        rustc: output("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        load_generator: wrk,
    }
}

/// `wrk 4.1.0`, or an error when wrk is not installed.
pub fn wrk_version() -> anyhow::Result<String> {
    // `wrk -v` prints its version and the usage, and exits 1.
    let out = Command::new("wrk").arg("-v").output().context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let first = text.lines().next().unwrap_or("wrk");
    Ok(first.split(" [").next().unwrap_or(first).replace("debian/", "").trim().to_owned())
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn field_kib(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// A process's figures at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    /// User + system CPU time so far.
    pub cpu_seconds: f64,
    /// Resident memory now.
    pub rss_mib: f64,
    /// The most resident memory so far (`VmHWM`).
    pub peak_rss_mib: f64,
}

impl ProcessStats {
    /// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`.
    pub fn read(pid: u32) -> anyhow::Result<ProcessStats> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context("the server process is gone")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("the server process is gone")?;
        Self::parse(&stat, &status, clock_ticks())
    }

    fn parse(stat: &str, status: &str, ticks_per_second: f64) -> anyhow::Result<ProcessStats> {
        // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).context("unexpected /proc/pid/stat")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).context("unexpected /proc/pid/stat");
        let cpu_seconds = (ticks(11)? + ticks(12)?) / ticks_per_second;
        let mib = |name| field_kib(status, name).map(|k| k as f64 / 1024.0).context("unexpected /proc/pid/status");
        Ok(ProcessStats { cpu_seconds, rss_mib: mib("VmRSS:")?, peak_rss_mib: mib("VmHWM:")? })
    }
}

/// `getconf CLK_TCK` (100 on Linux).
fn clock_ticks() -> f64 {
    output("getconf", &["CLK_TCK"]).and_then(|s| s.parse().ok()).unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_figures_come_from_proc() {
        let stat = "4242 (quartet serve) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 130 0 0 20 0 9 0 100 0 0";
        let status = "Name:\tquartet\nVmHWM:\t  40960 kB\nVmRSS:\t   20480 kB\n";
        let stats = ProcessStats::parse(stat, status, 100.0).unwrap();
        assert_eq!(stats, ProcessStats { cpu_seconds: 3.8, rss_mib: 20.0, peak_rss_mib: 40.0 });
        assert!(ProcessStats::parse("garbage", status, 100.0).is_err());
    }

    #[test]
    fn this_process_can_be_read() {
        let me = ProcessStats::read(std::process::id()).unwrap();
        assert!(me.rss_mib > 0.0 && me.peak_rss_mib >= me.rss_mib);
        let machine = Machine::read();
        assert!(machine.cores >= 1 && machine.memory_mib > 0);
    }
}
