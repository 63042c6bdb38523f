//! Value stability, as rand's `value_stability` tests: the exact bits of `exp`, `log`, the
//! sigmoid, tanh and the softmax of the cross-entropy loss on a fixed set of inputs, in `f64` and
//! `f32`, on every CPU path (the baseline build, and loops compiled for AVX2 and for AVX-512F
//! through `linalg::with_avx2` and `linalg::with_avx512`, as training and evaluation run them,
//! where the CPU has them). The softmax and the cross-entropy losses are pinned in both forms, a
//! sample at a time (training) and a batch at a time (evaluation).
//!
//! The expected bits were produced once from the implementation and frozen: they change only if
//! the numerics change (a C library function in place of the crate's own, `f32` computed
//! through `f64`, a reordered polynomial, a fused multiply-add), which would break the promise of
//! the same bits on every machine. If a change is intended, the failure message prints the new
//! table; say so in the CHANGELOG, since every trained network changes with it.

use backprop::activations::{exp, log, tanh, Activation};
use backprop::linalg::{with_avx2, with_avx512, Real};
use backprop::network::Loss;

/// Inputs from the subnormals to beyond overflow, both signs.
const INPUTS: [f64; 24] = [
    0.0, -0.0, 5e-324, 1e-300, -1e-30, 1e-12, -3e-8, 0.001, -0.1, 0.25, 0.5, -0.7, 1.0, -1.5, 2.0,
    3.3, -5.0, 9.5, -19.5, 40.0, 88.5, -103.5, 709.5, -745.0,
];

/// Logits for the softmax: tiny differences, a large spread, a large offset.
const LOGITS: [f64; 10] = [
    0.3, -1.2, 2.0, 1e-9, -0.0, 7.5, -30.0, 7.5000001, 1e3, 999.0,
];

fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter()
        .map(|x| {
            let x = x.as_f64();
            // f32 values are exact in f64; their own bits read better in the table.
            if std::mem::size_of::<T>() == 4 {
                u64::from((x as f32).to_bits())
            } else {
                x.to_bits()
            }
        })
        .collect()
}

/// 4096 more inputs, evenly spaced over `[-16, 16)` (not on a grid of the type's values).
fn dense() -> impl Iterator<Item = f64> {
    (0..4096).map(|k| (k as f64 - 2048.0) / 128.0 + 1.0 / 3.0 / 128.0)
}

/// The inputs of a table: `INPUTS`, then [`dense`].
fn inputs<T: Real>() -> Vec<T> {
    INPUTS
        .iter()
        .copied()
        .chain(dense())
        .map(T::from_f64)
        .collect()
}

/// FNV-1a of the bits: the dense inputs' results enter the table as one checksum each.
fn fnv(bits: &[u64]) -> u64 {
    bits.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        b.to_le_bytes().iter().fold(h, |h, &byte| {
            (h ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
        })
    })
}

/// A row of the table: the results on `INPUTS`, then the checksum of those on the dense inputs.
fn row<T: Real>(v: &[T]) -> Vec<u64> {
    let b = bits(v);
    let (named, dense) = b.split_at(INPUTS.len());
    let mut row = named.to_vec();
    row.push(fnv(dense));
    row
}

/// Every function of the crate's numerics on the inputs and `LOGITS`, each as one row.
fn compute<T: Real>() -> Vec<(&'static str, Vec<u64>)> {
    let x: Vec<T> = inputs();
    let n = x.len();
    let mut out = Vec::new();
    let map = |f: &dyn Fn(T) -> T| x.iter().map(|&x| f(x)).collect::<Vec<T>>();
    out.push(("exp", row(&map(&exp))));
    out.push(("log", row(&map(&|x: T| log(x.abs())))));
    out.push(("tanh", row(&map(&tanh))));
    for a in [Activation::Sigmoid, Activation::Tanh] {
        let mut v = vec![T::zero(); n];
        a.apply_to(&x, &mut v);
        out.push((a.name(), row(&v)));
        let scalar: Vec<T> = x.iter().map(|&s| a.value(s)).collect();
        assert_eq!(
            bits(&scalar),
            bits(&v),
            "{a}: scalar and slice forms differ"
        );
    }
    let z: Vec<T> = LOGITS.iter().map(|&x| T::from_f64(x)).collect();
    let mut p = vec![T::zero(); z.len()];
    Loss::CrossEntropy.output_to(&z, &mut p).unwrap();
    out.push(("softmax", bits(&p)));
    let mut y = vec![T::zero(); z.len()];
    y[2] = T::one();
    let mut dv = vec![T::zero(); z.len()];
    let loss = Loss::CrossEntropy.gradient_to(&z, &y, &mut dv).unwrap();
    dv.push(loss);
    out.push(("cross-entropy gradient, loss", bits(&dv)));
    // 1024 more softmaxes, of logits spread over [-8, 8): the checksum of their losses.
    let mut losses = Vec::new();
    for k in 0..1024 {
        let z: Vec<T> = (0..10)
            .map(|i| T::from_f64(((k * 7 + i * 13) % 97) as f64 / 6.0625 - 8.0 + k as f64 / 3e3))
            .collect();
        y.fill(T::zero());
        y[k % 10] = T::one();
        losses.push(
            Loss::CrossEntropy
                .gradient_to(&z, &y, &mut dv[..10])
                .unwrap(),
        );
    }
    out.push(("cross-entropy losses", vec![fnv(&bits(&losses))]));
    out.extend(batch::<T>());
    out
}

