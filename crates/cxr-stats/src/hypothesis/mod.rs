//! Tests of association: two-sample t-tests, chi-square test of independence, Fisher's
//! exact test, McNemar's test of paired proportions, and the comparison of two
//! proportions used by the paper's Table 2 and Supplementary Table 1.
//!
//! Every routine matches a peer implementation (scipy 1.17) to 1e-9 on the fixtures in
//! `tests/reference/b_hypothesis.json`:
//!
//! | here | scipy |
//! | --- | --- |
//! | [`t_test`] with [`TTestKind::Student`] | `ttest_ind(a, b, equal_var=True)` |
//! | [`t_test`] with [`TTestKind::Welch`] | `ttest_ind(a, b, equal_var=False)` |
//! | [`chi2_contingency`] | `chi2_contingency(table, correction=…)` |
//! | [`fisher_exact`] | `fisher_exact(table)` (two-sided) |
//!
//! [`mcnemar`](fn@mcnemar) matches statsmodels 0.15 `mcnemar(table, exact=True)` and
//! `mcnemar(table, exact=False, correction=True)` to 1e-9 on the fixtures in
//! `tests/reference/c_agreement.json`.
//!
//! Inputs that leave a statistic undefined return a typed [`Error`](crate::Error) rather
//! than a NaN (scipy returns NaN or ±inf in those cases).
//!
//! ```
//! use cxr_stats::hypothesis::{compare_proportions, t_test_from_summary, TTestKind};
//! // Supplementary Table 1 of the paper: males among correctly / incorrectly classified.
//! let males = compare_proportions(4197, 8134, 88, 200, 0.95).unwrap();
//! assert!((males.t_test.p_value - 0.034).abs() < 0.001); // paper: 0.03
//! // Age, from the table's means and standard deviations.
//! let age = t_test_from_summary(54.0, 16.2, 8134, 57.2, 17.5, 200, TTestKind::Student, 0.95)
//!     .unwrap();
//! assert!((age.p_value - 0.006).abs() < 0.001); // paper: 0.01
//! ```

mod contingency;
mod distributions;
mod mcnemar;
mod ttest;
mod two_proportions;

pub use contingency::{
    ChiSquareTest, FisherExact, MAX_EXACT_TOTAL, chi2_contingency, fisher_exact,
};
pub use mcnemar::{McNemar, mcnemar};
pub use ttest::{TTest, TTestKind, t_test, t_test_from_summary};
pub use two_proportions::{ProportionComparison, compare_proportions};

// Distribution helpers, also used by `design`, `missing` and `agreement`.
pub(crate) use distributions::{chi2_sf, norm_cdf, norm_ppf, t_cdf, t_ppf, t_two_sided_p};
