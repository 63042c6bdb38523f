//! The kernel bodies: plain safe loops over `chunks_exact`, written so that the compiler vectorizes
//! them, and marked `#[inline(always)]` so that [`crate::simd`] can compile each one twice (for the
//! baseline target and for AVX2) from the same source.
//!
//! Shapes are checked by the public wrappers; here a matrix is its column-major slice and its
//! number of rows (`rows > 0`). Columns are processed four at a time, so that a vector read by
//! every column (`v` in `W^T v`, `x` in `W += a x y^T`, `out` in `W d`) is loaded once per four
//! columns, while each column's own arithmetic stays exactly that of the one-column kernel: every
//! kernel here gives the same bits as its one-column definition, whatever the blocking and
//! whatever the instruction set (no fused multiply-add: a product is rounded, then added).
//!
//! Dot products sum in `N` interleaved lanes (lane `r` takes the entries `r, r + N, r + 2N, ...`),
//! reduce the lanes in a fixed tree, then add the tail entries in order. `N` is 8 for `f64`; for
//! `f32` it is 16 (two 256-bit registers, so that two chains of adds hide their latency), except
//! for vectors shorter than 16, which sum in 8 lanes like `f64`: with 16 lanes they would have no
//! full chunk, and all their entries would add in one chain; with 8, those of 8 to 15 entries
//! sum in a tree ([`lanes`]). [`dot`] defines the
//! order; [`gemv_tr`] and [`ger_gemv_tr`] follow it column by column.

use crate::Real;

/// Calls `$f::<T, N>(args)` with the lane count of a dot product of `T` over `$len` entries
/// ([`lanes`]).
macro_rules! with_lanes {
    ($T:ty, $len:expr, $f:ident($($arg:expr),* $(,)?)) => {
        if $crate::kernels::lanes::<$T>($len) == 8 {
            $f::<$T, 8>($($arg),*)
        } else {
            $f::<$T, 16>($($arg),*)
        }
    };
}

/// Vectors shorter than this have 8 lanes in every type.
pub(crate) const SHORT: usize = 16;

/// The lane count of a dot product of `T` over `len` entries: 8 for `f64`; for `f32`, 16, or 8
/// for a vector shorter than [`SHORT`]. (Measured on the lecture's 2-8-1 network in `f32`, whose
/// output sums 8 entries: 4 % more steps per second than with those entries added in order.)
#[inline(always)]
pub(crate) const fn lanes<T>(len: usize) -> usize {
    if std::mem::size_of::<T>() == 8 || len < SHORT {
        8
    } else {
        16
    }
}

/// Columns per block.
const BLOCK: usize = 4;

/// `N` entries copied into a local array: loads, so that the arithmetic on them is register
/// arithmetic that the compiler vectorizes (it cannot always prove that slices do not overlap).
#[inline(always)]
fn load<T: Real, const N: usize>(chunk: &[T]) -> [T; N] {
    let mut a = [T::zero(); N];
    a.copy_from_slice(chunk);
    a
}

/// The lanes summed in a fixed tree: sixteen lanes first fold lane `r + 8` into lane `r`, then
/// eight lanes sum as `((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7))`.
#[inline(always)]
pub(crate) fn reduce<T: Real>(acc: &[T]) -> T {
    debug_assert!(acc.len() == 8 || acc.len() == 16);
    let mut a = [T::zero(); 8];
    a.copy_from_slice(&acc[..8]);
    if acc.len() == 16 {
        for r in 0..8 {
            a[r] += acc[r + 8];
        }
    }
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// `a · b` (equal lengths).
#[inline(always)]
pub(crate) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    with_lanes!(T, a.len(), dot_n(a, b))
}

/// `a · b` for vectors shorter than the lane count: with no full chunk the lanes stay zero, their
/// sum is +0, and the entries add to it in order, so this is [`dot_n`]'s sum without its lanes.
#[inline(always)]
pub(crate) fn dot_short<T: Real>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |sum, (&x, &y)| sum + x * y)
}

#[inline(always)]
fn dot_n<T: Real, const N: usize>(a: &[T], b: &[T]) -> T {
    if a.len() < N {
        return dot_short(a, b);
    }
    let mut acc = [T::zero(); N];
    let (a_chunks, b_chunks) = (a.chunks_exact(N), b.chunks_exact(N));
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        let (x, y) = (load::<T, N>(x), load::<T, N>(y));
        for r in 0..N {
            acc[r] += x[r] * y[r];
        }
    }
    let mut sum = reduce(&acc[..]);
    for (&x, &y) in a_tail.iter().zip(b_tail) {
        sum += x * y;
    }
    sum
}

/// `y += a x` (equal lengths).
#[inline(always)]
pub(crate) fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `a = a ⊙ b`.
#[inline(always)]
pub(crate) fn hadamard_mut<T: Real>(a: &mut [T], b: &[T]) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x *= y;
    }
}