/// The loops of [`compute`] as training and evaluation run them, inlined into the caller: the
/// activations over a slice, and the softmax and cross-entropy of a batch.
#[inline(always)]
fn loops<T: Real>() -> Vec<(&'static str, Vec<u64>)> {
    let x: Vec<T> = inputs();
    let n = x.len();
    let mut out = Vec::new();
    let e: Vec<T> = x.iter().map(|&x| exp(x)).collect();
    out.push(("exp", row(&e)));
    let l: Vec<T> = x.iter().map(|&x| log(x.abs())).collect();
    out.push(("log", row(&l)));
    let t: Vec<T> = x.iter().map(|&x| tanh(x)).collect();
    out.push(("tanh", row(&t)));
    for a in [Activation::Sigmoid, Activation::Tanh] {
        let mut v = vec![T::zero(); n];
        a.apply_to(&x, &mut v);
        out.push((a.name(), row(&v)));
    }
    out.extend(batch::<T>());
    out
}

/// The softmax of `LOGITS` and the losses of the 1024 softmaxes of [`compute`], each batch in one
/// call of `Loss::values_and_outputs` (an evaluation's form): the same rows, to the bit. That call
/// picks the widest registers itself (`linalg::with_widest`), so in every table these rows run on
/// the CPU's widest path; on a CPU without AVX-512, the AVX-512 tables run the AVX2 or baseline
/// build (qemu emulates no AVX-512: `.ci/qemu-same-bits.sh` compares it only on a native
/// AVX-512 machine).
#[inline(always)]
fn batch<T: Real>() -> Vec<(&'static str, Vec<u64>)> {
    let mut out = Vec::new();
    let z: Vec<T> = LOGITS.iter().map(|&x| T::from_f64(x)).collect();
    let (mut p, mut loss) = (vec![T::zero(); z.len()], [T::zero()]);
    let mut y = vec![T::zero(); z.len()];
    y[2] = T::one();
    Loss::CrossEntropy
        .values_and_outputs(&z, &y, &mut loss, &mut p, true)
        .unwrap();
    out.push(("softmax", bits(&p)));
    let (mut zs, mut ys) = (Vec::new(), Vec::new());
    for k in 0..1024 {
        zs.extend(
            (0..10).map(|i| {
                T::from_f64(((k * 7 + i * 13) % 97) as f64 / 6.0625 - 8.0 + k as f64 / 3e3)
            }),
        );
        ys.extend((0..10).map(|i| if i == k % 10 { T::one() } else { T::zero() }));
    }
    let (mut losses, mut scratch) = (vec![T::zero(); 1024], vec![T::zero(); zs.len()]);
    Loss::CrossEntropy
        .values_and_outputs(&zs, &ys, &mut losses, &mut scratch, false)
        .unwrap();
    out.push(("cross-entropy losses", vec![fnv(&bits(&losses))]));
    out
}

/// [`loops`] compiled for AVX2 where the CPU has it.
fn compute_avx2<T: Real>() -> Vec<(&'static str, Vec<u64>)> {
    with_avx2(
        #[inline(always)]
        || loops::<T>(),
    )
}

/// [`loops`] compiled for AVX-512F where the CPU has it.
fn compute_avx512<T: Real>() -> Vec<(&'static str, Vec<u64>)> {
    with_avx512(
        #[inline(always)]
        || loops::<T>(),
    )
}

