//! The hot kernels written out in AVX2 registers (`core::arch`), for `f64` (4 lanes a register)
//! and `f32` (8 lanes) from one source, through the [`Avx2`] trait.
//!
//! The compiler's vectorizer handles one column at a time well, but not the blocks of four columns
//! that load the shared vector once (it vectorizes across the columns, with shuffles). These
//! bodies keep each column's accumulators in two registers (the `N = 2 W` lanes of
//! [`crate::kernels`]), so they compute exactly what the portable bodies compute, operation for
//! operation: the tests in [`crate::simd`] check the two bit for bit.
//!
//! The dot products of matrix columns (`gemv_tr` and the fused `ger_gemv_tr`, the first layer's
//! pass) and the fused backward pass of the layers above (`gemv_ger`) are written once over
//! [`Pack`], the `N` lanes of a column: two AVX2 registers, or one
//! AVX-512 register where the CPU has AVX-512F ([`Avx512`]). Lane `m` is lane `m` in both, so
//! they give the same bits.
//!
//! Every function here is `unsafe` for one reason: it may only run on a CPU with AVX2 (AVX-512F
//! for the `_avx512` ones; the callers in [`crate::simd`] check it at run time). Pointer
//! arithmetic stays inside the slices: each loop runs over `rows / W` or `rows / 2W` whole
//! registers of columns that have `rows` entries, and the tails go through safe slice indexing.

use crate::kernels::reduce;
use crate::Real;

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m256, __m256d, __m512, __m512d, _mm256_add_pd, _mm256_add_ps, _mm256_loadu_pd,
    _mm256_loadu_ps, _mm256_mul_pd, _mm256_mul_ps, _mm256_set1_pd, _mm256_set1_ps,
    _mm256_setzero_pd, _mm256_setzero_ps, _mm256_storeu_pd, _mm256_storeu_ps, _mm512_add_pd,
    _mm512_add_ps, _mm512_loadu_pd, _mm512_loadu_ps, _mm512_mul_pd, _mm512_mul_ps, _mm512_set1_pd,
    _mm512_set1_ps, _mm512_setzero_pd, _mm512_setzero_ps, _mm512_storeu_pd, _mm512_storeu_ps,
};

/// One 256-bit register of `Self` and its arithmetic, lane by lane: a `mul` is rounded before an
/// `add` (no fused multiply-add), as in the portable kernels.
///
/// # Safety
/// Every method needs a CPU with AVX2; `load` and `store` need `W` valid entries at the pointer.
#[cfg(target_arch = "x86_64")]
pub trait Avx2: Copy {
    /// The register.
    type V: Copy;
    /// Lanes in a register.
    const W: usize;
    /// All lanes zero.
    unsafe fn vzero() -> Self::V;
    /// All lanes `x`.
    unsafe fn vsplat(x: Self) -> Self::V;
    /// `W` entries from `p` (unaligned).
    unsafe fn vload(p: *const Self) -> Self::V;
    /// `W` entries to `p` (unaligned).
    unsafe fn vstore(p: *mut Self, v: Self::V);
    /// `a + b`.
    unsafe fn vadd(a: Self::V, b: Self::V) -> Self::V;
    /// `a * b`.
    unsafe fn vmul(a: Self::V, b: Self::V) -> Self::V;
}

/// Nothing to provide off x86-64: the portable kernels run there.
#[cfg(not(target_arch = "x86_64"))]
pub trait Avx2 {}

#[cfg(not(target_arch = "x86_64"))]
impl Avx2 for f64 {}

#[cfg(not(target_arch = "x86_64"))]
impl Avx2 for f32 {}

#[cfg(target_arch = "x86_64")]
impl Avx2 for f64 {
    type V = __m256d;
    const W: usize = 4;

    #[inline(always)]
    unsafe fn vzero() -> __m256d {
        // SAFETY: AVX, part of AVX2, per this trait's contract.
        unsafe { _mm256_setzero_pd() }
    }

    #[inline(always)]
    unsafe fn vsplat(x: f64) -> __m256d {
        // SAFETY: as `vzero`.
        unsafe { _mm256_set1_pd(x) }
    }

    #[inline(always)]
    unsafe fn vload(p: *const f64) -> __m256d {
        // SAFETY: the caller provides 4 readable entries at `p`; unaligned loads are allowed.
        unsafe { _mm256_loadu_pd(p) }
    }

    #[inline(always)]
    unsafe fn vstore(p: *mut f64, v: __m256d) {
        // SAFETY: the caller provides 4 writable entries at `p`.
        unsafe { _mm256_storeu_pd(p, v) }
    }

    #[inline(always)]
    unsafe fn vadd(a: __m256d, b: __m256d) -> __m256d {
        // SAFETY: as `vzero`.
        unsafe { _mm256_add_pd(a, b) }
    }

