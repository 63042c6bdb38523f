//! How well the restarts scale from 1 to 2 threads on this machine, told apart from how well the
//! machine itself runs two things at once.
//!
//! The same work as `cargo bench --bench restarts` (16-32-4, 500 samples, 128,000 training samples
//! in all, as R restarts of 256 / R epochs) is timed in alternation, round after round:
//!
//! - on 1 thread;
//! - on 2 threads (`run_restarts` with `threads: 2`);
//! - as two processes at once, each running half the restarts on 1 thread: the machine's own
//!   scaling, with nothing shared between the two halves.
//!
//! The medians of the ratios (1 thread's time over each of the others) are printed at the end, and
//! the ratios of each way's fastest round (the round the rest of the machine disturbed least). On a
//! shared machine whose cores slow down when both are busy, the 2-thread ratio can be no better
//! than the two processes'; when the two are equal, the program adds nothing of its own.
//!
//! ```sh
//! cargo run --release -p backprop-optim --example restart_scaling -- [RESTARTS] [ROUNDS]
//! ```
//! (16 restarts and 15 rounds by default.)

use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use backprop_network::{Activation, Loss, Network};
use backprop_optim::{run_restarts, Dataset, NoObserver, RestartConfig, SgdConfig};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Training samples in all, over every restart and epoch.
const WORK: usize = 256 * 500;

/// The bench's data: 500 samples of 16 uniform inputs, one-hot targets over 4 classes.
fn data() -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let x: Vec<Vec<f64>> = (0..500)
        .map(|_| (0..16).map(|_| rng.random::<f64>()).collect())
        .collect();
    let y: Vec<Vec<f64>> = (0..500)
        .map(|k| (0..4).map(|c| f64::from(u8::from(c == k % 4))).collect())
        .collect();
    Dataset::from_rows(&x, &y).expect("rows of equal length")
}

/// Seconds for `restarts` restarts of `epochs` epochs on `threads` threads.
fn time(data: &Dataset, restarts: usize, epochs: usize, threads: usize) -> f64 {
    let template = Network::builder(16)
        .loss(Loss::Squared)
        .layer(32, Activation::Sigmoid)
        .layer(4, Activation::Sigmoid)
        .build::<f64>()
        .expect("a valid network");
    let cfg = RestartConfig {
        restarts,
        threads,
        seed: 1,
        sgd: SgdConfig {
            epochs,
            ..Default::default()
        },
        ..Default::default()
    };
    let start = Instant::now();
    run_restarts(&template, data, None, &cfg, &NoObserver).expect("a valid experiment");
    start.elapsed().as_secs_f64()
}

/// Seconds from a common start until both of two processes have run `restarts` restarts each on
/// 1 thread. Both are given the same start, a moment after they are launched, and wait for it with
/// their data made, so that neither runs alone while the other starts up (which would flatter
/// them); each reports when it finished, on the clock both share.
fn two_processes(restarts: usize, epochs: usize) -> f64 {
    let exe = std::env::current_exe().expect("the example's own path");
    let start = now() + 0.1;
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args(["--child", &restarts.to_string(), &epochs.to_string()])
                .arg(start.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .expect("a child process")
        })
        .collect();
    let mut end = 0.0_f64;
    for child in children {
        let out = child.wait_with_output().expect("the child's output");
        let text = String::from_utf8_lossy(&out.stdout);
        let (child_end, late) = text
            .trim()
            .split_once(' ')
            .expect("the child's end and lateness");
        let late: f64 = late.parse().expect("the child's lateness");
        if late > 0.0 {
            eprintln!(
                "warning: a child began {:.1} ms after the common start; this round's 2-process time includes it",
                late * 1e3
            );
        }
        end = end.max(child_end.parse().expect("the child's end"));
    }
    end - start
}

/// Seconds since the Unix epoch: a clock that every process of the machine reads alike.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = data();
    if args.first().map(String::as_str) == Some("--child") {
        let (restarts, epochs) = (args[1].parse().unwrap(), args[2].parse().unwrap());
        let start: f64 = args[3].parse().unwrap();
        let late = now() - start;
        while now() < start {
            std::hint::spin_loop();
        }
        time(&data, restarts, epochs, 1);
        println!("{} {}", now(), late.max(0.0));
        return;
    }
    let restarts: usize = args.first().map_or(16, |s| s.parse().expect("RESTARTS"));
    let rounds: usize = args.get(1).map_or(15, |s| s.parse().expect("ROUNDS"));
    assert!(
        restarts >= 2 && restarts.is_multiple_of(2),
        "RESTARTS: an even number"
    );
    let epochs = (WORK / 500 / restarts).max(1);
    println!("{restarts} restarts of {epochs} epochs, {rounds} rounds (times in ms)");
    let (mut threads, mut processes) = (vec![], vec![]);
    // The fastest time of each way: the round least disturbed by the rest of the machine.
    let mut best = [f64::INFINITY; 3];
    for round in 0..rounds {
        let one = time(&data, restarts, epochs, 1);
        let two = time(&data, restarts, epochs, 2);
        let apart = two_processes(restarts / 2, epochs);
        println!(
            "round {round:>2}: 1 thread {:6.1}, 2 threads {:6.1} ({:.2}), 2 processes {:6.1} ({:.2})",
            one * 1e3,
            two * 1e3,
            one / two,
            apart * 1e3,
            one / apart
        );
        threads.push(one / two);
        processes.push(one / apart);
        for (b, t) in best.iter_mut().zip([one, two, apart]) {
            *b = b.min(t);
        }
    }
    println!(
        "median ratio to 1 thread: 2 threads {:.2}, 2 processes {:.2}",
        median(threads),
        median(processes)
    );
    println!(
        "fastest of each: 1 thread {:.1}, 2 threads {:.1} ({:.2}), 2 processes {:.1} ({:.2})",
        best[0] * 1e3,
        best[1] * 1e3,
        best[0] / best[1],
        best[2] * 1e3,
        best[0] / best[2]
    );
}
