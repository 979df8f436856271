//! Branch-free `exp`, `erf`, SiLU and GELU for f32 slices, written with plain multiplies and adds
//! so that loops over them vectorise; [`vectorized`] runs such a loop with the widest SIMD the
//! processor has (AVX-512 or AVX2+FMA, chosen at run time), since the crate itself is compiled
//! for baseline x86-64 (SSE2).

use pulp::Simd;

/// Runs `f` compiled for the best instruction set this processor offers. `f` and what it calls
/// should be `#[inline(always)]` so that they are compiled inside the dispatched function.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

// The constants of `exp`'s argument reduction and polynomial, shared by [`exp`] and [`exp_lanes`]
// so the scalar and the vector versions cannot drift apart.
/// 1.5 · 2^23: adding it rounds an f32 to an integer…
const EXP_ROUND: f32 = 12_582_912.0;
/// …which then sits in the low bits of this pattern.
const EXP_ROUND_BITS: u32 = 0x4B40_0000;
/// The clamp of `exp`'s argument: e^x stays a normal, finite f32.
const EXP_MIN: f32 = -87.0;
const EXP_MAX: f32 = 88.0;
/// ln 2 in two parts (high part exact in f32), so k · ln2 is exact enough.
const LN2_HI: f32 = 0.693_145_75;
#[allow(clippy::unreadable_literal)]
const LN2_LO: f32 = 1.428_606_8e-6;
/// e^r's Taylor coefficients from r^6 down to r^0, for Horner's rule.
const EXP_POLY: [f32; 7] = [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0];

/// `e^x`, relative error < 3e-7 (two f32 ulps) over [-87, 88]; clamped outside (so e^x → 0 for
/// very negative x and no infinity for large x). x = k·ln2 + r with |r| ≤ ln2/2, a degree-6
/// polynomial for e^r, and 2^k built in the exponent bits.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Plain multiplies and adds only: `mul_add` and `round` become library calls without FMA in
    // the target, and nothing vectorises.
    let x = x.clamp(EXP_MIN, EXP_MAX);
    let shifted = x * std::f32::consts::LOG2_E + EXP_ROUND;
    let k = shifted - EXP_ROUND;
    let r = x - k * LN2_HI;
    let r = r - k * LN2_LO;
    let mut p = EXP_POLY[0];
    for c in &EXP_POLY[1..] {
        p = p * r + c;
    }
    // 2^k from k's bits, in integer arithmetic: a float-to-int cast would saturate (a NaN check
    // and a compare per element) and keep the loop scalar.
    let bits = shifted.to_bits().wrapping_sub(EXP_ROUND_BITS).wrapping_add(127) << 23;
    p * f32::from_bits(bits)
}

/// [`exp`] on one SIMD vector, with fused multiply-adds where the processor has them (the
/// scalar version cannot ask for them: `mul_add` is a library call without FMA in the target).
/// Same reduction and polynomial, so the same accuracy.
#[inline(always)]
pub fn exp_lanes<S: Simd>(simd: S, x: S::f32s) -> S::f32s {
    let splat = |v: f32| simd.splat_f32s(v);
    let x = simd.max_f32s(simd.min_f32s(x, splat(EXP_MAX)), splat(EXP_MIN));
    let shifted = simd.mul_add_e_f32s(x, splat(std::f32::consts::LOG2_E), splat(EXP_ROUND));
    let k = simd.sub_f32s(shifted, splat(EXP_ROUND));
    let r = simd.mul_add_e_f32s(k, splat(-LN2_HI), x);
    let r = simd.mul_add_e_f32s(k, splat(-LN2_LO), r);
    let mut p = splat(EXP_POLY[0]);
    for &c in &EXP_POLY[1..] {
        p = simd.mul_add_e_f32s(p, r, splat(c));
    }
    let bits = simd.transmute_u32s_f32s(shifted);
    let bits = simd.add_u32s(simd.sub_u32s(bits, simd.splat_u32s(EXP_ROUND_BITS)), simd.splat_u32s(127));
    let scale = simd.wrapping_dyn_shl_u32s(bits, simd.splat_u32s(23));
    simd.mul_f32s(p, simd.transmute_f32s_u32s(scale))
}

/// `x · sigmoid(x)`.
#[inline(always)]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

/// The error function by Abramowitz and Stegun 7.1.26, `1 - t·poly(t)·e^{-x²}` with
/// t = 1/(1 + p|x|): absolute error ≤ 1.5e-7 in exact arithmetic, < 1e-6 in f32.
#[inline(always)]
#[allow(clippy::unreadable_literal)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly =
        t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-a * a);
    // copysign without a branch
    f32::from_bits(y.to_bits() | (x.to_bits() & 0x8000_0000))
}

/// GELU as PyTorch's default (`approximate="none"`): `x/2 · (1 + erf(x/√2))`.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Applies `f` to every element of `values`, vectorised.
pub fn map_in_place(values: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    vectorized(
        #[inline(always)]
        || {
            for v in values.iter_mut() {
                *v = f(*v);
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_over_its_range_and_clamped_outside() {
        let mut worst = 0.0_f64;
        for i in -87_000..=88_000 {
            #[allow(clippy::cast_possible_truncation)]
            let x = (f64::from(i) / 1000.0) as f32;
            let (ours, exact) = (f64::from(exp(x)), f64::from(x).exp());
            worst = worst.max((ours - exact).abs() / exact);
        }
        assert!(worst < 3e-7, "relative error {worst:e}");
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn the_vector_exp_matches_the_scalar_one() {
        struct Check;
        impl pulp::WithSimd for Check {
            type Output = f64;
            fn with_simd<S: Simd>(self, simd: S) -> f64 {
                let mut xs: Vec<f32> = (-90_000..=90_000).map(|i| i as f32 / 1000.0).collect();
                let (body, _) = S::as_mut_simd_f32s(&mut xs);
                for x in body.iter_mut() {
                    *x = exp_lanes(simd, *x);
                }
                let mut worst = 0.0_f64;
                for (i, &ours) in xs.iter().enumerate().take(xs.len() - 16) {
                    let x = f64::from((i as f32 - 90_000.0) / 1000.0).clamp(-87.0, 88.0);
                    worst = worst.max((f64::from(ours) - x.exp()).abs() / x.exp());
                }
                worst
            }
        }
        let worst = pulp::Arch::new().dispatch(Check);
        assert!(worst < 3e-7, "relative error {worst:e}");
    }

    #[test]
    fn erf_gelu_and_silu_match_their_definitions() {
        let mut worst = (0.0_f64, 0.0_f64);
        for i in -6_000..=6_000 {
            let x = f64::from(i) / 1000.0;
            #[allow(clippy::cast_possible_truncation)]
            let xf = x as f32;
            worst.0 = worst.0.max((f64::from(erf(xf)) - libm::erf(x)).abs());
            let gelu_exact = 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
            worst.1 = worst.1.max((f64::from(gelu(xf)) - gelu_exact).abs() / (1.0 + x.abs()));
            let silu_exact = x / (1.0 + (-x).exp());
            assert!((f64::from(silu(xf)) - silu_exact).abs() < 1e-6 * (1.0 + x.abs()), "silu({x})");
        }
        assert!(worst.0 < 1e-6, "erf error {:e}", worst.0);
        assert!(worst.1 < 1e-6, "gelu error {:e}", worst.1);
        assert!(silu(-200.0).abs() < 1e-30);
        assert!(erf(-0.0).abs() < 1e-6 && erf(-3.0) < -0.99997);
    }
}
