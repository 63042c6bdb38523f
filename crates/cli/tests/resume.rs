//! The journal, `--resume` (growing, after SIGKILL and SIGTERM) and `--racing`, run as a user
//! runs them.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{backprop, json, ok, with, without_timings};

/// The restart indices of the progress lines of a log ("restart 5: score ...").
fn logged_restarts(stderr: &str) -> Vec<usize> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("restart "))
        .filter_map(|l| l.split(':').next()?.parse().ok())
        .collect()
}

/// The restart indices recorded in a journal.
fn journaled(path: &Path) -> Vec<usize> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["baseline"] == false)
        .filter_map(|v| v["run"]["restart"].as_u64())
        .map(|i| i as usize)
        .collect()
}

const XOR: [&str; 6] = ["restarts", "--data", "xor", "--epochs", "300", "--threads"];

#[test]
fn a_resumed_experiment_grows_to_the_report_of_a_fresh_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fresh = ok(
        d,
        &with(&XOR, &["2", "--restarts", "10", "--report", "fresh.json"]),
    );
    // A log shows one line per restart and one for the zero init.
    assert_eq!(logged_restarts(&fresh.stderr).len(), 10, "{}", fresh.stderr);
    assert!(
        fresh.stderr.contains("zero init: score"),
        "{}",
        fresh.stderr
    );
    ok(
        d,
        &with(
            &XOR,
            &["1", "--restarts", "4", "--report", "grown.json", "--quiet"],
        ),
    );
    let grown = ok(
        d,
        &with(
            &XOR,
            &[
                "2",
                "--restarts",
                "10",
                "--report",
                "grown.json",
                "--resume",
            ],
        ),
    );
    assert!(
        grown
            .stderr
            .contains("resumed 4 restarts and the zero init"),
        "{}",
        grown.stderr
    );
    let mut ran = logged_restarts(&grown.stderr);
    ran.sort_unstable();
    assert_eq!(ran, (4..10).collect::<Vec<_>>());
    assert!(
        !grown.stderr.contains("zero init: score"),
        "{}",
        grown.stderr
    );
    assert_eq!(
        without_timings(&json(&d.join("grown.json"))),
        without_timings(&json(&d.join("fresh.json")))
    );
    assert_eq!(grown.stdout.lines().count(), fresh.stdout.lines().count());
    assert!(!d.join("grown.json.journal").exists());
    // Resuming a finished experiment runs nothing and writes the same report.
    let again = ok(
        d,
        &with(
            &XOR,
            &[
                "1",
                "--restarts",
                "10",
                "--report",
                "grown.json",
                "--resume",
            ],
        ),
    );
    assert!(
        logged_restarts(&again.stderr).is_empty(),
        "{}",
        again.stderr
    );
    assert_eq!(
        without_timings(&json(&d.join("grown.json"))),
        without_timings(&json(&d.join("fresh.json")))
    );
}

#[test]
fn shards_keep_their_own_journals_and_resume_into_parts_that_merge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &with(
            &XOR,
            &["2", "--restarts", "6", "--report", "whole.json", "--quiet"],
        ),
    );
    for i in 0..2 {
        let shard = format!("{i}/2");
        let part = format!("part{i}.json");
        // As a requeued array task runs it: --resume from the start, then grown.
        let args = with(
            &XOR,
            &[
                "1", "--quiet", "--shard", &shard, "--report", &part, "--resume",
            ],
        );
        ok(d, &with(&args, &["--restarts", "4"]));
        ok(d, &with(&args, &["--restarts", "6"]));
        assert!(!d.join(format!("{part}.journal")).exists());
    }
    // A part resumed as another shard is refused.
    let run = backprop(
        d,
        &with(
            &XOR,
            &[
                "1",
                "--restarts",
                "6",
                "--shard",
                "1/2",
                "--report",
                "part0.json",
                "--resume",
            ],
        ),
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("another shard"), "{}", run.stderr);
    ok(
        d,
        &[
            "merge",
            "part0.json",
            "part1.json",
            "--report",
            "merged.json",
        ],
    );
    assert_eq!(
        without_timings(&json(&d.join("merged.json"))),
        without_timings(&json(&d.join("whole.json")))
    );
}

