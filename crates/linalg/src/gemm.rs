//! The GEMM behind [`crate::gemm_tr_to`], [`crate::gemm_to`] and [`crate::gemm_nt_to`]:
//! `C = alpha A B + beta C` for matrices given by a pointer and two strides, blocked and packed
//! in the manner of BLIS, single-threaded, with the packing buffers owned by the caller
//! ([`GemmScratch`]) so that a call allocates nothing once the buffers are large enough.
//!
//! The loops, outermost first: columns of `C` in blocks of `NC`; the shared dimension in blocks of
//! `KC` (the block of `B`, `KC x NC`, is packed into panels of `NR` columns, `NR_WIDE` on the
//! AVX-512 path, row after row); rows of `C` in blocks of `MC` (the block of `A`, `MC x KC`, is
//! packed into panels of `MR` rows, column after column); then the tiles of `C`, each one call of
//! the microkernel,
//! which keeps the tile in registers while it runs over the `KC` columns of its two panels.
//! Packing reads `A` and `B` through their strides, so a transposed operand is only a swap of
//! strides, and every product of the crate goes through this one routine. Panels shorter than
//! `MR` or `NR` are padded with zeros; their tile goes through a small buffer on the stack.
//!
//! The blocks (`KC`, `MC`, `NC`): `256, 96, 4080` for `f64`, `256, 192, 4080` for `f32`; a
//! dimension longer than its block is cut into blocks of nearly equal length. Panels of `A` or `B`
//! whose entries are contiguous along the shared dimension (`W^T` in the forward pass, `V` and `Δ`
//! as the right operand) are transposed in registers while packed.
//!
//! The microkernel is chosen at run time: on x86-64 with AVX2 and FMA, a kernel written in
//! 256-bit registers with fused multiply-adds (`8 x 6` for `f64`, `16 x 6` for `f32`: twelve
//! accumulator registers); where the CPU also has AVX-512F, kernels in 512-bit registers with
//! panels of `B` of 8 columns (`16 x 8` and `8 x 8` for `f64`, `32 x 8` and `16 x 8` for `f32`:
//! two panels of `A` at once in sixteen accumulators, or one), which compute every entry as the
//! AVX2 kernel does, so the same bits; elsewhere a portable kernel of the AVX2 kernel's shape in
//! plain Rust with `mul_add`, in the same order of accumulation, so the same bits again: every
//! kernel gives every entry the same bits, on every CPU (the blocking is fixed, the sums run in a
//! fixed order, on one thread). A tile at the edge of `C` goes through a buffer, and `alpha` and
//! `beta` are applied to it as the kernels apply them to a full tile, so an entry's bits do not
//! depend on the tile shape either.

// Tiles are indexed by (row, column) as in the formulas; index loops read better here.
#![allow(clippy::needless_range_loop)]

use core::fmt;

use crate::Real;

/// The largest single-panel tile of any microkernel (`MR * NR`, or `MR * NR_WIDE`), for the
/// buffer of the edge tiles.
const TILE_MAX: usize = 128;

/// Columns of a tile (of a packed panel of `B`) on the AVX-512 path: with 32 registers, eight
/// columns of two panels (sixteen accumulators) fit where the AVX2 kernel's 16 registers hold six,
/// and a batch of 32 or 64 columns has no narrower edge panel.
const NR_WIDE: usize = 8;

// Every single-panel tile fits the edge buffer: `MR x NR` and `MR x NR_WIDE` for both types.
const _: () = assert!(
    <f64 as Gemm>::MR * NR_WIDE <= TILE_MAX
        && <f32 as Gemm>::MR * NR_WIDE <= TILE_MAX
        && <f64 as Gemm>::MR * <f64 as Gemm>::NR <= TILE_MAX
        && <f32 as Gemm>::MR * <f32 as Gemm>::NR <= TILE_MAX
);

/// Alignment of the packed panels, in bytes: a cache line, so that the `MR` entries of a column of
/// an `f64` panel of `A` are one line.
const ALIGN: usize = 64;

/// The block sizes and microkernels of one floating-point type.
///
/// Implemented for `f32` and `f64` only (the trait is sealed: it lives in a private module).
pub trait Gemm: Copy + Sized {
    /// Rows of a microkernel tile (of a packed panel of `A`).
    const MR: usize;
    /// Columns of a microkernel tile (of a packed panel of `B`).
    const NR: usize;
    /// Block of the shared dimension.
    const KC: usize;
    /// Block of rows of `C` (a multiple of `MR`).
    const MC: usize;
    /// Block of columns of `C` (a multiple of `NR`).
    const NC: usize;

    /// The AVX2 + FMA microkernel, see [`kernel_portable`](Self::kernel_portable).
    ///
    /// # Safety
    /// As `kernel_portable`, and the CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_fma(
        k: usize,
        alpha: Self,
        a: *const Self,
        b: *const Self,
        beta: Self,
        c: *mut Self,
        csc: usize,
    );

    /// The AVX-512 microkernel for `P` panels of `A` at once (two, or one for the last panel of
    /// a block and the edge tiles): a `P MR x NR_WIDE` tile, whose rows `q MR .. q MR + MR` come
    /// from the panel at `a + q MR k`, `B` packed in panels of `NR_WIDE` columns, with the
    /// arithmetic of [`kernel_fma`](Self::kernel_fma) entry by entry (so the same bits), in
    /// `8 P` 512-bit accumulators.
    ///
    /// # Safety
    /// As `kernel_fma` for the `P` panels of `A`, a panel of `B` of `k * NR_WIDE` entries and the
    /// `P MR x NR_WIDE` tile, and the CPU supports AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_avx512<const P: usize>(
        k: usize,
        alpha: Self,
        a: *const Self,
        b: *const Self,
        beta: Self,
        c: *mut Self,
        csc: usize,
    );

    /// Packs one full panel of `r >= 4` lines (`MR` rows of `A`, or `NR` or `NR_WIDE` columns of
    /// `B`) whose
    /// `kc` entries are contiguous (line `l` at `src + l ls`), as [`pack`] does, transposing
    /// blocks in registers.
    ///
    /// # Safety
    /// The `r` lines of `kc` entries are readable; `dst` holds `r * kc` writable entries; AVX2.
    #[cfg(target_arch = "x86_64")]
    unsafe fn pack_panel_avx2(r: usize, kc: usize, src: *const Self, ls: isize, dst: *mut Self);

    /// The portable microkernel: `C = alpha A B + beta C` for one `MR x NR` tile, `A` a packed
    /// panel (`k` columns of `MR` entries), `B` a packed panel (`k` rows of `NR` entries), `C`
    /// column-major with unit row stride and column stride `csc`. With `beta = 0`, `C` is not
    /// read.
    ///
    /// # Safety
    /// `a` and `b` point at `k * MR` and `k * NR` readable entries, `c` at a writable `MR x NR`
    /// tile with column stride `csc`, not overlapping them.
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_portable(
        k: usize,
        alpha: Self,
        a: *const Self,
        b: *const Self,
        beta: Self,
        c: *mut Self,
        csc: usize,
    );
}

/// Which microkernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// AVX-512 where the CPU has it, else AVX2 + FMA where it has them, else portable.
    Auto,
    /// AVX2 + FMA where the CPU has them (also where it has AVX-512), else portable (for tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Avx2,
    /// The portable kernel, on any CPU (for tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Portable,
}

/// Entries to round `n` up to a multiple of `r`.
const fn round_up(n: usize, r: usize) -> usize {
    n.div_ceil(r) * r
}

