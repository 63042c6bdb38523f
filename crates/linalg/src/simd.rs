//! Run-time dispatch: every kernel of [`crate::kernels`] compiled twice, for the baseline target
//! and for AVX2, and the AVX2 build called when the CPU has it.
//!
//! A binary built by plain `cargo build` targets the x86-64 baseline (SSE2), so its loops use
//! 128-bit registers. Each wrapper here holds a copy of the kernel compiled with
//! `#[target_feature(enable = "avx2")]` (256-bit registers: 4 `f64` or 8 `f32` per instruction),
//! and picks it after `is_x86_feature_detected!("avx2")`, which the standard library caches (one
//! load and a branch per call). Both copies run the same source in the same order, and Rust
//! never contracts a product and a sum into a fused multiply-add, so they return the same bits;
//! the tests in this module check that.

use crate::Real;

/// Below this many rows (entries of a vector, rows of a matrix) the kernels run their portable
/// body inline in the caller: too short for a register loop to pay for the call into the AVX2
/// build (a `#[target_feature]` function is never inlined into a caller without the feature).
#[cfg(target_arch = "x86_64")]
const SMALL: usize = 16;

// The AVX2 bodies sum `f32` dot products in 16 lanes (two registers), which is the lane count
// only from `kernels::SHORT` entries on: shorter vectors must stay on the portable bodies.
#[cfg(target_arch = "x86_64")]
const _: () = assert!(SMALL >= crate::kernels::SHORT);

/// In a [`multiversion!`] function: returns `$wide(args)` where the CPU has AVX-512F; nothing
/// without a `$wide`.
macro_rules! avx512_first {
    (($($arg:ident),*)) => {};
    ($wide:path, ($($arg:ident),*)) => {
        if has_avx512() {
            // SAFETY: the CPU supports AVX-512F and AVX2 (just detected); the public wrappers
            // checked the shapes.
            return unsafe { $wide($($arg),*) };
        }
    };
}

/// Declares `pub(crate) fn $name<T: Real>(..)` that calls `kernels::$name` through its AVX2
/// build where the CPU supports AVX2 and the vectors have at least [`SMALL`] rows, and through
/// its baseline build, inline, elsewhere. With `[avx512 $wide]`, `$wide` (the kernel in 512-bit
/// registers, the same lanes) comes first where the CPU has AVX-512F.
macro_rules! multiversion {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
        => $avx2:path $([avx512 $wide:path])?, $rows:expr;)*) => {$(
        #[inline]
        pub(crate) fn $name<T: Real>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            if $rows >= SMALL {
                avx512_first!($($wide,)? ($($arg),*));
                /// The kernel compiled for AVX2.
                ///
                /// # Safety
                /// The CPU must support AVX2, and the arguments must meet the kernel's shape
                /// contract (checked by the public wrappers).
                #[target_feature(enable = "avx2")]
                unsafe fn avx2<T: Real>($($arg: $ty),*) $(-> $ret)? {
                    // SAFETY: forwarded from this function's contract.
                    unsafe { $avx2($($arg),*) }
                }
                if ::std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (just detected); the public wrappers checked
                    // the shapes.
                    return unsafe { avx2($($arg),*) };
                }
            }
            crate::kernels::$name($($arg),*)
        }
    )*};
}