#[test]
fn a_resume_of_another_experiment_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &with(
            &XOR,
            &["2", "--restarts", "3", "--report", "r.json", "--quiet"],
        ),
    );
    let before = std::fs::read_to_string(d.join("r.json")).unwrap();
    for (flag, value, field) in [
        ("--lr", "0.3", "sgd.learning_rate"),
        ("--batch-size", "2", "sgd.batch_size"),
        ("--hidden", "4", "network.widths"),
    ] {
        let run = backprop(
            d,
            &with(
                &XOR,
                &[
                    "2",
                    "--restarts",
                    "6",
                    "--report",
                    "r.json",
                    "--resume",
                    flag,
                    value,
                ],
            ),
        );
        assert_eq!(run.code, 2, "{flag}: {run:?}");
        assert!(
            run.stderr.contains(&format!("{field} differs")),
            "{flag}: {}",
            run.stderr
        );
    }
    // Other data: the same rows and columns, one number changed.
    let csv = |y: &str| format!("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,{y}\n");
    std::fs::write(d.join("d.csv"), csv("0")).unwrap();
    let on_csv = [
        "restarts", "--data", "d.csv", "--target", "y", "--epochs", "20", "--quiet",
    ];
    ok(
        d,
        &with(&on_csv, &["--restarts", "2", "--report", "c.json"]),
    );
    std::fs::write(d.join("d.csv"), csv("1")).unwrap();
    let run = backprop(
        d,
        &with(
            &on_csv,
            &["--restarts", "4", "--report", "c.json", "--resume"],
        ),
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("data.fingerprint differs"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(d.join("r.json")).unwrap(), before);
    // Without --resume, a journal left by a killed run is not thrown away.
    std::fs::write(d.join("r.json.journal"), "").unwrap();
    let run = backprop(
        d,
        &with(&XOR, &["2", "--restarts", "3", "--report", "r.json"]),
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--resume"), "{}", run.stderr);
    let run = backprop(d, &with(&XOR, &["2", "--restarts", "3", "--resume"]));
    assert_eq!(run.code, 2, "{run:?}");
}

/// Starts a long experiment, waits until its journal holds `lines` restarts, and stops it with
/// `stop` (a signal); returns the stopped process's exit status and stderr.
fn stop_part_way(
    dir: &Path,
    args: &[&str],
    lines: usize,
    stop: impl FnOnce(&mut std::process::Child),
) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let journal = dir.join("r.json.journal");
    let deadline = Instant::now() + Duration::from_secs(120);
    while journaled(&journal).len() < lines {
        assert!(Instant::now() < deadline, "no journal lines after 120 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was stopped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stop(&mut child);
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Enough restarts of enough epochs that the run is still going when stopped.
const LONG: [&str; 12] = [
    "restarts",
    "--data",
    "spirals",
    "--epochs",
    "60",
    "--threads",
    "2",
    "--restarts",
    "40",
    "--report",
    "r.json",
    "--seed",
];

#[test]
fn a_run_killed_part_way_resumes_to_the_uninterrupted_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = with(&LONG, &["3"]);
    let (status, _) = stop_part_way(d, &args, 3, |c| c.kill().unwrap());
    assert!(!status.success());
    assert!(!d.join("r.json").exists(), "no report from a killed run");
    let done = journaled(&d.join("r.json.journal"));
    assert!(done.len() >= 3 && done.len() < 40, "{done:?}");
    let resumed = ok(d, &with(&args, &["--resume"]));
    assert!(
        resumed
            .stderr
            .contains(&format!("resumed {} restarts", done.len())),
        "{}",
        resumed.stderr
    );
    // The restarts journaled before the kill are not run again; every other one is.
    let ran = logged_restarts(&resumed.stderr);
    assert!(
        ran.iter().all(|i| !done.contains(i)),
        "{ran:?} reruns some of {done:?}"
    );
    assert_eq!(ran.len() + done.len(), 40, "{ran:?} {done:?}");
    assert!(!d.join("r.json.journal").exists());
    let resumed = without_timings(&json(&d.join("r.json")));
    let fresh_dir = tempfile::tempdir().unwrap();
    ok(fresh_dir.path(), &with(&args, &["--quiet"]));
    assert_eq!(
        resumed,
        without_timings(&json(&fresh_dir.path().join("r.json")))
    );
}

#[cfg(unix)]
#[test]
fn sigterm_leaves_a_journal_and_no_report_and_says_how_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = with(&LONG, &["4"]);
    let (status, stderr) = stop_part_way(d, &args, 2, |c| {
        let sent = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    });
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("run the same command with --resume"),
        "{stderr}"
    );
    assert!(!d.join("r.json").exists(), "no partial report");
    // Every line of the journal is whole, and the restarts in flight finished into it.
    let text = std::fs::read_to_string(d.join("r.json.journal")).unwrap();
    assert!(text.ends_with('\n'));
    let done = journaled(&d.join("r.json.journal"));
    assert_eq!(done.len(), text.lines().count());
    assert_eq!(done.len(), logged_restarts(&stderr).len(), "{stderr}");
    let resumed = ok(d, &with(&args, &["--resume"]));
    assert_eq!(logged_restarts(&resumed.stderr).len(), 40 - done.len());
}