/// The step that cuts `len` into as few blocks of at most `block` as possible, of nearly equal
/// lengths, each but the last a multiple of `unit` (`block` is one): 784 with blocks of 256 is
/// four blocks of 196, not three of 256 and one of 16.
const fn even(len: usize, block: usize, unit: usize) -> usize {
    let blocks = len.div_ceil(block);
    round_up(len.div_ceil(blocks), unit)
}

/// Entries of `T` in `ALIGN` bytes: the slack a buffer needs to start on an aligned entry.
const fn slack<T>() -> usize {
    ALIGN / core::mem::size_of::<T>()
}

/// The packing buffers of the mini-batch GEMM, owned by the caller so that a product allocates
/// nothing: one for a block of `A` (`MC x KC` at most), one for a block of `B` (`KC x NC` at most).
///
/// The block sizes are fixed per type, so the space a product needs depends only on its shape
/// (capped by the blocks); [`reserve`](Self::reserve) grows the buffers for a shape ahead of
/// time, and a product with a shape not reserved grows them itself (the only allocation a GEMM
/// call can make). The `BatchWorkspace` of `backprop-network` reserves every product of its
/// layers.
///
/// The buffers hold nothing between calls: any scratch can serve any product of its type.
///
/// # Example
/// ```
/// use backprop_linalg::{gemm_tr_to, GemmScratch, Matrix};
/// let (w, v) = (Matrix::<f64>::identity(3, 2), Matrix::from_element(3, 4, 1.0));
/// let mut s = Matrix::zeros(2, 4);
/// // gemm_tr_to computes an (n_out x n_in) by (n_in x b) product: m = 2, k = 3, n = 4.
/// let mut scratch = GemmScratch::new();
/// scratch.reserve(2, 3, 4);
/// gemm_tr_to(&mut s.as_view_mut(), &w, &v.as_view(), &mut scratch);
/// assert_eq!(s, Matrix::from_element(2, 4, 1.0));
/// ```
#[derive(Clone, Default)]
pub struct GemmScratch<T: Real> {
    a: Vec<T>,
    b: Vec<T>,
}

impl<T: Real> fmt::Debug for GemmScratch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GemmScratch")
            .field("a_entries", &self.a.len())
            .field("b_entries", &self.b.len())
            .finish()
    }
}

impl<T: Real> GemmScratch<T> {
    /// Empty buffers: the first product grows them.
    pub fn new() -> Self {
        GemmScratch {
            a: Vec::new(),
            b: Vec::new(),
        }
    }

    /// Buffers large enough for every product of an `m x k` by a `k x n` matrix, or smaller.
    pub fn with_shape(m: usize, k: usize, n: usize) -> Self {
        let mut s = Self::new();
        s.reserve(m, k, n);
        s
    }

    /// Grows the buffers so that a product of an `m x k` by a `k x n` matrix (and any smaller
    /// one) allocates nothing. The shapes of the crate's products: [`gemm_tr_to`](crate::gemm_tr_to)
    /// `(n_out, n_in, b)`, [`gemm_to`](crate::gemm_to) `(n_in, n_out, b)`,
    /// [`gemm_nt_to`](crate::gemm_nt_to) `(n_in, b, n_out)`.
    pub fn reserve(&mut self, m: usize, k: usize, n: usize) {
        let (a, b) = Self::needs(m, k, n);
        if self.a.len() < a {
            self.a = vec![T::zero(); a];
        }
        if self.b.len() < b {
            self.b = vec![T::zero(); b];
        }
    }

    /// The entries of the two buffers for a product of that shape, with the alignment slack.
    fn needs(m: usize, k: usize, n: usize) -> (usize, usize) {
        if m == 0 || k == 0 || n == 0 {
            return (0, 0);
        }
        let kc = k.min(T::KC);
        let a = round_up(m.min(T::MC), T::MR) * kc + slack::<T>();
        let nc = n.min(T::NC);
        let b = round_up(nc, T::NR).max(round_up(nc, NR_WIDE)) * kc + slack::<T>();
        (a, b)
    }

    /// The two buffers from their first `ALIGN`-byte aligned entry, for a product of that shape.
    fn buffers(&mut self, m: usize, k: usize, n: usize) -> (*mut T, *mut T) {
        self.reserve(m, k, n);
        let aligned = |v: &mut Vec<T>| {
            let p = v.as_mut_ptr();
            let skip = ((ALIGN - (p as usize) % ALIGN) % ALIGN) / core::mem::size_of::<T>();
            // SAFETY: `skip < slack` entries, and the buffer holds at least `slack` entries more
            // than the product needs (`reserve`).
            unsafe { p.add(skip) }
        };
        (aligned(&mut self.a), aligned(&mut self.b))
    }
}

/// A matrix operand: pointer, row stride, column stride (in entries).
pub(crate) type Raw<T> = (*const T, isize, isize);
/// The output operand.
pub(crate) type RawMut<T> = (*mut T, isize, isize);

/// `C = alpha A B + beta C`, `A` `m x k`, `B` `k x n`, `C` `m x n`. With `beta = 0`, `C` is only
/// written (NaN in it does not propagate); with `k = 0`, `C = beta C`.
///
/// # Safety
/// The pointers and strides describe matrices of those shapes inside live allocations; `C` does
/// not overlap `A` or `B`, and distinct `(i, j)` of `C` are distinct entries.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: Raw<T>,
    b: Raw<T>,
    beta: T,
    c: RawMut<T>,
    scratch: &mut GemmScratch<T>,
    kernel: Kernel,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // SAFETY: forwarded from this function's contract.
        unsafe { scale(m, n, beta, c) };
        return;
    }
    let (ap, bp) = scratch.buffers(m, k, n);
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Auto
        && std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        // SAFETY: AVX-512F, AVX2 and FMA were just detected; the rest as below.
        unsafe { loops_avx512(m, k, n, alpha, a, b, beta, c, ap, bp) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if kernel != Kernel::Portable
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        // SAFETY: AVX2 and FMA were just detected; the rest is this function's contract, and the
        // buffers hold the blocks of this shape (`buffers` reserved them).
        unsafe { loops_fma(m, k, n, alpha, a, b, beta, c, ap, bp) };
        return;
    }
    let _ = kernel;
    // SAFETY: as above.
    unsafe { loops::<T, false, false>(m, k, n, alpha, a, b, beta, c, ap, bp) }
}

/// [`loops`] with the FMA microkernel, compiled for AVX2 and FMA.
///
/// # Safety
/// As [`loops`], and the CPU supports AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn loops_fma<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: Raw<T>,
    b: Raw<T>,
    beta: T,
    c: RawMut<T>,
    ap: *mut T,
    bp: *mut T,
) {
    // SAFETY: forwarded from this function's contract.
    unsafe { loops::<T, true, false>(m, k, n, alpha, a, b, beta, c, ap, bp) }
}

/// [`loops`] with the AVX-512 microkernels (pairs of full panels of `A`, and single panels and edge
/// tiles), compiled for AVX-512F, AVX2 and FMA.
///
/// # Safety
/// As [`loops`], and the CPU supports AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn loops_avx512<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: Raw<T>,
    b: Raw<T>,
    beta: T,
    c: RawMut<T>,
    ap: *mut T,
    bp: *mut T,
) {
    // SAFETY: forwarded from this function's contract.
    unsafe { loops::<T, true, true>(m, k, n, alpha, a, b, beta, c, ap, bp) }
}

