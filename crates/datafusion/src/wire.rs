//! The bundled E-step functions as bytes, for engines that ship query plans to other processes.
//!
//! A query plan that crosses processes (a Ballista client to its scheduler, the scheduler to
//! its executors) carries each aggregate function by name, and an optional definition written
//! by the engine's codec. The E-step functions hold the model's parameters, so a name alone
//! would not do: a codec writes [`encode_e_step`]'s bytes as the definition and reads them back
//! with [`decode_e_step`]. The bytes are the function's parameters as JSON
//! ([`EStepAggregate::parameters_json`]), whose numbers read back exactly.

use datafusion::logical_expr::AggregateUDF;
use gmm::{GaussianMixture, StudentMixture};

use crate::error::EngineError;
use crate::model::EngineModel;
use crate::udaf::EStepAggregate;

/// The definition of `udaf` if it is a bundled E-step function (`None` for any other function,
/// which the codec then writes its own way).
///
/// # Errors
/// [`EngineError::Parameters`] when the parameters cannot be written (none of the bundled
/// models fails).
///
/// ```
/// use em_datafusion::{EStepAggregate, MergeOrder, decode_e_step, encode_e_step};
/// use gmm::{Covariances, GaussianMixture};
/// use nalgebra::{DMatrix, DVector};
///
/// let model = GaussianMixture::new(
///     DVector::from_vec(vec![0.5, 0.5]),
///     DMatrix::from_column_slice(2, 1, &[-1.0, 1.0]),
///     Covariances::Spherical(DVector::from_vec(vec![1.0, 1.0])),
/// )?;
/// let udaf = EStepAggregate::for_model(model, vec!["x".into()], MergeOrder::Canonical);
/// let bytes = encode_e_step(&udaf).expect("an E-step function")?;
/// let back = decode_e_step(udaf.name(), &bytes).expect("a bundled name")?;
/// assert_eq!(back, udaf);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_e_step(udaf: &AggregateUDF) -> Option<Result<Vec<u8>, EngineError>> {
    encode_as::<GaussianMixture>(udaf).or_else(|| encode_as::<StudentMixture>(udaf))
}

/// The E-step function named `name` from the definition [`encode_e_step`] wrote; `None` when
/// `name` is not the name of a bundled E-step function.
///
/// # Errors
/// [`EngineError::Parameters`] when `bytes` are not the parameters of the function `name`
/// (text that is not UTF-8 or not such JSON, or parameters for the other form of the
/// function).
pub fn decode_e_step(name: &str, bytes: &[u8]) -> Option<Result<AggregateUDF, EngineError>> {
    decode_as::<GaussianMixture>(name, bytes).or_else(|| decode_as::<StudentMixture>(name, bytes))
}

fn encode_as<M: EngineModel>(udaf: &AggregateUDF) -> Option<Result<Vec<u8>, EngineError>> {
    let function = EStepAggregate::<M>::downcast(udaf)?;
    Some(
        function
            .parameters_json()
            .map(String::into_bytes)
            .map_err(|e| EngineError::Parameters(format!("`{}`: {e}", udaf.name()))),
    )
}

fn decode_as<M: EngineModel>(
    name: &str,
    bytes: &[u8],
) -> Option<Result<AggregateUDF, EngineError>> {
    let ours = name == M::FUNCTION || name.strip_prefix(M::FUNCTION) == Some("_by");
    if !ours {
        return None;
    }
    Some(
        std::str::from_utf8(bytes)
            .map_err(|e| EngineError::Parameters(format!("`{name}`: {e}")))
            .and_then(|json| EStepAggregate::<M>::from_parameters_json(name, json)),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use gmm::{Covariances, Dof, GaussianMixture, StudentMixture};
    use nalgebra::{DMatrix, DVector};

    use super::*;
    use crate::partials::MergeOrder;

    fn gaussian() -> GaussianMixture {
        GaussianMixture::new(
            DVector::from_vec(vec![0.25, 0.75]),
            DMatrix::from_row_slice(2, 2, &[-1.0, 0.1, 1.0 / 3.0, 2.0]),
            Covariances::Diag(DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.1, 2.0])),
        )
        .expect("a valid mixture")
    }

    fn columns() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn every_bundled_function_reads_back_equal() {
        let student = StudentMixture::from_gaussian(&gaussian(), Dof::Estimated { initial: 4.5 })
            .expect("a valid mixture");
        let groups = BTreeMap::from([("x".to_string(), gaussian()), ("y".into(), gaussian())]);
        let functions = [
            EStepAggregate::for_model(gaussian(), columns(), MergeOrder::Canonical),
            EStepAggregate::for_groups(groups, columns(), MergeOrder::Arrival),
            EStepAggregate::for_model(student.clone(), columns(), MergeOrder::Canonical),
            EStepAggregate::for_groups(
                BTreeMap::from([("z".to_string(), student)]),
                columns(),
                MergeOrder::Canonical,
            ),
        ];
        for udaf in functions {
            let bytes = encode_e_step(&udaf).expect("bundled").expect("encodes");
            let back = decode_e_step(udaf.name(), &bytes)
                .expect("bundled")
                .expect("decodes");
            assert_eq!(back.name(), udaf.name());
            assert_eq!(back, udaf, "{}", udaf.name());
        }
    }

    #[test]
    fn other_functions_are_left_to_the_codec() {
        let count = datafusion::functions_aggregate::count::count_udaf();
        assert!(encode_e_step(&count).is_none());
        assert!(decode_e_step("count", b"").is_none());
        assert!(decode_e_step("em_e_step_gmm_x", b"").is_none());
    }

    #[test]
    fn mismatched_definitions_are_typed_errors() {
        let udaf = EStepAggregate::for_model(gaussian(), columns(), MergeOrder::Canonical);
        let bytes = encode_e_step(&udaf).expect("bundled").expect("encodes");
        for (name, bytes) in [
            ("em_e_step_gmm_by", bytes.as_slice()),
            ("em_e_step_student", bytes.as_slice()),
            ("em_e_step_gmm", b"{\"columns\":".as_slice()),
            ("em_e_step_gmm", [0xff, 0xfe].as_slice()),
        ] {
            let result = decode_e_step(name, bytes).expect("a bundled name");
            assert!(
                matches!(result, Err(EngineError::Parameters(_))),
                "{name}: {result:?}"
            );
        }
    }
}
