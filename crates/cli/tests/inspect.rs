//! Looking inside the restarts, run as a user runs it: `restarts --keep-models`, `basins` and
//! `trace`, their numbers against the library's own.

use std::path::Path;

use backprop_cli::model::Model;
use backprop_cli::setup::{load_for_model, ModelData};
use serde_json::Value;

mod common;
use common::{bad, json, ok, with};

/// The CSV of `basins --csv` as header-keyed rows.
fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).expect("a CSV file");
    let header: Vec<String> = r
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    r.records()
        .map(|rec| {
            let rec = rec.expect("a row");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn keep_models_stores_every_network_and_merge_keeps_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    let common = [
        "restarts",
        "--data",
        "circles",
        "--restarts",
        "4",
        "--epochs",
        "3",
        "-q",
    ];
    fn with<'a>(common: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
        common.iter().chain(more).copied().collect()
    }
    ok(
        d,
        &with(&common, &["--keep-models", "--report", "whole.json"]),
    );
    let whole = json(&d.join("whole.json"));
    let runs = whole["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 4);
    for r in runs.iter().chain([&whole["baseline"]]) {
        assert_eq!(r["model"]["format"], "backprop-mlp", "{r}");
    }
    // The best restart's kept network is the best model.
    let best = whole["best"]["restart"].as_u64().expect("a best") as usize;
    assert_eq!(
        runs[best]["model"]["layers"],
        whole["best"]["model"]["layers"]
    );
    // The zero-init baseline trained, but its hidden units stayed copies of each other: every
    // row of W_0 holds one number.
    let w0 = &whole["baseline"]["model"]["layers"][0]["weights"];
    for row in w0.as_array().expect("rows") {
        let row = row.as_array().expect("a row");
        assert!(row.iter().all(|x| x == &row[0]), "{row:?}");
    }
    for i in 0..2 {
        let shard = format!("{i}/2");
        let report = format!("part{i}.json");
        ok(
            d,
            &with(
                &common,
                &["--keep-models", "--shard", &shard, "--report", &report],
            ),
        );
    }
    ok(
        d,
        &[
            "merge",
            "part1.json",
            "part0.json",
            "--report",
            "merged.json",
        ],
    );
    let merged = json(&d.join("merged.json"));
    assert_eq!(merged["runs"].as_array().map(Vec::len), Some(4));
    for (m, w) in merged["runs"].as_array().expect("runs").iter().zip(runs) {
        assert_eq!(m["model"], w["model"]);
    }
    assert_eq!(merged["baseline"]["model"], whole["baseline"]["model"]);
    // Without the flag no network is kept, the report still loads, and basins says what to do.
    ok(d, &with(&common, &["--report", "plain.json"]));
    assert!(json(&d.join("plain.json"))["runs"][0]
        .get("model")
        .is_none());
    ok(d, &["merge", "part0.json", "part1.json"]);
    bad(d, &["basins", "plain.json"], "--keep-models");
    bad(d, &with(&common, &["--keep-models"]), "--report");
    bad(d, &["basins", "missing.json"], "missing.json");
}

#[test]
fn basins_on_xor_separates_the_solutions_from_the_local_minima() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    // The README's experiment: the default xor network, 32 restarts.
    ok(
        d,
        &["restarts", "--keep-models", "--report", "xor.json", "-q"],
    );
    let run = ok(
        d,
        &["basins", "xor.json", "--csv", "b.csv", "--plot", "b.svg"],
    );
    assert!(run.stdout.contains("distinct minima"), "{}", run.stdout);
    let rows = csv_rows(&d.join("b.csv"));
    assert_eq!(rows.len(), 33, "32 restarts and the baseline");
    let num = |r: &std::collections::HashMap<String, String>, k: &str| -> f64 {
        r[k].parse().unwrap_or_else(|_| panic!("{k} = {:?}", r[k]))
    };
    let restarts: Vec<_> = rows.iter().filter(|r| r["restart"] != "zero").collect();
    let solved: Vec<_> = restarts.iter().filter(|r| num(r, "score") < 0.01).collect();
    let stuck: Vec<_> = restarts.iter().filter(|r| num(r, "score") > 0.1).collect();
    assert_eq!(
        solved.len() + stuck.len(),
        32,
        "every restart solves or sticks"
    );
    assert!(!solved.is_empty() && !stuck.is_empty());
    // No minimum holds a solution and a local minimum.
    for s in &solved {
        for t in &stuck {
            assert_ne!(s["group"], t["group"], "{s:?} and {t:?}");
        }
    }
    // The best is at distance 0 in group 0; the stuck ones disagree with it on a quarter of xor.
    let best = restarts
        .iter()
        .find(|r| num(r, "distance_before") == 0.0)
        .expect("the best");
    assert_eq!(best["group"], "0");
    for t in &stuck {
        assert!(num(t, "barrier") > 0.05, "{t:?}");
        assert!(num(t, "disagreement") > 0.2, "{t:?}");
    }
    // Alignment brings solutions of the best's minimum closer than before.
    assert!(solved
        .iter()
        .filter(|r| r["group"] == "0")
        .any(|r| num(r, "distance_after") < 0.5 * num(r, "distance_before")));
    // The zero-init baseline: both hidden units are copies of each other.
    let zero = rows
        .iter()
        .find(|r| r["restart"] == "zero")
        .expect("baseline");
    assert_eq!(zero["layer1_units"], "2");
    assert_eq!(zero["layer1_duplicates"], "2");
    assert!(restarts.iter().all(|r| r["layer1_duplicates"] == "0"));
    let svg = std::fs::read_to_string(d.join("b.svg")).expect("the plot");
    assert!(svg.starts_with("<svg") && svg.contains("after alignment"));
    bad(d, &["basins", "xor.json", "--tolerance", "-1"], "tolerance");
}

