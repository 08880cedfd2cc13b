//! Short EM ("emEM", Biernacki, Celeux & Govaert 2003): several cheap starts, each run for a
//! few EM iterations; the most promising becomes the start of the long run.

use em_core::{Em, EmError, StdRng};

use super::{Init, InitContext, ShortEm};
use crate::kmeans::CheckedData;
use crate::mixture::GaussianMixture;
use crate::weighted::SampleWeighted;

/// The best of `settings.starts` short runs from [`Init::KMeansStandardized`] starts, by the
/// log-likelihood after `settings.iterations` EM iterations. A start or a short run that
/// fails numerically is skipped; the error of the first is returned when all fail.
pub(super) fn best_short_run(
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