    #[inline(always)]
    unsafe fn vmul(a: __m256d, b: __m256d) -> __m256d {
        // SAFETY: as `vzero`.
        unsafe { _mm256_mul_pd(a, b) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Avx2 for f32 {
    type V = __m256;
    const W: usize = 8;

    #[inline(always)]
    unsafe fn vzero() -> __m256 {
        // SAFETY: AVX, part of AVX2, per this trait's contract.
        unsafe { _mm256_setzero_ps() }
    }

    #[inline(always)]
    unsafe fn vsplat(x: f32) -> __m256 {
        // SAFETY: as `vzero`.
        unsafe { _mm256_set1_ps(x) }
    }

    #[inline(always)]
    unsafe fn vload(p: *const f32) -> __m256 {
        // SAFETY: the caller provides 8 readable entries at `p`; unaligned loads are allowed.
        unsafe { _mm256_loadu_ps(p) }
    }

    #[inline(always)]
    unsafe fn vstore(p: *mut f32, v: __m256) {
        // SAFETY: the caller provides 8 writable entries at `p`.
        unsafe { _mm256_storeu_ps(p, v) }
    }

    #[inline(always)]
    unsafe fn vadd(a: __m256, b: __m256) -> __m256 {
        // SAFETY: as `vzero`.
        unsafe { _mm256_add_ps(a, b) }
    }

    #[inline(always)]
    unsafe fn vmul(a: __m256, b: __m256) -> __m256 {
        // SAFETY: as `vzero`.
        unsafe { _mm256_mul_ps(a, b) }
    }
}

/// One 512-bit register of `Self`, `2 W` lanes: the two 256-bit registers of [`Avx2`] side by
/// side, with the same arithmetic lane by lane (no fused multiply-add).
///
/// # Safety
/// Every method needs a CPU with AVX-512F; `load` and `store` need `2 W` valid entries.
#[cfg(target_arch = "x86_64")]
pub trait Avx512: Avx2 {
    /// The register.
    type Z: Copy;
    /// All lanes zero.
    unsafe fn zzero() -> Self::Z;
    /// All lanes `x`.
    unsafe fn zsplat(x: Self) -> Self::Z;
    /// `2 W` entries from `p` (unaligned).
    unsafe fn zload(p: *const Self) -> Self::Z;
    /// `2 W` entries to `p` (unaligned).
    unsafe fn zstore(p: *mut Self, v: Self::Z);
    /// `a + b`.
    unsafe fn zadd(a: Self::Z, b: Self::Z) -> Self::Z;
    /// `a * b`.
    unsafe fn zmul(a: Self::Z, b: Self::Z) -> Self::Z;
}

/// Nothing to provide off x86-64.
#[cfg(not(target_arch = "x86_64"))]
pub trait Avx512 {}

#[cfg(not(target_arch = "x86_64"))]
impl Avx512 for f64 {}

#[cfg(not(target_arch = "x86_64"))]
impl Avx512 for f32 {}

/// Implements [`Avx512`] for a type from its intrinsics.
#[cfg(target_arch = "x86_64")]
macro_rules! avx512 {
    ($t:ty, $z:ty, $zero:ident, $splat:ident, $load:ident, $store:ident, $add:ident, $mul:ident) => {
        impl Avx512 for $t {
            type Z = $z;

            #[inline(always)]
            unsafe fn zzero() -> $z {
                // SAFETY: AVX-512F per this trait's contract.
                unsafe { $zero() }
            }

            #[inline(always)]
            unsafe fn zsplat(x: $t) -> $z {
                // SAFETY: as `zzero`.
                unsafe { $splat(x) }
            }

            #[inline(always)]
            unsafe fn zload(p: *const $t) -> $z {
                // SAFETY: the caller provides 2 W readable entries at `p`; unaligned is allowed.
                unsafe { $load(p) }
            }

            #[inline(always)]
            unsafe fn zstore(p: *mut $t, v: $z) {
                // SAFETY: the caller provides 2 W writable entries at `p`.
                unsafe { $store(p, v) }
            }

            #[inline(always)]
            unsafe fn zadd(a: $z, b: $z) -> $z {
                // SAFETY: as `zzero`.
                unsafe { $add(a, b) }
            }

            #[inline(always)]
            unsafe fn zmul(a: $z, b: $z) -> $z {
                // SAFETY: as `zzero`.
                unsafe { $mul(a, b) }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
avx512!(
    f64,
    __m512d,
    _mm512_setzero_pd,
    _mm512_set1_pd,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_add_pd,
    _mm512_mul_pd
);
#[cfg(target_arch = "x86_64")]
avx512!(
    f32,
    __m512,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_add_ps,
    _mm512_mul_ps
);

/// The `N = 2 W` lanes of a column's accumulators, in the registers of one instruction set: two
/// 256-bit registers ([`Pair`], AVX2) or one 512-bit register ([`Zmm`], AVX-512F). Lane `m` is
/// lane `m` in both, and the arithmetic is the same lane by lane, so a kernel written over `Pack`
/// gives the same bits in either.
///
/// # Safety
/// Every method needs the CPU features of its pack; `load` and `store` need `N` valid entries.
#[cfg(target_arch = "x86_64")]
trait Pack<T>: Copy {
    unsafe fn zero() -> Self;
    unsafe fn splat(x: T) -> Self;
    unsafe fn load(p: *const T) -> Self;
    unsafe fn store(self, p: *mut T);
    unsafe fn add(self, b: Self) -> Self;
    unsafe fn mul(self, b: Self) -> Self;
}

/// `N` lanes in two AVX2 registers.
#[cfg(target_arch = "x86_64")]
struct Pair<T: Avx2>([T::V; 2]);

#[cfg(target_arch = "x86_64")]
impl<T: Avx2> Clone for Pair<T> {
    fn clone(&self) -> Self {
        *self
    }
}

#[cfg(target_arch = "x86_64")]
impl<T: Avx2> Copy for Pair<T> {}

#[cfg(target_arch = "x86_64")]
impl<T: Avx2> Pack<T> for Pair<T> {
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: AVX2 per the contract.
        unsafe { Pair([T::vzero(), T::vzero()]) }
    }

    #[inline(always)]
    unsafe fn splat(x: T) -> Self {
        // SAFETY: AVX2 per the contract.
        unsafe { Pair([T::vsplat(x), T::vsplat(x)]) }
    }

    #[inline(always)]
    unsafe fn load(p: *const T) -> Self {
        // SAFETY: `2 W` entries at `p` per the contract.
        unsafe { Pair([T::vload(p), T::vload(p.add(T::W))]) }
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut T) {
        // SAFETY: `2 W` entries at `p` per the contract.
        unsafe {
            T::vstore(p, self.0[0]);
            T::vstore(p.add(T::W), self.0[1]);
        }
    }

    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        // SAFETY: AVX2 per the contract.
        unsafe { Pair([T::vadd(self.0[0], b.0[0]), T::vadd(self.0[1], b.0[1])]) }
    }

    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: AVX2 per the contract.
        unsafe { Pair([T::vmul(self.0[0], b.0[0]), T::vmul(self.0[1], b.0[1])]) }
    }
}

/// `N` lanes in one AVX-512 register.
#[cfg(target_arch = "x86_64")]
struct Zmm<T: Avx512>(T::Z);

#[cfg(target_arch = "x86_64")]
impl<T: Avx512> Clone for Zmm<T> {
    fn clone(&self) -> Self {
        *self
    }
}

#[cfg(target_arch = "x86_64")]
impl<T: Avx512> Copy for Zmm<T> {}

#[cfg(target_arch = "x86_64")]
impl<T: Avx512> Pack<T> for Zmm<T> {
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: AVX-512F per the contract.
        unsafe { Zmm(T::zzero()) }
    }

    #[inline(always)]
    unsafe fn splat(x: T) -> Self {
        // SAFETY: AVX-512F per the contract.
        unsafe { Zmm(T::zsplat(x)) }
    }

    #[inline(always)]
    unsafe fn load(p: *const T) -> Self {
        // SAFETY: `2 W` entries at `p` per the contract.
        unsafe { Zmm(T::zload(p)) }
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut T) {
        // SAFETY: `2 W` entries at `p` per the contract.
        unsafe { T::zstore(p, self.0) }
    }

    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        // SAFETY: AVX-512F per the contract.
        unsafe { Zmm(T::zadd(self.0, b.0)) }
    }

    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: AVX-512F per the contract.
        unsafe { Zmm(T::zmul(self.0, b.0)) }
    }
}

/// Entries to skip at `p` so that the rest starts on an `align`-byte boundary (32 for 256-bit
/// registers, 64 for 512-bit ones).
///
/// nalgebra's large buffers start 16 bytes past a page, so without this every other 256-bit load
/// and store of a column would straddle two cache lines (about 20 % slower on the first layer's
/// fused pass), and every 512-bit one.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn peel<T: Real>(p: *const T, align: usize) -> usize {
    let size = core::mem::size_of::<T>();
    ((align - (p as usize) % align) % align) / size
}

