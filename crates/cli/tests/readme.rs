//! The README's walkthrough, run as a user would: every `$ backprop ...` line of the ```` ```console ````
//! blocks of its section "A walkthrough" runs in a scratch directory holding `examples/data`, must
//! exit with 0, and must print the lines the README shows (standard error first, then standard
//! output). Timings (`0.02 s`) are masked; losses and accuracies are the same bits for a seed, so
//! they must match exactly. A line `...` in the README stands for any number of lines.
//!
//! When the outputs change on purpose, regenerate them in place, keeping each block's cut:
//!
//! ```sh
//! BACKPROP_UPDATE_README=1 cargo test -p backprop-cli --test readme
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

/// The section of the README whose console blocks are run.
const SECTION: &str = "## A walkthrough";
/// The line that stands for any number of output lines.
const CUT: &str = "...";

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")
}

/// One `$ backprop ...` line of the README and the output lines shown under it.
#[derive(Debug)]
struct Step {
    /// The command's arguments after `backprop`.
    args: Vec<String>,
    /// The line number (from 0) of the `$` line.
    line: usize,
    /// The output lines shown, `lines[line + 1 .. end]`.
    expected: Vec<String>,
    /// One past the last output line.
    end: usize,
}

/// The steps of the walkthrough section, in order.
fn steps(lines: &[&str]) -> Vec<Step> {
    let start = lines
        .iter()
        .position(|l| l.starts_with(SECTION))
        .unwrap_or_else(|| panic!("README.md has no section {SECTION:?}"));
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("## "))
        .map_or(lines.len(), |k| start + 1 + k);
    let mut steps: Vec<Step> = Vec::new();
    let mut in_console = false;
    for (i, line) in lines.iter().enumerate().take(end).skip(start) {
        if !in_console {
            in_console = *line == "```console";
            continue;
        }
        if line.starts_with("```") {
            in_console = false;
        } else if let Some(command) = line.strip_prefix("$ ") {
            let mut words = command.split_whitespace().map(str::to_owned);
            assert_eq!(
                words.next().as_deref(),
                Some("backprop"),
                "README.md:{}: a walkthrough command runs backprop",
                i + 1
            );
            steps.push(Step {
                args: words.collect(),
                line: i,
                expected: Vec::new(),
                end: i + 1,
            });
        } else {
            let step = steps
                .last_mut()
                .unwrap_or_else(|| panic!("README.md:{}: output before a command", i + 1));
            step.expected.push((*line).to_owned());
            step.end = i + 1;
        }
    }
    steps
}

/// A line with timings masked: a number followed by the word `s` (seconds).
fn masked(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::with_capacity(words.len());
    for (k, w) in words.iter().enumerate() {
        let seconds = words
            .get(k + 1)
            .is_some_and(|n| n.trim_end_matches(',') == "s");
        out.push(if seconds && w.parse::<f64>().is_ok() {
            "<t>"
        } else {
            w
        });
    }
    out.join(" ").trim_end().to_owned()
}

/// Whether `actual` is `expected`, where a line [`CUT`] stands for any run of lines.
fn matches(expected: &[String], actual: &[String]) -> bool {
    match expected.iter().position(|l| l == CUT) {
        None => {
            expected.len() == actual.len()
                && expected
                    .iter()
                    .zip(actual)
                    .all(|(e, a)| masked(e) == masked(a))
        }
        Some(h) => {
            let tail = &expected[h + 1..];
            actual.len() >= h + tail.len()
                && matches(&expected[..h], &actual[..h])
                && (0..=actual.len() - h - tail.len())
                    .any(|skip| matches(tail, &actual[h + skip..]))
        }
    }
}

/// `actual` cut as `expected` is: as many lines before and after its first [`CUT`].
fn rendered(expected: &[String], actual: &[String]) -> Vec<String> {
    match expected.iter().position(|l| l == CUT) {
        Some(h) if actual.len() > h + (expected.len() - h - 1) => {
            let tail = expected.len() - h - 1;
            let mut out = actual[..h].to_vec();
            out.push(CUT.to_owned());
            out.extend_from_slice(&actual[actual.len() - tail..]);
            out
        }
        _ => actual.to_vec(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn readme_walkthrough_prints_what_the_readme_shows() {
    let path = readme_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let steps = steps(&lines);
    assert!(
        steps.len() >= 4,
        "the walkthrough has train, evaluate, restarts and predict; found {} commands",
        steps.len()
    );

    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data");
    copy_dir(&data, &dir.path().join("examples/data"));

    let mut outputs = Vec::new();
    let mut failures = Vec::new();
    for step in &steps {
        let out = Command::new(env!("CARGO_BIN_EXE_backprop"))
            .args(&step.args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "README.md:{}: `backprop {}` failed ({}):\n{stderr}",
            step.line + 1,
            step.args.join(" "),
            out.status
        );
        // A log (stderr not a terminal) gets one progress line per finished restart, with its
        // seconds: a terminal shows a bar instead, so the walkthrough leaves them out.
        let progress = |l: &&str| {
            let run = l.split(':').next().unwrap_or("");
            l.contains(": score ")
                && (run == "zero init"
                    || run
                        .strip_prefix("restart ")
                        .is_some_and(|i| i.parse::<usize>().is_ok()))
        };
        let actual: Vec<String> = stderr
            .lines()
            .filter(|l| !progress(l))
            .chain(stdout.lines())
            .map(|l| l.trim_end().to_owned())
            .collect();
        let new = rendered(&step.expected, &actual);
        if !matches(&step.expected, &actual) {
            failures.push(format!(
                "README.md:{}: `backprop {}` printed (ready to paste):\n{}\n",
                step.line + 1,
                step.args.join(" "),
                new.join("\n")
            ));
        }
        outputs.push(new);
    }

    if failures.is_empty() {
        return;
    }
    if std::env::var_os("BACKPROP_UPDATE_README").is_some() {
        let mut new_lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        for (step, output) in steps.iter().zip(outputs).rev() {
            new_lines.splice(step.line + 1..step.end, output);
        }
        let mut text = new_lines.join("\n");
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        eprintln!("updated {}", path.display());
        return;
    }
    panic!(
        "the README's walkthrough differs from the binary's output \
         (BACKPROP_UPDATE_README=1 rewrites it):\n\n{}",
        failures.join("\n")
    );
}

#[test]
fn cut_lines_and_timings_are_the_only_slack() {
    let s = |v: &[&str]| v.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    let actual = s(&["a", "100 epochs in 0.02 s", "b", "c", "d"]);
    assert!(matches(
        &s(&["a", "100 epochs in 1.5 s", "b", "c", "d"]),
        &actual
    ));
    assert!(!matches(
        &s(&["a", "101 epochs in 0.02 s", "b", "c", "d"]),
        &actual
    ));
    assert!(matches(&s(&["a", "...", "d"]), &actual));
    assert!(matches(&s(&["a", "...", "c", "d"]), &actual));
    assert!(!matches(&s(&["a", "...", "b"]), &actual));
    assert!(!matches(&s(&["a", "b"]), &actual));
    assert_eq!(
        rendered(&s(&["x", "x", "...", "y"]), &actual),
        s(&["a", "100 epochs in 0.02 s", "...", "d"])
    );
}
