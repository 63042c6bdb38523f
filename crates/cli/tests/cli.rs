//! The `backprop` binary, run as a user runs it: every subcommand, every kind of bad input, and
//! the numbers it writes against the same computation in memory.

use std::path::{Path, PathBuf};
use std::process::Command;

use backprop_cli::args::{Cli, Command as Sub};
use backprop_cli::data::Selection;
use backprop_cli::model::Model;
use backprop_cli::{datasets, setup};
use backprop_optim as optim;
use clap::Parser;
use serde_json::Value;

mod common;
use common::{backprop, bad, json, ok, temp, with, without_timings, write};

#[test]
fn datasets_lists_every_builtin() {
    let run = ok(Path::new("."), &["datasets"]);
    for b in datasets::BUILTINS {
        assert!(run.stdout.contains(b.name), "{}", run.stdout);
    }
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in [
        "restarts",
        "train",
        "predict",
        "evaluate",
        "gradcheck",
        "datasets",
        "merge",
        "stats",
    ] {
        let run = ok(Path::new("."), &[sub, "--help"]);
        assert!(run.stdout.contains("Example"), "{sub}: {}", run.stdout);
    }
    let run = backprop(Path::new("."), &[]);
    assert_eq!(run.code, 2, "no subcommand is a usage error");
}

#[test]
fn restarts_on_xor_shows_zero_init_failing_and_the_best_restart_solving_it() {
    let dir = temp();
    let run = ok(
        dir.path(),
        &[
            "restarts",
            "--data",
            "xor",
            "--restarts",
            "6",
            "--epochs",
            "150",
            "--quiet",
            "--report",
            "r.json",
            "--plot",
            "p.svg",
            "--boundary",
            "b.svg",
            "--out",
            "best.json",
        ],
    );
    assert!(run.stdout.contains("zero init"), "{}", run.stdout);
    let report = json(&dir.path().join("r.json"));
    let runs = report["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 6);
    let best = report["best"]["restart"].as_u64().expect("a best restart") as usize;
    let best_run = &runs[best];
    assert_eq!(
        best_run["train_accuracy"], 1.0,
        "the best restart solves XOR"
    );
    let baseline = &report["baseline"];
    let zero_accuracy = baseline["train_accuracy"].as_f64().expect("accuracy");
    assert!(zero_accuracy <= 0.75, "zero init fails: {zero_accuracy}");
    let (best_loss, zero_loss) = (
        best_run["final_train_loss"].as_f64().expect("loss"),
        baseline["final_train_loss"].as_f64().expect("loss"),
    );
    assert!(zero_loss > 10.0 * best_loss, "{zero_loss} vs {best_loss}");
    assert!(
        run.stdout.contains(&format!("best: restart {best} ")),
        "{}",
        run.stdout
    );
    // Every restart's history is there, one loss per epoch.
    assert_eq!(best_run["train_loss"].as_array().map(Vec::len), Some(150));
    for svg in ["p.svg", "b.svg"] {
        let text = std::fs::read_to_string(dir.path().join(svg)).expect("svg written");
        assert!(text.starts_with("<svg"), "{svg}");
    }
    // The plot names the score it shows, marks the best restart and the zero-init run in a
    // legend of its own.
    let plot = std::fs::read_to_string(dir.path().join("p.svg")).unwrap();
    assert!(plot.contains("training loss per epoch"), "the score curve");
    assert!(plot.contains(&format!("best (restart {best})")));
    assert!(plot.contains("zero init"));
    assert!(plot.contains("median of 6 restarts"));
    // The best model file is the report's best model.
    assert_eq!(json(&dir.path().join("best.json")), report["best"]["model"]);
}

#[test]
fn shards_merge_into_the_report_of_one_run() {
    let dir = temp();
    let common = [
        "restarts",
        "--data",
        "circles",
        "--restarts",
        "5",
        "--epochs",
        "5",
        "-q",
    ];
    let whole = ok(dir.path(), &with(&common, &["--report", "whole.json"]));
    for i in 0..3 {
        let shard = format!("{i}/3");
        let report = format!("part{i}.json");
        ok(
            dir.path(),
            &with(&common, &["--shard", &shard, "--report", &report]),
        );
    }
    // Any order of the parts.
    let merged = ok(
        dir.path(),
        &[
            "merge",
            "part2.json",
            "part0.json",
            "part1.json",
            "--report",
            "merged.json",
        ],
    );
    assert_eq!(
        without_timings(&json(&dir.path().join("merged.json"))),
        without_timings(&json(&dir.path().join("whole.json")))
    );
    assert_eq!(merged.stdout, whole.stdout, "the same table");

    bad(
        dir.path(),
        &["merge", "part0.json", "part1.json"],
        "missing shard 2/3",
    );
    bad(
        dir.path(),
        &[
            "merge",
            "part0.json",
            "part1.json",
            "part1.json",
            "part2.json",
        ],
        "shard 1/3 is also in part1.json",
    );
    bad(
        dir.path(),
        &["merge", "whole.json"],
        "a whole report, not a shard",
    );
    let other = with(
        &common,
        &["--lr", "0.01", "--shard", "1/3", "--report", "other.json"],
    );
    ok(dir.path(), &other);
    bad(
        dir.path(),
        &["merge", "part0.json", "other.json", "part2.json"],
        "a different experiment",
    );
    let other_data = [
        "restarts",
        "--data",
        "circles",
        "--restarts",
        "5",
        "--epochs",
        "5",
        "-q",
    ];
    ok(
        dir.path(),
        &with(
            &other_data,
            &["--seed", "9", "--shard", "1/3", "--report", "seed.json"],
        ),
    );
    bad(
        dir.path(),
        &["merge", "part0.json", "seed.json", "part2.json"],
        "a different experiment",
    );
    bad(
        dir.path(),
        &with(&common, &["--shard", "0/3"]),
        "give --report FILE",
    );
}

#[test]
fn a_shard_without_a_best_still_succeeds() {
    let dir = temp();
    let common = [
        "restarts",
        "--data",
        "xor",
        "--restarts",
        "2",
        "--epochs",
        "3",
        "-q",
    ];
    // More shards than restarts: shard 3/4 has none, and the merge still equals one run.
    let whole = ok(dir.path(), &with(&common, &["--report", "whole.json"]));
    for i in 0..4 {
        let (shard, report) = (format!("{i}/4"), format!("part{i}.json"));
        let run = ok(
            dir.path(),
            &with(&common, &["--shard", &shard, "--report", &report]),
        );
        if i >= 2 {
            assert!(
                run.stdout.contains("this shard has no restarts"),
                "{}",
                run.stdout
            );
        }
    }
    let merged = ok(
        dir.path(),
        &[
            "merge",
            "part0.json",
            "part1.json",
            "part2.json",
            "part3.json",
        ],
    );
    assert_eq!(merged.stdout, whole.stdout);
    // A shard whose restarts all diverge writes its partial report and exits 0 (the merge
    // chooses among all shards), but it cannot write a best model.
    let diverging = [
        "restarts",
        "--data",
        "sine",
        "--restarts",
        "2",
        "--epochs",
        "3",
        "-q",
        "--lr",
        "1e6",
        "--shard",
        "1/2",
        "--report",
        "d.json",
    ];
    ok(dir.path(), &diverging);
    // Its losses are not finite: written as null, the one convention, beside "diverged": true.
    let text = std::fs::read_to_string(dir.path().join("d.json")).expect("the report");
    assert!(!text.contains("\"inf\"") && !text.contains("NaN"), "{text}");
    let report: Value = serde_json::from_str(&text).expect("JSON");
    let run0 = &report["runs"][0];
    assert_eq!(run0["diverged"], true);
    assert_eq!(run0["score"], Value::Null);
    assert_eq!(run0["final_train_loss"], Value::Null);
    let run = backprop(dir.path(), &with(&diverging, &["--out", "m.json"]));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("every restart diverged"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("m.json").exists());
}

#[test]
fn train_with_restarts_keeps_the_best_as_restarts_does() {
    let dir = temp();
    let flags = [
        "--data",
        "circles",
        "--epochs",
        "4",
        "-q",
        "--restarts",
        "3",
    ];
    let trained = ok(
        dir.path(),
        &with(
            &with(&["train"], &flags),
            &["--out", "t.json", "--threads", "2"],
        ),
    );
    assert!(
        trained.stdout.contains("best of 3 restarts"),
        "{}",
        trained.stdout
    );
    ok(
        dir.path(),
        &with(
            &with(&["restarts"], &flags),
            &["--out", "r.json", "--threads", "1"],
        ),
    );
    let layers = |f: &str| json(&dir.path().join(f))["layers"].clone();
    assert_eq!(layers("t.json"), layers("r.json"));
    bad(
        dir.path(),
        &["train", "--from", "t.json", "--restarts", "2"],
        "--from continues one saved model, whose network it takes: drop --restarts",
    );
    bad(
        dir.path(),
        &["train", "--from", "t.json", "--hidden", "3"],
        "drop --hidden",
    );
    // The saved model's scaling is the one a warm start uses: --scale would be ignored.
    bad(
        dir.path(),
        &["train", "--from", "t.json", "--scale", "none"],
        "drop --scale",
    );
}

#[test]
fn the_header_names_every_sgd_setting_beyond_the_lecture() {
    let dir = temp();
    let base = [
        "restarts",
        "--data",
        "xor",
        "--restarts",
        "2",
        "--epochs",
        "2",
        "-q",
    ];
    let plain = ok(dir.path(), &base);
    assert!(!plain
        .stdout
        .lines()
        .nth(2)
        .unwrap_or("")
        .starts_with("    "));
    let drawn = ok(
        dir.path(),
        &with(
            &base,
            &["--with-replacement", "--momentum", "0.5", "--nesterov"],
        ),
    );
    assert!(
        drawn
            .stdout
            .contains("    samples drawn with replacement, Nesterov momentum 0.5"),
        "{}",
        drawn.stdout
    );
    bad(
        dir.path(),
        &with(&base, &["--with-replacement", "--no-shuffle"]),
        "cannot be used with",
    );
}

#[test]
fn shards_of_the_same_data_at_other_paths_merge() {
    let dir = temp();
    let d = dir.path();
    let rows: String = (0..40)
        .map(|k| format!("{},{},{}\n", k % 7, k % 5, k % 2))
        .collect();
    write(d, "d.csv", &format!("a,b,y\n{rows}"));
    std::fs::create_dir(d.join("elsewhere")).expect("mkdir");
    write(d, "elsewhere/d.csv", &format!("a,b,y\n{rows}"));
    let run = |data: &str, shard: &str, report: &str| {
        ok(
            d,
            &[
                "restarts",
                "--data",
                data,
                "--restarts",
                "4",
                "--epochs",
                "2",
                "-q",
                "--shard",
                shard,
                "--report",
                report,
            ],
        );
    };
    run("d.csv", "0/2", "p0.json");
    run("elsewhere/d.csv", "1/2", "p1.json");
    ok(d, &["merge", "p0.json", "p1.json"]);
    // Other numbers under the same name are another experiment.
    write(d, "elsewhere/d.csv", &format!("a,b,y\n9,9,1\n{rows}"));
    run("elsewhere/d.csv", "1/2", "p1.json");
    bad(
        d,
        &["merge", "p0.json", "p1.json"],
        "a different experiment",
    );
}

/// Parses `backprop train ...` flags and trains in memory as the binary does.
fn train_in_memory(args: &[&str]) -> optim::Run<f64> {
    let cli = Cli::try_parse_from(std::iter::once("backprop").chain(args.iter().copied()))
        .expect("valid flags");
    let Sub::Train(t) = cli.command else {
        panic!("a train command")
    };
    let s = setup::setup(&t.training, 1, None).expect("setup");
    let cfg = optim::RestartConfig {
        restarts: 1,
        threads: 1,
        seed: s.config.seed,
        init: s.config.init,
        bias_init: s.config.bias_init,
        sgd: s.config.sgd.clone(),
        classification: s.model.task == backprop_cli::data::Task::Classification,
        only: None,
        racing: None,
    };
    let mut e = optim::run_restarts(
        &s.template,
        &s.train,
        s.validation.as_ref(),
        &cfg,
        &optim::NoObserver,
    )
    .expect("training");
    e.runs.swap_remove(0)
}

#[test]
fn train_save_load_predict_gives_the_numbers_of_memory() {
    let dir = temp();
    let args = [
        "train", "--data", "spirals", "--hidden", "6", "--epochs", "15", "--seed", "3",
    ];
    ok(dir.path(), &with(&args, &["--quiet", "--out", "m.json"]));
    // The saved weights are the weights trained in memory, bit for bit.
    let model = Model::load(&dir.path().join("m.json")).expect("a model");
    let run = train_in_memory(&args);
    let saved: Vec<u64> = model
        .network
        .params()
        .flatten()
        .map(|x| x.to_bits())
        .collect();
    let memory: Vec<u64> = run
        .network
        .params()
        .flatten()
        .map(|x| x.to_bits())
        .collect();
    assert_eq!(saved, memory);
    // Predictions on the same data: the CSV's numbers are the model's in memory.
    let predicted = ok(
        dir.path(),
        &[
            "predict", "--model", "m.json", "--data", "spirals", "--seed", "3",
        ],
    );
    let data = datasets::load("spirals", 3, &Selection::default()).expect("spirals");
    let mut lines = predicted.stdout.lines();
    assert_eq!(lines.next(), Some("predicted_class,p_0,p_1"));
    let mut ws = model.network.workspace();
    let (mut scratch, mut out) = (Vec::new(), vec![0.0; 2]);
    let mut rows = 0;
    for (k, line) in lines.enumerate() {
        let x = data.sample_x(k);
        model
            .predict_to(&mut ws, x, &mut scratch, &mut out)
            .expect("predict");
        let fields: Vec<&str> = line.split(',').collect();
        let class = if out[1] > out[0] { "1" } else { "0" };
        assert_eq!(fields[0], class);
        for (k, p) in out.iter().enumerate() {
            let printed: f64 = fields[k + 1].parse().expect("a number");
            assert_eq!(printed.to_bits(), p.to_bits());
        }
        rows += 1;
    }
    assert_eq!(rows, data.len());
    // --out writes the same text.
    ok(
        dir.path(),
        &[
            "predict", "--model", "m.json", "--data", "spirals", "--seed", "3", "--out", "p.csv",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("p.csv")).expect("p.csv"),
        predicted.stdout
    );
}

#[test]
fn train_from_a_saved_model_continues_from_it() {
    let dir = temp();
    ok(
        dir.path(),
        &[
            "train", "--data", "sine", "--epochs", "10", "-q", "--out", "a.json",
        ],
    );
    let run = ok(
        dir.path(),
        &[
            "train", "--data", "sine", "--epochs", "10", "-q", "--from", "a.json", "--out",
            "b.json",
        ],
    );
    assert!(run.stdout.contains("warm start"), "{}", run.stdout);
    let (a, b) = (
        Model::load(&dir.path().join("a.json")).expect("a"),
        Model::load(&dir.path().join("b.json")).expect("b"),
    );
    assert_eq!(a.input_scaling, b.input_scaling, "the scaling is kept");
    assert_eq!(a.network.widths(), b.network.widths());
    assert_ne!(a.network, b.network, "training moved the weights");
}

/// A small CSV of string classes: the class is whether a + b > 1.
fn classes_csv(dir: &Path) -> PathBuf {
    let mut text = String::from("id,a,b,label\n");
    for i in 0..60 {
        let (a, b) = ((i * 37 % 60) as f64 / 60.0, (i * 11 % 60) as f64 / 60.0);
        let label = if a + b > 1.0 { "high" } else { "low" };
        text.push_str(&format!("{i},{a},{b},{label}\n"));
    }
    write(dir, "classes.csv", &text)
}

#[test]
fn csv_training_evaluate_and_gradcheck() {
    let dir = temp();
    classes_csv(dir.path());
    let run = ok(
        dir.path(),
        &[
            "train",
            "--data",
            "classes.csv",
            "--target",
            "label",
            "--drop",
            "id",
            "--epochs",
            "30",
            "--lr",
            "0.1",
            "-q",
            "--out",
            "m.json",
        ],
    );
    assert!(run.stdout.contains("accuracy"), "{}", run.stdout);
    let model = json(&dir.path().join("m.json"));
    assert_eq!(model["inputs"], serde_json::json!(["a", "b"]));
    assert_eq!(model["classes"], serde_json::json!(["high", "low"]));
    assert_eq!(model["task"], "classification");
    let eval = ok(
        dir.path(),
        &[
            "evaluate",
            "--model",
            "m.json",
            "--data",
            "classes.csv",
            "--target",
            "label",
        ],
    );
    assert!(eval.stdout.contains("accuracy"), "{}", eval.stdout);
    assert!(eval.stdout.contains("confusion matrix"), "{}", eval.stdout);
    // The confusion matrix counts every row once.
    let counted: usize = eval
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("confusion"))
        .skip(2)
        .flat_map(|l| l.split_whitespace().skip(1))
        .map(|n| n.parse::<usize>().expect("a count"))
        .sum();
    assert_eq!(counted, 60);
    let check = ok(
        dir.path(),
        &[
            "gradcheck",
            "--model",
            "m.json",
            "--data",
            "classes.csv",
            "--target",
            "label",
        ],
    );
    assert!(check.stdout.contains(": ok"), "{}", check.stdout);
}