/// Where the register loop of a dot product over a column of `rows` entries starts: at the first
/// `align`-byte boundary when every column of the matrix shares the first's alignment (`rows` a
/// multiple of `align` bytes) and the column is long enough to pay for the rows done one at a
/// time (up to `2 W - 1` of them, before and after the loop); else at 0 (unaligned loads).
/// Measured: long `f64` columns gain (784 rows: 23 to 19 µs for the first layer's fused pass),
/// short or `f32` ones lose.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn column_start<T: Real>(first: *const T, rows: usize, align: usize) -> usize {
    if rows.is_multiple_of(align / core::mem::size_of::<T>()) && rows >= 128 * T::W {
        peel(first, align)
    } else {
        0
    }
}

/// The columns at `cols[k]` as slices of `rows` entries.
///
/// # Safety
/// Each pointer must point at `rows` readable entries that stay valid and unwritten through other
/// pointers for `'a`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn columns<'a, T, const K: usize>(cols: [*const T; K], rows: usize) -> [&'a [T]; K] {
    let mut c: [&[T]; K] = [&[]; K];
    for k in 0..K {
        // SAFETY: per this function's contract.
        c[k] = unsafe { core::slice::from_raw_parts(cols[k], rows) };
    }
    c
}

/// A column's accumulators summed as [`reduce`] sums `N = 2 W` lanes.
///
/// # Safety
/// The CPU features of `P`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn reduce_pack<T: Real, P: Pack<T>>(acc: P) -> T {
    let mut lanes = [<T as num_traits::Zero>::zero(); 16];
    // SAFETY: `lanes` holds 16 >= 2 W entries (W is 4 or 8); the features per the contract.
    unsafe { acc.store(lanes.as_mut_ptr()) };
    reduce(&lanes[..2 * T::W])
}

/// [`dot_cols`] with the register loop from row 0: lane `m` of the registers is lane `m`.
///
/// # Safety
/// As [`dot_cols`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn dot_cols_from_0<T: Real, P: Pack<T>, const K: usize>(
    cols: [*const T; K],
    v: &[T],
) -> [T; K] {
    let rows = v.len();
    let n = 2 * T::W;
    let main = rows / n * n;
    // SAFETY: the features of `P` per the contract; the loop reads rows below `main <= rows` of `v`
    // and of every column.
    unsafe {
        let c = columns(cols, rows);
        let mut acc = [P::zero(); K];
        let pv = v.as_ptr();
        for i in (0..main).step_by(n) {
            let x = P::load(pv.add(i));
            for k in 0..K {
                acc[k] = acc[k].add(P::load(cols[k].add(i)).mul(x));
            }
        }
        let mut sums = [<T as num_traits::Zero>::zero(); K];
        for k in 0..K {
            let mut sum = reduce_pack::<T, P>(acc[k]);
            for i in main..rows {
                sum += c[k][i] * v[i];
            }
            sums[k] = sum;
        }
        sums
    }
}

