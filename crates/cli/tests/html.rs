//! `--html` on `restarts`, `stats` and `basins`, as a user runs it: one self-contained page with
//! the tables and the plots inline, checked as text here (the browser test renders it).

use std::path::Path;

mod common;
use common::{backprop, ok};

/// The page at `path`, checked to be one self-contained file.
fn page(path: &Path) -> String {
    let html = std::fs::read_to_string(path).expect("the page is written");
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80]);
    assert!(html.trim_end().ends_with("</html>"));
    for outside in ["http://", "https://", " src=", "<link", "@import", "url("] {
        assert!(!html.contains(outside), "the page contains {outside:?}");
    }
    html
}

const XOR: [&str; 8] = [
    "--data",
    "xor",
    "--epochs",
    "30",
    "--restarts",
    "4",
    "--quiet",
    "--threads",
];

fn restarts(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["restarts".to_owned()];
    args.extend(XOR.iter().map(|s| (*s).to_owned()));
    args.push("2".to_owned());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn restarts_stats_and_basins_write_one_page_each() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    ok(
        d,
        &strs(&restarts(&["--report", "r.json", "--html", "r.html"])),
    );
    let r = page(&d.join("r.html"));
    assert_eq!(r.matches("<table").count(), 2, "restarts and best of k");
    assert_eq!(
        r.matches("<svg").count(),
        3,
        "restarts, decision regions, statistics"
    );
    assert_eq!(r.matches("<tr class=\"best\">").count(), 1, "one best row");
    assert!(r.contains("4 restarts on xor"));
    assert!(
        r.contains("--keep-models --html FILE"),
        "says how to get the minima"
    );

    ok(d, &["stats", "r.json", "--html", "s.html"]);
    let s = page(&d.join("s.html"));
    assert!(s.contains("Written by <code>backprop stats</code> from <code>r.json</code>"));
    assert_eq!(s.matches("<svg").count(), 2, "restarts, statistics");
    // The statistics agree with the report's.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).expect("the report"))
            .expect("JSON");
    let count = &report["statistics"]["success"]["count"];
    assert!(
        s.contains(&format!("<b>{count} of 4</b> restarts")),
        "{count}"
    );

    ok(
        d,
        &strs(&restarts(&["--keep-models", "--report", "k.json"])),
    );
    ok(d, &["basins", "k.json", "--html", "b.html"]);
    let b = page(&d.join("b.html"));
    assert_eq!(
        b.matches("<table").count(),
        4,
        "restarts, best of k, minima, each restart"
    );
    assert_eq!(b.matches("<svg").count(), 3, "restarts, statistics, minima");
    assert!(b.contains("<h3>Each restart against the best</h3>"));
    assert!(b.contains("zero init"), "the baseline's row");
}

#[test]
fn keep_models_with_only_a_page_shows_the_minima() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ok(
        dir.path(),
        &strs(&restarts(&["--keep-models", "--html", "p.html"])),
    );
    let p = page(&dir.path().join("p.html"));
    assert!(p.contains("<h3>Minima</h3>"));
    assert_eq!(p.matches("<svg").count(), 4);
}

#[test]
fn a_page_never_replaces_an_input_nor_fails_after_training() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    ok(d, &strs(&restarts(&["--report", "r.json"])));
    let before = std::fs::read(d.join("r.json")).expect("the report");
    let run = backprop(d, &["stats", "r.json", "--html", "r.json"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("--html names the input REPORT"),
        "{run:?}"
    );
    assert_eq!(std::fs::read(d.join("r.json")).expect("the report"), before);
    // A page in a missing directory fails before any training: at once, with nothing written.
    let run = backprop(d, &strs(&restarts(&["--html", "no/such/p.html"])));
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("no directory no/such for --html"),
        "{run:?}"
    );
    let run = backprop(
        d,
        &strs(&restarts(&["--report", "x.json", "--html", "x.json"])),
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("given to both --report"), "{run:?}");
}