/// Compares with the frozen table, printing the whole computed table on a mismatch.
fn check(path: &str, got: &[(&str, Vec<u64>)], want: &[(&str, &[u64])]) {
    let table = got
        .iter()
        .map(|(name, v)| {
            let hex: Vec<String> = v.iter().map(|b| format!("0x{b:x}")).collect();
            format!("(\"{name}\", &[{}]),", hex.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Every row of the table under the name: two rows may share one (the scalar tanh and the
    // tanh activation, equal bit for bit), and a path may compute only some of the rows.
    for (name, v) in got {
        let wanted: Vec<&[u64]> = want
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, w)| *w)
            .collect();
        assert!(!wanted.is_empty(), "{path}: no pinned row {name}");
        for w in wanted {
            assert_eq!(
                v.as_slice(),
                w,
                "{path}: the bits of {name} changed; computed table:\n{table}"
            );
        }
    }
}

#[rustfmt::skip]
const F64: &[(&str, &[u64])] = &[
    ("exp", &[0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000001198, 0x3fefffffefe4d4da, 0x3ff0041919b7ee34, 0x3fecf46d99d52b3b, 0x3ff48b5e3c3e8186, 0x3ffa61298e1e069d, 0x3fdfc80db9dd5542, 0x4005bf0a8b145769, 0x3fcc8f87724b5c1d, 0x401d8e64b8d4ddad, 0x403b1cd5e7807b7a, 0x3f7b993fe00d5376, 0x40ca17dd08c11dc0, 0x3e2d30deb5f04c14, 0x438a220d397972eb, 0x47e99b987155fe27, 0x3699a733e3852834, 0x7fe81e9b4b52d0c9, 0x1, 0xfe3bb3138092b48d]),
    ("log", &[0xfff0000000000000, 0xfff0000000000000, 0xc0874385446d71c3, 0xc085963447f87fb5, 0xc05144f69ff9ffc4, 0xc03ba18a998fffa0, 0xc0315273140a84e5, 0xc01ba18a998fffa0, 0xc0026bb1bbb55515, 0xbff62e42fefa39ef, 0xbfe62e42fefa39ef, 0xbfd6d3c324e13f50, 0x0, 0x3fd9f323ecbf984c, 0x3fe62e42fefa39ef, 0x3ff31a4e7240c777, 0x3ff9c041f7ed8d33, 0x400202a5464624b1, 0x4007c368a8c97f5a, 0x400d82d33b32720d, 0x4011ee98389322fd, 0x40128eebdc60143f, 0x401a421c25960b33, 0x401a741afe174a7a, 0x7f11450510343974]),
    ("tanh", &[0x0, 0x8000000000000000, 0x1, 0x1a56e1fc2f8f359, 0xb9b4484bfeebc2a0, 0x3d719799812dea11, 0xbe601b2b29a46929, 0x3f50624d77516ce3, 0xbfb983d7795f413b, 0x3fcf597ea69a1c86, 0x3fdd9353d7568af3, 0xbfe356fb17af2e91, 0x3fe85efab514f394, 0xbfecf6f9786df577, 0x3feed9505e1bc3d4, 0x3fefe9bdf44f7c03, 0xbfefff419668df11, 0x3feffffff9fbea41, 0xbff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0xbff0000000000000, 0x3ff0000000000000, 0xbff0000000000000, 0x78326ba50d16fd9]),
    ("sigmoid", &[0x3fe0000000000000, 0x3fe0000000000000, 0x3fe0000000000000, 0x3fe0000000000000, 0x3fe0000000000000, 0x3fe00000000008cc, 0x3fdffffff7f26a6a, 0x3fe0020c49b78134, 0x3fde66bdb1aca090, 0x3fe1fd5992bc4b83, 0x3fe3eb2fd4d34390, 0x3fd53c695abcd716, 0x3fe764d4f5d5a2bd, 0x3fc759b8355a1baf, 0x3fec2f7d5a8a79c9, 0x3feedc99cf2c9d4d, 0x3f7b69f67d638f8e, 0x3fefff63093cd1d3, 0x3e2d30deb4463e2d, 0x3ff0000000000000, 0x3ff0000000000000, 0x3699a733e3852834, 0x3ff0000000000000, 0x0, 0x13000fb48bd7612]),
    ("tanh", &[0x0, 0x8000000000000000, 0x1, 0x1a56e1fc2f8f359, 0xb9b4484bfeebc2a0, 0x3d719799812dea11, 0xbe601b2b29a46929, 0x3f50624d77516ce3, 0xbfb983d7795f413b, 0x3fcf597ea69a1c86, 0x3fdd9353d7568af3, 0xbfe356fb17af2e91, 0x3fe85efab514f394, 0xbfecf6f9786df577, 0x3feed9505e1bc3d4, 0x3fefe9bdf44f7c03, 0xbfefff419668df11, 0x3feffffff9fbea41, 0xbff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0xbff0000000000000, 0x3ff0000000000000, 0xbff0000000000000, 0x78326ba50d16fd9]),
    ("softmax", &[0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x3fe764d4f5d5a327, 0x3fd136561454bad4]),
    ("cross-entropy gradient, loss", &[0x0, 0x0, 0xbff0000000000000, 0x0, 0x0, 0x0, 0x0, 0x0, 0x3fe764d4f5d5a327, 0x3fd136561454bad4, 0x408f32818f57f7d8]),
    ("cross-entropy losses", &[0x1f253b15b67147bc]),
];

#[rustfmt::skip]
const F32: &[(&str, &[u64])] = &[
    ("exp", &[0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000, 0x3f7fffff, 0x3f8020c9, 0x3f67a36d, 0x3fa45af2, 0x3fd3094c, 0x3efe406e, 0x402df854, 0x3e647c3b, 0x40ec7325, 0x41d8e6ae, 0x3bdcc9ff, 0x4650bee8, 0x316986f6, 0x5c51106a, 0x7f4cdcc4, 0x1, 0x7f800000, 0x0, 0x92b26b123d9f4edd]),
    ("log", &[0xff800000, 0xff800000, 0xff800000, 0xff800000, 0xc28a27b5, 0xc1dd0c55, 0xc18a9399, 0xc0dd0c55, 0xc0135d8e, 0xbfb17218, 0xbf317218, 0xbeb69e1a, 0x0, 0x3ecf991f, 0x3f317218, 0x3f98d274, 0x3fce0210, 0x4010152a, 0x403e1b45, 0x406c169a, 0x408f74c2, 0x4094775f, 0x40d210e1, 0x40d3a0d8, 0x1bc7c2d199f76d43]),
    ("tanh", &[0x0, 0x80000000, 0x0, 0x0, 0x8da24260, 0x2b8cbccc, 0xb300d959, 0x3a83126c, 0xbdcc1ebd, 0x3e7acbf6, 0x3eec9a9f, 0xbf1ab7d9, 0x3f42f7d6, 0xbf67b7cc, 0x3f76ca83, 0x3f7f4df0, 0xbf7ffa0d, 0x3f800000, 0xbf800000, 0x3f800000, 0x3f800000, 0xbf800000, 0x3f800000, 0xbf800000, 0x6b95aff780efc7ad]),
    ("sigmoid", &[0x3f000000, 0x3f000000, 0x3f000000, 0x3f000000, 0x3f000000, 0x3f000000, 0x3f000000, 0x3f001062, 0x3ef335ed, 0x3f0feacd, 0x3f1f597f, 0x3ea9e34b, 0x3f3b26a8, 0x3e3acdc2, 0x3f617bea, 0x3f76e4cf, 0x3bdb4fb4, 0x3f7ffb18, 0x316986f6, 0x3f800000, 0x3f800000, 0x0, 0x3f800000, 0x0, 0x5bfecc1f32925466]),
    ("tanh", &[0x0, 0x80000000, 0x0, 0x0, 0x8da24260, 0x2b8cbccc, 0xb300d959, 0x3a83126c, 0xbdcc1ebd, 0x3e7acbf6, 0x3eec9a9f, 0xbf1ab7d9, 0x3f42f7d6, 0xbf67b7cc, 0x3f76ca83, 0x3f7f4df0, 0xbf7ffa0d, 0x3f800000, 0xbf800000, 0x3f800000, 0x3f800000, 0xbf800000, 0x3f800000, 0xbf800000, 0x6b95aff780efc7ad]),
    ("softmax", &[0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x3f3b280f, 0x3e89b3b9]),
    ("cross-entropy gradient, loss", &[0x0, 0x0, 0xbf800000, 0x0, 0x0, 0x0, 0x0, 0x0, 0x3f3b280f, 0x3e89b3b9, 0x4479940c]),
    ("cross-entropy losses", &[0x684f10b8386f37fa]),
];

#[test]
fn f64_bits_are_pinned_on_the_baseline_path() {
    check("f64 baseline", &compute::<f64>(), F64);
}

#[test]
fn f64_bits_are_pinned_on_the_avx2_path() {
    check("f64 AVX2", &compute_avx2::<f64>(), F64);
}

#[test]
fn f64_bits_are_pinned_on_the_avx512_path() {
    check("f64 AVX-512", &compute_avx512::<f64>(), F64);
}

#[test]
fn f32_bits_are_pinned_on_the_avx512_path() {
    check("f32 AVX-512", &compute_avx512::<f32>(), F32);
}

#[test]
fn f32_bits_are_pinned_on_the_baseline_path() {
    check("f32 baseline", &compute::<f32>(), F32);
}

#[test]
fn f32_bits_are_pinned_on_the_avx2_path() {
    check("f32 AVX2", &compute_avx2::<f32>(), F32);
}