/// [`ger_dot_cols`] with the register loop from row 0.
///
/// # Safety
/// As [`ger_dot_cols`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn ger_dot_cols_from_0<T: Real, P: Pack<T>, const K: usize>(
    cols: [*mut T; K],
    d: [T; K],
    x: &[T],
    v: &[T],
) -> [T; K] {
    let rows = x.len();
    let n = 2 * T::W;
    let main = rows / n * n;
    // SAFETY: the features of `P` per the contract; offsets stay below `rows`, inside `x`, `v` and
    // every column; the columns are distinct, so each store touches only its own column.
    unsafe {
        let mut acc = [P::zero(); K];
        let mut dv = [P::zero(); K];
        for k in 0..K {
            dv[k] = P::splat(d[k]);
        }
        let (px, pv) = (x.as_ptr(), v.as_ptr());
        for i in (0..main).step_by(n) {
            let (xi, vi) = (P::load(px.add(i)), P::load(pv.add(i)));
            for k in 0..K {
                let c = cols[k].add(i);
                let wi = P::load(c).add(dv[k].mul(xi));
                wi.store(c);
                acc[k] = acc[k].add(wi.mul(vi));
            }
        }
        let mut sums = [<T as num_traits::Zero>::zero(); K];
        for k in 0..K {
            let mut sum = reduce_pack::<T, P>(acc[k]);
            for i in main..rows {
                let c = cols[k].add(i);
                *c += d[k] * x[i];
                sum += *c * v[i];
            }
            sums[k] = sum;
        }
        sums
    }
}

/// `K` dot products `c_k · v` (`c_k` the columns at `cols[k]`, `rows = v.len()` entries each),
/// summed as [`crate::kernels::dot`] sums them: lane `r` of `N = 2 W` takes the rows `i < main`
/// with `i % N == r` in order, the lanes reduce, the rows from `main` follow.
///
/// The register loop may start at a row `p > 0` (to align the columns); register lane `m` then
/// holds the rows of lane `(p + m) % N`, the rows before `p` start their lanes, and the rows the
/// loop leaves before `main` end theirs, so every lane sums the same rows in the same order.
///
/// `PEEL` picks the loop from row `p` (`p < 2 W`, with `main >= p`) or, when false, from 0.
///
/// # Safety
/// The CPU features of `P`; each `cols[k]` points at `v.len()` readable entries.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn dot_cols<T: Real, P: Pack<T>, const K: usize, const PEEL: bool>(
    cols: [*const T; K],
    v: &[T],
    p: usize,
) -> [T; K] {
    if !PEEL {
        // SAFETY: per the contract.
        return unsafe { dot_cols_from_0::<T, P, K>(cols, v) };
    }
    let rows = v.len();
    let n = 2 * T::W;
    let main = rows / n * n;
    let end = p + (main - p) / n * n;
    // SAFETY: per the contract.
    let c = unsafe { columns(cols, rows) };
    let zero = <T as num_traits::Zero>::zero();
    let mut lanes = [[zero; 16]; K];
    for k in 0..K {
        for r in 0..p {
            lanes[k][r] += c[k][r] * v[r];
        }
    }
    // SAFETY: the features of `P` per the contract; the loop reads rows p..end <= rows of `v` and
    // every column; `rot` holds 16 >= 2 W entries.
    unsafe {
        let mut acc = [P::zero(); K];
        let mut rot = [zero; 16];
        if p > 0 {
            for k in 0..K {
                for m in 0..n {
                    rot[m] = lanes[k][(p + m) % n];
                }
                acc[k] = P::load(rot.as_ptr());
            }
        }
        let pv = v.as_ptr();
        for i in (p..end).step_by(n) {
            let x = P::load(pv.add(i));
            for k in 0..K {
                acc[k] = acc[k].add(P::load(cols[k].add(i)).mul(x));
            }
        }
        for k in 0..K {
            acc[k].store(rot.as_mut_ptr());
            for m in 0..n {
                lanes[k][(p + m) % n] = rot[m];
            }
        }
    }
    let mut sums = [zero; K];
    for k in 0..K {
        for i in end..main {
            lanes[k][i % n] += c[k][i] * v[i];
        }
        let mut sum = reduce(&lanes[k][..n]);
        for i in main..rows {
            sum += c[k][i] * v[i];
        }
        sums[k] = sum;
    }
    sums
}

/// `a · b`.
///
/// # Safety
/// AVX2; equal lengths.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    // SAFETY: `a` has `b.len()` entries; AVX2 per the contract.
    unsafe { dot_cols::<T, Pair<T>, 1, false>([a.as_ptr()], b, 0)[0] }
}