/// Runs `f`, compiled for AVX2 where the CPU has it: the closure's body, with everything it
/// inlines, is compiled into a `#[target_feature(enable = "avx2")]` function (256-bit registers;
/// no fused multiply-add, so the same bits as the baseline build). For a caller's whole loop of
/// short-vector work (a small network's SGD steps), whose kernels are too short to pay for a
/// call each into an AVX2 build. Where the CPU lacks AVX2, or the compiler keeps the closure
/// apart, `f` runs as it is.
///
/// ```
/// use backprop_linalg::with_avx2;
/// let v = [1.0_f64, 2.0, 3.0];
/// assert_eq!(with_avx2(|| v.iter().map(|x| x * x).sum::<f64>()), 14.0);
/// ```
#[inline(always)]
pub fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        /// `f` with AVX2 enabled.
        ///
        /// # Safety
        /// The CPU must support AVX2.
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if ::std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (just detected).
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// Runs `f`, compiled for AVX-512F where the CPU has it: as [`with_avx2`] with 512-bit registers
/// (8 `f64` or 16 `f32` per instruction) for element-wise work over a layer or a batch, such as
/// the activations and the softmax's exponentials. AVX-512F implies FMA (and F16C) to the
/// compiler, but Rust never fuses a separate product and sum into one (no fast-math), so the
/// results are the same bits as the baseline and AVX2 builds. Where the CPU lacks AVX-512F, `f`
/// runs as it is.
///
/// ```
/// use backprop_linalg::with_avx512;
/// let v = [1.0_f64, 2.0, 3.0];
/// assert_eq!(with_avx512(|| v.iter().map(|x| x * x).sum::<f64>()), 14.0);
/// ```
#[inline(always)]
pub fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        /// `f` with AVX-512F (and AVX2; the compiler takes FMA and F16C with AVX-512F) enabled.
        ///
        /// # Safety
        /// The CPU must support AVX-512F and AVX2 (and so FMA and F16C, which every AVX-512F CPU
        /// has).
        #[target_feature(enable = "avx512f,avx2")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if ::std::is_x86_feature_detected!("avx512f") && ::std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX-512F and AVX2 (just detected).
            return unsafe { avx512(f) };
        }
    }
    f()
}

/// Runs `f` compiled for the widest registers the CPU has: [`with_avx512`] where it has AVX-512F,
/// else [`with_avx2`], else as it is. Every build runs the same source in the same order without
/// fused multiply-adds: the same bits on every CPU.
///
/// ```
/// use backprop_linalg::with_widest;
/// let v = [0.5_f64; 40];
/// assert_eq!(with_widest(|| v.iter().map(|x| x * 2.0).sum::<f64>()), 40.0);
/// ```
#[inline(always)]
pub fn with_widest<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if ::std::is_x86_feature_detected!("avx512f") && ::std::is_x86_feature_detected!("avx2") {
        return with_avx512(f);
    }
    with_avx2(f)
}

multiversion! {
    fn dot(a: &[T], b: &[T]) -> T => crate::x86::dot, a.len();
    fn axpy(y: &mut [T], a: T, x: &[T]) => crate::x86::axpy, y.len();
    fn hadamard_mut(a: &mut [T], b: &[T]) => crate::x86::hadamard_mut, a.len();
    fn hadamard_to(out: &mut [T], a: &[T], b: &[T]) => crate::x86::hadamard_to, a.len();
    fn gemv(out: &mut [T], w: &[T], d: &[T]) => crate::x86::gemv, out.len();
    fn ger(w: &mut [T], a: T, x: &[T], y: &[T]) => crate::x86::ger, x.len();
    // The column dot products and the fused passes, in 512-bit registers where the CPU has them.
    fn gemv_tr(out: &mut [T], w: &[T], v: &[T], reverse: bool)
        => crate::x86::gemv_tr [avx512 crate::x86::gemv_tr_avx512], v.len();
    fn gemv_ger(out: &mut [T], w: &mut [T], d: &[T], a: T, x: &[T])
        => crate::x86::gemv_ger [avx512 crate::x86::gemv_ger_avx512], out.len();
    fn ger_gemv_tr(out: &mut [T], w: &mut [T], x: &[T], d: &[T], v: &[T], reverse: bool)
        => crate::x86::ger_gemv_tr [avx512 crate::x86::ger_gemv_tr_avx512], x.len();
}

/// Whether the CPU has AVX-512F and AVX2 (cached by the standard library).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx512() -> bool {
    ::std::is_x86_feature_detected!("avx512f") && ::std::is_x86_feature_detected!("avx2")
}

