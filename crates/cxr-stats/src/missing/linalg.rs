//! Small dense linear algebra (symmetric positive definite systems of a few variables),
//! shared by the EM estimates, Little's test and MICE.

use crate::{Error, Result};

/// Lower Cholesky factor of a symmetric positive definite matrix.
pub(super) fn cholesky(a: &[Vec<f64>], what: &'static str) -> Result<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return Err(Error::Singular { what });
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Ok(l)
}

/// Solves `L Lᵀ x = b`.
pub(super) fn chol_solve(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = l.len();
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i][k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k][i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i][i];
    }
    x
}

/// Inverse of a symmetric positive definite matrix.
pub(super) fn spd_inverse(a: &[Vec<f64>], what: &'static str) -> Result<Vec<Vec<f64>>> {
    let n = a.len();
    let l = cholesky(a, what)?;
    let mut inv = vec![vec![0.0; n]; n];
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let col = chol_solve(&l, &e);
        for i in 0..n {
            inv[i][j] = col[i];
        }
    }
    // symmetrise
    for i in 0..n {
        for j in 0..i {
            let v = 0.5 * (inv[i][j] + inv[j][i]);
            inv[i][j] = v;
            inv[j][i] = v;
        }
    }
    Ok(inv)
}

pub(super) fn sub_matrix(a: &[Vec<f64>], rows: &[usize], cols: &[usize]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|&i| cols.iter().map(|&j| a[i][j]).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spd_inverse_inverts() {
        let a = vec![vec![4.0, 1.0], vec![1.0, 3.0]];
        let inv = spd_inverse(&a, "t").unwrap();
        assert!((inv[0][0] - 3.0 / 11.0).abs() < 1e-15);
        assert!((inv[0][1] + 1.0 / 11.0).abs() < 1e-15);
        assert!(matches!(
            spd_inverse(&[vec![1.0, 2.0], vec![2.0, 1.0]], "t"),
            Err(Error::Singular { .. })
        ));
    }
}