/// `out = W^T v` (`W` column-major with `v.len()` rows), columns last to first when `reverse`.
///
/// # Safety
/// AVX2; `w.len() == v.len() * out.len()`, `v` not empty.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn gemv_tr<T: Real>(out: &mut [T], w: &[T], v: &[T], reverse: bool) {
    // Every column shares the first's alignment when `column_start` is not 0.
    let p = column_start(w.as_ptr(), v.len(), 32);
    // SAFETY: forwarded from this function's contract.
    unsafe {
        if p > 0 {
            gemv_tr_avx2::<T, true>(out, w, v, reverse, p);
        } else {
            gemv_tr_avx2::<T, false>(out, w, v, reverse, 0);
        }
    }
}

/// [`gemv_tr`] in 512-bit registers: the same lanes, the same bits.
///
/// # Safety
/// AVX-512F and AVX2; as [`gemv_tr`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn gemv_tr_avx512<T: Real>(out: &mut [T], w: &[T], v: &[T], reverse: bool) {
    let p = column_start(w.as_ptr(), v.len(), 64);
    // SAFETY: forwarded from this function's contract.
    unsafe {
        if p > 0 {
            gemv_tr_zmm::<T, true>(out, w, v, reverse, p);
        } else {
            gemv_tr_zmm::<T, false>(out, w, v, reverse, 0);
        }
    }
}

/// The column loops of [`gemv_tr`] compiled for AVX2, a function of their own for each `PEEL`.
///
/// # Safety
/// As [`gemv_tr`]; `p` from [`column_start`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
unsafe fn gemv_tr_avx2<T: Real, const PEEL: bool>(
    out: &mut [T],
    w: &[T],
    v: &[T],
    reverse: bool,
    p: usize,
) {
    // SAFETY: forwarded; AVX2 is enabled here.
    unsafe { gemv_tr_loops::<T, Pair<T>, PEEL>(out, w, v, reverse, p) }
}

/// The column loops of [`gemv_tr_avx512`] compiled for AVX-512F.
///
/// # Safety
/// As [`gemv_tr_avx512`]; `p` from [`column_start`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
#[inline(never)]
unsafe fn gemv_tr_zmm<T: Real, const PEEL: bool>(
    out: &mut [T],
    w: &[T],
    v: &[T],
    reverse: bool,
    p: usize,
) {
    // SAFETY: forwarded; AVX-512F is enabled here.
    unsafe { gemv_tr_loops::<T, Zmm<T>, PEEL>(out, w, v, reverse, p) }
}

/// The column loops of [`gemv_tr`] in the registers of `P`.
///
/// # Safety
/// As [`gemv_tr`], with the CPU features of `P`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn gemv_tr_loops<T: Real, P: Pack<T>, const PEEL: bool>(
    out: &mut [T],
    w: &[T],
    v: &[T],
    reverse: bool,
    p: usize,
) {
    let (rows, cols) = (v.len(), out.len());
    let blocks = cols / 4;
    // Plain loops and `inline(always)` calls only: a closure would be compiled apart, without the
    // target features.
    if reverse {
        for j in (4 * blocks..cols).rev() {
            // SAFETY: column j < cols has `rows` entries inside `w`; features per the contract.
            out[j] = unsafe { dot_cols::<T, P, 1, PEEL>([w[j * rows..].as_ptr()], v, p)[0] };
        }
        for j in (0..blocks).rev().map(|b| 4 * b) {
            // SAFETY: as above, for the columns j..j+4 <= cols.
            unsafe { gemv_tr_block::<T, P, PEEL>(out, w, v, j, p) };
        }
    } else {
        for j in (0..blocks).map(|b| 4 * b) {
            // SAFETY: as above, for the columns j..j+4 <= cols.
            unsafe { gemv_tr_block::<T, P, PEEL>(out, w, v, j, p) };
        }
        for j in 4 * blocks..cols {
            // SAFETY: as above.
            out[j] = unsafe { dot_cols::<T, P, 1, PEEL>([w[j * rows..].as_ptr()], v, p)[0] };
        }
    }
}

/// `out[j..j + 4]` of `W^T v`.
///
/// # Safety
/// The CPU features of `P`; columns `j..j + 4` of `v.len()` rows lie inside `w`, and
/// `j + 4 <= out.len()`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn gemv_tr_block<T: Real, P: Pack<T>, const PEEL: bool>(
    out: &mut [T],
    w: &[T],
    v: &[T],
    j: usize,
    p: usize,
) {
    let rows = v.len();
    let c = w[j * rows..(j + 4) * rows].as_ptr();
    // SAFETY: the four columns are inside the slice just taken; the features of `P` per the
    // contract.
    let sums = unsafe {
        dot_cols::<T, P, 4, PEEL>([c, c.add(rows), c.add(2 * rows), c.add(3 * rows)], v, p)
    };
    out[j..j + 4].copy_from_slice(&sums);
}