/// `out = a ⊙ b`.
#[inline(always)]
pub(crate) fn hadamard_to<T: Real>(out: &mut [T], a: &[T], b: &[T]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x * y;
    }
}

/// The four columns of a block of `4 * rows` entries.
#[inline(always)]
fn split4<T>(block: &[T], rows: usize) -> [&[T]; BLOCK] {
    let (c0, rest) = block.split_at(rows);
    let (c1, rest) = rest.split_at(rows);
    let (c2, c3) = rest.split_at(rows);
    [c0, c1, c2, c3]
}

/// The four columns of a block, mutable.
#[inline(always)]
fn split4_mut<T>(block: &mut [T], rows: usize) -> [&mut [T]; BLOCK] {
    let (c0, rest) = block.split_at_mut(rows);
    let (c1, rest) = rest.split_at_mut(rows);
    let (c2, c3) = rest.split_at_mut(rows);
    [c0, c1, c2, c3]
}

/// `out = W^T v`, `W` given as its column-major slice with `rows = v.len()` rows; columns are
/// visited last to first when `reverse` (the results do not depend on the order).
#[inline(always)]
pub(crate) fn gemv_tr<T: Real>(out: &mut [T], w: &[T], v: &[T], reverse: bool) {
    with_lanes!(T, v.len(), gemv_tr_n(out, w, v, reverse))
}

#[inline(always)]
fn gemv_tr_n<T: Real, const N: usize>(out: &mut [T], w: &[T], v: &[T], reverse: bool) {
    let rows = v.len();
    let blocks = out.len() / BLOCK;
    let (out_blocks, out_rest) = out.split_at_mut(blocks * BLOCK);
    let (w_blocks, w_rest) = w.split_at(blocks * BLOCK * rows);
    let pairs = out_blocks
        .chunks_exact_mut(BLOCK)
        .zip(w_blocks.chunks_exact(BLOCK * rows));
    let rest = out_rest.iter_mut().zip(w_rest.chunks_exact(rows));
    // Plain loops, not closures: a closure would be compiled apart from this function, without
    // its target features.
    if reverse {
        for (o, w_j) in rest.rev() {
            *o = dot_n::<T, N>(w_j, v);
        }
        for (o, w4) in pairs.rev() {
            o.copy_from_slice(&dot4::<T, N>(split4(w4, rows), v));
        }
    } else {
        for (o, w4) in pairs {
            o.copy_from_slice(&dot4::<T, N>(split4(w4, rows), v));
        }
        for (o, w_j) in rest {
            *o = dot_n::<T, N>(w_j, v);
        }
    }
}

/// Four dot products `c_k · v`, each summed exactly as [`dot_n`] sums it.
#[inline(always)]
fn dot4<T: Real, const N: usize>(c: [&[T]; BLOCK], v: &[T]) -> [T; BLOCK] {
    let mut acc = [[T::zero(); N]; BLOCK];
    let v_chunks = v.chunks_exact(N);
    let tail = v_chunks.remainder();
    let chunks = v_chunks
        .zip(c[0].chunks_exact(N))
        .zip(c[1].chunks_exact(N))
        .zip(c[2].chunks_exact(N))
        .zip(c[3].chunks_exact(N));
    for ((((x, w0), w1), w2), w3) in chunks {
        let x = load::<T, N>(x);
        let w = [load::<T, N>(w0), load(w1), load(w2), load(w3)];
        for k in 0..BLOCK {
            for r in 0..N {
                acc[k][r] += w[k][r] * x[r];
            }
        }
    }
    let start = v.len() - tail.len();
    let mut sums = [T::zero(); BLOCK];
    for k in 0..BLOCK {
        let mut sum = reduce(&acc[k][..]);
        for (&w, &x) in c[k][start..].iter().zip(tail) {
            sum += w * x;
        }
        sums[k] = sum;
    }
    sums
}

/// `out = W d` with `rows = out.len()` rows: `out = 0`, then `out += d_j w_j` for `j = 0, 1, ...`.
#[inline(always)]
pub(crate) fn gemv<T: Real>(out: &mut [T], w: &[T], d: &[T]) {
    let rows = out.len();
    out.fill(T::zero());
    let blocks = d.len() / BLOCK;
    let (d_blocks, d_rest) = d.split_at(blocks * BLOCK);
    let (w_blocks, w_rest) = w.split_at(blocks * BLOCK * rows);
    for (d4, w4) in d_blocks
        .chunks_exact(BLOCK)
        .zip(w_blocks.chunks_exact(BLOCK * rows))
    {
        let [c0, c1, c2, c3] = split4(w4, rows);
        let (d0, d1, d2, d3) = (d4[0], d4[1], d4[2], d4[3]);
        for ((((o, &w0), &w1), &w2), &w3) in out.iter_mut().zip(c0).zip(c1).zip(c2).zip(c3) {
            // The same sums, in the same order, as four separate `out += d_j w_j`.
            let mut s = *o;
            s += d0 * w0;
            s += d1 * w1;
            s += d2 * w2;
            s += d3 * w3;
            *o = s;
        }
    }
    for (&d_j, w_j) in d_rest.iter().zip(w_rest.chunks_exact(rows)) {
        axpy(out, d_j, w_j);
    }
}

