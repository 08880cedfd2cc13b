//! Short EM ("emEM", Biernacki, Celeux & Govaert 2003): several cheap starts, each run for a
//! few EM iterations; the most promising becomes the start of the long run.

use em_core::{Em, EmError, StdRng};
use nalgebra::DMatrix;

use super::{Init, InitContext, ShortEm};
use crate::kmeans::CheckedData;
use crate::mixture::GaussianMixture;
use crate::weighted::SampleWeighted;

/// The most rows the short runs compete on: above it, they run on a uniform random subset of
/// this many rows (the long run that follows uses every row). Ten short runs of k-means and
/// five EM iterations each cost about 60 passes over the data; on 10⁷ rows that was most of a
/// minute, on this subset it is a fraction of a second, and a subset this large ranks starts
/// as the whole data do.
pub const SHORT_EM_MAX_ROWS: usize = 50_000;

/// The best of `settings.starts` short runs from [`Init::KMeansStandardized`] starts, by the
/// log-likelihood after `settings.iterations` EM iterations, on the data or, above
/// [`SHORT_EM_MAX_ROWS`] rows, on a random subset of that many. A start or a short run that
/// fails numerically is skipped; the error of the first is returned when all fail.
pub(super) fn best_short_run(
    data: CheckedData<'_>,
    ctx: &InitContext<'_>,
    settings: ShortEm,
    rng: &mut StdRng,
) -> Result<GaussianMixture, EmError> {
    let n = data.matrix().nrows();
    if n <= SHORT_EM_MAX_ROWS {
        return short_runs(data, ctx, settings, rng);
    }
    let mut rows = rand::seq::index::sample(rng, n, SHORT_EM_MAX_ROWS).into_vec();
    rows.sort_unstable();
    let x = data.matrix();
    let subset = DMatrix::from_fn(rows.len(), x.ncols(), |i, j| x[(rows[i], j)]);
    let weights: Option<Vec<f64>> = ctx
        .sample_weight
        .map(|w| rows.iter().map(|&i| w[i]).collect());
    let sub_ctx = InitContext {
        sample_weight: weights.as_deref(),
        ..*ctx
    };
    // A subset of checked data is checked data.
    let checked = CheckedData::new(&subset, None)?;
    short_runs(checked, &sub_ctx, settings, rng)
}

/// The competition of [`best_short_run`] on `data` as given.
fn short_runs(
    data: CheckedData<'_>,
    ctx: &InitContext<'_>,
    settings: ShortEm,
    rng: &mut StdRng,
) -> Result<GaussianMixture, EmError> {
    let x = data.matrix();
    let em = Em::new()
        .tol(0.0)
        .max_iter(settings.iterations)
        .chunk_size(ctx.chunk_size);
    let mut best: Option<(f64, GaussianMixture)> = None;
    let mut first_error = None;
    for _ in 0..settings.starts {
        let run = Init::KMeansStandardized
            .start(data, ctx, 0, rng)
            .and_then(|start| {
                let mut model = SampleWeighted {
                    model: start,
                    sample_weight: ctx.sample_weight,
                };
                let report = em.fit(&mut model, x)?;
                Ok((report.objective(), model.model))
            });
        match run {
            Ok((objective, model)) => {
                if best.as_ref().is_none_or(|(b, _)| objective > *b) {
                    best = Some((objective, model));
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (best, first_error) {
        (Some((_, model)), _) => Ok(model),
        (None, Some(e)) => Err(e),
        (None, None) => Err(EmError::EmptyData),
    }
}