#[test]
fn regression_evaluate_reports_the_error_in_target_units() {
    let dir = temp();
    ok(
        dir.path(),
        &[
            "train", "--data", "sine", "--epochs", "20", "-q", "--out", "m.json",
        ],
    );
    let eval = ok(
        dir.path(),
        &["evaluate", "--model", "m.json", "--data", "sine"],
    );
    assert!(eval.stdout.contains("RMSE of y"), "{}", eval.stdout);
    let predicted = ok(
        dir.path(),
        &["predict", "--model", "m.json", "--data", "sine"],
    );
    assert_eq!(predicted.stdout.lines().next(), Some("predicted_y"));
    assert_eq!(predicted.stdout.lines().count(), 201);
}

#[test]
fn predict_does_not_read_the_target_column() {
    let dir = temp();
    ok(
        dir.path(),
        &[
            "train", "--data", "xor", "--epochs", "2", "-q", "--out", "m.json",
        ],
    );
    // The target column blank, or holding a label the model has never seen.
    write(dir.path(), "d.csv", "x1,x2,class\n0,1,\n1,1,?\n");
    let run = ok(
        dir.path(),
        &["predict", "--model", "m.json", "--data", "d.csv"],
    );
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    // Evaluation needs the targets, and says which one is wrong.
    bad(
        dir.path(),
        &["evaluate", "--model", "m.json", "--data", "d.csv"],
        "d.csv:2:3",
    );
}

