//! Log-likelihood of em's Gaussian-mixture fits against R's mclust on the same data, model and
//! K: does the default initialisation reach at least mclust's optimum?
//!
//! ```sh
//! cargo run --release -p gmm --example mclust_parity [-- --init NAME] [--n-init N] [--reg-covar R] [--tol T] [--max-iter M] [--seed S]
//! ```
//!
//! Reads `crates/gmm/tests/fixtures/mclust/loglik.csv` (written by
//! `Rscript bench/mclust/make_fixtures.R`) and the data file of every row, fits
//! `GaussianMixture::builder(k).covariance_type(c)` with the crate's defaults unless options
//! say otherwise, and prints, per fit, mclust's and em's log-likelihood, their difference, and
//! em's convergence; then per data set and overall how many fits are higher (> +0.01), the
//! same (within 0.01) and lower (< −0.01) than mclust's, and the worst difference.
//!
//! mclust's models map to em's covariance types as VVV → full, VVI → diag, VII → spherical,
//! EEE → tied; the parameter counts agree (K − 1 weights, K·d means, and K·d(d+1)/2, K·d, K,
//! d(d+1)/2 variance parameters), which the example checks against the fixture's `df`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gmm::{CovarianceType, GaussianMixture, Init, ShortEm};
use nalgebra::DMatrix;

/// The reference fits, from the repository root.
const FIXTURE: &str = "crates/gmm/tests/fixtures/mclust/loglik.csv";

/// Differences within this many log-likelihood units count as the same optimum.
const SAME: f64 = 0.01;

/// One row of `loglik.csv`.
struct Reference {
    dataset: String,
    role: String,
    file: String,
    model: String,
    k: usize,
    n: usize,
    d: usize,
    /// `None` where mclust could not fit the model.
    loglik: Option<f64>,
    df: usize,
}

struct Options {
    init: Option<(String, Init)>,
    n_init: Option<usize>,
    reg_covar: Option<f64>,
    tol: Option<f64>,
    max_iter: Option<usize>,
    seed: Option<u64>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        init: None,
        n_init: None,
        reg_covar: None,
        tol: None,
        max_iter: None,
        seed: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--n-init" => options.n_init = Some(value.parse().map_err(|e| bad(&e))?),
            "--reg-covar" => options.reg_covar = Some(value.parse().map_err(|e| bad(&e))?),
            "--init" => {
                let init = match value.as_str() {
                    "auto" => Init::Auto,
                    "hc" => Init::Hierarchical,
                    "kmeans" => Init::KMeans,
                    "kmeans-std" => Init::KMeansStandardized,
                    "short-em" => Init::ShortEm(ShortEm::default()),
                    other => return Err(bad(&format!("unknown method {other}"))),
                };
                options.init = Some((value.clone(), init));
            }
            "--tol" => options.tol = Some(value.parse().map_err(|e| bad(&e))?),
            "--max-iter" => options.max_iter = Some(value.parse().map_err(|e| bad(&e))?),
            "--seed" => options.seed = Some(value.parse().map_err(|e| bad(&e))?),
            _ => {
                return Err(format!(
                    "unknown option {flag}; usage: mclust_parity [--init auto|hc|kmeans|kmeans-std|short-em] [--n-init N] [--reg-covar R] [--tol T] [--max-iter M] [--seed S]"
                ));
            }
        }
    }
    Ok(options)
}

fn covariance_type(model: &str) -> Result<CovarianceType, String> {
    match model {
        "VVV" => Ok(CovarianceType::Full),
        "VVI" => Ok(CovarianceType::Diag),
        "VII" => Ok(CovarianceType::Spherical),
        "EEE" => Ok(CovarianceType::Tied),
        other => Err(format!("no em covariance type for mclust model {other}")),
    }
}

/// Reads `loglik.csv`: a header naming the columns, then comma-separated fields.
fn read_references(path: &Path) -> Result<Vec<Reference>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| format!("{}: empty", path.display()))?
        .split(',')
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| format!("{}: no column {name}", path.display()))
    };
    let (dataset, role, file) = (column("dataset")?, column("role")?, column("file")?);
    let (model, k, n, d) = (column("model")?, column("k")?, column("n")?, column("d")?);
    let (loglik, df) = (column("loglik")?, column("df")?);
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            return Err(format!("{}: row {} is ragged", path.display(), i + 1));
        }
        let number = |j: usize| -> Result<usize, String> {
            fields[j]
                .parse()
                .map_err(|e| format!("{}: row {}: {e}", path.display(), i + 1))
        };
        rows.push(Reference {
            dataset: fields[dataset].to_string(),
            role: fields[role].to_string(),
            file: fields[file].to_string(),
            model: fields[model].to_string(),
            k: number(k)?,
            n: number(n)?,
            d: number(d)?,
            loglik: match fields[loglik] {
                "NA" => None,
                s => Some(
                    s.parse()
                        .map_err(|e| format!("{}: row {}: {e}", path.display(), i + 1))?,
                ),
            },
            df: number(df)?,
        });
    }
    Ok(rows)
}

/// Counts of one group of fits.
#[derive(Default)]
struct Tally {
    higher: usize,
    same: usize,
    lower: usize,
    /// Fits mclust could not make (no reference), and fits em could not make.
    mclust_failed: usize,
    em_failed: usize,
    not_converged: usize,
    /// The lowest em − mclust, and where.
    worst: Option<(f64, String)>,
}

