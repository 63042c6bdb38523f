//! What the binary's test files share: running `backprop` as a user runs it, and reading what it
//! wrote. Each test binary uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// What a run of the binary left.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs the binary in `dir` with `args`.
pub fn backprop(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().expect("an exit code, not a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a command that must succeed.
pub fn ok(dir: &Path, args: &[&str]) -> Run {
    let run = backprop(dir, args);
    assert_eq!(run.code, 0, "{args:?} failed: {}", run.stderr);
    run
}

/// Runs a command on bad input: exit code 2, one line on stderr containing `message`, no panic.
pub fn bad(dir: &Path, args: &[&str], message: &str) {
    let run = backprop(dir, args);
    assert_eq!(run.code, 2, "{args:?}: {run:?}");
    assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "{args:?}: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(message),
        "{args:?}: expected {message:?} in {:?}",
        run.stderr
    );
}

/// A temporary directory, removed when dropped.
pub fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// Writes `text` to `dir/name`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a test file");
    path
}

/// The JSON file at `path`.
pub fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the file exists"))
        .expect("valid JSON")
}

/// The value without any "seconds" field nor command line ("command" in a provenance), the only
/// things allowed to differ between two runs.
pub fn without_timings(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "seconds" && k.as_str() != "command")
                .map(|(k, v)| (k.clone(), without_timings(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_timings).collect()),
        other => other.clone(),
    }
}

/// `args` followed by `more`.
pub fn with<'a>(args: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(more).copied().collect()
}