/// `W += a x y^T` with `rows = x.len()` rows: column `j` gets `(a y_j) x`.
#[inline(always)]
pub(crate) fn ger<T: Real>(w: &mut [T], a: T, x: &[T], y: &[T]) {
    let rows = x.len();
    let blocks = y.len() / BLOCK;
    let (y_blocks, y_rest) = y.split_at(blocks * BLOCK);
    let (w_blocks, w_rest) = w.split_at_mut(blocks * BLOCK * rows);
    for (y4, w4) in y_blocks
        .chunks_exact(BLOCK)
        .zip(w_blocks.chunks_exact_mut(BLOCK * rows))
    {
        let [c0, c1, c2, c3] = split4_mut(w4, rows);
        let (a0, a1, a2, a3) = (a * y4[0], a * y4[1], a * y4[2], a * y4[3]);
        for ((((&x, w0), w1), w2), w3) in x
            .iter()
            .zip(c0.iter_mut())
            .zip(c1.iter_mut())
            .zip(c2.iter_mut())
            .zip(c3.iter_mut())
        {
            *w0 += a0 * x;
            *w1 += a1 * x;
            *w2 += a2 * x;
            *w3 += a3 * x;
        }
    }
    for (&y_j, w_j) in y_rest.iter().zip(w_rest.chunks_exact_mut(rows)) {
        axpy(w_j, a * y_j, x);
    }
}

/// `out = W d`, then `W += a x d^T`, column by column with `rows = out.len()` rows.
#[inline(always)]
pub(crate) fn gemv_ger<T: Real>(out: &mut [T], w: &mut [T], d: &[T], a: T, x: &[T]) {
    let rows = out.len();
    out.fill(T::zero());
    let blocks = d.len() / BLOCK;
    let (d_blocks, d_rest) = d.split_at(blocks * BLOCK);
    let (w_blocks, w_rest) = w.split_at_mut(blocks * BLOCK * rows);
    for (d4, w4) in d_blocks
        .chunks_exact(BLOCK)
        .zip(w_blocks.chunks_exact_mut(BLOCK * rows))
    {
        let [c0, c1, c2, c3] = split4_mut(w4, rows);
        let (d0, d1, d2, d3) = (d4[0], d4[1], d4[2], d4[3]);
        let (a0, a1, a2, a3) = (a * d0, a * d1, a * d2, a * d3);
        for (((((o, &x), w0), w1), w2), w3) in out
            .iter_mut()
            .zip(x)
            .zip(c0.iter_mut())
            .zip(c1.iter_mut())
            .zip(c2.iter_mut())
            .zip(c3.iter_mut())
        {
            let mut s = *o;
            s += d0 * *w0;
            *w0 += a0 * x;
            s += d1 * *w1;
            *w1 += a1 * x;
            s += d2 * *w2;
            *w2 += a2 * x;
            s += d3 * *w3;
            *w3 += a3 * x;
            *o = s;
        }
    }
    for (&d_j, w_j) in d_rest.iter().zip(w_rest.chunks_exact_mut(rows)) {
        let ad_j = a * d_j;
        for ((o, w), &x) in out.iter_mut().zip(w_j.iter_mut()).zip(x) {
            *o += d_j * *w;
            *w += ad_j * x;
        }
    }
}

/// `W += x d^T`, then `out = W^T v`, column by column with `rows = x.len()` rows: each column
/// is updated and then dotted with `v` while it is in registers. Columns are visited last to first
/// when `reverse`.
#[inline(always)]
pub(crate) fn ger_gemv_tr<T: Real>(
    out: &mut [T],
    w: &mut [T],
    x: &[T],
    d: &[T],
    v: &[T],
    reverse: bool,
) {
    with_lanes!(T, x.len(), ger_gemv_tr_n(out, w, x, d, v, reverse))
}

