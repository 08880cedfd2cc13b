//! Special functions and Kullback–Leibler divergences of the variational posterior.

use statrs::function::gamma::{digamma, ln_gamma};

/// ln Γ_D(a) = D(D − 1)/4 · ln π + Σ_{j=1}^{D} ln Γ(a + (1 − j)/2): the multivariate gamma
/// function of the Wishart normaliser.
pub(crate) fn ln_multivariate_gamma(a: f64, d: usize) -> f64 {
    let df = d as f64;
    df * (df - 1.0) / 4.0 * std::f64::consts::PI.ln()
        + (1..=d)
            .map(|j| ln_gamma(a + 0.5 * (1.0 - j as f64)))
            .sum::<f64>()
}

/// Σ_{j=1}^{D} ψ((ν + 1 − j)/2) + D ln 2: E\[ln|Λ|\] − ln|W| under Wishart(W, ν).
pub(crate) fn wishart_expected_log_det_offset(nu: f64, d: usize) -> f64 {
    (1..=d)
        .map(|j| digamma(0.5 * (nu + 1.0 - j as f64)))
        .sum::<f64>()
        + d as f64 * std::f64::consts::LN_2
}

/// ln B(W, ν) of the Wishart density, from ln|W|: −(ν/2) ln|W| − (νD/2) ln 2 − ln Γ_D(ν/2).
pub(crate) fn wishart_ln_norm(ln_det_w: f64, nu: f64, d: usize) -> f64 {
    -0.5 * nu * ln_det_w
        - 0.5 * nu * d as f64 * std::f64::consts::LN_2
        - ln_multivariate_gamma(0.5 * nu, d)
}

/// KL(Wishart(W, ν) ‖ Wishart(W₀, ν₀)) from ln|W|, ln|W₀| and tr(W₀⁻¹ W).
pub(crate) fn kl_wishart(
    ln_det_w: f64,
    nu: f64,
    ln_det_w0: f64,
    nu0: f64,
    trace_w0inv_w: f64,
    d: usize,
) -> f64 {
    let e_ln_det = wishart_expected_log_det_offset(nu, d) + ln_det_w;
    wishart_ln_norm(ln_det_w, nu, d) - wishart_ln_norm(ln_det_w0, nu0, d)
        + 0.5 * (nu - nu0) * e_ln_det
        - 0.5 * nu * d as f64
        + 0.5 * nu * trace_w0inv_w
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
pub(crate) fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// KL(Beta(a, b) ‖ Beta(a₀, b₀)).
pub(crate) fn kl_beta(a: f64, b: f64, a0: f64, b0: f64) -> f64 {
    ln_beta(a0, b0) - ln_beta(a, b)
        + (a - a0) * digamma(a)
        + (b - b0) * digamma(b)
        + (a0 - a + b0 - b) * digamma(a + b)
}

/// KL(Dir(α) ‖ Dir(α₀, …, α₀)).
pub(crate) fn kl_dirichlet(alpha: &[f64], alpha0: f64) -> f64 {
    let total: f64 = alpha.iter().sum();
    let k = alpha.len() as f64;
    let psi_total = digamma(total);
    ln_gamma(total) - alpha.iter().map(|&a| ln_gamma(a)).sum::<f64>() - ln_gamma(k * alpha0)
        + k * ln_gamma(alpha0)
        + alpha
            .iter()
            .map(|&a| (a - alpha0) * (digamma(a) - psi_total))
            .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divergences_vanish_between_equal_distributions() {
        assert!(kl_beta(2.5, 0.7, 2.5, 0.7).abs() < 1e-14);
        assert!(kl_dirichlet(&[0.3, 0.3, 0.3], 0.3).abs() < 1e-13);
        assert!(kl_wishart(-1.3, 4.5, -1.3, 4.5, 3.0, 3).abs() < 1e-12);
        assert!(kl_beta(3.0, 1.0, 1.0, 1.0) > 0.0);
        assert!(kl_dirichlet(&[2.0, 0.5], 1.0) > 0.0);
    }

    #[test]
    fn multivariate_gamma_of_one_dimension_is_the_gamma_function() {
        assert!((ln_multivariate_gamma(3.5, 1) - ln_gamma(3.5)).abs() < 1e-15);
    }
}
