//! The CSV reader: bytes to the `f64` matrix a network trains on, on the shape of
//! `benches/reader.sh` (21 numeric columns, numbers of 8 characters, an integer class last) at
//! 20,000 rows, plain and gzip-compressed, and with every field quoted (which the fast reader
//! leaves to the csv crate). Throughput is in bytes of the plain CSV text, the same rows in each
//! case.
//!
//! For the full-size comparison with pandas (1,000,000 rows, peak memory), run
//! `benches/reader.sh`.

use std::hint::black_box;
use std::io::Write as _;

use backprop_cli::data::{Labeled, ReadOptions, Selection, Table};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const ROWS: usize = 20_000;
const COLUMNS: usize = 21;

/// The CSV text: `x0..x19` uniform in [0, 1) with six decimals, then `y` in 0..10; a fixed
/// linear congruential sequence, so every run reads the same bytes.
fn csv_text() -> Vec<u8> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut text = Vec::new();
    let names: Vec<String> = (0..COLUMNS - 1).map(|k| format!("x{k}")).collect();
    writeln!(text, "{},y", names.join(",")).expect("write to memory");
    for _ in 0..ROWS {
        for _ in 0..COLUMNS - 1 {
            write!(text, "{:.6},", (next() % 1_000_000) as f64 / 1e6).expect("write to memory");
        }
        writeln!(text, "{}", next() % 10).expect("write to memory");
    }
    text
}

fn reader(c: &mut Criterion) {
    let text = csv_text();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).expect("gzip in memory");
    let gz = gz.finish().expect("gzip in memory");
    let quoted: Vec<u8> = String::from_utf8(text.clone())
        .expect("ASCII")
        .lines()
        .map(|line| {
            let fields: Vec<String> = line.split(',').map(|f| format!("\"{f}\"")).collect();
            fields.join(",") + "\n"
        })
        .collect::<String>()
        .into_bytes();
    let mut group = c.benchmark_group("csv_reader");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("table", |b| {
        b.iter(|| {
            let t = Table::read_csv(black_box(text.as_slice()), "b.csv", &ReadOptions::default())
                .expect("valid CSV");
            black_box(t.len())
        });
    });
    group.bench_function("table_and_samples", |b| {
        b.iter(|| {
            let t = Table::read_csv(black_box(text.as_slice()), "b.csv", &ReadOptions::default())
                .expect("valid CSV");
            let data = Labeled::from_table(t, &Selection::default()).expect("valid data");
            black_box(data.len())
        });
    });
    group.bench_function("table_quoted", |b| {
        b.iter(|| {
            let t = Table::read_csv(
                black_box(quoted.as_slice()),
                "q.csv",
                &ReadOptions::default(),
            )
            .expect("valid CSV");
            black_box(t.len())
        });
    });
    group.bench_function("table_gzip", |b| {
        b.iter(|| {
            let t = Table::read_csv(
                black_box(gz.as_slice()),
                "b.csv.gz",
                &ReadOptions::default(),
            )
            .expect("valid CSV");
            black_box(t.len())
        });
    });
    group.finish();
}

criterion_group!(benches, reader);
criterion_main!(benches);