/// A JSON array of numbers as `f64`s.
/// A semicolon-separated file without a header row: `basins` reads it again as the run did (its
/// delimiter and `--no-header` are in the report), where detection alone would refuse the header
/// of numbers.
#[test]
fn basins_reads_the_file_as_the_run_did() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    let mut text = String::new();
    for k in 0..60 {
        let (a, b) = ((k % 7) as f64 / 7.0, (k % 5) as f64 / 5.0);
        text.push_str(&format!("{a};{b};{}\n", u8::from(a + b > 0.8)));
    }
    std::fs::write(d.join("semi.csv"), text).expect("write the file");
    // The run's reading: a semicolon, no header row (the columns are c0, c1, c2).
    let common = [
        "restarts",
        "--data",
        "semi.csv",
        "--no-header",
        "--delimiter",
        ";",
        "--target",
        "c2",
        "--hidden",
        "3",
        "--epochs",
        "5",
        "-q",
    ];
    let run = ok(
        d,
        &with(
            &common,
            &["--restarts", "3", "--keep-models", "--report", "semi.json"],
        ),
    );
    let report = json(&d.join("semi.json"));
    assert_eq!(report["config"]["data"]["delimiter"], ";", "{}", run.stdout);
    assert_eq!(report["config"]["data"]["no_header"], true);
    let basins = ok(d, &["basins", "semi.json", "--html", "semi.html"]);
    let page = std::fs::read_to_string(d.join("semi.html")).expect("the page");
    assert!(
        page.contains("(semicolon-separated, no header row)"),
        "the page names how the file was read"
    );
    assert!(
        basins.stdout.contains("distinct minima"),
        "{}",
        basins.stdout
    );
    // A shard written before the reading was recorded (no `delimiter`, no `no_header`) merges
    // with one written after: the same numbers are the same data.
    for i in 0..2 {
        let (shard, report) = (format!("{i}/2"), format!("part{i}.json"));
        ok(
            d,
            &with(
                &common,
                &["--restarts", "2", "--shard", &shard, "--report", &report],
            ),
        );
    }
    let mut old = json(&d.join("part0.json"));
    let data = old["config"]["data"].as_object_mut().expect("the data");
    assert!(data.remove("delimiter").is_some() && data.remove("no_header").is_some());
    std::fs::write(d.join("part0.json"), old.to_string()).expect("write the old shard");
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
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("a number: {x}")))
        .collect()
}

