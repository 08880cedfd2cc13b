//! The one-dimensional start: classes between quantiles (mclust's `qclass`), which is what
//! mclust uses instead of the agglomeration when there is one feature.

use em_core::EmError;

/// Labels `0..k` for the values `x`, cut at `k + 1` distinct sample quantiles (R's type 7)
/// of equally spaced probabilities: the fewest probabilities that give `k + 1` distinct
/// quantiles, dropping the lower end of the narrowest gaps when more appear. Values equal to a
/// cut go to the class above it.
///
/// # Errors
///
/// [`EmError::InvalidParameter`] (`n_clusters`) when `k` is 0 or the values have fewer than
/// `k` distinct values; [`EmError::EmptyData`] for no values.
///
/// ```
/// use em_family::hc::quantile_classes;
/// let x = [0.1, 5.0, 0.3, 5.2, 0.2, 5.1];
/// assert_eq!(quantile_classes(&x, 2)?, vec![0, 1, 0, 1, 0, 1]);
/// # Ok::<(), em_core::EmError>(())
/// ```
pub fn quantile_classes(x: &[f64], k: usize) -> Result<Vec<usize>, EmError> {
    if x.is_empty() {
        return Err(EmError::EmptyData);
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut distinct = sorted.clone();
    distinct.dedup();
    if k == 0 || distinct.len() < k {
        return Err(EmError::InvalidParameter {
            name: "n_clusters",
            reason: format!("{k} classes asked of {} distinct values", distinct.len()),
        });
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let sd = (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let eps = sd * f64::EPSILON.sqrt();
    let mut m = k;
    let mut cuts = Vec::new();
    while cuts.len() < k + 1 {
        m += 1;
        cuts = (0..m)
            .map(|i| quantile_type7(&sorted, i as f64 / (m - 1) as f64))
            .collect();
        cuts.dedup();
    }
    if cuts.len() > k + 1 {
        let surplus = cuts.len() - k - 1;
        let mut gaps: Vec<usize> = (0..cuts.len() - 1).collect();
        // Narrowest first; R's `order` is stable, so ties keep their index order.
        gaps.sort_by(|&a, &b| (cuts[a + 1] - cuts[a]).total_cmp(&(cuts[b + 1] - cuts[b])));
        let mut drop: Vec<usize> = gaps[..surplus].to_vec();
        drop.sort_unstable();
        for &i in drop.iter().rev() {
            cuts.remove(i);
        }
    }
    let last = cuts.len() - 1;
    cuts[0] = sorted[0] - eps;
    cuts[last] = sorted[sorted.len() - 1] + eps;
    Ok(x.iter()
        .map(|&v| {
            (0..k)
                .rev()
                .find(|&c| v >= cuts[c] && v < cuts[c + 1])
                .unwrap_or(0)
        })
        .collect())
}

/// R's default (type 7) sample quantile of sorted values at probability `prob`.
fn quantile_type7(sorted: &[f64], prob: f64) -> f64 {
    let index = (sorted.len() - 1) as f64 * prob;
    let lo = index.floor() as usize;
    let hi = index.ceil() as usize;
    let h = index - lo as f64;
    if h > 0.0 && sorted[hi] != sorted[lo] {
        (1.0 - h) * sorted[lo] + h * sorted[hi]
    } else {
        sorted[lo]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_classes_of_ten_values() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        // Quantiles at 0, 1/3, 2/3, 1: cuts 0, 3, 6, 9.
        assert_eq!(
            quantile_classes(&x, 3).unwrap(),
            vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
        );
    }

    #[test]
    fn too_few_distinct_values() {
        assert!(quantile_classes(&[1.0, 1.0, 2.0], 3).is_err());
        assert!(quantile_classes(&[], 1).is_err());
    }
}