#[cfg(test)]
mod tests {
    //! The dispatched kernels (AVX2 where the CPU has it, AVX-512 for the column dot products
    //! where it has that, and then their AVX2 build too) against the baseline build of the same
    //! bodies, bit for bit, on shapes that exercise the blocks of four columns, the lanes and the
    //! tails.
    use crate::kernels;
    use proptest::prelude::*;

    fn data(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0
            })
            .collect()
    }

    fn data32(n: usize, seed: u64) -> Vec<f32> {
        data(n, seed).into_iter().map(|x| x as f32).collect()
    }

    fn bits64(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn bits32(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    macro_rules! same_bits {
        ($data:ident, $bits:ident, $rows:expr, $cols:expr, $seed:expr, $off:expr) => {{
            let (rows, cols, seed, off) = ($rows, $cols, $seed, $off);
            // Every slice starts some entries into its buffer: the AVX2 kernels peel entries to
            // reach a 32-byte boundary, and every alignment must give the same bits.
            let size = rows * cols;
            let w_buf = $data(size + 16, seed);
            let (x_buf, v_buf) = ($data(rows + 16, seed ^ 1), $data(rows + 16, seed ^ 2));
            let (xo, vo) = ((off * 3) % 16, (off * 5) % 16);
            let (x, v) = (&x_buf[xo..xo + rows], &v_buf[vo..vo + rows]);
            let w = &w_buf[off..off + size];
            let d = $data(cols, seed ^ 3);
            let a = $data(1, seed ^ 4)[0];

            prop_assert_eq!(super::dot(x, v).to_bits(), kernels::dot(x, v).to_bits());

            for reverse in [false, true] {
                let (mut o1, mut o2) = (vec![0.0; cols], vec![0.0; cols]);
                super::gemv_tr(&mut o1, w, v, reverse);
                kernels::gemv_tr(&mut o2, w, v, false);
                prop_assert_eq!($bits(&o1), $bits(&o2));

                let (mut w1, mut w2) = (w_buf.clone(), w_buf.clone());
                super::ger_gemv_tr(&mut o1, &mut w1[off..off + size], x, &d, v, reverse);
                kernels::ger_gemv_tr(&mut o2, &mut w2[off..off + size], x, &d, v, false);
                prop_assert_eq!($bits(&o1), $bits(&o2));
                prop_assert_eq!($bits(&w1), $bits(&w2));

                // Where the dispatch took the 512-bit registers, the AVX2 ones as well.
                #[cfg(target_arch = "x86_64")]
                if rows >= super::SMALL && ::std::is_x86_feature_detected!("avx2") {
                    // SAFETY: AVX2 just detected; the shapes are the kernels' own.
                    unsafe { crate::x86::gemv_tr(&mut o1, w, v, reverse) };
                    kernels::gemv_tr(&mut o2, w, v, false);
                    prop_assert_eq!($bits(&o1), $bits(&o2));
                    let (mut w1, mut w2) = (w_buf.clone(), w_buf.clone());
                    // SAFETY: as above.
                    unsafe {
                        crate::x86::ger_gemv_tr(
                            &mut o1,
                            &mut w1[off..off + size],
                            x,
                            &d,
                            v,
                            reverse,
                        )
                    };
                    kernels::ger_gemv_tr(&mut o2, &mut w2[off..off + size], x, &d, v, false);
                    prop_assert_eq!($bits(&o1), $bits(&o2));
                    prop_assert_eq!($bits(&w1), $bits(&w2));
                }
            }

            #[cfg(target_arch = "x86_64")]
            if rows >= super::SMALL && ::std::is_x86_feature_detected!("avx2") {
                let (mut o1, mut o2) = (vec![0.0; rows], vec![0.0; rows]);
                let (mut w1, mut w2) = (w_buf.clone(), w_buf.clone());
                /// The AVX2 build, as the dispatch takes it without AVX-512F.
                #[target_feature(enable = "avx2")]
                unsafe fn avx2<T: crate::Real>(out: &mut [T], w: &mut [T], d: &[T], a: T, x: &[T]) {
                    // SAFETY: forwarded.
                    unsafe { crate::x86::gemv_ger(out, w, d, a, x) }
                }
                // SAFETY: AVX2 just detected; the shapes are the kernel's own.
                unsafe { avx2(&mut o1, &mut w1[off..off + size], &d, a, x) };
                kernels::gemv_ger(&mut o2, &mut w2[off..off + size], &d, a, x);
                prop_assert_eq!($bits(&o1), $bits(&o2));
                prop_assert_eq!($bits(&w1), $bits(&w2));
            }

            let (mut o1, mut o2) = (vec![0.0; rows], vec![0.0; rows]);
            super::gemv(&mut o1, w, &d);
            kernels::gemv(&mut o2, w, &d);
            prop_assert_eq!($bits(&o1), $bits(&o2));

            let (mut w1, mut w2) = (w_buf.clone(), w_buf.clone());
            super::ger(&mut w1[off..off + size], a, x, &d);
            kernels::ger(&mut w2[off..off + size], a, x, &d);
            prop_assert_eq!($bits(&w1), $bits(&w2));

            let (mut w1, mut w2) = (w_buf.clone(), w_buf.clone());
            super::gemv_ger(&mut o1, &mut w1[off..off + size], &d, a, x);
            kernels::gemv_ger(&mut o2, &mut w2[off..off + size], &d, a, x);
            prop_assert_eq!($bits(&o1), $bits(&o2));
            prop_assert_eq!($bits(&w1), $bits(&w2));

            let (mut y1, mut y2) = (v_buf.clone(), v_buf.clone());
            let (y1, y2) = (&mut y1[off..off + rows], &mut y2[off..off + rows]);
            super::axpy(y1, a, x);
            kernels::axpy(y2, a, x);
            prop_assert_eq!($bits(y1), $bits(y2));
            super::hadamard_mut(y1, x);
            kernels::hadamard_mut(y2, x);
            prop_assert_eq!($bits(y1), $bits(y2));
            super::hadamard_to(y1, x, v);
            kernels::hadamard_to(y2, x, v);
            prop_assert_eq!($bits(y1), $bits(y2));
        }};
    }

    proptest! {
        #[test]
        fn dispatched_kernels_match_the_baseline_build_bit_for_bit_f64(
            rows in 1usize..70, cols in 0usize..11, seed in any::<u64>(), off in 0usize..8,
        ) {
            same_bits!(data, bits64, rows, cols, seed, off);
        }

        #[test]
        fn dispatched_kernels_match_the_baseline_build_bit_for_bit_f32(
            rows in 1usize..70, cols in 0usize..11, seed in any::<u64>(), off in 0usize..8,
        ) {
            same_bits!(data32, bits32, rows, cols, seed, off);
        }
    }

    /// The long columns that the AVX2 and AVX-512 kernels align by peeling rows (at least 512
    /// `f64` or 1024 `f32` rows, a multiple of the register width), at every alignment: every
    /// peel offset up to a 64-byte boundary in both types.
    #[test]
    fn long_columns_match_the_baseline_build_at_every_alignment() {
        fn check() -> Result<(), TestCaseError> {
            for (rows, cols) in [(512, 5), (784, 4), (1032, 1)] {
                for off in 0..8 {
                    same_bits!(data, bits64, rows, cols, rows as u64 + off as u64, off);
                }
            }
            // Sixteen offsets of 4 bytes: every start within a 64-byte line.
            for (rows, cols) in [(1024, 5), (1040, 3), (1048, 2)] {
                for off in 0..16 {
                    same_bits!(data32, bits32, rows, cols, rows as u64 + off as u64, off);
                }
            }
            Ok(())
        }
        check().unwrap();
    }
}
