//! Hasselblad's (1969) deaths data: a two-component Poisson mixture fitted by plain EM,
//! which needs thousands of iterations on this flat likelihood.
//! Run with `cargo run -p mixture --example hasselblad`.

use em_core::{Em, EmError};
use mixture::{Mixture, Poisson};

fn main() -> Result<(), EmError> {
    // Days (of 1096) with 0, 1, …, 9 deaths of women aged 80+ in The London Times, 1910–12.
    let frequencies = [162usize, 267, 271, 185, 111, 61, 27, 8, 3, 1];
    let deaths: Vec<u64> = frequencies
        .iter()
        .enumerate()
        .flat_map(|(d, &days)| std::iter::repeat_n(d as u64, days))
        .collect();
    let mut model = Mixture::new(vec![0.5, 0.5], vec![Poisson::new(1.0)?, Poisson::new(3.0)?])?;
    for (tol, max_iter) in [(1e-10, 100_000), (0.0, 5000)] {
        let report = Em::new()
            .tol(tol)
            .max_iter(max_iter)
            .fit(&mut model, &deaths[..])?;
        let c = model.components();
        println!(
            "tol {tol:e}: {} more iterations, log-likelihood {:.9}, π = {:.7?}, λ = ({:.7}, {:.7})",
            report.iterations,
            report.objective(),
            model.weights(),
            c[0].lambda(),
            c[1].lambda()
        );
    }
    println!("published MLE: p = 0.6401146, λ1 = 2.6634044, λ2 = 1.2560951");
    Ok(())
}