#[test]
fn a_minimal_model_file_reads_columns_in_file_order() {
    let dir = temp();
    write(
        dir.path(),
        "m.json",
        r#"{"format": "backprop-mlp", "version": 1, "loss": "squared",
            "layers": [{"activation": "identity", "weights": [[2.0], [3.0]], "bias": [1.0]}]}"#,
    );
    write(dir.path(), "d.csv", "p,q,t\n1,1,6\n2,0,0\n");
    let run = ok(
        dir.path(),
        &[
            "predict", "--model", "m.json", "--data", "d.csv", "--target", "t",
        ],
    );
    // One column per target, named as the target given with --target.
    assert_eq!(run.stdout, "predicted_t\n6.0\n5.0\n");
    let run = ok(
        dir.path(),
        &[
            "predict", "--model", "m.json", "--data", "d.csv", "--drop", "t",
        ],
    );
    assert_eq!(
        run.stdout, "predicted_output_0\n6.0\n5.0\n",
        "no target named"
    );
    let run = ok(
        dir.path(),
        &[
            "evaluate", "--model", "m.json", "--data", "d.csv", "--target", "t",
        ],
    );
    // Losses 1/2 (6-6)^2 = 0 and 1/2 (5-0)^2 = 12.5: mean 6.25.
    assert!(
        run.stdout.contains("loss (squared) 6.2500"),
        "{}",
        run.stdout
    );
}

#[test]
fn no_shuffle_runs_are_reproducible_and_differ_from_shuffled_ones() {
    let dir = temp();
    let base = ["train", "--data", "circles", "--epochs", "3", "-q"];
    ok(
        dir.path(),
        &with(&base, &["--no-shuffle", "--out", "a.json"]),
    );
    ok(
        dir.path(),
        &with(&base, &["--no-shuffle", "--out", "b.json"]),
    );
    ok(dir.path(), &with(&base, &["--out", "c.json"]));
    let (a, b, c) = (
        json(&dir.path().join("a.json")),
        json(&dir.path().join("b.json")),
        json(&dir.path().join("c.json")),
    );
    // The same model; only the command line (its --out) differs.
    assert_eq!(without_timings(&a), without_timings(&b));
    assert_ne!(without_timings(&a), without_timings(&c));
}

