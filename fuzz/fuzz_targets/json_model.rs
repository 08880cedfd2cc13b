//! Arbitrary bytes → `em_cli::json::parse_model` (what `--init` and `--model` read). It must
//! never panic: every input is a model or an error. A model that loads must be usable and
//! must survive a save → load round trip bit for bit.
#![no_main]

use em_cli::json::{ModelFile, parse_model};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The CLI reads model files with `read_to_string`, so non-UTF-8 never reaches the parser;
    // lossy decoding still feeds every byte pattern's textual neighbour to it.
    let text = String::from_utf8_lossy(data);
    let Ok(model) = parse_model(&text, "fuzz.json") else {
        return;
    };
    // A loaded model is valid: it scores, predicts and samples without panicking …
    let x = model.means().clone();
    let _ = model.score_samples(&x);
    let _ = model.predict_proba(&x);
    // … and what `--output` would write reads back as the same model.
    let file = ModelFile::from_model(&model);
    let json = serde_json::to_string(&file).expect("a model file serialises");
    let back = parse_model(&json, "round-trip.json").expect("a written model reads back");
    assert_eq!(back, model, "save → load changed the model");
});