/// `K` columns at once: `c_k += d_k x`, then `c_k · v`, exactly as the portable `ger_dot1`, with
/// the lanes of [`dot_cols`].
///
/// `PEEL` as in [`dot_cols`].
///
/// # Safety
/// The CPU features of `P`; each `cols[k]` points at `x.len()` writable entries, distinct from each
/// other and from `x` and `v`; `v.len() == x.len()`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn ger_dot_cols<T: Real, P: Pack<T>, const K: usize, const PEEL: bool>(
    cols: [*mut T; K],
    d: [T; K],
    x: &[T],
    v: &[T],
    p: usize,
) -> [T; K] {
    if !PEEL {
        // SAFETY: per the contract.
        return unsafe { ger_dot_cols_from_0::<T, P, K>(cols, d, x, v) };
    }
    let rows = x.len();
    let n = 2 * T::W;
    let main = rows / n * n;
    let end = p + (main - p) / n * n;
    let zero = <T as num_traits::Zero>::zero();
    let mut lanes = [[zero; 16]; K];
    // The scalar rows go through raw pointers too: the register loop writes the same columns.
    // SAFETY (all blocks): the features of `P` per the contract; every index is below `rows`,
    // inside `x`, `v` and each column; the columns are distinct, so a store touches only its own
    // column.
    for k in 0..K {
        for r in 0..p {
            // SAFETY: see above.
            unsafe {
                let c = cols[k].add(r);
                *c += d[k] * x[r];
                lanes[k][r] += *c * v[r];
            }
        }
    }
    // SAFETY: see above.
    unsafe {
        let mut acc = [P::zero(); K];
        let mut rot = [zero; 16];
        if p > 0 {
            for k in 0..K {
                for m in 0..n {
                    rot[m] = lanes[k][(p + m) % n];
                }
                acc[k] = P::load(rot.as_ptr());
            }
        }
        let mut dv = [P::zero(); K];
        for k in 0..K {
            dv[k] = P::splat(d[k]);
        }
        let (px, pv) = (x.as_ptr(), v.as_ptr());
        for i in (p..end).step_by(n) {
            let (xi, vi) = (P::load(px.add(i)), P::load(pv.add(i)));
            for k in 0..K {
                let c = cols[k].add(i);
                let wi = P::load(c).add(dv[k].mul(xi));
                wi.store(c);
                acc[k] = acc[k].add(wi.mul(vi));
            }
        }
        for k in 0..K {
            acc[k].store(rot.as_mut_ptr());
            for m in 0..n {
                lanes[k][(p + m) % n] = rot[m];
            }
        }
    }
    let mut sums = [zero; K];
    for k in 0..K {
        for i in end..main {
            // SAFETY: see above.
            unsafe {
                let c = cols[k].add(i);
                *c += d[k] * x[i];
                lanes[k][i % n] += *c * v[i];
            }
        }
        let mut sum = reduce(&lanes[k][..n]);
        for i in main..rows {
            // SAFETY: see above.
            unsafe {
                let c = cols[k].add(i);
                *c += d[k] * x[i];
                sum += *c * v[i];
            }
        }
        sums[k] = sum;
    }
    sums
}

/// `W += x d^T`, then `out = W^T v`, columns last to first when `reverse`.
///
/// # Safety
/// AVX2; `w.len() == x.len() * d.len()`, `out.len() == d.len()`, `v.len() == x.len() > 0`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn ger_gemv_tr<T: Real>(
    out: &mut [T],
    w: &mut [T],
    x: &[T],
    d: &[T],
    v: &[T],
    reverse: bool,
) {
    let p = column_start(w.as_ptr(), x.len(), 32);
    // SAFETY: forwarded from this function's contract.
    unsafe {
        if p > 0 {
            ger_gemv_tr_avx2::<T, true>(out, w, x, d, v, reverse, p);
        } else {
            ger_gemv_tr_avx2::<T, false>(out, w, x, d, v, reverse, 0);
        }
    }
}

/// [`ger_gemv_tr`] in 512-bit registers: the same lanes, the same bits.
///
/// # Safety
/// AVX-512F and AVX2; as [`ger_gemv_tr`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn ger_gemv_tr_avx512<T: Real>(
    out: &mut [T],
    w: &mut [T],
    x: &[T],
    d: &[T],
    v: &[T],
    reverse: bool,
) {
    let p = column_start(w.as_ptr(), x.len(), 64);
    // SAFETY: forwarded from this function's contract.
    unsafe {
        if p > 0 {
            ger_gemv_tr_zmm::<T, true>(out, w, x, d, v, reverse, p);
        } else {
            ger_gemv_tr_zmm::<T, false>(out, w, x, d, v, reverse, 0);
        }
    }
}

/// The column loops of [`ger_gemv_tr`] compiled for AVX2, a function of their own for each
/// `PEEL`.
///
/// # Safety
/// As [`ger_gemv_tr`]; `p` from [`column_start`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn ger_gemv_tr_avx2<T: Real, const PEEL: bool>(
    out: &mut [T],
    w: &mut [T],
    x: &[T],
    d: &[T],
    v: &[T],
    reverse: bool,
    p: usize,
) {
    // SAFETY: forwarded; AVX2 is enabled here.
    unsafe { ger_gemv_tr_loops::<T, Pair<T>, PEEL>(out, w, x, d, v, reverse, p) }
}

/// The column loops of [`ger_gemv_tr_avx512`] compiled for AVX-512F.
///
/// # Safety
/// As [`ger_gemv_tr_avx512`]; `p` from [`column_start`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn ger_gemv_tr_zmm<T: Real, const PEEL: bool>(
    out: &mut [T],
    w: &mut [T],
    x: &[T],
    d: &[T],
    v: &[T],
    reverse: bool,
    p: usize,
) {
    // SAFETY: forwarded; AVX-512F is enabled here.
    unsafe { ger_gemv_tr_loops::<T, Zmm<T>, PEEL>(out, w, x, d, v, reverse, p) }
}

