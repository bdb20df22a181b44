//! Other programs some tests read the project's output with (chromium, a C
//! compiler, node, python3): found on `PATH`, required under `CI`, and run
//! with a bound on how long they may take.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `found`, or `None` when it is missing: the caller skips what needs it,
/// and this says so on stdout. Under `CI` a missing tool fails the test
/// instead (`.ci/run` installs them all).
pub fn required<T>(found: Option<T>, what: &str) -> Option<T> {
    match found {
        Some(x) => Some(x),
        None if std::env::var_os("CI").is_some() => {
            panic!("{what} is missing, and CI is set: install it before `cargo test`")
        }
        None => {
            let test = module_path!().split("::").next().unwrap_or_default();
            println!("{test}: {what} is missing: what needs it is not run");
            None
        }
    }
}

/// The program `name` in a directory on `PATH`, if there is one.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Runs `cmd` to the end with no stdin, its stdout and stderr into files (so
/// no pipe can fill); kills it and fails the test when it takes longer than
/// `limit`. Returns its status, stdout and stderr.
pub fn run_bounded(mut cmd: Command, what: &str, limit: Duration) -> (ExitStatus, String, String) {
    let dir = tempfile::tempdir().expect("a temporary directory for a tool's output");
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("a file for stdout"))
        .stderr(File::create(&err).expect("a file for stderr"))
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {limit:?}; killed it");
            }
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    };
    (
        status,
        std::fs::read_to_string(out).unwrap_or_default(),
        std::fs::read_to_string(err).unwrap_or_default(),
    )
}