impl Tally {
    fn add(&mut self, diff: f64, converged: bool, what: &str) {
        if diff > SAME {
            self.higher += 1;
        } else if diff < -SAME {
            self.lower += 1;
        } else {
            self.same += 1;
        }
        if !converged {
            self.not_converged += 1;
        }
        if self.worst.as_ref().is_none_or(|(w, _)| diff < *w) {
            self.worst = Some((diff, what.to_string()));
        }
    }

    fn line(&self, name: &str) -> String {
        let worst = match &self.worst {
            Some((w, what)) => format!("worst {w:+.4} ({what})"),
            None => "worst —".to_string(),
        };
        let mut line = format!(
            "{name:<18} higher {:>3}  same {:>3}  lower {:>3}  {worst}",
            self.higher, self.same, self.lower
        );
        if self.not_converged > 0 {
            line += &format!("; {} not converged", self.not_converged);
        }
        if self.mclust_failed > 0 {
            line += &format!("; mclust failed {}", self.mclust_failed);
        }
        if self.em_failed > 0 {
            line += &format!("; em failed {}", self.em_failed);
        }
        line
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = parse_options()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let references = read_references(&root.join(FIXTURE))?;

    let mut builder_note = String::from("defaults");
    if let Some((name, _)) = &options.init {
        builder_note += &format!(", init {name}");
    }
    if let Some(n) = options.n_init {
        builder_note += &format!(", n_init {n}");
    }
    if let Some(r) = options.reg_covar {
        builder_note += &format!(", reg_covar {r}");
    }
    if let Some(tol) = options.tol {
        builder_note += &format!(", tol {tol}");
    }
    if let Some(m) = options.max_iter {
        builder_note += &format!(", max_iter {m}");
    }
    if let Some(s) = options.seed {
        builder_note += &format!(", seed {s}");
    }
    println!(
        "em (gmm {builder_note}) against mclust's Mclust() defaults; {} fits from {FIXTURE}",
        references.len()
    );
    println!(
        "{:<10} {:<5} {:>2} {:>20} {:>20} {:>10} {:>9} {:>5}",
        "dataset", "model", "k", "mclust loglik", "em loglik", "em-mclust", "converged", "iter"
    );

    let mut data: BTreeMap<String, DMatrix<f64>> = BTreeMap::new();
    let mut per_dataset: Vec<(String, Tally)> = Vec::new();
    let mut per_role: BTreeMap<String, Tally> = BTreeMap::new();
    let mut overall = Tally::default();
    for r in &references {
        if !data.contains_key(&r.file) {
            let table = em_io::table::read(root.join(&r.file))?;
            data.insert(r.file.clone(), table.x);
        }
        let x = &data[&r.file];
        if (x.nrows(), x.ncols()) != (r.n, r.d) {
            return Err(format!(
                "{}: {} × {}, but the fixture says {} × {}",
                r.file,
                x.nrows(),
                x.ncols(),
                r.n,
                r.d
            )
            .into());
        }
        if per_dataset
            .last()
            .is_none_or(|(name, _)| *name != r.dataset)
        {
            per_dataset.push((r.dataset.clone(), Tally::default()));
        }
        let tallies: [&mut Tally; 3] = [
            &mut per_dataset.last_mut().expect("pushed above").1,
            per_role.entry(r.role.clone()).or_default(),
            &mut overall,
        ];

        let mut builder = GaussianMixture::builder(r.k).covariance_type(covariance_type(&r.model)?);
        if let Some((_, init)) = &options.init {
            builder = builder.init(init.clone());
        }
        if let Some(n) = options.n_init {
            builder = builder.n_init(n);
        }
        if let Some(r) = options.reg_covar {
            builder = builder.reg_covar(r);
        }
        if let Some(tol) = options.tol {
            builder = builder.tol(tol);
        }
        if let Some(m) = options.max_iter {
            builder = builder.max_iter(m);
        }
        if let Some(s) = options.seed {
            builder = builder.seed(s);
        }
        let mclust = r
            .loglik
            .map_or_else(|| "NA".to_string(), |l| format!("{l:.6}"));
        let fit = match builder.fit(x) {
            Ok(fit) => fit,
            Err(e) => {
                println!(
                    "{:<10} {:<5} {:>2} {mclust:>20} {:>20}",
                    r.dataset, r.model, r.k, "error"
                );
                println!("    em: {e}");
                for t in tallies {
                    t.em_failed += 1;
                }
                continue;
            }
        };
        if fit.model.n_parameters() != r.df {
            return Err(format!(
                "{} {} K={}: em counts {} parameters, mclust {}",
                r.dataset,
                r.model,
                r.k,
                fit.model.n_parameters(),
                r.df
            )
            .into());
        }
        let em = fit.model.log_likelihood_total(x)?;
        let report = &fit.report;
        let diff = r.loglik.map(|l| em - l);
        println!(
            "{:<10} {:<5} {:>2} {mclust:>20} {em:>20.6} {:>10} {:>9} {:>5}",
            r.dataset,
            r.model,
            r.k,
            diff.map_or_else(|| "—".to_string(), |d| format!("{d:+.4}")),
            if report.converged { "yes" } else { "no" },
            report.iterations
        );
        let what = format!("{} {} K={}", r.dataset, r.model, r.k);
        for t in tallies {
            match diff {
                Some(d) => t.add(d, report.converged, &what),
                None => t.mclust_failed += 1,
            }
        }
    }

    println!();
    println!("em − mclust: higher > +{SAME}, same within {SAME}, lower < −{SAME}");
    for (name, tally) in &per_dataset {
        println!("{}", tally.line(name));
    }
    for (role, tally) in &per_role {
        println!("{}", tally.line(&format!("all {role}")));
    }
    println!("{}", overall.line("overall"));
    Ok(())
}