/// The column loops of [`ger_gemv_tr`] in the registers of `P`.
///
/// # Safety
/// As [`ger_gemv_tr`], with the CPU features of `P`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn ger_gemv_tr_loops<T: Real, P: Pack<T>, const PEEL: bool>(
    out: &mut [T],
    w: &mut [T],
    x: &[T],
    d: &[T],
    v: &[T],
    reverse: bool,
    p: usize,
) {
    let (rows, cols) = (x.len(), out.len());
    let blocks = cols / 4;
    if reverse {
        for j in (4 * blocks..cols).rev() {
            // SAFETY: column j < cols has `rows` entries inside `w`, which `x` and `v` cannot
            // overlap (`w` is borrowed mutably); features per the contract.
            out[j] = unsafe {
                ger_dot_cols::<T, P, 1, PEEL>([w[j * rows..].as_mut_ptr()], [d[j]], x, v, p)[0]
            };
        }
        for j in (0..blocks).rev().map(|b| 4 * b) {
            // SAFETY: as above, for the columns j..j+4 <= cols.
            unsafe { ger_gemv_tr_block::<T, P, PEEL>(out, w, x, d, v, j, p) };
        }
    } else {
        for j in (0..blocks).map(|b| 4 * b) {
            // SAFETY: as above, for the columns j..j+4 <= cols.
            unsafe { ger_gemv_tr_block::<T, P, PEEL>(out, w, x, d, v, j, p) };
        }
        for j in 4 * blocks..cols {
            // SAFETY: as above.
            out[j] = unsafe {
                ger_dot_cols::<T, P, 1, PEEL>([w[j * rows..].as_mut_ptr()], [d[j]], x, v, p)[0]
            };
        }
    }
}

/// Columns `j..j + 4` of [`ger_gemv_tr`].
///
/// # Safety
/// The CPU features of `P`; columns `j..j + 4` of `x.len()` rows lie inside `w`,
/// `j + 4 <= out.len(), d.len()`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn ger_gemv_tr_block<T: Real, P: Pack<T>, const PEEL: bool>(
    out: &mut [T],
    w: &mut [T],
    x: &[T],
    d: &[T],
    v: &[T],
    j: usize,
    p: usize,
) {
    let rows = x.len();
    let c = w[j * rows..(j + 4) * rows].as_mut_ptr();
    let d4 = [d[j], d[j + 1], d[j + 2], d[j + 3]];
    // SAFETY: four distinct columns inside the slice just taken, which `x` and `v` cannot
    // overlap; the features of `P` per the contract.
    let sums = unsafe {
        let cols = [c, c.add(rows), c.add(2 * rows), c.add(3 * rows)];
        ger_dot_cols::<T, P, 4, PEEL>(cols, d4, x, v, p)
    };
    out[j..j + 4].copy_from_slice(&sums);
}

/// `y += a x`: the entries before `y`'s first 32-byte boundary, whole registers, then the tail
/// (each entry is computed alone, so the split changes no result).
///
/// # Safety
/// AVX2; equal lengths.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
    let len = y.len();
    let p = peel(y.as_ptr(), 32).min(len);
    let end = p + (len - p) / T::W * T::W;
    for i in 0..p {
        y[i] += a * x[i];
    }
    // SAFETY: offsets p..end <= len of both slices; AVX2 per the contract.
    unsafe {
        let av = T::vsplat(a);
        let (py, px) = (y.as_mut_ptr(), x.as_ptr());
        for i in (p..end).step_by(T::W) {
            T::vstore(
                py.add(i),
                T::vadd(T::vload(py.add(i)), T::vmul(av, T::vload(px.add(i)))),
            );
        }
    }
    for i in end..len {
        y[i] += a * x[i];
    }
}

/// `out = W d` (`W` column-major with `out.len()` rows), four columns at a time, each entry of
/// `out` taking its four products in column order.
///
/// # Safety
/// AVX2; `w.len() == out.len() * d.len()`, `out` not empty.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn gemv<T: Real>(out: &mut [T], w: &[T], d: &[T]) {
    let rows = out.len();
    let p = if rows.is_multiple_of(T::W) && rows >= 8 * T::W {
        peel(w.as_ptr(), 32)
    } else {
        0
    };
    let end = p + (rows - p) / T::W * T::W;
    let blocks = d.len() / 4;
    out.fill(<T as num_traits::Zero>::zero());
    for b in 0..blocks {
        let j = 4 * b;
        let block = &w[j * rows..(j + 4) * rows];
        let (c01, c23) = block.split_at(2 * rows);
        let c = [&c01[..rows], &c01[rows..], &c23[..rows], &c23[rows..]];
        let dk = [d[j], d[j + 1], d[j + 2], d[j + 3]];
        let row = |out: &mut [T], i: usize| {
            let mut s = out[i];
            for k in 0..4 {
                s += dk[k] * c[k][i];
            }
            out[i] = s;
        };
        for i in 0..p {
            row(out, i);
        }
        // SAFETY: offsets p..end <= rows, inside `out` and each column; AVX2 per the contract.
        unsafe {
            let dv = [
                T::vsplat(dk[0]),
                T::vsplat(dk[1]),
                T::vsplat(dk[2]),
                T::vsplat(dk[3]),
            ];
            let po = out.as_mut_ptr();
            for i in (p..end).step_by(T::W) {
                let mut s = T::vload(po.add(i));
                for k in 0..4 {
                    s = T::vadd(s, T::vmul(dv[k], T::vload(c[k].as_ptr().add(i))));
                }
                T::vstore(po.add(i), s);
            }
        }
        for i in end..rows {
            row(out, i);
        }
    }
    for j in 4 * blocks..d.len() {
        // SAFETY: AVX2 per the contract; equal lengths.
        unsafe { axpy(out, d[j], &w[j * rows..(j + 1) * rows]) };
    }
}