/// `C = beta C` (`C = 0` for `beta = 0`, whatever it held).
///
/// # Safety
/// `c` describes a writable `m x n` matrix.
unsafe fn scale<T: Real>(m: usize, n: usize, beta: T, c: RawMut<T>) {
    for j in 0..n {
        for i in 0..m {
            // SAFETY: `(i, j)` is inside the matrix.
            unsafe {
                let p = c.0.offset(i as isize * c.1 + j as isize * c.2);
                *p = if beta == T::zero() {
                    T::zero()
                } else {
                    beta * *p
                };
            }
        }
    }
}

/// The five loops around the microkernel.
///
/// # Safety
/// As [`gemm`] (`m, k, n > 0`); `ap` and `bp` point at buffers of at least
/// `round_up(min(m, MC), MR) * min(k, KC)` and `round_up(min(n, NC), NR) * min(k, KC)` entries
/// (`NR_WIDE` for `NR` with `WIDE`); with `FMA`, the CPU supports AVX2 and FMA; with `WIDE` (which
/// comes with `FMA`), also AVX-512F (two full panels of `A` side by side then go through one
/// AVX-512 microkernel call, the rest through the one-panel AVX-512 kernel).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn loops<T: Real, const FMA: bool, const WIDE: bool>(
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: Raw<T>,
    b: Raw<T>,
    beta: T,
    c: RawMut<T>,
    ap: *mut T,
    bp: *mut T,
) {
    // The AVX-512 path packs B in panels of NR_WIDE columns, the others in panels of NR.
    let (mr, nr) = (T::MR, if WIDE { NR_WIDE } else { T::NR });
    debug_assert!(mr * nr <= TILE_MAX);
    let (rsc, csc) = (c.1, c.2);
    let mut tile = [T::zero(); TILE_MAX];
    let (kc_step, mc_step) = (even(k, T::KC, 1), even(m, T::MC, mr));
    for jc in (0..n).step_by(T::NC) {
        let nc = T::NC.min(n - jc);
        for pc in (0..k).step_by(kc_step) {
            let kc = kc_step.min(k - pc);
            let beta = if pc == 0 { beta } else { T::one() };
            // SAFETY: the block starts at (pc, jc) of B, inside it; `bp` holds the packed block.
            unsafe {
                let src = b.0.offset(pc as isize * b.1 + jc as isize * b.2);
                pack::<T, FMA>(nr, kc, nc, src, b.2, b.1, bp);
            }
            for ic in (0..m).step_by(mc_step) {
                let mc = mc_step.min(m - ic);
                // SAFETY: as for B, with rows and columns of A in the roles of columns and rows.
                unsafe {
                    let src = a.0.offset(ic as isize * a.1 + pc as isize * a.2);
                    pack::<T, FMA>(mr, kc, mc, src, a.1, a.2, ap);
                }
                for jr in (0..nc).step_by(nr) {
                    let nr_ = nr.min(nc - jr);
                    let mut ir = 0;
                    while ir < mc {
                        let mr_ = mr.min(mc - ir);
                        // SAFETY: the panels start `ir * kc` and `jr * kc` entries into the
                        // packed blocks and hold `kc * mr` and `kc * nr` entries (two panels of
                        // A, `2 kc mr`, when `ir + 2 mr <= mc`); the tile of C starts at
                        // (ic + ir, jc + jr), inside C. A full tile with unit row stride is
                        // written in place; any other goes through `tile` (MR x nr entries,
                        // column stride MR) and is merged entry by entry.
                        unsafe {
                            let (pa, pb) = (ap.add(ir * kc), bp.add(jr * kc));
                            let pc_ =
                                c.0.offset((ic + ir) as isize * rsc + (jc + jr) as isize * csc);
                            #[cfg(target_arch = "x86_64")]
                            if WIDE && ir + 2 * mr <= mc && nr_ == nr && rsc == 1 {
                                T::kernel_avx512::<2>(kc, alpha, pa, pb, beta, pc_, csc as usize);
                                ir += 2 * mr;
                                continue;
                            }
                            if mr_ == mr && nr_ == nr && rsc == 1 {
                                kernel::<T, FMA, WIDE>(kc, alpha, pa, pb, beta, pc_, csc as usize);
                            } else {
                                // The sums alone into the buffer, then `alpha` and `beta` as
                                // every kernel applies them to a full tile ([`merge`]), so that
                                // an entry takes the same bits whether its tile is full or not:
                                // the AVX-512 path, whose tiles are wider, gives the AVX2 path's
                                // bits, and the portable path gives them too.
                                let t = tile.as_mut_ptr();
                                kernel::<T, FMA, WIDE>(kc, T::one(), pa, pb, T::zero(), t, mr);
                                for j in 0..nr_ {
                                    for i in 0..mr_ {
                                        let x = *t.add(i + j * mr);
                                        let p = pc_.offset(i as isize * rsc + j as isize * csc);
                                        *p = merge(x, alpha, beta, *p);
                                    }
                                }
                            }
                        }
                        ir += mr;
                    }
                }
            }
        }
    }
}

