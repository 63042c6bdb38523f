//! What a restart experiment holds in memory: the dataset is shared by every restart, never copied,
//! and the memory grows with the number of restarts only by one network and its record a restart.
//!
//! Its own test binary, with one test, because it counts the bytes every thread holds (rayon's
//! workers allocate the restarts' buffers), which other tests running at once would disturb.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use backprop::activations::Activation;
use backprop::linalg::Matrix;
use backprop::network::{Loss, Network};
use backprop::optim::{run_restarts, Dataset, NoObserver, RestartConfig, SgdConfig};

/// The system allocator, keeping the bytes held by the process and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are atomics
// that never allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The bytes `f` leaves held (in what it returns) and the most it held at once, above what was
/// held before it.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let out = f();
    let held = LIVE.load(Ordering::SeqCst).saturating_sub(before);
    let peak = PEAK.load(Ordering::SeqCst) - before;
    (out, held, peak)
}

#[test]
fn restarts_share_the_dataset_and_grow_by_a_network_each() {
    // 4,000 samples of 64 inputs: 2 MB, far more than the network and its buffers.
    let (inputs, m) = (64, 4000);
    let x = Matrix::from_fn(inputs, m, |i, j| ((i * 7 + j * 13) % 29) as f64 / 29.0);
    let y = Matrix::from_fn(1, m, |_, j| (j % 2) as f64);
    let data = Dataset::new(x, y).unwrap();
    let data_bytes = (inputs + 1) * m * size_of::<f64>();
    let template = Network::builder(inputs)
        .loss(Loss::Squared)
        .layer(4, Activation::Sigmoid)
        .layer(1, Activation::Sigmoid)
        .build::<f64>()
        .unwrap();
    let (_, network_bytes, _) = measure(|| template.clone());

    let run = |restarts: usize, threads: usize| {
        let cfg = RestartConfig {
            restarts,
            threads,
            seed: 3,
            sgd: SgdConfig {
                epochs: 2,
                ..Default::default()
            },
            ..Default::default()
        };
        let (experiment, held, peak) =
            measure(|| run_restarts(&template, &data, None, &cfg, &NoObserver).unwrap());
        assert_eq!(experiment.runs.len(), restarts);
        (held, peak)
    };
    let (few, many) = (2, 34);

    // On 1 thread, where the buffers alive at the peak do not depend on timing: what is kept grows
    // by one network and its record (summary, loss history) a restart, and the peak by no more,
    // so the buffers of a finished restart are freed, not kept. (A pool's threads may still be
    // freeing their own state after `run_restarts` returns; that can only lower what the next
    // measurement counts, so the run with the fewest restarts comes first.)
    let (held_few, peak_few) = run(few, 1);
    let (held_many, peak_many) = run(many, 1);
    let per_restart = network_bytes + 1024;
    let grown = |a: usize, b: usize| b.saturating_sub(a) as f64 / (many - few) as f64;
    assert!(
        grown(held_few, held_many) <= per_restart as f64,
        "kept {} B more a restart, against a network of {network_bytes} B",
        grown(held_few, held_many)
    );
    assert!(
        grown(peak_few, peak_many) <= per_restart as f64,
        "peak {} B more a restart, against a network of {network_bytes} B",
        grown(peak_few, peak_many)
    );
    // And it does keep them: the experiment returns every restart's network.
    assert!(held_many >= many * network_bytes, "{held_many} B held");

    // Never a copy of the dataset, not even one per thread: everything a run of 34 restarts on 2
    // threads holds at its peak (34 networks and records, both threads' buffers and sample orders)
    // is less than half of it.
    let (_, peak_parallel) = run(many, 2);
    assert!(
        peak_parallel < data_bytes / 2,
        "peak {peak_parallel} B above the dataset's {data_bytes} B / 2"
    );
}
