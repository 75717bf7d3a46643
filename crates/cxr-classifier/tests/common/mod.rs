//! Deterministic pseudo-random weights that `scripts/reference/inception_parity.py`
//! regenerates bit for bit in NumPy, so the parity fixture needs no weights file.
#![allow(dead_code)]

use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// 64-bit FNV-1a of a tensor name.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub use cxr_core::names::splitmix64;

/// `u` in [0, 1) for element `i` of the tensor called `name`.
pub fn unit(key: u64, i: u64) -> f64 {
    (splitmix64(key ^ i) >> 11) as f64 / (1u64 << 53) as f64
}

/// The value rule of the parity script, by name suffix.
pub fn hashed(name: &str, shape: &[i64]) -> Tensor {
    let n: i64 = shape.iter().product();
    let fan_in: i64 = shape.iter().skip(1).product();
    let key = fnv1a64(name.as_bytes());
    let f = |u: f64| -> f64 {
        let s = 2.0 * u - 1.0;
        if name.ends_with(".conv.weight") {
            s * (6.0 / fan_in as f64).sqrt()
        } else if name.ends_with("fc.weight") {
            s * (3.0 / fan_in as f64).sqrt()
        } else if name.ends_with("fc.bias") || name.ends_with(".bn.bias") {
            0.1 * s
        } else if name.ends_with(".bn.weight") {
            1.0 + 0.2 * s
        } else if name.ends_with(".bn.running_mean") {
            0.1 * s
        } else if name.ends_with(".bn.running_var") {
            0.5 + u
        } else if name.starts_with("input/") {
            s
        } else {
            panic!("no rule for {name}")
        }
    };
    let v: Vec<f32> = (0..n as u64).map(|i| f(unit(key, i)) as f32).collect();
    Tensor::from_slice(&v).view(shape)
}

/// Fills every variable of `vs` with [`hashed`] values.
pub fn fill_hashed(vs: &VarStore) {
    let _g = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        var.copy_(&hashed(&name, &var.size()).to_kind(Kind::Float));
    }
}