/// One single-panel microkernel call: AVX-512 (`MR x NR_WIDE`) with `WIDE`, else FMA or
/// portable (`MR x NR`).
///
/// # Safety
/// As [`Gemm::kernel_portable`]; with `FMA`, the CPU supports AVX2 and FMA; with `WIDE`, as
/// [`Gemm::kernel_avx512`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel<T: Real, const FMA: bool, const WIDE: bool>(
    k: usize,
    alpha: T,
    a: *const T,
    b: *const T,
    beta: T,
    c: *mut T,
    csc: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if WIDE {
        // SAFETY: forwarded from this function's contract.
        unsafe { T::kernel_avx512::<1>(k, alpha, a, b, beta, c, csc) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: forwarded from this function's contract.
        unsafe { T::kernel_fma(k, alpha, a, b, beta, c, csc) };
        return;
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { T::kernel_portable(k, alpha, a, b, beta, c, csc) }
}

/// Packs a block of `len` lines (rows of A, columns of B) of `kc` entries each into panels of `r`
/// lines: panel `q` holds lines `q r .. q r + r`, entry `p` of each line after the other (`p`
/// major), lines past `len` zero. Line `l`, entry `p` of the source is at `src + l ls + p ps`.
///
/// Full panels of `MR` lines with contiguous entries (a transposed `A`, as `W^T` in the forward
/// pass) are transposed in AVX2 registers when `AVX2`; the rest goes entry by entry.
///
/// # Safety
/// The source lines are readable; `dst` holds `round_up(len, r) * kc` writable entries, not
/// overlapping the source; with `AVX2`, the CPU supports it.
#[inline(always)]
unsafe fn pack<T: Real, const AVX2: bool>(
    r: usize,
    kc: usize,
    len: usize,
    src: *const T,
    ls: isize,
    ps: isize,
    dst: *mut T,
) {
    for l0 in (0..len).step_by(r) {
        let lines = r.min(len - l0);
        // SAFETY: the panel is `r * kc` entries at `l0 * kc`, inside `dst`; the source reads stay
        // on lines `l0 .. l0 + lines < len`, entries `< kc`.
        unsafe {
            let panel = dst.add(l0 * kc);
            let src = src.offset(l0 as isize * ls);
            if ls == 1 && lines == r {
                // The lines of the panel are contiguous at each entry: one copy of r.
                for p in 0..kc {
                    core::ptr::copy_nonoverlapping(
                        src.offset(p as isize * ps),
                        panel.add(p * r),
                        r,
                    );
                }
            } else if cfg!(target_arch = "x86_64") && AVX2 && ps == 1 && lines == r && r >= 4 {
                #[cfg(target_arch = "x86_64")]
                T::pack_panel_avx2(r, kc, src, ls, panel);
            } else {
                for l in 0..lines {
                    let s = src.offset(l as isize * ls);
                    for p in 0..kc {
                        *panel.add(p * r + l) = *s.offset(p as isize * ps);
                    }
                }
                for l in lines..r {
                    for p in 0..kc {
                        *panel.add(p * r + l) = T::zero();
                    }
                }
            }
        }
    }
}

/// One entry of `C = alpha sum + beta C` from the tile's sum, as the x86 kernels compute it in
/// their registers: `sum alpha` for `beta = 0` (`C` not read), `fma(sum, alpha, c)` for
/// `beta = 1`, else `fma(sum, alpha, c beta)`. Every path (the portable kernel, the edge tiles)
/// merges through here, so an entry's bits depend neither on the CPU nor on the tile shape.
#[inline(always)]
fn merge<T: Real>(sum: T, alpha: T, beta: T, c: T) -> T {
    if beta == T::zero() {
        sum * alpha
    } else if beta == T::one() {
        sum.mul_add(alpha, c)
    } else {
        sum.mul_add(alpha, c * beta)
    }
}

/// The portable microkernel for `MR x NR` tiles (see [`Gemm::kernel_portable`]): the x86
/// kernels' arithmetic entry by entry, `acc = fma(a_p, b_p, acc)` for `p` from zero, then
/// [`merge`]. `mul_add` is one rounding by IEEE 754: an instruction on aarch64 and on x86 with FMA,
/// the C library's exact `fma` in software elsewhere (slower, the same bits).
///
/// # Safety
/// As [`Gemm::kernel_portable`].
#[inline(always)]
unsafe fn portable<T: Real, const MR: usize, const NR: usize>(
    k: usize,
    alpha: T,
    a: *const T,
    b: *const T,
    beta: T,
    c: *mut T,
    csc: usize,
) {
    let mut acc = [[T::zero(); MR]; NR];
    for p in 0..k {
        // SAFETY: entries `p * MR .. p * MR + MR` and `p * NR .. p * NR + NR` of the panels,
        // inside them as `p < k`.
        let (av, bv) = unsafe {
            (
                *a.add(p * MR).cast::<[T; MR]>(),
                *b.add(p * NR).cast::<[T; NR]>(),
            )
        };
        for j in 0..NR {
            for i in 0..MR {
                acc[j][i] = av[i].mul_add(bv[j], acc[j][i]);
            }
        }
    }
    for j in 0..NR {
        for i in 0..MR {
            // SAFETY: `(i, j)` is inside the tile.
            unsafe {
                let p = c.add(i + j * csc);
                *p = merge(acc[j][i], alpha, beta, *p);
            }
        }
    }
}

/// `tile::Regs` for the register marker `$reg<$t>` from the intrinsics of its width.
#[cfg(target_arch = "x86_64")]
macro_rules! regs_impl {
    ($reg:ident, $t:ty, $v:ty, $w:expr, $zero:ident, $splat:ident, $load:ident, $loadu:ident,
     $storeu:ident, $fmadd:ident, $mul:ident) => {
        impl super::tile::Regs for $reg<$t> {
            type T = $t;
            type V = $v;
            const W: usize = $w;
            const ZERO: $t = 0.0;
            const ONE: $t = 1.0;
            #[inline(always)]
            unsafe fn zero() -> $v {
                // SAFETY: the register's instruction set, per the trait's contract.
                unsafe { $zero() }
            }
            #[inline(always)]
            unsafe fn splat(x: $t) -> $v {
                // SAFETY: as above.
                unsafe { $splat(x) }
            }
            #[inline(always)]
            unsafe fn broadcast(p: *const $t) -> $v {
                // SAFETY: as above; `p` is readable per the caller.
                unsafe { $splat(*p) }
            }
            #[inline(always)]
            unsafe fn load(p: *const $t) -> $v {
                // SAFETY: as above; `W` aligned readable entries per the caller.
                unsafe { $load(p) }
            }
            #[inline(always)]
            unsafe fn loadu(p: *const $t) -> $v {
                // SAFETY: as above; `W` readable entries per the caller.
                unsafe { $loadu(p) }
            }
            #[inline(always)]
            unsafe fn storeu(p: *mut $t, v: $v) {
                // SAFETY: as above; `W` writable entries per the caller.
                unsafe { $storeu(p, v) }
            }
            #[inline(always)]
            unsafe fn fmadd(a: $v, b: $v, c: $v) -> $v {
                // SAFETY: as above.
                unsafe { $fmadd(a, b, c) }
            }
            #[inline(always)]
            unsafe fn mul(a: $v, b: $v) -> $v {
                // SAFETY: as above.
                unsafe { $mul(a, b) }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod fma {
    //! The AVX2 + FMA microkernels: the tile in twelve registers, two registers of `A` and one
    //! broadcast entry of `B` per column at each step.

    use core::arch::x86_64::{
        __m256, __m256d, _mm256_fmadd_pd, _mm256_fmadd_ps, _mm256_load_pd, _mm256_load_ps,
        _mm256_loadu_pd, _mm256_loadu_ps, _mm256_mul_pd, _mm256_mul_ps, _mm256_permute2f128_pd,
        _mm256_permute2f128_ps, _mm256_set1_pd, _mm256_set1_ps, _mm256_setzero_pd,
        _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_pd, _mm256_storeu_ps,
        _mm256_unpackhi_pd, _mm256_unpackhi_ps, _mm256_unpacklo_pd, _mm256_unpacklo_ps,
        _mm_loadu_ps, _mm_movehl_ps, _mm_movelh_ps, _mm_storeu_ps, _mm_unpackhi_ps,
        _mm_unpacklo_ps,
    };

    /// The AVX2 packing of `Self`: register transposes of `W x W` and `4 x 4` blocks.
    ///
    /// # Safety
    /// Every method needs AVX2; pointers as documented on each.
    pub(super) trait Fma: Copy + PartialEq {
        /// Lanes in a 256-bit register.
        const W: usize;
        /// [`Transpose::transpose4`].
        ///
        /// # Safety
        /// As there.
        unsafe fn transpose4(src: *const Self, ls: isize, dst: *mut Self, ds: usize);
        /// Transposes the `W x W` block of lines `src + l ls` (`W` entries each) into `W`
        /// stores of `W` entries at `dst + q ds`: store `q` holds entry `q` of every line.
        ///
        /// # Safety
        /// Readable lines and writable stores as described; AVX2.
        unsafe fn transpose(src: *const Self, ls: isize, dst: *mut Self, ds: usize);
    }

    impl Transpose for f64 {
        #[inline(always)]
        unsafe fn transpose4(src: *const f64, ls: isize, dst: *mut f64, ds: usize) {
            // SAFETY: forwarded from this function's contract (`W = 4`).
            unsafe { Self::transpose_impl(src, ls, dst, ds) }
        }

        #[inline(always)]
        unsafe fn transpose_impl(src: *const f64, ls: isize, dst: *mut f64, ds: usize) {
            // SAFETY: four loads of four entries at the lines, four stores of four at `dst + q ds`,
            // per the contract; AVX per the contract.
            unsafe {
                let r0 = _mm256_loadu_pd(src);
                let r1 = _mm256_loadu_pd(src.offset(ls));
                let r2 = _mm256_loadu_pd(src.offset(2 * ls));
                let r3 = _mm256_loadu_pd(src.offset(3 * ls));
                let t0 = _mm256_unpacklo_pd(r0, r1);
                let t1 = _mm256_unpackhi_pd(r0, r1);
                let t2 = _mm256_unpacklo_pd(r2, r3);
                let t3 = _mm256_unpackhi_pd(r2, r3);
                _mm256_storeu_pd(dst, _mm256_permute2f128_pd::<0x20>(t0, t2));
                _mm256_storeu_pd(dst.add(ds), _mm256_permute2f128_pd::<0x20>(t1, t3));
                _mm256_storeu_pd(dst.add(2 * ds), _mm256_permute2f128_pd::<0x31>(t0, t2));
                _mm256_storeu_pd(dst.add(3 * ds), _mm256_permute2f128_pd::<0x31>(t1, t3));
            }
        }
    }

    impl Transpose for f32 {
        #[inline(always)]
        unsafe fn transpose4(src: *const f32, ls: isize, dst: *mut f32, ds: usize) {
            // SAFETY: four loads of four entries at the lines, four stores of four at
            // `dst + q ds`, per the contract; SSE, part of AVX2.
            unsafe {
                let r0 = _mm_loadu_ps(src);
                let r1 = _mm_loadu_ps(src.offset(ls));
                let r2 = _mm_loadu_ps(src.offset(2 * ls));
                let r3 = _mm_loadu_ps(src.offset(3 * ls));
                let (t0, t1) = (_mm_unpacklo_ps(r0, r1), _mm_unpacklo_ps(r2, r3));
                let (t2, t3) = (_mm_unpackhi_ps(r0, r1), _mm_unpackhi_ps(r2, r3));
                _mm_storeu_ps(dst, _mm_movelh_ps(t0, t1));
                _mm_storeu_ps(dst.add(ds), _mm_movehl_ps(t1, t0));
                _mm_storeu_ps(dst.add(2 * ds), _mm_movelh_ps(t2, t3));
                _mm_storeu_ps(dst.add(3 * ds), _mm_movehl_ps(t3, t2));
            }
        }

        #[inline(always)]
        unsafe fn transpose_impl(src: *const f32, ls: isize, dst: *mut f32, ds: usize) {
            // SAFETY: eight loads of eight entries at the lines, eight stores of eight at
            // `dst + q ds`, per the contract; AVX per the contract.
            unsafe {
                let r = |l: isize| _mm256_loadu_ps(src.offset(l * ls));
                let (r0, r1, r2, r3) = (r(0), r(1), r(2), r(3));
                let (r4, r5, r6, r7) = (r(4), r(5), r(6), r(7));
                let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
                let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
                let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
                let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
                let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
                let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
                let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
                let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
                let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
                let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
                let o = |q: usize, v| _mm256_storeu_ps(dst.add(q * ds), v);
                o(0, _mm256_permute2f128_ps::<0x20>(u0, u4));
                o(1, _mm256_permute2f128_ps::<0x20>(u1, u5));
                o(2, _mm256_permute2f128_ps::<0x20>(u2, u6));
                o(3, _mm256_permute2f128_ps::<0x20>(u3, u7));
                o(4, _mm256_permute2f128_ps::<0x31>(u0, u4));
                o(5, _mm256_permute2f128_ps::<0x31>(u1, u5));
                o(6, _mm256_permute2f128_ps::<0x31>(u2, u6));
                o(7, _mm256_permute2f128_ps::<0x31>(u3, u7));
            }
        }
    }

    /// The per-type body of [`Fma::transpose`].
    pub(super) trait Transpose {
        /// As [`Fma::transpose`].
        ///
        /// # Safety
        /// As [`Fma::transpose`].
        unsafe fn transpose_impl(src: *const Self, ls: isize, dst: *mut Self, ds: usize);
        /// As [`Fma::transpose`] for a `4 x 4` block.
        ///
        /// # Safety
        /// As [`Fma::transpose`], with 4 lines of 4 entries and 4 stores of 4.
        unsafe fn transpose4(src: *const Self, ls: isize, dst: *mut Self, ds: usize);
    }

    /// [`pack_panel`] for any `r >= 4` lines, in `4 x 4` blocks: lines `0..4`, `4..8`, ..., and
    /// a last block ending at line `r` (overlapping the one before when `r` is not a multiple of
    /// 4: those lines are written twice, with the same values).
    ///
    /// # Safety
    /// As [`super::Gemm::pack_panel_avx2`].
    #[inline(always)]
    pub(super) unsafe fn pack_narrow<T: Fma>(
        r: usize,
        kc: usize,
        src: *const T,
        ls: isize,
        dst: *mut T,
    ) {
        let main = kc / 4 * 4;
        // SAFETY: blocks of lines `g .. g + 4 <= r`, entries `p0 .. p0 + 4 <= main <= kc`, and
        // the stores at `p r + g .. p r + g + 4` for `p < kc`, inside the panel; AVX2 per the
        // contract.
        unsafe {
            for p0 in (0..main).step_by(4) {
                let mut g = 0;
                while g < r {
                    let g0 = g.min(r - 4);
                    T::transpose4(
                        src.offset(g0 as isize * ls + p0 as isize),
                        ls,
                        dst.add(p0 * r + g0),
                        r,
                    );
                    g += 4;
                }
            }
            for p in main..kc {
                for l in 0..r {
                    *dst.add(p * r + l) = *src.offset(l as isize * ls + p as isize);
                }
            }
        }
    }

    /// Packs a full panel of `r` lines (a multiple of `W`) of `kc` contiguous entries (line `l`
    /// at `src + l ls`) into `dst` (`kc` groups of `r`), as [`super::pack`] does.
    ///
    /// # Safety
    /// As [`super::Gemm::pack_panel_avx2`], with `r` lines.
    #[inline(always)]
    pub(super) unsafe fn pack_panel<T: Fma>(
        r: usize,
        kc: usize,
        src: *const T,
        ls: isize,
        dst: *mut T,
    ) {
        let w = T::W;
        let main = kc / w * w;
        // SAFETY: blocks of lines `g .. g + w < r`, entries `p0 .. p0 + w <= main <= kc`, and the
        // stores at `p r + g` for `p < kc`, inside the panel; AVX2 per the contract.
        unsafe {
            for p0 in (0..main).step_by(w) {
                for g in (0..r).step_by(w) {
                    T::transpose(
                        src.offset(g as isize * ls + p0 as isize),
                        ls,
                        dst.add(p0 * r + g),
                        r,
                    );
                }
            }
            for p in main..kc {
                for l in 0..r {
                    *dst.add(p * r + l) = *src.offset(l as isize * ls + p as isize);
                }
            }
        }
    }

    /// One tile of `T` in 256-bit registers, for [`super::tile::kernel`].
    pub(super) struct Ymm<T>(core::marker::PhantomData<T>);

    macro_rules! fma_impl {
        ($t:ty, $v:ty, $w:expr, $zero:ident, $splat:ident, $load:ident, $loadu:ident,
         $storeu:ident, $fmadd:ident, $mul:ident) => {
            impl Fma for $t {
                const W: usize = $w;
                #[inline(always)]
                unsafe fn transpose4(src: *const $t, ls: isize, dst: *mut $t, ds: usize) {
                    // SAFETY: forwarded from the trait's contract.
                    unsafe { <$t as Transpose>::transpose4(src, ls, dst, ds) }
                }
                #[inline(always)]
                unsafe fn transpose(src: *const $t, ls: isize, dst: *mut $t, ds: usize) {
                    // SAFETY: forwarded from the trait's contract.
                    unsafe { <$t as Transpose>::transpose_impl(src, ls, dst, ds) }
                }
            }
            regs_impl!(Ymm, $t, $v, $w, $zero, $splat, $load, $loadu, $storeu, $fmadd, $mul);
        };
    }

    fma_impl!(
        f64,
        __m256d,
        4,
        _mm256_setzero_pd,
        _mm256_set1_pd,
        _mm256_load_pd,
        _mm256_loadu_pd,
        _mm256_storeu_pd,
        _mm256_fmadd_pd,
        _mm256_mul_pd
    );
    fma_impl!(
        f32,
        __m256,
        8,
        _mm256_setzero_ps,
        _mm256_set1_ps,
        _mm256_load_ps,
        _mm256_loadu_ps,
        _mm256_storeu_ps,
        _mm256_fmadd_ps,
        _mm256_mul_ps
    );

    /// The `2 W x NR` microkernel (see [`super::Gemm::kernel_portable`]): a column of the panel of
    /// `A` is two registers, the panel 32-byte aligned.
    ///
    /// # Safety
    /// As [`super::Gemm::kernel_portable`], `a` 32-byte aligned, and AVX2 and FMA.
    #[inline(always)]
    pub(super) unsafe fn kernel<T: Fma, const NR: usize>(
        k: usize,
        alpha: T,
        a: *const T,
        b: *const T,
        beta: T,
        c: *mut T,
        csc: usize,
    ) where
        Ymm<T>: super::tile::Regs<T = T>,
    {
        // SAFETY: rows `0..W` of column `p` are at `a + 2 W p`, rows `W..2 W` at `a + 2 W p + W`,
        // both 32-byte aligned as `a` is; the rest is this function's contract.
        unsafe {
            super::tile::kernel::<Ymm<T>, NR, 2>(
                k,
                alpha,
                [a, a.add(T::W)],
                2 * T::W,
                b,
                beta,
                c,
                csc,
            )
        }
    }
}

/// The AVX-512 microkernels: two panels of `A` (`2 MR` rows, a 512-bit register each per column)
/// against one panel of `B` of `NR_WIDE` columns, in sixteen accumulators, or one panel of `A`.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use core::arch::x86_64::{
        __m512, __m512d, _mm512_fmadd_pd, _mm512_fmadd_ps, _mm512_load_pd, _mm512_load_ps,
        _mm512_loadu_pd, _mm512_loadu_ps, _mm512_mul_pd, _mm512_mul_ps, _mm512_set1_pd,
        _mm512_set1_ps, _mm512_setzero_pd, _mm512_setzero_ps, _mm512_storeu_pd, _mm512_storeu_ps,
    };

    use super::tile::Regs;

    /// One tile of `T` in 512-bit registers, for [`super::tile::kernel`].
    pub(super) struct Zmm<T>(core::marker::PhantomData<T>);

    regs_impl!(
        Zmm,
        f64,
        __m512d,
        8,
        _mm512_setzero_pd,
        _mm512_set1_pd,
        _mm512_load_pd,
        _mm512_loadu_pd,
        _mm512_storeu_pd,
        _mm512_fmadd_pd,
        _mm512_mul_pd
    );
    regs_impl!(
        Zmm,
        f32,
        __m512,
        16,
        _mm512_setzero_ps,
        _mm512_set1_ps,
        _mm512_load_ps,
        _mm512_loadu_ps,
        _mm512_storeu_ps,
        _mm512_fmadd_ps,
        _mm512_mul_ps
    );

    /// The `P W x NR` microkernel on the panels at `a + q W k`, `q < P` (see
    /// [`super::Gemm::kernel_avx512`]): the AVX2 kernel's arithmetic entry by entry.
    ///
    /// # Safety
    /// As [`super::Gemm::kernel_avx512`], the panels 64-byte aligned.
    #[inline(always)]
    pub(super) unsafe fn kernel<T, const NR: usize, const P: usize>(
        k: usize,
        alpha: T,
        a: *const T,
        b: *const T,
        beta: T,
        c: *mut T,
        csc: usize,
    ) where
        Zmm<T>: Regs<T = T>,
    {
        let w = <Zmm<T> as Regs>::W;
        // SAFETY: column `p` of panel `q` is at `a + W k q + W p`, 64-byte aligned as `a` is; the
        // rest is this function's contract.
        unsafe {
            let panels = core::array::from_fn(|q| a.add(q * w * k));
            super::tile::kernel::<Zmm<T>, NR, P>(k, alpha, panels, w, b, beta, c, csc)
        }
    }
}

/// The loop of the x86 microkernels: a `P W x NR` tile of `C` in `P NR` accumulator registers of
/// `W` lanes (`P` panels of `A`, two or one), column `p` of panel `q` in a register at
/// `a[q] + p step`, the products fused into the accumulators in the order of `p` from zero, then
/// `alpha` and `beta` applied. Entry by entry the same arithmetic whatever the register width and
/// the tile shape.
#[cfg(target_arch = "x86_64")]
mod tile {
    use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};

    /// Steps of the shared dimension per turn of the microkernel's loop.
    const UNROLL: usize = 4;

    /// A register of `W` lanes of `T` with fused multiply-add.
    ///
    /// # Safety
    /// Every method needs the instruction set of the register; pointers as documented on each.
    pub(super) trait Regs {
        /// The entry type.
        type T: Copy + PartialEq;
        /// The register.
        type V: Copy;
        /// Lanes in a register.
        const W: usize;
        /// Zero.
        const ZERO: Self::T;
        /// One.
        const ONE: Self::T;
        /// All lanes zero.
        unsafe fn zero() -> Self::V;
        /// All lanes `x`.
        unsafe fn splat(x: Self::T) -> Self::V;
        /// All lanes `*p`.
        unsafe fn broadcast(p: *const Self::T) -> Self::V;
        /// `W` entries at `p`, aligned to the register's size.
        unsafe fn load(p: *const Self::T) -> Self::V;
        /// `W` entries at `p`, any alignment.
        unsafe fn loadu(p: *const Self::T) -> Self::V;
        /// `W` entries to `p`, any alignment.
        unsafe fn storeu(p: *mut Self::T, v: Self::V);
        /// `a b + c`, rounded once.
        unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
        /// `a b`.
        unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    }

    /// `C = alpha A B + beta C` for one `P W x NR` tile (see the module): rows `q W .. q W + W`
    /// from the panel at `a[q]`.
    ///
    /// # Safety
    /// `a[q] + p step` holds `W` readable entries aligned to the register for every `q < P` and
    /// `p < k`, `b` points at `k * NR` readable entries, `c` at a writable `P W x NR` tile with
    /// column stride `csc` overlapping none of them; the CPU has the registers' instruction set.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn kernel<R: Regs, const NR: usize, const P: usize>(
        k: usize,
        alpha: R::T,
        a: [*const R::T; P],
        step: usize,
        b: *const R::T,
        beta: R::T,
        c: *mut R::T,
        csc: usize,
    ) {
        let w = R::W;
        // SAFETY: the reads stay at `p < k` inside the panels, the writes inside the tile; the
        // instruction set per the contract.
        unsafe {
            // The tile of C is written at the end: start fetching its lines now.
            for j in 0..NR {
                let cj = c.add(j * csc);
                _mm_prefetch::<_MM_HINT_T0>(cj.cast());
                _mm_prefetch::<_MM_HINT_T0>(cj.add(P * w - 1).cast());
            }
            let mut acc = [[R::zero(); P]; NR];
            let (mut a, mut b) = (a, b);
            macro_rules! step {
                ($p:expr) => {
                    let mut x = [R::zero(); P];
                    for q in 0..P {
                        x[q] = R::load(a[q].add($p * step));
                    }
                    for j in 0..NR {
                        let bj = R::broadcast(b.add($p * NR + j));
                        for q in 0..P {
                            acc[j][q] = R::fmadd(x[q], bj, acc[j][q]);
                        }
                    }
                };
            }
            for _ in 0..k / UNROLL {
                step!(0);
                step!(1);
                step!(2);
                step!(3);
                for a in a.iter_mut() {
                    *a = a.add(UNROLL * step);
                }
                b = b.add(UNROLL * NR);
            }
            for _ in 0..k % UNROLL {
                step!(0);
                for a in a.iter_mut() {
                    *a = a.add(step);
                }
                b = b.add(NR);
            }
            let va = R::splat(alpha);
            if beta == R::ZERO {
                for j in 0..NR {
                    for q in 0..P {
                        R::storeu(c.add(j * csc + q * w), R::mul(acc[j][q], va));
                    }
                }
            } else if beta == R::ONE {
                for j in 0..NR {
                    for q in 0..P {
                        let cj = c.add(j * csc + q * w);
                        R::storeu(cj, R::fmadd(acc[j][q], va, R::loadu(cj)));
                    }
                }
            } else {
                let vb = R::splat(beta);
                for j in 0..NR {
                    for q in 0..P {
                        let cj = c.add(j * csc + q * w);
                        R::storeu(cj, R::fmadd(acc[j][q], va, R::mul(R::loadu(cj), vb)));
                    }
                }
            }
        }
    }
}

macro_rules! gemm_impl {
    ($t:ty, $mr:expr, $nr:expr, $kc:expr, $mc:expr, $nc:expr) => {
        impl Gemm for $t {
            const MR: usize = $mr;
            const NR: usize = $nr;
            const KC: usize = $kc;
            const MC: usize = $mc;
            const NC: usize = $nc;

            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn kernel_fma(
                k: usize,
                alpha: $t,
                a: *const $t,
                b: *const $t,
                beta: $t,
                c: *mut $t,
                csc: usize,
            ) {
                // SAFETY: forwarded from this function's contract; the panels of A start on
                // `ALIGN`-byte boundaries plus multiples of `MR * kc` entries (`MR` entries are
                // 64 bytes).
                unsafe { fma::kernel::<$t, $nr>(k, alpha, a, b, beta, c, csc) }
            }

            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn kernel_avx512<const P: usize>(
                k: usize,
                alpha: $t,
                a: *const $t,
                b: *const $t,
                beta: $t,
                c: *mut $t,
                csc: usize,
            ) {
                // SAFETY: forwarded from this function's contract; each column of a panel of A
                // is `MR` entries, one 64-byte register, on a 64-byte boundary.
                unsafe { avx512::kernel::<$t, NR_WIDE, P>(k, alpha, a, b, beta, c, csc) }
            }

            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn pack_panel_avx2(
                r: usize,
                kc: usize,
                src: *const $t,
                ls: isize,
                dst: *mut $t,
            ) {
                // SAFETY: forwarded from this function's contract.
                unsafe {
                    if r == $mr {
                        fma::pack_panel::<$t>(r, kc, src, ls, dst)
                    } else {
                        fma::pack_narrow::<$t>(r, kc, src, ls, dst)
                    }
                }
            }

            #[inline(always)]
            unsafe fn kernel_portable(
                k: usize,
                alpha: $t,
                a: *const $t,
                b: *const $t,
                beta: $t,
                c: *mut $t,
                csc: usize,
            ) {
                // SAFETY: forwarded from this function's contract.
                unsafe { portable::<$t, $mr, $nr>(k, alpha, a, b, beta, c, csc) }
            }
        }
    };
}

gemm_impl!(f64, 8, 6, 256, 96, 4080);
gemm_impl!(f32, 16, 6, 256, 192, 4080);

#[cfg(test)]
mod tests {
    //! The three public products against nalgebra's operators (computed in `f64`), through both
    //! microkernels, on shapes around and across the blocks, with strided views, `alpha` and
    //! `beta` combinations and NaN in an output that `beta = 0` must ignore.

    use super::{gemm, GemmScratch, Kernel};
    use crate::level3::{gemm_nt_with, gemm_tr_with, gemm_with};
    use crate::{Matrix, Real};
    use proptest::prelude::*;

    const KERNELS: [Kernel; 3] = [Kernel::Auto, Kernel::Avx2, Kernel::Portable];

    /// A seeded matrix with entries in [-2, 2).
    fn matrix<T: Real>(rows: usize, cols: usize, seed: u64) -> Matrix<T> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        Matrix::from_fn(rows, cols, |_, _| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            T::from_f64((s >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0)
        })
    }

    fn to64<T: Real>(m: &Matrix<T>) -> Matrix<f64> {
        m.map(|x| x.as_f64())
    }

    /// `got` equals `alpha a b + beta c0` within `2 k eps` of the sum of the magnitudes of the
    /// terms (the bound of a dot product of `k` terms), computed in `f64`.
    fn check<T: Real>(
        got: &Matrix<T>,
        alpha: f64,
        a: &Matrix<f64>,
        b: &Matrix<f64>,
        beta: f64,
        c0: &Matrix<f64>,
    ) -> Result<(), TestCaseError> {
        let k = a.ncols();
        let eps = T::epsilon().as_f64();
        let mut exact = a * b * alpha;
        let mut mag = a.abs() * b.abs() * alpha.abs();
        if beta != 0.0 {
            exact += c0 * beta;
            mag += c0.abs() * beta.abs();
        }
        prop_assert_eq!(got.shape(), exact.shape());
        for ((g, e), m) in got.iter().zip(exact.iter()).zip(mag.iter()) {
            let tol = 2.0 * (k as f64 + 2.0) * eps * m + f64::MIN_POSITIVE;
            prop_assert!(
                (g.as_f64() - e).abs() <= tol,
                "got {} expected {} (tolerance {})",
                g,
                e,
                tol
            );
        }
        Ok(())
    }

    /// All three products of a layer `n_in x n_out` over a batch of `b`, with every kernel; the
    /// inputs are column ranges of larger matrices and the outputs column ranges of larger
    /// buffers, whose other columns must stay untouched.
    fn products<T: Real>(
        n_in: usize,
        n_out: usize,
        b: usize,
        alpha: f64,
        beta: f64,
        seed: u64,
    ) -> Result<(), TestCaseError> {
        let w = matrix::<T>(n_in, n_out, seed);
        let v_big = matrix::<T>(n_in + 3, b + 2, seed ^ 1);
        let d_big = matrix::<T>(n_out, b + 1, seed ^ 2);
        // V: rows 1.., columns 2..: a view with column stride n_in + 3.
        let v = v_big.view((1, 2), (n_in, b));
        let delta = d_big.columns(1, b);
        let g0 = matrix::<T>(n_in, n_out, seed ^ 3);
        let (w64, v64, d64) = (to64(&w), to64(&v.clone_owned()), to64(&delta.clone_owned()));
        let nan = T::nan();
        let mut outputs = Vec::new();
        for kernel in KERNELS {
            let mut scratch = GemmScratch::new();

            let mut s = Matrix::from_element(n_out, b + 1, nan);
            gemm_tr_with(&mut s.columns_mut(0, b), &w, &v, &mut scratch, kernel);
            check(
                &s.columns(0, b).clone_owned(),
                1.0,
                &w64.transpose(),
                &v64,
                0.0,
                &s.columns(0, b).map(|x| x.as_f64()),
            )?;
            prop_assert!(s.column(b).iter().all(|x| x.is_nan()));

            let mut d = Matrix::from_element(n_in + 2, b, nan);
            gemm_with(&mut d.rows_mut(1, n_in), &w, &delta, &mut scratch, kernel);
            let d0 = Matrix::zeros(n_in, b);
            check(&d.rows(1, n_in).clone_owned(), 1.0, &w64, &d64, 0.0, &d0)?;
            prop_assert!(d
                .row(0)
                .iter()
                .chain(d.row(n_in + 1).iter())
                .all(|x| x.is_nan()));

            let mut g = if beta == 0.0 {
                Matrix::from_element(n_in, n_out, nan)
            } else {
                g0.clone()
            };
            let (a_t, b_t) = (T::from_f64(alpha), T::from_f64(beta));
            gemm_nt_with(
                &mut g.as_view_mut(),
                a_t,
                &v,
                &delta,
                b_t,
                &mut scratch,
                kernel,
            );
            check(&g, alpha, &v64, &d64.transpose(), beta, &to64(&g0))?;
            outputs.push((s, d, g));
        }
        // The AVX-512 kernel (Auto, where the CPU has it), the AVX2 kernel and the portable one
        // do the same arithmetic: equal bits.
        let bits = |m: &Matrix<T>| m.iter().map(|x| x.as_f64().to_bits()).collect::<Vec<_>>();
        for other in 1..KERNELS.len() {
            for (x, y) in [
                (&outputs[0].0, &outputs[other].0),
                (&outputs[0].1, &outputs[other].1),
                (&outputs[0].2, &outputs[other].2),
            ] {
                prop_assert_eq!(
                    bits(x),
                    bits(y),
                    "{:?} and {:?} differ",
                    KERNELS[0],
                    KERNELS[other]
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn small_shapes_f64(n_in in 1usize..=40, n_out in 1usize..=40, b in 1usize..=40,
                            ab in 0usize..6, seed in any::<u64>()) {
            let (alpha, beta) = [(1.0, 0.0), (0.25, 0.0), (-1.5, 1.0), (1.0, 1.0), (0.5, 2.0), (1.0, -0.75)][ab];
            products::<f64>(n_in, n_out, b, alpha, beta, seed)?;
        }

        #[test]
        fn small_shapes_f32(n_in in 1usize..=40, n_out in 1usize..=40, b in 1usize..=40,
                            ab in 0usize..6, seed in any::<u64>()) {
            let (alpha, beta) = [(1.0, 0.0), (0.25, 0.0), (-1.5, 1.0), (1.0, 1.0), (0.5, 2.0), (1.0, -0.75)][ab];
            products::<f32>(n_in, n_out, b, alpha, beta, seed)?;
        }
    }

    /// Shapes that cross `MC`, `KC` and `NC` (and the network of the benchmarks).
    #[test]
    fn large_shapes_cross_the_blocks() {
        for (n_in, n_out, b) in [
            (300, 800, 70),
            (800, 300, 70),
            (784, 256, 64),
            (70, 4200, 9),
            (257, 193, 513),
        ] {
            products::<f64>(n_in, n_out, b, 0.5, 1.0, 1).unwrap();
            products::<f32>(n_in, n_out, b, 1.0, 0.0, 2).unwrap();
        }
    }

    /// A product over an empty shared dimension is `beta C`: zeros for `beta = 0`, whatever `C`
    /// held.
    #[test]
    fn empty_shared_dimension_scales_by_beta() {
        let w = Matrix::<f64>::zeros(0, 3);
        let v = Matrix::<f64>::zeros(0, 2);
        let mut s = Matrix::from_element(3, 2, f64::NAN);
        crate::gemm_tr_to(
            &mut s.as_view_mut(),
            &w,
            &v.as_view(),
            &mut GemmScratch::new(),
        );
        assert_eq!(s, Matrix::zeros(3, 2));
        let (v, delta) = (Matrix::<f64>::zeros(4, 0), Matrix::<f64>::zeros(3, 0));
        let mut g = Matrix::from_element(4, 3, 2.0);
        crate::gemm_nt_to(
            &mut g.as_view_mut(),
            1.0,
            &v.as_view(),
            &delta.as_view(),
            0.5,
            &mut GemmScratch::new(),
        );
        assert_eq!(g, Matrix::from_element(4, 3, 1.0));
    }

    /// An output with unit column stride and row stride `n` (row-major), which the public
    /// functions never pass: every tile goes through the stack buffer. Each entry takes the same
    /// bits as in a column-major output, where most tiles are written in place: the edge buffer
    /// applies `alpha` and `beta` as each kernel does on a full tile.
    #[test]
    fn row_major_output() {
        let (m, k, n) = (37, 23, 13);
        let a = matrix::<f64>(m, k, 5);
        let b = matrix::<f64>(k, n, 6);
        let c0 = matrix::<f64>(m, n, 7);
        for kernel in KERNELS {
            for (alpha, beta) in [(2.0, -1.0), (0.3, 1.0), (0.3, -0.7), (-0.3, 0.0)] {
                let mut c = c0.transpose(); // n x m column-major: C(i, j) at j + i n.
                let mut c2 = c0.clone();
                for (out, rs, cs) in [(&mut c, n as isize, 1), (&mut c2, 1, m as isize)] {
                    // SAFETY: the strides describe the m x n matrix C inside `out`; A and B are
                    // separate.
                    unsafe {
                        gemm(
                            m,
                            k,
                            n,
                            alpha,
                            (a.as_ptr(), 1, m as isize),
                            (b.as_ptr(), 1, k as isize),
                            beta,
                            (out.as_mut_ptr(), rs, cs),
                            &mut GemmScratch::new(),
                            kernel,
                        )
                    };
                }
                check(&c.transpose(), alpha, &a, &b, beta, &c0).unwrap();
                let bits = |m: &Matrix<f64>| m.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&c.transpose()), bits(&c2), "{kernel:?} {alpha} {beta}");
            }
        }
    }

    /// Equal inputs give equal bits, and a reserved scratch does not grow.
    #[test]
    fn deterministic_and_reserved() {
        let (n_in, n_out, b) = (300, 70, 33);
        let w = matrix::<f64>(n_in, n_out, 8);
        let v = matrix::<f64>(n_in, b, 9);
        let mut scratch = GemmScratch::with_shape(n_out, n_in, b);
        let before = (
            scratch.a.as_ptr(),
            scratch.a.len(),
            scratch.b.as_ptr(),
            scratch.b.len(),
        );
        let mut s1 = Matrix::zeros(n_out, b);
        let mut s2 = Matrix::zeros(n_out, b);
        crate::gemm_tr_to(&mut s1.as_view_mut(), &w, &v.as_view(), &mut scratch);
        crate::gemm_tr_to(
            &mut s2.columns_mut(0, b),
            &w,
            &v.columns(0, b),
            &mut scratch,
        );
        crate::gemm_tr_to(
            &mut s2.columns_mut(0, b - 5),
            &w,
            &v.columns(0, b - 5),
            &mut scratch,
        );
        let after = (
            scratch.a.as_ptr(),
            scratch.a.len(),
            scratch.b.as_ptr(),
            scratch.b.len(),
        );
        assert_eq!(before, after);
        assert_eq!(s1, s2);
        let mut s3 = Matrix::zeros(n_out, b);
        crate::gemm_tr_to(
            &mut s3.as_view_mut(),
            &w,
            &v.as_view(),
            &mut GemmScratch::new(),
        );
        assert_eq!(s1, s3);
    }
}