#[test]
fn a_diverging_run_says_so_and_writes_no_model() {
    let dir = temp();
    let run = backprop(
        dir.path(),
        &[
            "train", "--data", "sine", "--lr", "1e6", "--epochs", "5", "-q", "--out", "m.json",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("diverged"), "{}", run.stderr);
    assert!(!dir.path().join("m.json").exists());
    let run = backprop(
        dir.path(),
        &[
            "restarts",
            "--data",
            "sine",
            "--lr",
            "1e6",
            "--epochs",
            "3",
            "--restarts",
            "2",
            "-q",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("diverged: restart 0, 1"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_data_is_named_by_file_line_and_column() {
    let dir = temp();
    let d = dir.path();
    let train = |data: &str| -> Vec<String> {
        [
            "train", "--data", data, "--epochs", "1", "-q", "--out", "m.json",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let check = |args: Vec<String>, message: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        bad(d, &args, message);
        assert!(!d.join("m.json").exists(), "{args:?} left an output file");
    };
    check(train("missing.csv"), "missing.csv: cannot open");
    write(d, "empty.csv", "");
    check(train("empty.csv"), "empty.csv: the file is empty");
    write(d, "ragged.csv", "a,b,c\n1,2,3\n4,5\n");
    check(
        train("ragged.csv"),
        "ragged.csv:3:3: the row has 2 fields, the header has 3",
    );
    write(d, "text.csv", "a,b,c\n1,2,0\n4,five,1\n1,2,0\n4,5,1\n");
    check(
        train("text.csv"),
        "text.csv:3:2: \"five\" in column \"b\" is not a number",
    );
    write(d, "nan.csv", "a,b,c\n1,2,0\nNaN,5,1\n1,2,0\n4,5,1\n");
    check(train("nan.csv"), "nan.csv:3:1: NaN in column \"a\"");
    write(d, "inf.csv", "a,b,c\n1,inf,0\n4,5,1\n1,2,0\n4,5,1\n");
    check(train("inf.csv"), "inf.csv:2:2: inf in column \"b\"");
    write(d, "good.csv", "a,b,c\n1,2,0\n4,5,1\n1,2,0\n4,5,1\n");
    let mut args = train("good.csv");
    args.extend(["--target".to_owned(), "zz".to_owned()]);
    check(args, "good.csv:1: unknown column \"zz\"");
    let mut args = train("good.csv");
    args.extend(["--drop".to_owned(), "q".to_owned()]);
    check(args, "good.csv:1: unknown column \"q\"");
    // Windows line ends count one line each.
    write(
        d,
        "crlf.csv",
        "a,b,c\r\n1,2,0\r\n4,5,1\r\n1,x,0\r\n4,5,1\r\n",
    );
    check(
        train("crlf.csv"),
        "crlf.csv:4:2: \"x\" in column \"b\" is not a number",
    );
    // Class labels that are NaN or infinity are bad numbers too.
    write(d, "labels.csv", "a,b,c\n1,2,0\n4,5,1\n1,2,NaN\n4,5,1\n");
    let mut args = train("labels.csv");
    args.extend(["--task".to_owned(), "classify".to_owned()]);
    check(
        args,
        "labels.csv:4:3: NaN in column \"c\" is not a class label",
    );
}

#[test]
fn bad_flags_are_one_line_and_exit_code_2() {
    let dir = temp();
    let d = dir.path();
    // Every case also asks for every output file, and none may appear.
    let outputs = [
        "--out",
        "m.json",
        "--report",
        "r.json",
        "--plot",
        "p.svg",
        "--boundary",
        "b.svg",
    ];
    let bad = |d: &Path, args: &[&str], message: &str| {
        let command = args.first().copied();
        let mut args = args.to_vec();
        let wanted: &[&str] = match command {
            Some("train") => &outputs[..2],
            Some("restarts") => &outputs,
            _ => &[],
        };
        for flag in wanted.chunks(2) {
            if !args.contains(&flag[0]) {
                args.extend(flag);
            }
        }
        bad(d, &args, message);
        for file in ["m.json", "r.json", "p.svg", "b.svg"] {
            assert!(!d.join(file).exists(), "{args:?} left {file}");
        }
    };
    bad(
        d,
        &["train", "--hidden", "0"],
        "a hidden layer needs at least 1 node",
    );
    bad(d, &["train", "--hidden", ""], "give widths as N[,N...]");
    bad(
        d,
        &[
            "restarts",
            "--data",
            "xor",
            "--patience",
            "3",
            "--validation",
            "0",
        ],
        "--patience stops on the validation loss",
    );
    bad(d, &["train", "--hidden", "4,x"], "is not a width");
    bad(d, &["train", "--lr", "-1"], "must be a positive number");
    bad(d, &["train", "--lr", "0"], "must be a positive number");
    bad(d, &["train", "--lr", "fast"], "must be a positive number");
    bad(d, &["train", "--activation", "swish"], "swish");
    bad(d, &["train", "--loss", "hinge"], "hinge");
    bad(d, &["train", "--validation", "1.5"], "fraction");
    bad(
        d,
        &["restarts", "--shard", "3/3", "--report", "r.json"],
        "I/N",
    );
    bad(
        d,
        &["train", "--data", "sine", "--loss", "cross-entropy"],
        "needs classes",
    );
    bad(
        d,
        &["train", "--data", "nosuchset"],
        "no such file, nor a built-in dataset",
    );
    bad(d, &["train", "--bogus"], "--bogus");
    bad(
        d,
        &["predict"],
        "required arguments were not provided: --model <FILE> --data <PATH|NAME>",
    );
    bad(
        d,
        &["train", "--data", "sine", "--boundary", "b.svg"],
        "--boundary draws classifiers",
    );
}

#[test]
fn bad_models_are_named_and_write_nothing() {
    let dir = temp();
    let d = dir.path();
    write(d, "d.csv", "a,b,t\n1,2,0\n4,5,1\n");
    let predict = |model: &str, message: &str| {
        let args = [
            "predict", "--model", model, "--data", "d.csv", "--target", "t", "--out", "p.csv",
        ];
        bad(d, &args, message);
        assert!(!d.join("p.csv").exists(), "{model} left an output file");
    };
    predict("missing.json", "missing.json: cannot read");
    let model = |layers: &str| {
        format!(
            "{{\"format\": \"backprop-mlp\", \"version\": 1, \"loss\": \"squared\",\n  \"layers\": {layers}}}"
        )
    };
    write(
        d,
        "shape.json",
        &model(
            r#"[{"activation": "tanh", "weights": [[1.0, 2.0], [3.0, 4.0]], "bias": [0.0, 0.0]},
             {"activation": "identity", "weights": [[1.0], [2.0], [3.0]], "bias": [0.0]}]"#,
        ),
    );
    predict(
        "shape.json",
        "shape.json: layer 1: weights has 3 rows, expected 2",
    );
    write(
        d,
        "ragged.json",
        &model(r#"[{"activation": "tanh", "weights": [[1.0, 2.0], [3.0]], "bias": [0.0, 0.0]}]"#),
    );
    predict(
        "ragged.json",
        "ragged.json: layer 0: weights[1] has 1 numbers, expected 2",
    );
    write(
        d,
        "act.json",
        &model(r#"[{"activation": "swish", "weights": [[1.0], [3.0]], "bias": [0.0]}]"#),
    );
    predict("act.json", "act.json:2:");
    let run = backprop(
        d,
        &[
            "evaluate", "--model", "act.json", "--data", "d.csv", "--target", "t",
        ],
    );
    assert!(
        run.stderr.contains("unknown variant `swish`"),
        "{}",
        run.stderr
    );
    write(d, "broken.json", "{\"format\": ");
    predict("broken.json", "broken.json:1:");
    write(
        d,
        "twice.json",
        r#"{"format": "backprop-mlp", "version": 1, "loss": "squared", "task": "classification",
            "classes": ["0", "0"],
            "layers": [{"activation": "identity", "weights": [[1.0, 1.0], [2.0, 2.0]], "bias": [0.0, 0.0]}]}"#,
    );
    predict("twice.json", "twice.json: class \"0\" is listed twice");
    write(
        d,
        "wide.json",
        &model(r#"[{"activation": "identity", "weights": [[1.0], [3.0], [1.0]], "bias": [0.0]}]"#),
    );
    predict(
        "wide.json",
        "d.csv: 2 feature columns, the model takes 3 inputs",
    );
    write(
        d,
        "format.json",
        r#"{"format": "onnx", "version": 1, "loss": "squared", "layers": []}"#,
    );
    predict("format.json", "format.json: format is \"onnx\"");
}

#[test]
fn outputs_into_a_missing_directory_fail_cleanly() {
    let dir = temp();
    bad(
        dir.path(),
        &[
            "train",
            "--data",
            "xor",
            "--epochs",
            "1",
            "-q",
            "--out",
            "no/such/dir/m.json",
        ],
        "no/such/dir/m.json",
    );
}

#[test]
fn scaling_is_stored_in_the_model_and_can_be_turned_off() {
    let dir = temp();
    let base = ["train", "--data", "sine", "--epochs", "2", "-q"];
    ok(dir.path(), &with(&base, &["--out", "scaled.json"]));
    ok(
        dir.path(),
        &with(&base, &["--scale", "none", "--out", "raw.json"]),
    );
    let (scaled, raw) = (
        json(&dir.path().join("scaled.json")),
        json(&dir.path().join("raw.json")),
    );
    assert_eq!(
        scaled["input_scaling"]["mean"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(scaled["target_scaling"].is_object());
    assert!(raw["input_scaling"].is_null() && raw["target_scaling"].is_null());
    bad(
        dir.path(),
        &with(&base, &["--scale", "minmax"]),
        "standard or none",
    );
}

#[test]
fn gradcheck_fails_at_a_relu_kink() {
    // s_1 = 0 exactly: backprop takes ReLU's derivative at 0 as 1 (the lecture's table), central
    // differences see the average of the two sides, 1/2.
    let dir = temp();
    write(
        dir.path(),
        "kink.json",
        r#"{"format": "backprop-mlp", "version": 1, "loss": "squared",
  "layers": [{"activation": "relu", "weights": [[0.0]], "bias": [0.0]},
             {"activation": "identity", "weights": [[1.0]], "bias": [0.5]}]}"#,
    );
    write(dir.path(), "d.csv", "x,y\n1,0\n");
    let run = backprop(
        dir.path(),
        &[
            "gradcheck",
            "--model",
            "kink.json",
            "--data",
            "d.csv",
            "--target",
            "y",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("MISMATCH"), "{}", run.stdout);
    assert!(run.stderr.contains("differ by 5.000e-1"), "{}", run.stderr);
}

#[test]
fn restarts_give_the_same_report_on_one_and_two_threads() {
    let dir = temp();
    let common = [
        "restarts",
        "--data",
        "spirals",
        "--restarts",
        "4",
        "--epochs",
        "3",
        "-q",
    ];
    ok(
        dir.path(),
        &with(&common, &["--threads", "1", "--report", "one.json"]),
    );
    ok(
        dir.path(),
        &with(&common, &["--threads", "2", "--report", "two.json"]),
    );
    assert_eq!(
        without_timings(&json(&dir.path().join("one.json"))),
        without_timings(&json(&dir.path().join("two.json")))
    );
}

#[test]
fn the_zero_init_baseline_has_zero_biases_whatever_bias_init_says() {
    // With random biases alone the hidden nodes differ and the "zero init" run would solve XOR.
    let dir = temp();
    let base = [
        "restarts",
        "--data",
        "xor",
        "--restarts",
        "2",
        "--epochs",
        "150",
        "-q",
    ];
    ok(dir.path(), &with(&base, &["--report", "zero.json"]));
    ok(
        dir.path(),
        &with(&base, &["--bias-init", "xavier", "--report", "biased.json"]),
    );
    let (zero, biased) = (
        json(&dir.path().join("zero.json")),
        json(&dir.path().join("biased.json")),
    );
    assert_eq!(
        without_timings(&zero["baseline"]),
        without_timings(&biased["baseline"]),
        "the baseline does not depend on --bias-init"
    );
    let accuracy = biased["baseline"]["train_accuracy"]
        .as_f64()
        .expect("accuracy");
    assert!(accuracy <= 0.75, "zero init fails: {accuracy}");
}

#[test]
fn more_threads_than_restarts_start_no_more_threads_than_restarts() {
    // A thread per restart at most: otherwise this asks the system for 2^64 - 1 threads.
    let dir = temp();
    let run = ok(
        dir.path(),
        &[
            "restarts",
            "--data",
            "xor",
            "--restarts",
            "2",
            "--epochs",
            "2",
            "-q",
            "--threads",
            "18446744073709551615",
        ],
    );
    assert!(run.stdout.contains("best: restart"), "{}", run.stdout);
}

#[test]
fn bad_output_paths_fail_before_training_and_leave_no_file() {
    let dir = temp();
    let d = dir.path();
    std::fs::create_dir(d.join("adir")).expect("mkdir");
    write(d, "file.txt", "not a directory\n");
    let restarts = [
        "restarts",
        "--data",
        "xor",
        "--restarts",
        "2",
        "--epochs",
        "2",
        "-q",
        "--report",
        "r.json",
        "--plot",
        "p.svg",
    ];
    let check = |args: &[&str], message: &str| {
        bad(d, args, message);
        for file in ["r.json", "p.svg", "m.json", "pred.csv"] {
            assert!(!d.join(file).exists(), "{args:?} left {file}");
        }
        let left: Vec<_> = std::fs::read_dir(d.join("adir")).expect("adir").collect();
        assert!(left.is_empty(), "{args:?} wrote into adir: {left:?}");
    };
    check(
        &with(&restarts, &["--out", "adir"]),
        "adir: is a directory: --out needs a file name",
    );
    check(
        &with(&restarts, &["--boundary", "p.svg"]),
        "p.svg: given to both --plot and --boundary",
    );
    check(
        &with(&restarts, &["--out", "file.txt/m.json"]),
        "file.txt/m.json: no directory file.txt for --out",
    );
    check(
        &[
            "train",
            "--data",
            "xor",
            "--epochs",
            "1",
            "-q",
            "--out",
            "m.json",
            "--boundary",
            "m.json",
        ],
        "m.json: given to both --out and --boundary",
    );
    check(
        &[
            "train", "--data", "xor", "--epochs", "1", "-q", "--out", "adir",
        ],
        "adir: is a directory",
    );
    ok(
        d,
        &[
            "train",
            "--data",
            "xor",
            "--epochs",
            "1",
            "-q",
            "--out",
            "model.json",
        ],
    );
    check(
        &[
            "predict",
            "--model",
            "model.json",
            "--data",
            "xor",
            "--out",
            "adir",
        ],
        "adir: is a directory",
    );
    for i in 0..2 {
        let (shard, part) = (format!("{i}/2"), format!("part{i}.json"));
        ok(
            d,
            &[
                "restarts",
                "--data",
                "xor",
                "--restarts",
                "2",
                "--epochs",
                "2",
                "-q",
                "--shard",
                &shard,
                "--report",
                &part,
            ],
        );
    }
    check(
        &[
            "merge",
            "part0.json",
            "part1.json",
            "--report",
            "r.json",
            "--out",
            "adir",
        ],
        "adir: is a directory",
    );
}

#[test]
fn a_header_of_nameless_columns_is_not_called_empty() {
    let dir = temp();
    write(dir.path(), "d.csv", ",,\n1,2,0\n3,4,1\n");
    bad(
        dir.path(),
        &["train", "--data", "d.csv", "-q"],
        "d.csv:1:1: column 1 has no name",
    );
}

/// A small CSV of two features, an ID and a label, with `delimiter`.
fn labeled_csv(delimiter: char) -> String {
    let mut text = ["id", "x1", "x2", "label"].join(&delimiter.to_string()) + "\n";
    for k in 0..40 {
        let (a, b) = ((k % 7) as f64 / 7.0, (k % 5) as f64 / 5.0);
        let label = if a + b > 0.8 { "yes" } else { "no" };
        let row = [
            format!("id{k:03}"),
            a.to_string(),
            b.to_string(),
            label.into(),
        ];
        text += &(row.join(&delimiter.to_string()) + "\n");
    }
    text
}

#[test]
fn delimiters_are_detected_and_named_or_given() {
    let dir = temp();
    for (d, name) in [
        ('\t', "tab"),
        (';', "semicolon"),
        ('|', "pipe"),
        (',', "comma"),
    ] {
        write(dir.path(), "d.csv", &labeled_csv(d));
        let run = ok(
            dir.path(),
            &[
                "train", "--data", "d.csv", "--drop", "id", "--epochs", "2", "-q",
            ],
        );
        assert!(
            run.stderr.contains(&format!("delimiter: {name} (detected")),
            "{name}: {}",
            run.stderr
        );
    }
    // A delimiter given: the header is then one column, named as such.
    write(dir.path(), "d.csv", &labeled_csv(';'));
    bad(
        dir.path(),
        &["train", "--data", "d.csv", "--delimiter", ",", "-q"],
        "no feature columns left",
    );
    let run = ok(
        dir.path(),
        &[
            "train",
            "--data",
            "d.csv",
            "--delimiter",
            ";",
            "--drop",
            "id",
            "--epochs",
            "2",
            "-q",
        ],
    );
    assert!(
        run.stderr.contains("delimiter: semicolon;")
            || run.stderr.ends_with("delimiter: semicolon\n"),
        "{}",
        run.stderr
    );
    // One column with another separator: the hint names --delimiter.
    write(dir.path(), "one.csv", "a:b\n1:2\n");
    bad(
        dir.path(),
        &["train", "--data", "one.csv", "-q"],
        "give --delimiter",
    );
    bad(
        dir.path(),
        &["train", "--data", "d.csv", "--delimiter", "ab"],
        "is not a delimiter",
    );
}

#[test]
fn gzip_and_standard_input_are_read() {
    use std::io::Write as _;
    let dir = temp();
    let text = labeled_csv(',');
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).expect("gzip");
    std::fs::write(dir.path().join("d.csv.gz"), gz.finish().expect("gzip")).expect("write");
    let run = ok(
        dir.path(),
        &[
            "train", "--data", "d.csv.gz", "--drop", "id", "--epochs", "2", "-q", "--out", "m.json",
        ],
    );
    assert!(run.stdout.contains("40 rows"), "{}", run.stdout);
    // A damaged gzip file is one error naming the file.
    std::fs::write(dir.path().join("bad.csv.gz"), [0x1f, 0x8b, 8, 0, 1, 2, 3]).expect("write");
    bad(
        dir.path(),
        &["train", "--data", "bad.csv.gz", "-q"],
        "bad.csv.gz: cannot read",
    );
    // `-` is standard input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .current_dir(dir.path())
        .args(["evaluate", "--model", "m.json", "--data", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("the binary ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("on <stdin>: 40 rows"), "{stdout}");
    // Errors in standard input are named as such.
    let mut child = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .current_dir(dir.path())
        .args(["train", "--data", "-", "-q"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a,b\n1,2\nx,3\n")
        .expect("write stdin");
    let out = child.wait_with_output().expect("the binary ends");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("<stdin>:3:1: \"x\" in column \"a\" is not a number"),
        "{stderr}"
    );
}

#[test]
fn a_header_of_numbers_needs_no_header() {
    let dir = temp();
    write(dir.path(), "n.csv", "1,2,0\n3,4,1\n5,6,0\n7,8,1\n");
    bad(
        dir.path(),
        &["train", "--data", "n.csv", "-q"],
        "n.csv:1: the header row is all numbers (1, 2, 0): if the file has no header, give --no-header",
    );
    let run = ok(
        dir.path(),
        &[
            "train",
            "--data",
            "n.csv",
            "--no-header",
            "--epochs",
            "2",
            "--validation",
            "0",
            "-q",
        ],
    );
    assert!(run.stdout.contains("4 rows"), "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "target: c2 (the last column; --target to choose); 2 feature columns (c0, c1)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn train_names_what_it_guessed() {
    let dir = temp();
    let mut text = String::from("a,b,rating\n");
    for k in 0..60 {
        text += &format!("{},{},{}\n", k % 7, k % 3, 1 + k % 10);
    }
    write(dir.path(), "r.csv", &text);
    let run = ok(
        dir.path(),
        &["train", "--data", "r.csv", "--epochs", "1", "-q"],
    );
    assert!(
        run.stderr.contains(
            "target: rating (the last column; --target to choose); 2 feature columns (a, b); \
             task: classification, 10 classes, guessed from integer values; --task regress to override"
        ),
        "{}",
        run.stderr
    );
    let run = ok(
        dir.path(),
        &[
            "restarts",
            "--data",
            "r.csv",
            "--target",
            "rating",
            "--task",
            "regress",
            "--epochs",
            "1",
            "--restarts",
            "2",
            "-q",
        ],
    );
    assert!(
        run.stderr
            .contains("target: rating; 2 feature columns (a, b); task: regression; delimiter"),
        "{}",
        run.stderr
    );
}

#[test]
fn predict_names_its_columns_keeps_ids_and_names_missing_inputs() {
    let dir = temp();
    write(dir.path(), "d.csv", &labeled_csv(','));
    ok(
        dir.path(),
        &[
            "train", "--data", "d.csv", "--target", "label", "--drop", "id", "--epochs", "2", "-q",
            "--out", "m.json",
        ],
    );
    let run = ok(
        dir.path(),
        &[
            "predict", "--model", "m.json", "--data", "d.csv", "--keep", "id",
        ],
    );
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("id,predicted_label,p_no,p_yes"));
    let first: Vec<&str> = lines.next().expect("a row").split(',').collect();
    assert_eq!(first[0], "id000");
    assert!(first[1] == "no" || first[1] == "yes", "{first:?}");
    assert_eq!(run.stdout.lines().count(), 41);
    bad(
        dir.path(),
        &[
            "predict", "--model", "m.json", "--data", "d.csv", "--keep", "nope",
        ],
        "--keep: d.csv:1: unknown column \"nope\"",
    );
    bad(
        dir.path(),
        &[
            "predict", "--model", "m.json", "--data", "d.csv", "--keep", "p_no",
        ],
        "unknown column \"p_no\"",
    );
    write(dir.path(), "lacking.csv", "id,x1\nа,0.5\n");
    bad(
        dir.path(),
        &["predict", "--model", "m.json", "--data", "lacking.csv"],
        "lacking.csv:1: the model m.json needs the input column \"x2\", which the data lacks (its columns are id, x1)",
    );
}

#[test]
fn completions_are_printed_for_each_shell() {
    let dir = temp();
    for shell in ["bash", "zsh", "fish"] {
        let run = ok(dir.path(), &["completions", shell]);
        assert!(run.stdout.contains("backprop"), "{shell}");
        assert!(run.stdout.contains("no-header"), "{shell}");
    }
    let run = backprop(dir.path(), &["completions", "tcsh"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn models_and_reports_record_their_provenance() {
    let dir = temp();
    ok(
        dir.path(),
        &[
            "train", "--data", "xor", "--epochs", "3", "--seed", "5", "--out", "m.json", "-q",
        ],
    );
    let m = json(&dir.path().join("m.json"));
    assert_eq!(m["version"], 2);
    let p = &m["provenance"];
    assert_eq!(p["tool"], format!("backprop {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(p["seed"], 5);
    assert_eq!(p["epochs"], 3);
    assert_eq!(p["training"]["epochs"], 3);
    assert!(
        p["command"]
            .as_array()
            .is_some_and(|c| c.iter().any(|a| a == "--seed")),
        "{p}"
    );
    assert_eq!(p["data"]["source"], "xor");
    assert_eq!(p["data"]["fingerprint"].as_str().map(str::len), Some(16));
    ok(
        dir.path(),
        &[
            "restarts",
            "--data",
            "xor",
            "--epochs",
            "2",
            "--restarts",
            "2",
            "--report",
            "r.json",
            "-q",
        ],
    );
    let r = json(&dir.path().join("r.json"));
    assert_eq!(r["provenance"]["seed"], 1);
    assert_eq!(
        r["best"]["model"]["provenance"]["data"],
        r["provenance"]["data"]
    );
    // The same data read twice has the same fingerprint; another seed's data another.
    ok(
        dir.path(),
        &[
            "train", "--data", "xor", "--epochs", "3", "--seed", "6", "--out", "m6.json", "-q",
        ],
    );
    let m6 = json(&dir.path().join("m6.json"));
    assert_ne!(
        m6["provenance"]["data"]["fingerprint"],
        p["data"]["fingerprint"]
    );
}

#[test]
fn a_softmax_output_is_called_softmax_and_one_input_is_singular() {
    let dir = temp();
    let run = ok(
        dir.path(),
        &["train", "--data", "circles", "--epochs", "1", "-q"],
    );
    assert!(
        run.stdout
            .contains("(tanh hidden, softmax output), cross-entropy loss"),
        "{}",
        run.stdout
    );
    let run = ok(
        dir.path(),
        &[
            "restarts",
            "--data",
            "circles",
            "--epochs",
            "1",
            "--restarts",
            "2",
            "-q",
        ],
    );
    assert!(run.stdout.contains("softmax output"), "{}", run.stdout);
    bad(
        dir.path(),
        &[
            "train",
            "--data",
            "sine",
            "--epochs",
            "1",
            "-q",
            "--boundary",
            "b.svg",
        ],
        "sine has 1 input (regression)",
    );
}

#[test]
fn the_shipped_example_trains_evaluates_and_predicts_with_its_ids() {
    let fruit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/fruit.csv");
    let fruit = fruit.to_str().expect("a UTF-8 path");
    let dir = temp();
    let run = ok(
        dir.path(),
        &[
            "train",
            "--data",
            fruit,
            "--target",
            "kind",
            "--drop",
            "id",
            "--epochs",
            "40",
            "-q",
            "--out",
            "fruit.json",
        ],
    );
    assert!(
        run.stderr.contains("target: kind; 4 feature columns (weight_g, sugar, acidity, roundness); task: classification, 3 classes, guessed from text values; delimiter"),
        "{}",
        run.stderr
    );
    let eval = ok(
        dir.path(),
        &["evaluate", "--model", "fruit.json", "--data", fruit],
    );
    let accuracy: f64 = eval
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("accuracy "))
        .and_then(|a| a.trim_end_matches('%').parse().ok())
        .expect("an accuracy line");
    assert!(accuracy > 80.0, "{}", eval.stdout);
    let predicted = ok(
        dir.path(),
        &[
            "predict",
            "--model",
            "fruit.json",
            "--data",
            fruit,
            "--keep",
            "id",
        ],
    );
    let mut lines = predicted.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("id,predicted_kind,p_apple,p_orange,p_pear")
    );
    assert!(lines.next().is_some_and(|l| l.starts_with("F001,")));
}

/// The update rule that the training flags choose, as `setup` reads them (no run).
fn optimizer_of(flags: &[&str]) -> Result<optim::Optimizer, String> {
    let args = with(&["backprop", "train", "--data", "xor"], flags);
    let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
    let Sub::Train(t) = cli.command else {
        panic!("a train command")
    };
    setup::sgd_config(&t.training, 200, 0.0)
        .map(|c| c.optimizer)
        .map_err(|e| format!("{e:#}"))
}

#[test]
fn the_optimizer_flags_choose_the_rule_and_its_settings() {
    use optim::Optimizer::{Adam, AdamW, Momentum, Nesterov, Sgd};
    let cases: [(&[&str], optim::Optimizer); 10] = [
        (&[], Sgd),
        (&["--optimizer", "sgd"], Sgd),
        // --momentum and --nesterov keep choosing momentum as they did before --optimizer.
        (&["--momentum", "0.5"], Momentum { mu: 0.5 }),
        (&["--momentum", "0"], Sgd),
        (&["--momentum", "0.5", "--nesterov"], Nesterov { mu: 0.5 }),
        (&["--optimizer", "momentum"], Momentum { mu: 0.9 }),
        (
            &["--optimizer", "Nesterov", "--momentum", "0.3"],
            Nesterov { mu: 0.3 },
        ),
        (
            &["--optimizer", "adam"],
            Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
        ),
        (
            &["--optimizer", "adam", "--beta1", "0.8", "--eps", "1e-6"],
            Adam {
                beta1: 0.8,
                beta2: 0.999,
                eps: 1e-6,
            },
        ),
        (
            &["--optimizer", "adamw", "--beta2", "0.99"],
            AdamW {
                beta1: 0.9,
                beta2: 0.99,
                eps: 1e-8,
            },
        ),
    ];
    for (flags, expected) in cases {
        assert_eq!(optimizer_of(flags), Ok(expected), "{flags:?}");
    }
    // Every rule's name is accepted by --optimizer.
    for o in optim::Optimizer::ALL {
        assert_eq!(optimizer_of(&["--optimizer", o.name()]), Ok(o));
    }
}

#[test]
fn an_optimizer_flag_that_does_not_fit_the_rule_is_refused() {
    let dir = temp();
    let base = ["train", "--data", "xor", "--epochs", "1", "-q"];
    let cases: [(&[&str], &str); 9] = [
        (
            &["--optimizer", "adam", "--momentum", "0.9"],
            "--optimizer adam does not take --momentum",
        ),
        (
            &["--optimizer", "adamw", "--nesterov"],
            "--optimizer adamw does not take --nesterov",
        ),
        (
            &["--optimizer", "sgd", "--momentum", "0.5"],
            "--optimizer sgd does not take --momentum",
        ),
        (
            &["--optimizer", "nesterov", "--beta1", "0.8"],
            "--optimizer nesterov does not take --beta1",
        ),
        (
            &["--optimizer", "momentum", "--nesterov"],
            "--optimizer nesterov is Nesterov's",
        ),
        (
            &["--beta2", "0.99"],
            "--beta2 needs --optimizer adam or adamw",
        ),
        (&["--nesterov"], "--nesterov needs --momentum"),
        (&["--optimizer", "rmsprop"], "unknown optimizer \"rmsprop\""),
        (&["--optimizer", "adam", "--beta1", "1"], "--beta1"),
    ];
    for (flags, message) in cases {
        bad(dir.path(), &with(&base, flags), message);
    }
}

#[test]
fn the_report_records_the_optimizer_and_the_header_names_it() {
    let dir = temp();
    let base = [
        "restarts",
        "--data",
        "xor",
        "--restarts",
        "2",
        "--epochs",
        "3",
        "--lr",
        "0.01",
        "-q",
        "--report",
        "r.json",
    ];
    let run = ok(
        dir.path(),
        &with(
            &base,
            &[
                "--optimizer",
                "adamw",
                "--beta1",
                "0.8",
                "--weight-decay",
                "0.01",
            ],
        ),
    );
    assert!(
        run.stdout.contains("; AdamW: lr 0.01, 3 epochs"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("    AdamW (beta1 0.8, beta2 0.999, eps 1e-8), decoupled weight decay 0.01"),
        "{}",
        run.stdout
    );
    let sgd = &json(&dir.path().join("r.json"))["config"]["sgd"];
    assert_eq!(
        sgd["optimizer"],
        serde_json::json!({"kind": "adamw", "beta1": 0.8, "beta2": 0.999, "eps": 1e-8})
    );
    assert_eq!(sgd["weight_decay"], 0.01);
    assert!(sgd.get("momentum").is_none(), "{sgd}");

    // Adam with mini-batches, a schedule, clipping and early stopping runs to the end.
    let run = ok(
        dir.path(),
        &with(
            &base,
            &[
                "--optimizer",
                "adam",
                "--batch-size",
                "2",
                "--schedule",
                "inverse:0.1",
                "--clip-norm",
                "1",
                "--patience",
                "2",
                "--validation",
                "0.25",
            ],
        ),
    );
    assert!(run.stdout.contains("; Adam: lr 0.01"), "{}", run.stdout);
    let sgd = &json(&dir.path().join("r.json"))["config"]["sgd"];
    assert_eq!(sgd["optimizer"]["kind"], "adam");
}

/// Counts the runs of a report whose score is at most `threshold` (diverged runs never).
fn successes_below(report: &Value, threshold: f64) -> usize {
    report["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["diverged"] == false && r["score"].as_f64().is_some_and(|s| s <= threshold))
        .count()
}

#[test]
fn restarts_report_their_statistics_and_stats_recomputes_them() {
    let dir = temp();
    let d = dir.path();
    let run = ok(
        d,
        &[
            "restarts",
            "--data",
            "xor",
            "--restarts",
            "12",
            "--epochs",
            "200",
            "-q",
            "--report",
            "r.json",
        ],
    );
    let report = json(&d.join("r.json"));
    let s = &report["statistics"];
    let success = &s["success"];
    assert_eq!(success["restarts"], 12);
    assert_eq!(success["confidence"], 0.95);
    let criterion = success["criterion"].as_str().expect("a criterion");
    let m = success["count"].as_u64().expect("a count") as usize;
    // The criterion is written in numbers, and counts what it says.
    let threshold = if let Some(x) = criterion.strip_prefix("loss:") {
        x.parse::<f64>().expect("a number")
    } else {
        let eps: f64 = criterion
            .strip_prefix("within:")
            .expect(criterion)
            .parse()
            .expect("eps");
        let best = report["runs"][report["best"]["restart"].as_u64().unwrap() as usize]["score"]
            .as_f64()
            .unwrap();
        (1.0 + eps) * best
    };
    assert_eq!(successes_below(&report, threshold), m, "{criterion}");
    assert_eq!(success["p"].as_f64(), Some(m as f64 / 12.0));
    let interval = success["interval"].as_array().expect("an interval");
    let (lo, hi) = (interval[0].as_f64().unwrap(), interval[1].as_f64().unwrap());
    assert!(lo <= m as f64 / 12.0 && m as f64 / 12.0 <= hi, "{lo} {hi}");
    let curve = s["best_of_k"].as_array().expect("a curve");
    assert_eq!(curve.len(), 12);
    assert_eq!(curve[0]["k"], 1);
    // k = 1 is the mean score; k = R is the best.
    let scores: Vec<f64> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    let mean = scores.iter().sum::<f64>() / 12.0;
    let e1 = curve[0]["expected"].as_f64().unwrap();
    assert!((e1 - mean).abs() <= 1e-12 * mean, "{e1} {mean}");
    let best = scores.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(curve[11]["expected"].as_f64(), Some(best));
    assert!(s["restarts_needed"]["at_p"].is_u64() || m == 0);
    assert!(
        run.stdout.contains(&format!("{m} of 12 restarts")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("restarts needed"), "{}", run.stdout);

    // stats reads the report back, with the same figures by default ...
    let again = ok(d, &["stats", "r.json", "--csv", "k.csv", "--plot", "s.svg"]);
    assert!(
        again.stdout.contains(&format!("{m} of 12 restarts")),
        "{}",
        again.stdout
    );
    let csv = std::fs::read_to_string(d.join("k.csv")).expect("csv written");
    assert_eq!(csv.lines().count(), 13, "{csv}");
    assert!(csv.starts_with("k,expected,p_success\n1,"), "{csv}");
    assert!(std::fs::read_to_string(d.join("s.svg"))
        .expect("svg")
        .starts_with("<svg"));
    // ... and others on demand: every restart succeeds within an infinite-looking margin.
    let all = ok(
        d,
        &[
            "stats",
            "r.json",
            "--success",
            "loss:1e9",
            "--confidence",
            "0.9",
        ],
    );
    assert!(all.stdout.contains("12 of 12 restarts"), "{}", all.stdout);
    assert!(all.stdout.contains("90% interval"), "{}", all.stdout);
    assert!(
        all.stdout
            .contains("1 at p = 1.000 (every restart succeeded)"),
        "{}",
        all.stdout
    );
    let none = ok(d, &["stats", "r.json", "--success", "loss:0"]);
    assert!(none.stdout.contains("none can be given"), "{}", none.stdout);
    bad(
        d,
        &["stats", "r.json", "--success", "best"],
        "expected auto, within:EPS",
    );
    bad(
        d,
        &["stats", "r.json", "--confidence", "1.5"],
        "must be a number in (0, 1)",
    );
    bad(d, &["stats", "missing.json"], "missing.json: cannot read");

    // An older report, without statistics, still loads and gets them.
    let mut old = report.clone();
    old.as_object_mut().unwrap().remove("statistics");
    write(d, "old.json", &old.to_string());
    let from_old = ok(d, &["stats", "old.json"]);
    assert!(
        from_old.stdout.contains(&format!("{m} of 12 restarts")),
        "{}",
        from_old.stdout
    );
}

#[test]
fn stats_of_a_merged_report_equal_those_of_the_whole_run() {
    let dir = temp();
    let d = dir.path();
    let common = [
        "restarts",
        "--data",
        "circles",
        "--restarts",
        "6",
        "--epochs",
        "8",
        "-q",
    ];
    ok(
        d,
        &with(
            &common,
            &["--report", "whole.json", "--success", "within:0.2"],
        ),
    );
    for i in 0..2 {
        let (shard, part) = (format!("{i}/2"), format!("part{i}.json"));
        ok(d, &with(&common, &["--shard", &shard, "--report", &part]));
        assert!(
            json(&d.join(&part)).get("statistics").is_none(),
            "a part has no statistics"
        );
    }
    bad(d, &["stats", "part0.json"], "merge the parts first");
    ok(
        d,
        &[
            "merge",
            "part1.json",
            "part0.json",
            "--report",
            "merged.json",
            "--success",
            "within:0.2",
        ],
    );
    let (whole, merged) = (json(&d.join("whole.json")), json(&d.join("merged.json")));
    assert_eq!(merged["statistics"], whole["statistics"]);
    assert_eq!(merged["statistics"]["success"]["criterion"], "within:0.2");
    let a = ok(d, &["stats", "whole.json", "--success", "accuracy:0.8"]);
    let b = ok(d, &["stats", "merged.json", "--success", "accuracy:0.8"]);
    let body = |t: &str| t.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&a.stdout), body(&b.stdout));
    assert!(a.stdout.contains("accuracy:0.8"), "{}", a.stdout);
    // accuracy:X needs classes.
    ok(
        d,
        &[
            "restarts",
            "--data",
            "sine",
            "--restarts",
            "2",
            "--epochs",
            "2",
            "-q",
            "--report",
            "sine.json",
        ],
    );
    bad(
        d,
        &["stats", "sine.json", "--success", "accuracy:0.5"],
        "only classification has",
    );
}

#[test]
fn an_output_never_replaces_an_input() {
    let dir = temp();
    let d = dir.path();
    let data = "a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n";
    write(d, "xor.csv", data);
    // A link to the data, and a hard link.
    #[cfg(unix)]
    std::os::unix::fs::symlink(d.join("xor.csv"), d.join("link.csv")).expect("symlink");
    std::fs::hard_link(d.join("xor.csv"), d.join("hard.csv")).expect("hard link");
    let untouched = |args: &[&str]| {
        assert_eq!(
            std::fs::read_to_string(d.join("xor.csv")).unwrap(),
            data,
            "{args:?}"
        );
    };
    let train = [
        "train", "--data", "xor.csv", "--target", "y", "--epochs", "1", "-q",
    ];
    for (out, shown) in [
        ("xor.csv", "xor.csv"),
        ("./xor.csv", "./xor.csv"),
        ("link.csv", "link.csv"),
        ("hard.csv", "hard.csv"),
    ] {
        let args = with(&train, &["--out", out]);
        bad(
            d,
            &args,
            &format!("{shown}: --out names the input --data xor.csv"),
        );
        untouched(&args);
    }
    let args = with(&train, &["--boundary", "link.csv"]);
    bad(
        d,
        &args,
        "link.csv: --boundary names the input --data xor.csv",
    );
    untouched(&args);
    for flag in ["--report", "--plot", "--out", "--boundary"] {
        let args = [
            "restarts",
            "--data",
            "xor.csv",
            "--target",
            "y",
            "--restarts",
            "2",
            "--epochs",
            "1",
            "-q",
            flag,
            "xor.csv",
        ];
        bad(
            d,
            &args,
            &format!("xor.csv: {flag} names the input --data xor.csv"),
        );
        untouched(&args);
    }
    ok(d, &with(&train, &["--out", "m.json"]));
    let model = std::fs::read_to_string(d.join("m.json")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("m.json", d.join("m-link.json")).expect("symlink");
    bad(
        d,
        &with(&train, &["--from", "m.json", "--out", "m-link.json"]),
        "m-link.json: --out names the input --from m.json",
    );
    bad(
        d,
        &[
            "predict", "--model", "m.json", "--data", "xor.csv", "--out", "m.json",
        ],
        "m.json: --out names the input --model m.json",
    );
    bad(
        d,
        &[
            "predict", "--model", "m.json", "--data", "xor.csv", "--out", "xor.csv",
        ],
        "xor.csv: --out names the input --data xor.csv",
    );
    assert_eq!(std::fs::read_to_string(d.join("m.json")).unwrap(), model);
    untouched(&["predict"]);
    for i in 0..2 {
        let (shard, part) = (format!("{i}/2"), format!("part{i}.json"));
        ok(
            d,
            &[
                "restarts",
                "--restarts",
                "2",
                "--epochs",
                "2",
                "-q",
                "--shard",
                &shard,
                "--report",
                &part,
            ],
        );
    }
    let part1 = std::fs::read_to_string(d.join("part1.json")).unwrap();
    bad(
        d,
        &[
            "merge",
            "part0.json",
            "part1.json",
            "--report",
            "part1.json",
        ],
        "part1.json: --report names the input part part1.json",
    );
    assert_eq!(
        std::fs::read_to_string(d.join("part1.json")).unwrap(),
        part1
    );
    ok(
        d,
        &["merge", "part0.json", "part1.json", "--report", "r.json"],
    );
    bad(
        d,
        &["stats", "r.json", "--csv", "./r.json"],
        "./r.json: --csv names the input REPORT r.json",
    );
    bad(
        d,
        &["stats", "r.json", "--csv", "s.svg", "--plot", "s.svg"],
        "s.svg: given to both --csv and --plot",
    );
    // Two outputs that are one file through a link.
    #[cfg(unix)]
    {
        std::fs::write(d.join("p.svg"), "old").unwrap();
        std::os::unix::fs::symlink("p.svg", d.join("p-link.svg")).expect("symlink");
        bad(
            d,
            &[
                "restarts",
                "--restarts",
                "2",
                "--epochs",
                "1",
                "-q",
                "--plot",
                "p.svg",
                "--boundary",
                "p-link.svg",
            ],
            "p-link.svg: given to both --plot p.svg and --boundary",
        );
    }
}

#[test]
fn the_plot_notes_a_zero_init_run_far_off_the_restarts_instead_of_stretching_its_axis() {
    let dir = temp();
    let d = dir.path();
    ok(
        d,
        &[
            "restarts",
            "--restarts",
            "4",
            "--epochs",
            "30",
            "-q",
            "--report",
            "r.json",
            "--plot",
            "near.svg",
        ],
    );
    // The same experiment as one shard, with a zero-init run far above the restarts.
    let mut report = json(&d.join("r.json"));
    report["shard"] = serde_json::json!({"index": 0, "count": 1});
    report["baseline"]["score"] = serde_json::json!(5000.0);
    report["baseline"]["final_train_loss"] = serde_json::json!(5000.0);
    write(d, "part.json", &report.to_string());
    ok(d, &["merge", "part.json", "--plot", "far.svg"]);
    let far = std::fs::read_to_string(d.join("far.svg")).unwrap();
    assert!(
        far.contains("zero init: 5000 \u{2192}"),
        "a note at the right edge"
    );
    // The axis keeps to the restarts: no tick label near 5000.
    assert!(
        !far.contains(">5000<") && !far.contains(">1000<"),
        "the axis is not stretched"
    );
    let near = std::fs::read_to_string(d.join("near.svg")).unwrap();
    assert!(
        !near.contains("zero init: "),
        "no note when the run lies among the restarts"
    );
}

#[test]
fn dtype_f32_trains_is_recorded_and_is_the_same_on_any_thread_count() {
    let dir = temp();
    let common = [
        "restarts",
        "--data",
        "spirals",
        "--restarts",
        "4",
        "--epochs",
        "5",
        "-q",
    ];
    for (dtype, threads) in [("f32", "1"), ("f32", "2"), ("f64", "2")] {
        ok(
            dir.path(),
            &with(
                &common,
                &[
                    "--dtype",
                    dtype,
                    "--threads",
                    threads,
                    "--report",
                    &format!("{dtype}-{threads}.json"),
                ],
            ),
        );
    }
    let report = |name: &str| without_timings(&json(&dir.path().join(name)));
    let (one, two, wide) = (
        report("f32-1.json"),
        report("f32-2.json"),
        report("f64-2.json"),
    );
    assert_eq!(one, two, "f32: the same report on one and two threads");
    assert_eq!(one["config"]["dtype"], "f32");
    assert_eq!(wide["config"]["dtype"], "f64");
    let losses = |r: &Value| -> Vec<f64> {
        r["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|run| run["final_train_loss"].as_f64().expect("a loss"))
            .collect()
    };
    let (narrow, wide) = (losses(&one), losses(&wide));
    assert_eq!(narrow.len(), 4);
    // f32 trains: the losses are finite and close to f64's, yet not the same numbers.
    for (a, b) in narrow.iter().zip(&wide) {
        assert!(
            a.is_finite() && (a - b).abs() < 0.05 * b.abs().max(0.1),
            "{a} vs {b}"
        );
    }
    assert_ne!(narrow, wide, "f32 computes in f32");
    // train takes the flag too and writes a model that loads.
    ok(
        dir.path(),
        &[
            "train", "--data", "xor", "--epochs", "20", "--dtype", "f32", "--out", "m.json", "-q",
        ],
    );
    assert!(Model::load(&dir.path().join("m.json")).is_ok());
    bad(
        dir.path(),
        &["train", "--data", "xor", "--dtype", "f16"],
        "f16",
    );
}

/// The number after `prefix` in `text`, up to the next space.
fn number_after(text: &str, prefix: &str) -> f64 {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} in {text}"))
        + prefix.len();
    text[at..]
        .split([' ', ',', ')', '\n'])
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number after {prefix:?} in {text}"))
}

#[test]
fn train_prints_the_settings_that_ran() {
    let dir = temp();
    classes_csv(dir.path());
    // A CSV without flags: the measured defaults, batches capped at the 54 training rows.
    let run = ok(
        dir.path(),
        &[
            "train",
            "--data",
            "classes.csv",
            "--target",
            "label",
            "--drop",
            "id",
            "-q",
        ],
    );
    assert_eq!(
        run.stdout.lines().next(),
        Some(
            "settings: network 2-100-2 (relu hidden, softmax output, xavier init), optimizer adam \
             (beta1 0.9, beta2 0.999, eps 1e-8), lr 0.001, batch size 54, 200 epochs, early \
             stopping (patience 10), validation 0.1 (6 rows), refit on all rows"
        ),
        "{}",
        run.stdout
    );
    // Flags override the defaults one by one; another rule takes the lecture's rate.
    let run = ok(
        dir.path(),
        &[
            "train",
            "--data",
            "classes.csv",
            "--target",
            "label",
            "--drop",
            "id",
            "-q",
            "--optimizer",
            "momentum",
            "--validation",
            "0",
            "--epochs",
            "3",
            "--hidden",
            "4",
        ],
    );
    assert!(
        run.stdout.starts_with(
            "settings: network 2-4-2 (relu hidden, softmax output, xavier init), optimizer momentum \
             (mu 0.9), lr 0.05, batch size 60, 3 epochs, no early stopping, no validation, no refit\n"
        ),
        "{}",
        run.stdout
    );
    // A built-in dataset keeps the lecture's per-sample SGD.
    let run = ok(dir.path(), &["train", "--data", "xor", "-q"]);
    assert!(
        run.stdout.starts_with(
            "settings: network 2-2-2 (sigmoid hidden, sigmoid output, xavier init), optimizer \
             sgd, lr 0.5, batch size 1, 300 epochs, no early stopping, no validation, no refit\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn refit_trains_the_chosen_restart_again_on_all_rows() {
    let dir = temp();
    classes_csv(dir.path());
    let args = [
        "train",
        "--data",
        "classes.csv",
        "--target",
        "label",
        "--drop",
        "id",
        "-q",
        "--restarts",
        "3",
        "--epochs",
        "40",
        "--patience",
        "5",
        "--validation",
        "0.25",
    ];
    let refit = ok(dir.path(), &with(&args, &["--refit", "--out", "r.json"]));
    let kept = ok(dir.path(), &with(&args, &["--no-refit", "--out", "n.json"]));
    // Both runs choose the same restart and epoch on the validation rows.
    let best = |out: &str| number_after(out, "(kept the weights after epoch ");
    assert_eq!(best(&refit.stdout), best(&kept.stdout));
    let epochs = best(&refit.stdout) as u64;
    let restart = number_after(&refit.stdout, "best of 3 restarts: restart ") as u64;
    assert!(
        refit.stdout.contains(&format!(
            "refit: restart {restart}'s initialization trained again on all 60 rows for {epochs} epochs"
        )),
        "{}",
        refit.stdout
    );
    assert!(!kept.stdout.contains("refit:"), "{}", kept.stdout);
    // The refit model ran that many epochs on all rows, without early stopping.
    let (r, n) = (
        json(&dir.path().join("r.json")),
        json(&dir.path().join("n.json")),
    );
    let provenance = &r["provenance"];
    assert_eq!(provenance["epochs"], epochs, "{provenance}");
    assert_eq!(provenance["training"]["epochs"], epochs, "{provenance}");
    assert_eq!(
        provenance["training"]["patience"],
        Value::Null,
        "{provenance}"
    );
    assert_eq!(n["provenance"]["training"]["patience"], 5);
    assert_ne!(
        r["layers"], n["layers"],
        "the refit model is another network"
    );
    // Without validation rows there is nothing to refit after.
    bad(
        dir.path(),
        &[
            "train",
            "--data",
            "classes.csv",
            "--target",
            "label",
            "--drop",
            "id",
            "--refit",
            "--validation",
            "0",
        ],
        "--refit trains again on all rows",
    );
}

#[test]
fn train_says_when_the_validation_rows_cannot_tell_restarts_apart() {
    let dir = temp();
    // Labels that no input predicts: every restart is as good as another on 8 rows.
    let mut text = String::from("a,b,label\n");
    for i in 0..40u64 {
        let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 61;
        text.push_str(&format!(
            "{},{},{}\n",
            i % 7,
            i % 5,
            if h % 2 == 0 { "x" } else { "y" }
        ));
    }
    write(dir.path(), "noise.csv", &text);
    let run = ok(
        dir.path(),
        &[
            "train",
            "--data",
            "noise.csv",
            "--target",
            "label",
            "-q",
            "--restarts",
            "8",
            "--validation",
            "0.2",
            "--epochs",
            "20",
        ],
    );
    assert!(
        run.stdout
            .contains("note: 8 validation rows are too few to tell the restarts apart"),
        "{}",
        run.stdout
    );
}

#[test]
fn evaluate_reports_r2_as_a_hand_computation_gives_it() {
    let dir = temp();
    let mut text = String::from("x,u,v\n");
    for i in 0..50 {
        let x = f64::from(i) / 10.0;
        text.push_str(&format!("{x},{},{}\n", x * x, (3.0 * x).sin()));
    }
    write(dir.path(), "r.csv", &text);
    ok(
        dir.path(),
        &[
            "train", "--data", "r.csv", "--target", "u,v", "-q", "--epochs", "30", "--out",
            "m.json",
        ],
    );
    let eval = ok(
        dir.path(),
        &["evaluate", "--model", "m.json", "--data", "r.csv"],
    );
    let predicted = ok(
        dir.path(),
        &["predict", "--model", "m.json", "--data", "r.csv"],
    );
    let rows: Vec<Vec<f64>> = predicted
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|n| n.parse().expect("a number")).collect())
        .collect();
    let truth: Vec<[f64; 2]> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|n| n.parse().expect("a number")).collect();
            [f[1], f[2]]
        })
        .collect();
    let mut r2s = Vec::new();
    for (j, name) in ["u", "v"].iter().enumerate() {
        let mean = truth.iter().map(|t| t[j]).sum::<f64>() / 50.0;
        let res: f64 = rows
            .iter()
            .zip(&truth)
            .map(|(p, t)| (p[j] - t[j]).powi(2))
            .sum();
        let tot: f64 = truth.iter().map(|t| (t[j] - mean).powi(2)).sum();
        let r2 = 1.0 - res / tot;
        let printed = number_after(&eval.stdout, &format!("RMSE of {name} "));
        assert!((printed - (res / 50.0).sqrt()).abs() <= 1e-3 * printed.max(1e-3));
        let line = eval
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("RMSE of {name} ")))
            .expect("a line per target");
        let printed = number_after(line, ", R² ");
        assert!(
            (printed - r2).abs() < 1e-4,
            "{printed} vs {r2}: {}",
            eval.stdout
        );
        r2s.push(r2);
    }
    let mean = number_after(&eval.stdout, "mean R² ");
    assert!(
        (mean - (r2s[0] + r2s[1]) / 2.0).abs() < 1e-4,
        "{}",
        eval.stdout
    );
    assert!(eval.stdout.contains(" over 2 targets\n"), "{}", eval.stdout);
}