#[inline(always)]
fn ger_gemv_tr_n<T: Real, const N: usize>(
    out: &mut [T],
    w: &mut [T],
    x: &[T],
    d: &[T],
    v: &[T],
    reverse: bool,
) {
    let rows = x.len();
    let blocks = d.len() / BLOCK;
    let (out_blocks, out_rest) = out.split_at_mut(blocks * BLOCK);
    let (d_blocks, d_rest) = d.split_at(blocks * BLOCK);
    let (w_blocks, w_rest) = w.split_at_mut(blocks * BLOCK * rows);
    let blocks = out_blocks
        .chunks_exact_mut(BLOCK)
        .zip(d_blocks.chunks_exact(BLOCK))
        .zip(w_blocks.chunks_exact_mut(BLOCK * rows));
    let rest = out_rest
        .iter_mut()
        .zip(d_rest)
        .zip(w_rest.chunks_exact_mut(rows));
    // Plain loops, not closures (see `gemv_tr_n`).
    if reverse {
        for ((o, &d_j), w_j) in rest.rev() {
            *o = ger_dot1::<T, N>(w_j, d_j, x, v);
        }
        for ((o, d4), w4) in blocks.rev() {
            let d4 = [d4[0], d4[1], d4[2], d4[3]];
            o.copy_from_slice(&ger_dot4::<T, N>(split4_mut(w4, rows), d4, x, v));
        }
    } else {
        for ((o, d4), w4) in blocks {
            let d4 = [d4[0], d4[1], d4[2], d4[3]];
            o.copy_from_slice(&ger_dot4::<T, N>(split4_mut(w4, rows), d4, x, v));
        }
        for ((o, &d_j), w_j) in rest {
            *o = ger_dot1::<T, N>(w_j, d_j, x, v);
        }
    }
}

/// One column: `w += d_j x`, then `w · v` summed as [`dot_n`] sums it.
#[inline(always)]
fn ger_dot1<T: Real, const N: usize>(w: &mut [T], d_j: T, x: &[T], v: &[T]) -> T {
    let mut acc = [T::zero(); N];
    let (x_chunks, v_chunks) = (x.chunks_exact(N), v.chunks_exact(N));
    let (x_tail, v_tail) = (x_chunks.remainder(), v_chunks.remainder());
    let mut w_chunks = w.chunks_exact_mut(N);
    for ((wc, xc), vc) in (&mut w_chunks).zip(x_chunks).zip(v_chunks) {
        let (mut w, x, v) = (load::<T, N>(wc), load::<T, N>(xc), load::<T, N>(vc));
        for r in 0..N {
            w[r] += d_j * x[r];
            acc[r] += w[r] * v[r];
        }
        wc.copy_from_slice(&w);
    }
    let mut sum = reduce(&acc[..]);
    for ((w, &x), &v) in w_chunks.into_remainder().iter_mut().zip(x_tail).zip(v_tail) {
        *w += d_j * x;
        sum += *w * v;
    }
    sum
}

/// Four columns at once, each exactly as [`ger_dot1`].
#[inline(always)]
fn ger_dot4<T: Real, const N: usize>(
    c: [&mut [T]; BLOCK],
    d: [T; BLOCK],
    x: &[T],
    v: &[T],
) -> [T; BLOCK] {
    let mut acc = [[T::zero(); N]; BLOCK];
    let [c0, c1, c2, c3] = c;
    let (x_chunks, v_chunks) = (x.chunks_exact(N), v.chunks_exact(N));
    let (x_tail, v_tail) = (x_chunks.remainder(), v_chunks.remainder());
    let start = x.len() - x_tail.len();
    let (mut i0, mut i1, mut i2, mut i3) = (
        c0.chunks_exact_mut(N),
        c1.chunks_exact_mut(N),
        c2.chunks_exact_mut(N),
        c3.chunks_exact_mut(N),
    );
    let chunks = x_chunks
        .zip(v_chunks)
        .zip(&mut i0)
        .zip(&mut i1)
        .zip(&mut i2)
        .zip(&mut i3);
    for (((((xc, vc), w0), w1), w2), w3) in chunks {
        let (x, v) = (load::<T, N>(xc), load::<T, N>(vc));
        let mut w = [load::<T, N>(w0), load(w1), load(w2), load(w3)];
        for k in 0..BLOCK {
            for r in 0..N {
                w[k][r] += d[k] * x[r];
                acc[k][r] += w[k][r] * v[r];
            }
        }
        w0.copy_from_slice(&w[0]);
        w1.copy_from_slice(&w[1]);
        w2.copy_from_slice(&w[2]);
        w3.copy_from_slice(&w[3]);
    }
    let tails = [
        i0.into_remainder(),
        i1.into_remainder(),
        i2.into_remainder(),
        i3.into_remainder(),
    ];
    let mut sums = [T::zero(); BLOCK];
    for (k, w_tail) in tails.into_iter().enumerate() {
        let mut sum = reduce(&acc[k][..]);
        for ((w, &x), &v) in w_tail.iter_mut().zip(&x[start..]).zip(v_tail) {
            *w += d[k] * x;
            sum += *w * v;
        }
        sums[k] = sum;
    }
    sums
}