#[test]
fn trace_json_is_the_network_forward_and_backward_bit_for_bit() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    std::fs::write(
        d.join("c.csv"),
        "a,b,c,label\n0.5,1.5,-2,yes\n1,0.25,3,no\n-1,2,0.5,yes\n2,-1,1,no\n",
    )
    .expect("write");
    ok(
        d,
        &[
            "train",
            "--data",
            "c.csv",
            "--target",
            "label",
            "--hidden",
            "3,2",
            "--activation",
            "tanh",
            "--epochs",
            "5",
            "--validation",
            "0",
            "--out",
            "m.json",
            "-q",
        ],
    );
    let model = Model::load(&d.join("m.json")).expect("the model");
    let (data, _) = load_for_model(
        ModelData {
            data: d.join("c.csv").to_str().expect("utf-8"),
            target: &[],
            drop: &[],
            seed: 1,
            delimiter: None,
            no_header: false,
            keep: &[],
            model: "m.json",
        },
        &model,
        true,
    )
    .expect("the data");
    for k in 0..4 {
        let row = k.to_string();
        let out = ok(
            d,
            &[
                "trace", "--model", "m.json", "--data", "c.csv", "--row", &row, "--json",
            ],
        );
        let t: Value = serde_json::from_str(&out.stdout).expect("JSON");
        let net = &model.network;
        let raw: Vec<f64> = data.x.column(k).iter().copied().collect();
        let y: Vec<f64> = data.y.column(k).iter().copied().collect();
        let mut x = raw.clone();
        model.input_scaling.as_ref().expect("scaled").apply(&mut x);
        assert_eq!(floats(&t["x"]), raw);
        assert_eq!(floats(&t["v_0"]), x);
        let mut ws = net.workspace();
        let mut g = net.gradients();
        net.forward(&mut ws, &x).expect("forward");
        let loss = net.backward(&mut ws, &y, &mut g).expect("backward");
        assert_eq!(t["loss"].as_f64(), Some(loss));
        let layers = t["layers"].as_array().expect("layers");
        assert_eq!(layers.len(), net.depth());
        for (i, lt) in layers.iter().enumerate() {
            let l = i + 1;
            assert_eq!(floats(&lt["s"]), ws.s(l), "s_{l}");
            assert_eq!(floats(&lt["v"]), ws.v(l), "v_{l}");
            assert_eq!(floats(&lt["delta"]), ws.delta(l), "delta_{l}");
            assert_eq!(floats(&lt["dl_db"]), g.bias(l - 1), "dL/db_{}", l - 1);
            let w = g.weights(l - 1);
            let rows = lt["dl_dw"].as_array().expect("rows");
            assert_eq!(rows.len(), w.nrows());
            for (z, r) in rows.iter().enumerate() {
                let expect: Vec<f64> = (0..w.ncols()).map(|j| w[(z, j)]).collect();
                assert_eq!(floats(r), expect, "dL/dW_{} row {z}", l - 1);
            }
            // delta_l = dL/dv_l ⊙ σ'(s_l).
            let act = net.layers()[l - 1].activation();
            for ((dv, s), delta) in floats(&lt["dl_dv"]).iter().zip(ws.s(l)).zip(ws.delta(l)) {
                assert!((dv * act.derivative(*s) - delta).abs() <= 1e-12);
            }
        }
    }
    let text = ok(
        d,
        &[
            "trace", "--model", "m.json", "--data", "c.csv", "--row", "1",
        ],
    )
    .stdout;
    for needle in [
        "s_1 (3)",
        "v_2 = tanh(s_2)",
        "delta_3 = dL/dv_3",
        "dL/dW_0 = v_0 delta_1^T (3 x 3)",
        "dL/db_2",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
    bad(
        d,
        &[
            "trace", "--model", "m.json", "--data", "c.csv", "--row", "4",
        ],
        "out of range",
    );
    std::fs::write(d.join("nolabel.csv"), "a,b,c\n1,2,3\n").expect("write");
    bad(
        d,
        &[
            "trace",
            "--model",
            "m.json",
            "--data",
            "nolabel.csv",
            "--row",
            "0",
        ],
        "label",
    );
}