/// `W += a x y^T` (`W` column-major with `x.len()` rows).
///
/// # Safety
/// AVX2; `w.len() == x.len() * y.len()`, `x` not empty.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn ger<T: Real>(w: &mut [T], a: T, x: &[T], y: &[T]) {
    let rows = x.len();
    for (w_j, &y_j) in w.chunks_exact_mut(rows).zip(y) {
        // SAFETY: AVX2 per the contract; equal lengths.
        unsafe { axpy(w_j, a * y_j, x) };
    }
}

/// `out = W d`, then `W += a x d^T`, column by column, four columns at a time.
///
/// # Safety
/// AVX2; `w.len() == out.len() * d.len()`, `x.len() == out.len() > 0`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn gemv_ger<T: Real>(out: &mut [T], w: &mut [T], d: &[T], a: T, x: &[T]) {
    // SAFETY: forwarded from this function's contract.
    unsafe { gemv_ger_rows::<T, Pair<T>>(out, w, d, a, x, 32) }
}

/// [`gemv_ger`] in 512-bit registers. Each entry is computed alone, in the same order, whatever
/// the register: the same bits.
///
/// # Safety
/// AVX-512F and AVX2; as [`gemv_ger`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
#[inline(never)]
pub unsafe fn gemv_ger_avx512<T: Real>(out: &mut [T], w: &mut [T], d: &[T], a: T, x: &[T]) {
    // SAFETY: forwarded; AVX-512F is enabled here.
    unsafe { gemv_ger_rows::<T, Zmm<T>>(out, w, d, a, x, 64) }
}

/// [`gemv_ger`] in the registers of `P`, `N = 2 W` rows at a time from the first `align`-byte
/// boundary of long columns.
///
/// # Safety
/// As [`gemv_ger`], with the CPU features of `P`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn gemv_ger_rows<T: Real, P: Pack<T>>(
    out: &mut [T],
    w: &mut [T],
    d: &[T],
    a: T,
    x: &[T],
    align: usize,
) {
    let rows = out.len();
    let n = 2 * T::W;
    let p = if rows.is_multiple_of(align / core::mem::size_of::<T>()) && rows >= 8 * T::W {
        peel(w.as_ptr(), align)
    } else {
        0
    };
    let end = p + (rows - p) / n * n;
    let blocks = d.len() / 4;
    out.fill(<T as num_traits::Zero>::zero());
    for b in 0..blocks {
        let j = 4 * b;
        let dk = [d[j], d[j + 1], d[j + 2], d[j + 3]];
        let ak = [a * dk[0], a * dk[1], a * dk[2], a * dk[3]];
        let (c0, rest) = w[j * rows..(j + 4) * rows].split_at_mut(rows);
        let (c1, rest) = rest.split_at_mut(rows);
        let (c2, c3) = rest.split_at_mut(rows);
        let mut c = [c0, c1, c2, c3];
        let row = |out: &mut [T], c: &mut [&mut [T]; 4], i: usize| {
            let mut s = out[i];
            for k in 0..4 {
                s += dk[k] * c[k][i];
                c[k][i] += ak[k] * x[i];
            }
            out[i] = s;
        };
        for i in 0..p {
            row(out, &mut c, i);
        }
        // SAFETY: offsets p..end <= rows, inside `out`, `x` and each of the four distinct
        // columns; the features of `P` per the contract.
        unsafe {
            let dv = [
                P::splat(dk[0]),
                P::splat(dk[1]),
                P::splat(dk[2]),
                P::splat(dk[3]),
            ];
            let av = [
                P::splat(ak[0]),
                P::splat(ak[1]),
                P::splat(ak[2]),
                P::splat(ak[3]),
            ];
            let (po, px) = (out.as_mut_ptr(), x.as_ptr());
            let pc = [
                c[0].as_mut_ptr(),
                c[1].as_mut_ptr(),
                c[2].as_mut_ptr(),
                c[3].as_mut_ptr(),
            ];
            for i in (p..end).step_by(n) {
                let xi = P::load(px.add(i));
                let mut s = P::load(po.add(i));
                for k in 0..4 {
                    let q = pc[k].add(i);
                    let wk = P::load(q);
                    s = s.add(dv[k].mul(wk));
                    wk.add(av[k].mul(xi)).store(q);
                }
                s.store(po.add(i));
            }
        }
        for i in end..rows {
            row(out, &mut c, i);
        }
    }
    for j in 4 * blocks..d.len() {
        let (d_j, ad_j) = (d[j], a * d[j]);
        let w_j = &mut w[j * rows..(j + 1) * rows];
        for ((o, w), &x) in out.iter_mut().zip(w_j.iter_mut()).zip(x) {
            *o += d_j * *w;
            *w += ad_j * x;
        }
    }
}

/// `a = a ⊙ b`: the portable body, which the compiler vectorizes well, compiled for AVX2.
///
/// # Safety
/// None beyond AVX2 (the body is safe code).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn hadamard_mut<T: Real>(a: &mut [T], b: &[T]) {
    crate::kernels::hadamard_mut(a, b);
}

/// `out = a ⊙ b`, as [`hadamard_mut`].
///
/// # Safety
/// None beyond AVX2 (the body is safe code).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn hadamard_to<T: Real>(out: &mut [T], a: &[T], b: &[T]) {
    crate::kernels::hadamard_to(out, a, b);
}
