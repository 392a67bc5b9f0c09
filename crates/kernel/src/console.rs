//! Lines for whoever started a command (the serve banner, "Demo data loaded"). Standard output
//! may be a closed pipe (`quartet serve | head -1`): `println!` would then panic and end the
//! server, so these lines are written and a failure to write is ignored.

use std::io::Write;

/// Writes `line` and a newline to standard output, ignoring a closed or broken output.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