#[test]
fn a_race_prunes_prefixes_of_the_exhaustive_runs_and_counts_its_compute() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = with(&XOR, &["2", "--restarts", "12", "--quiet"]);
    ok(d, &with(&base, &["--report", "full.json"]));
    let race = ok(
        d,
        &with(&base, &["--report", "race.json", "--racing", "halving"]),
    );
    let full = json(&d.join("full.json"));
    let raced = json(&d.join("race.json"));
    // 12 restarts, eta 3: checkpoints 300/9 and 300/3; 12 -> 4 -> 1.
    let r = &raced["racing"];
    assert_eq!(r["method"], "halving:3");
    assert_eq!(r["checkpoints"], serde_json::json!([33, 100]));
    assert_eq!(r["pruned"], 11);
    let rows = raced["config"]["data"]["train_rows"].as_u64().unwrap();
    assert_eq!(r["sample_steps"], rows * (8 * 33 + 3 * 100 + 300));
    assert_eq!(r["exhaustive_sample_steps"], rows * 12 * 300);
    let runs = raced["runs"].as_array().unwrap();
    for (rr, fr) in runs.iter().zip(full["runs"].as_array().unwrap()) {
        let n = rr["train_loss"].as_array().unwrap().len();
        assert_eq!(
            rr["train_loss"].as_array().unwrap()[..],
            fr["train_loss"].as_array().unwrap()[..n]
        );
        match rr["pruned_at"].as_u64() {
            Some(e) => assert_eq!(e as usize, n),
            None => assert_eq!(without_timings(rr), without_timings(fr)),
        }
    }
    // The winner ran to the end; the statistics count it alone and say the rest are censored.
    let best = raced["best"]["restart"].as_u64().unwrap() as usize;
    assert!(runs[best].get("pruned_at").is_none());
    assert_eq!(raced["statistics"]["censored"], 11);
    assert_eq!(raced["statistics"]["success"]["restarts"], 1);
    assert!(race.stdout.contains("censored"), "{}", race.stdout);
    assert!(race.stdout.contains("racing halving:3"), "{}", race.stdout);
    // The same race on one thread.
    let one = [
        "restarts",
        "--data",
        "xor",
        "--epochs",
        "300",
        "--threads",
        "1",
        "--restarts",
        "12",
        "--quiet",
        "--report",
        "race1.json",
        "--racing",
        "halving",
    ];
    ok(d, &one);
    assert_eq!(
        without_timings(&json(&d.join("race1.json"))),
        without_timings(&raced)
    );
    // No race is sharded or resumed.
    for more in [&["--shard", "0/2"][..], &["--resume"][..]] {
        let mut args = with(&base, &["--report", "race.json", "--racing", "halving"]);
        args.extend(more);
        let run = backprop(d, &args);
        assert_eq!(run.code, 2, "{more:?}: {run:?}");
        assert!(run.stderr.contains("--racing"), "{}", run.stderr);
    }
}
