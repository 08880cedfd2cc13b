//! The command line as clap parses it: subcommands, options, defaults and help text.

use std::path::PathBuf;

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use em_core::Stopping;
use gmm::{CovarianceType, Init, ShortEm};

/// Fit Gaussian mixtures by EM on CSV or Parquet files: fit, select, predict, sample, convert;
/// a zero-inflated Poisson to counts (zip); and draw EM's lower bound along one parameter of a
/// fitted mixture (bound).
///
/// CSV input: numbers separated by commas, tabs or semicolons (detected, or --delimiter), one
/// observation per line, with or without a header line (a first line with any non-numeric
/// field is a header; --header/--no-header force it); fields may be quoted (RFC 4180, one line
/// per record); blank lines are skipped; missing values (empty, NA, nan, NaN) are modelled
/// (the mixture is fitted to the values observed; --missing drop or error otherwise);
/// gzip-compressed files, Parquet files and the binary format of `em convert` are recognised
/// by their first bytes; FILE `-` reads standard input. Parquet columns are read by name and
/// must be numeric (floats, integers, decimals); a null or NaN is a missing value. --columns
/// and --drop choose
/// the columns to read (by header name or 1-based position), so that an id or a text column
/// such as a species name can be left out; a column that is read must be numeric (the error
/// names it and how to drop it), and only the columns read can hold missing values. Model
/// files store the names of the columns fitted, and `predict` and `fit --init` match columns
/// by name. Exit status: 0 on success, 2 for bad input or usage, 1 when
/// a fit fails numerically (the message says what to change).
#[derive(Debug, Parser)]
#[command(name = "em", version, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Print results only: no progress bar, notes or warnings.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit a Gaussian mixture and print a summary (or the JSON report).
    ///
    /// With no FILE, fits the bundled Old Faithful data (272 eruptions: eruptions, waiting);
    /// there, without -k, the model is mclust's choice for these data: K = 3 components with
    /// one shared (tied) covariance. With a FILE, -k is required and --covariance defaults to
    /// full (as in scikit-learn).
    Fit(FitArgs),
    /// Fit every K and covariance type; table BIC, AIC and ICL; mark the best converged fit.
    ///
    /// BIC = −2 log L + p ln N and AIC = −2 log L + 2p, as in scikit-learn, and ICL = BIC −
    /// 2 Σ_i log max_k z_ik (z the responsibilities; the negative of mclust's icl()): lower is
    /// better for all three. --criterion chooses the one minimised (default BIC).
    ///
    /// Only fits that converged are selected. A fit that stopped without converging is shown
    /// with `NO` in the converged column and never selected; if it has the lowest value of the
    /// criterion, a note on standard error names it (raise --max-iter). If no fit converged,
    /// the table is printed, no model is selected, and the exit status is 1 (as for a fit that
    /// failed); --output is then not written.
    ///
    /// With no FILE, uses the bundled Old Faithful data.
    Select(SelectArgs),
    /// Assign every row of FILE to a component (CSV to standard output).
    ///
    /// Prints, per row: the model's columns as read (or `row`, 1-based, with --no-input),
    /// `component` (the most probable, 0-based), with --proba `p0 … p{K-1}`, `log_density`
    /// (log p(x) under the mixture: very low values are rows the model does not explain,
    /// however certain `component` looks), and with --outliers Q a column `outlier`.
    Predict(PredictArgs),
    /// Draw observations from a model (CSV to standard output).
    Sample(SampleArgs),
    /// Convert a CSV or Parquet file to the binary format that `em fit --stream` reads fastest.
    ///
    /// Reads the input in chunks (never whole), so it works on files larger than memory.
    Convert(ConvertArgs),
    /// Fit a zero-inflated Poisson to a one-column file of counts.
    ///
    /// Each count is a structural zero with probability π, else a Poisson(λ) draw. With no
    /// FILE, fits the bundled RAND Health Insurance Experiment doctor-visit counts (20,190
    /// rows).
    Zip(ZipArgs),
    /// Draw EM's lower bound along one parameter: the log-likelihood ℓ(θ) and Q(θ | θ_t) +
    /// H(q_t), which touch at the model's parameters θ_t and nowhere else (the lecture notes'
    /// figure).
    ///
    /// θ_t is the model of --model; q_t is the E-step's posterior of the components at θ_t,
    /// Q(θ | θ_t) the expected complete-data log-likelihood under it and H(q_t) its entropy.
    /// Along --parameter, with every other coordinate held at θ_t, the bound lies below ℓ and
    /// touches it at θ_t; an M-step that moved only this coordinate would go to the bound's
    /// maximum. Prints CSV to standard output: `value,log_likelihood,bound,gap` (gap =
    /// log_likelihood − bound ≥ 0, 0 at θ_t). With no FILE, uses the bundled Old Faithful data.
    Bound(BoundArgs),
}

/// `em zip`.
#[derive(Debug, Clone, Args)]
pub struct ZipArgs {
    /// CSV file with one column of non-negative whole numbers (default: the bundled
    /// doctor-visit counts).
    pub file: Option<PathBuf>,
    /// When EM stops.
    #[command(flatten)]
    pub stop: StopArgs,
    /// Print the JSON report instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file, atomically.
    #[arg(long, value_name = "REPORT.json")]
    pub output: Option<PathBuf>,
    /// Standard errors and the rate of convergence.
    #[command(flatten)]
    pub inference: InferenceArgs,
}

/// What `fit` and `zip` can report about the fitted parameters besides the estimates:
/// `--std-errors` and `--rate`.
#[derive(Debug, Clone, Default, Args)]
pub struct InferenceArgs {
    /// After the fit, the standard errors of the parameters: a table in the summary, a
    /// `standard_errors` block in the JSON report. They are computed on the data fitted, with
    /// the model in the data's units (also after `fit --standardize`). observed (the default
    /// when no METHOD is given): the Hessian of the log-likelihood by differences of the
    /// analytic score (2p E-steps, p parameters), what statsmodels and R's optim report.
    /// empirical: the outer products of the per-row scores (one pass; less accurate in small
    /// samples). The standard errors of the weights, means and covariances (of π and λ for
    /// zip) come by the delta method from unconstrained coordinates (log-ratios of the
    /// weights, log-Cholesky factors of the covariances; logit π, log λ). A mixture fitted
    /// with the --reg-covar ridge is slightly off the maximum of the likelihood (the ridge is
    /// not in the likelihood): `--reg-covar 0` (the default) for exact ones. Not with `fit
    /// --stream`.
    #[arg(
        long,
        value_enum,
        value_name = "METHOD",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "observed"
    )]
    pub std_errors: Option<InformationArg>,
    /// After the fit, EM's rate of convergence there: the largest eigenvalue λ of the Jacobian
    /// of one EM step (the largest fraction of missing information; 2p E- and M-steps). The
    /// distance to the optimum shrinks by λ per plain EM iteration, so λ = 0.99 is about 230
    /// iterations per digit; above 0.9, SQUAREM (`fit --accelerate`) helps most. Not with `fit
    /// --stream`.
    #[arg(long)]
    pub rate: bool,
}

/// The estimate of the Fisher information standard errors come from (`--std-errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InformationArg {
    /// −∇²ℓ by central differences of the analytic score (2p E-steps).
    Observed,
    /// Σ_n s_n s_nᵀ, the outer products of the per-row scores (one pass).
    Empirical,
}

impl From<InformationArg> for em_core::information::InformationMethod {
    fn from(m: InformationArg) -> Self {
        match m {
            InformationArg::Observed => Self::Observed,
            InformationArg::Empirical => Self::Empirical,
        }
    }
}

/// `em bound`.
#[derive(Debug, Clone, Args)]
pub struct BoundArgs {
    /// CSV or Parquet file (default: the bundled Old Faithful data). Its columns are matched
    /// to the model's features by name, as `em predict` does.
    pub file: Option<PathBuf>,
    /// The model file (the JSON written by `em fit --output`): the parameters θ_t where the
    /// bound touches the log-likelihood.
    #[arg(long, value_name = "MODEL.json")]
    pub model: PathBuf,
    /// The coordinate varied, by name: `log(π_0/π_2)` (the weights as log-ratios to the last),
    /// `μ_1[0]` (a mean), `component 0: log L[0,0]`, `tied: L[1,0]`, `log σ²_0[1]` (the
    /// covariances unconstrained) [default: the first mean of the last component, `μ_{K-1}[0]`].
    /// An unknown name is an error listing the model's.
    #[arg(long, value_name = "NAME")]
    pub parameter: Option<String>,
    /// Where the curve starts [default: θ_t's value − 3 standard deviations of the feature's
    /// column for a mean, − 2 for any other coordinate].
    #[arg(long, value_name = "A", allow_hyphen_values = true, value_parser = parse_finite)]
    pub from: Option<f64>,
    /// Where the curve ends [default: θ_t's value + 3 standard deviations of the feature's
    /// column for a mean, + 2 for any other coordinate]; must be above --from.
    #[arg(long, value_name = "B", allow_hyphen_values = true, value_parser = parse_finite)]
    pub to: Option<f64>,
    /// Evenly spaced values from --from to --to (both included).
    #[arg(long, value_name = "N", default_value_t = 201, value_parser = RangedU64ValueParser::<usize>::new().range(3..=1_000_000))]
    pub points: usize,
    /// Draw ℓ and the bound against the parameter, with a marker at θ_t, to FILE (.svg or
    /// .png).
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
    /// Which columns of FILE are read (then matched to the model's features by name).
    #[command(flatten)]
    pub cols: ColumnArgs,
    /// How FILE is read.
    #[command(flatten)]
    pub reader: ReaderArgs,
}

fn parse_finite(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("must be finite, got {s}")),
        Err(_) => Err(format!("{s:?} is not a number")),
    }
}

/// When EM stops: `--stopping`, `--tol` and `--max-iter`, shared by every fitting command.
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    /// The stopping rule. parameters: the estimated relative distance of the parameters to
    /// the optimum (the last relative change, corrected by the observed rate of convergence)
    /// is below --tol; at the default 1e-7 fits stop within 1e-6 of the optimum. aitken:
    /// Aitken's estimate of the gap to the limit of the log-likelihood, per row, is below
    /// --tol. objective-change: the change of the mean log-likelihood per row is below --tol,
    /// scikit-learn's rule (stops early when EM is slow).
    #[arg(long, value_enum, value_name = "RULE", default_value = "parameters")]
    pub stopping: StoppingArg,
    /// The tolerance of the stopping rule [default: 1e-7 for parameters, 1e-12 for aitken,
    /// scikit-learn's 1e-3 for objective-change].
    #[arg(long, value_name = "T", value_parser = parse_non_negative)]
    pub tol: Option<f64>,
    /// Maximum EM iterations (per restart); a fit that reaches it reports converged: no.
    #[arg(long, value_name = "N", default_value_t = em_core::DEFAULT_MAX_ITER, value_parser = at_least_one())]
    pub max_iter: usize,
}

impl StopArgs {
    /// The rule with `--tol`, or with the rule's default tolerance.
    pub fn stopping(&self) -> Stopping {
        let rule = match self.stopping {
            StoppingArg::Parameters => Stopping::DEFAULT,
            StoppingArg::Aitken => Stopping::AITKEN,
            StoppingArg::ObjectiveChange => Stopping::SKLEARN,
        };
        match self.tol {
            Some(tol) => rule.with_tol(tol),
            None => rule,
        }
    }
}

/// A stopping rule (`--stopping`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoppingArg {
    /// The relative distance of the parameters to the optimum, rate-corrected (default).
    Parameters,
    /// Aitken's estimated gap to the limit of the log-likelihood, per row.
    Aitken,
    /// scikit-learn's rule: the change of the mean log-likelihood per row.
    #[value(alias = "loglik-change", alias = "sklearn")]
    ObjectiveChange,
}

/// `em fit --model`: which mixture, and the options of the others.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// The mixture fitted. gaussian: Gaussian components (the default). t: multivariate
    /// Student-t components, robust to outliers (ν estimated per component unless --dof; K
    /// and --covariance as for gaussian; restarts from --n-init sets of random rows).
    /// regression: a mixture of regressions of --response on the other columns read, with an
    /// intercept (--response-family gaussian or poisson; flexmix's model). mfa: a mixture of
    /// factor analysers, covariances W Wᵀ + Ψ of --factors factors (--noise), for many
    /// columns; always accelerated by SQUAREM (plain EM is 15–20× slower for it). vb: a
    /// variational Bayes Gaussian mixture (scikit-learn's BayesianGaussianMixture): K is an
    /// upper bound, the posterior empties the components the data do not need
    /// (--weight-prior, --weight-concentration; --covariance as for gaussian; k-means starts;
    /// the objective is the ELBO). The last four print their summary and JSON report (--json,
    /// --output); the Gaussian-only options (--stream, --standardize, --plot, --std-errors,
    /// --rate, --init FILE, missing values) are refused with them.
    #[arg(
        long = "model",
        value_enum,
        value_name = "MODEL",
        default_value = "gaussian"
    )]
    pub kind: ModelArg,
    /// --model t: hold every component's degrees of freedom at NU (1 is the Cauchy mixture)
    /// instead of estimating them.
    #[arg(long, value_name = "NU", value_parser = parse_non_negative)]
    pub dof: Option<f64>,
    /// --model regression: the response column, by header name or 1-based position; every
    /// other column read is a predictor.
    #[arg(long, value_name = "COL")]
    pub response: Option<String>,
    /// --model regression: the response's distribution (poisson: counts, log link).
    #[arg(long, value_enum, value_name = "FAMILY", default_value = "gaussian")]
    pub response_family: ResponseFamilyArg,
    /// --model mfa: factors per component (fewer than the columns).
    #[arg(long, value_name = "Q", value_parser = at_least_one())]
    pub factors: Option<usize>,
    /// --model mfa: the noise Ψ. diagonal: one diagonal per component; shared: one diagonal
    /// for all; isotropic: σ²I per component (mixtures of probabilistic PCA).
    #[arg(long, value_enum, value_name = "NOISE", default_value = "diagonal")]
    pub noise: NoiseArg,
    /// --model vb: the prior on the weights (default dirichlet-process, scikit-learn's).
    #[arg(long, value_enum, value_name = "PRIOR")]
    pub weight_prior: Option<WeightPriorArg>,
    /// --model vb: the concentration α₀ of the weight prior (default 1/K); small values empty
    /// unneeded components faster.
    #[arg(long, value_name = "A", value_parser = parse_non_negative)]
    pub weight_concentration: Option<f64>,
}

/// `--weight-prior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WeightPriorArg {
    /// A Dirichlet process truncated at K sticks (stick-breaking).
    DirichletProcess,
    /// A symmetric Dirichlet distribution on the K weights.
    DirichletDistribution,
}

/// `--model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Gaussian components.
    Gaussian,
    /// Multivariate Student-t components.
    T,
    /// Regressions of --response on the other columns.
    Regression,
    /// Factor analysers.
    Mfa,
    /// A variational Bayes Gaussian mixture.
    Vb,
}

/// `--response-family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResponseFamilyArg {
    /// y | x ~ N(xᵀβ_k, σ_k²).
    Gaussian,
    /// y | x ~ Poisson(exp(xᵀβ_k)).
    Poisson,
}

/// `--noise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NoiseArg {
    /// One diagonal Ψ_k per component.
    Diagonal,
    /// One diagonal Ψ shared by all components.
    Shared,
    /// Ψ_k = σ_k² I (probabilistic PCA).
    Isotropic,
}

/// A covariance structure, as scikit-learn names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CovarianceArg {
    /// Each component has its own general covariance matrix.
    Full,
    /// Each component has its own diagonal covariance matrix.
    Diag,
    /// Each component has its own single variance (σ² I).
    Spherical,
    /// All components share one general covariance matrix (mclust's EEE).
    Tied,
}

impl From<CovarianceArg> for CovarianceType {
    fn from(c: CovarianceArg) -> Self {
        match c {
            CovarianceArg::Full => CovarianceType::Full,
            CovarianceArg::Diag => CovarianceType::Diag,
            CovarianceArg::Spherical => CovarianceType::Spherical,
            CovarianceArg::Tied => CovarianceType::Tied,
        }
    }
}

/// A covariance structure for `select`, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CovarianceChoice {
    /// full, diag, spherical and tied.
    All,
    /// Each component its own general covariance.
    Full,
    /// Each component its own diagonal covariance.
    Diag,
    /// Each component its own single variance.
    Spherical,
    /// One shared general covariance.
    Tied,
}

/// The information criterion `select` minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Criterion {
    /// Bayesian information criterion, −2 log L + p ln N.
    Bic,
    /// Akaike information criterion, −2 log L + 2p.
    Aic,
    /// Integrated complete-data likelihood, BIC − 2 Σ_i log max_k z_ik.
    Icl,
}

impl Criterion {
    /// The name in upper case, as tables and plots print it (`BIC`).
    pub fn label(self) -> &'static str {
        match self {
            Criterion::Bic => "BIC",
            Criterion::Aic => "AIC",
            Criterion::Icl => "ICL",
        }
    }

    /// The name as `--criterion` and the JSON report spell it (`bic`).
    pub fn key(self) -> &'static str {
        match self {
            Criterion::Bic => "bic",
            Criterion::Aic => "aic",
            Criterion::Icl => "icl",
        }
    }
}

/// How starting parameters are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum InitArg {
    /// A method of the library's (`gmm::Init`).
    Method(Init),
    /// The parameters in a model file.
    File(PathBuf),
}

/// The names `--init` accepts, for the error message.
const INIT_NAMES: &str = "auto, hc, kmeans, kmeans-std, kmeans++, short-em, random, data";

fn parse_init(s: &str) -> Result<InitArg, String> {
    Ok(InitArg::Method(match s {
        "auto" => Init::Auto,
        "hc" => Init::Hierarchical,
        "kmeans" => Init::KMeans,
        "kmeans-std" => Init::KMeansStandardized,
        "kmeans++" | "k-means++" => Init::KMeansPlusPlus,
        "short-em" | "emem" => Init::ShortEm(ShortEm::default()),
        "random" => Init::RandomResponsibilities,
        "data" => Init::RandomFromData,
        "" => return Err(format!("expected {INIT_NAMES} or a model file")),
        path => return Ok(InitArg::File(PathBuf::from(path))),
    }))
}

fn parse_non_negative(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("must be finite and ≥ 0, got {s}"))
    }
}

/// The values of K that `select` tries, in increasing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KList(pub Vec<usize>);

/// Parses the K values of `select`: `1..9` (inclusive, as mclust's `1:9`), `2..=5`, `3`, or a
/// comma list `1,2,5`.
pub fn parse_k_list(s: &str) -> Result<KList, String> {
    let bad =
        || format!("{s:?}: expected a range such as 1..9 (inclusive), one K, or a list 1,2,5");
    let one = |t: &str| -> Result<usize, String> {
        let k: usize = t.trim().parse().map_err(|_| bad())?;
        if k == 0 {
            Err("K must be at least 1".into())
        } else {
            Ok(k)
        }
    };
    let ks = if let Some((a, b)) = s.split_once("..") {
        let (lo, hi) = (one(a)?, one(b.strip_prefix('=').unwrap_or(b))?);
        if lo > hi {
            return Err(format!("{s:?}: the range is empty ({lo} > {hi})"));
        }
        (lo..=hi).collect()
    } else {
        let mut ks = s.split(',').map(one).collect::<Result<Vec<_>, _>>()?;
        ks.sort_unstable();
        ks.dedup();
        ks
    };
    if ks.len() > 100 {
        return Err(format!("{s:?}: at most 100 values of K"));
    }
    Ok(KList(ks))
}

fn at_least_one() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::<usize>::new().range(1..)
}

/// EM options shared by `fit` and `select` (scikit-learn's defaults, but for when EM stops).
#[derive(Debug, Clone, Args)]
pub struct EmArgs {
    /// Starting parameters. auto (the default): the first run from hc, every further restart
    /// from short-em. hc: mclust's model-based hierarchical agglomeration on standardised,
    /// whitened data (units do not matter). kmeans: k-means++ seeding then k-means on the data
    /// as given (scikit-learn's). kmeans-std: the same on z-scores. kmeans++: seeds only.
    /// short-em: the best of 10 k-means-std starts after 5 EM iterations each. random: random
    /// responsibilities. data: means at random rows. Or a model file (PARAMS.json, as written
    /// by --output).
    #[arg(long, value_name = "auto|hc|kmeans|kmeans-std|kmeans++|short-em|random|data|PARAMS.json", default_value = "auto", value_parser = parse_init)]
    pub init: InitArg,
    /// Number of restarts; the one with the highest log-likelihood wins. With --init auto,
    /// restart 0 starts from hc and the others from short-em.
    #[arg(long, value_name = "N", default_value_t = gmm::DEFAULT_N_INIT, value_parser = at_least_one())]
    pub n_init: usize,
    /// When EM stops (scikit-learn's rule is `--stopping objective-change --max-iter 100`;
    /// on the bundled data it stops at log-likelihood −1127.16, 0.85 below the optimum).
    #[command(flatten)]
    pub stop: StopArgs,
    /// Ridge added to the variances after each M-step (a numerical safeguard, not a prior).
    /// The default 0 is maximum likelihood, as mclust (its value does not depend on the
    /// units); scikit-learn uses 1e-6. Set it when a component degenerates.
    #[arg(long, value_name = "R", default_value_t = gmm::DEFAULT_REG_COVAR, value_parser = parse_non_negative)]
    pub reg_covar: f64,
    /// Seed of the restarts' random generators; a fit is reproducible for a given seed.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// E-step worker threads (default: one per core). Results do not depend on it.
    #[arg(long, value_name = "N", value_parser = at_least_one())]
    pub threads: Option<usize>,
    /// Accelerate EM with SQUAREM: extrapolate along pairs of EM steps, falling back to the
    /// plain steps whenever that would lower the log-likelihood. Reaches the same fit in
    /// several times fewer E-steps when components overlap; iterations are then SQUAREM
    /// cycles (up to three EM steps each), and --max-iter still bounds the EM steps.
    #[arg(long)]
    pub accelerate: bool,
}

/// `em fit`.
#[derive(Debug, Clone, Args)]
pub struct FitArgs {
    /// CSV or Parquet file (default: the bundled Old Faithful data).
    pub file: Option<PathBuf>,
    /// Number of components K. Required with FILE (unless --init gives a model file); for
    /// the bundled data the default is 3.
    #[arg(short = 'k', long = "k", value_name = "K", value_parser = at_least_one())]
    pub k: Option<usize>,
    /// Which columns of FILE are fitted.
    #[command(flatten)]
    pub cols: ColumnArgs,
    /// Covariance structure [default: full; tied for the bundled data without -k; the
    /// model file's with --init PARAMS.json].
    #[arg(long, value_enum, value_name = "TYPE")]
    pub covariance: Option<CovarianceArg>,
    /// EM options.
    #[command(flatten)]
    pub em: EmArgs,
    /// Print the JSON report instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report (a model file for --model and --init) to this file,
    /// atomically.
    #[arg(long, value_name = "MODEL.json")]
    pub output: Option<PathBuf>,
    /// Draw the data and the fitted mixture to FILE (.svg or .png), and the log-likelihood
    /// per iteration to FILE-trace.svg (or .png). 1-D data: histogram with the mixture density
    /// and each weighted component; 2-D: scatter coloured by component with 1σ and 2σ
    /// ellipses; more dimensions: the same on the first two principal components.
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
    /// Standard errors and the rate of convergence.
    #[command(flatten)]
    pub inference: InferenceArgs,
    /// Which model: a Gaussian mixture, or another family (--model).
    #[command(flatten)]
    pub model: ModelArgs,
    /// Semi-supervised fit: COLUMN (a header name or a 1-based position among the columns
    /// read) holds the known component of some rows, 0..K−1, and is missing (an empty field,
    /// NA, nan) for the others; it is not a feature. A labelled row's component is fixed to
    /// its label, the rest are inferred, and EM maximises log p(x, labels); the summary says
    /// how many rows were labelled. Gaussian mixtures only; not with --stream, --init
    /// PARAMS.json or --missing drop, and a missing feature value is an error (semi-supervised
    /// fits need complete feature rows).
    #[arg(long, value_name = "COLUMN", conflicts_with = "stream")]
    pub labels: Option<String>,
    /// Stream FILE instead of loading it: read it again, in chunks, on every EM iteration, so
    /// that memory stays small whatever its size. FILE is CSV, Parquet (read row group by row
    /// group) or the binary format written by `em convert` (recognised by its first bytes;
    /// several times faster to read). Needs -k (or
    /// --init PARAMS.json); not with --plot or standard input. The fit is the one without
    /// --stream, bit for bit (at the default --chunk-size), when FILE has at most
    /// --init-sample rows or --init is a model file; otherwise the --init method
    /// starts from a uniform sample of --init-sample rows. --columns and --drop need a CSV
    /// or Parquet FILE; a model file written with --stream stores no training log-densities (see
    /// `em predict --outliers`).
    #[arg(long, conflicts_with_all = ["std_errors", "rate"])]
    pub stream: bool,
    /// Fit on column z-scores ((x − mean) / standard deviation), then report everything in
    /// the original units: means m + s∘μ_z, covariances S Σ_z S (S = diag(s)), the
    /// log-likelihood ℓ_z − N Σ_j log s_j and BIC/AIC from it; the model file (--output)
    /// is in the original units too, so `em predict` takes raw data. For full, diag and tied
    /// the fit is the same model EM finds on the raw data, but k-means starts and
    /// --reg-covar then treat every column alike. Not with spherical (σ²I on z-scores is not
    /// spherical in the original units: use diag) or --stream; a constant column is an
    /// error (it has no z-score).
    #[arg(long, conflicts_with = "stream")]
    pub standardize: bool,
    /// With --stream: rows per E-step batch; a chunk of 16 batches is read at a time.
    #[arg(long, value_name = "N", requires = "stream", value_parser = at_least_one())]
    pub chunk_size: Option<usize>,
    /// With --stream: rows of the random sample that --init methods other than a model file
    /// start from.
    #[arg(long, value_name = "N", requires = "stream", default_value_t = gmm::stream::DEFAULT_INIT_SAMPLE, value_parser = at_least_one())]
    pub init_sample: usize,
    /// Online EM options.
    #[command(flatten)]
    pub online: OnlineArgs,
    /// How FILE is read.
    #[command(flatten)]
    pub reader: ReaderArgs,
}

/// `em fit --online`: one pass over a file too large to read many times.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Online EM")]
pub struct OnlineArgs {
    /// Fit FILE online, reading it once: batch EM on its first --head rows gives the start,
    /// then the parameters are updated after every mini-batch of --batch-size rows with
    /// step sizes (t + 2)^(−α) (Cappé & Moulines' online EM). Memory holds the head and two
    /// mini-batches. The log-likelihood reported is the progressive estimate (each mini-batch
    /// scored before its update), as the file is not read again. FILE as for --stream; the
    /// head should be representative (shuffle a file sorted by cluster).
    #[arg(long, conflicts_with_all = ["stream", "std_errors", "rate", "standardize", "plot"])]
    pub online: bool,
    /// With --online: rows per mini-batch.
    #[arg(long, value_name = "N", requires = "online", default_value_t = em_core::online::DEFAULT_BATCH_SIZE, value_parser = at_least_one())]
    pub batch_size: usize,
    /// With --online: α of the step sizes (t + 2)^(−α), in (0.5, 1].
    #[arg(long, value_name = "A", requires = "online", default_value_t = em_core::online::DEFAULT_STEP_EXPONENT, value_parser = parse_step_exponent)]
    pub step_exponent: f64,
    /// With --online: passes over FILE.
    #[arg(long, value_name = "N", requires = "online", default_value_t = 1, value_parser = at_least_one())]
    pub passes: usize,
    /// With --online: rows at the head of FILE that batch EM fits the start to.
    #[arg(long, value_name = "N", requires = "online", default_value_t = gmm::online::DEFAULT_HEAD, value_parser = at_least_one())]
    pub head: usize,
}

/// α of online EM's step sizes: in (0.5, 1].
fn parse_step_exponent(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v > 0.5 && v <= 1.0 {
        Ok(v)
    } else {
        Err(format!("must be in (0.5, 1], got {s}"))
    }
}

/// How input files are read (`fit`, `select`, `predict`, `convert`): delimiter, header and
/// missing values. Compressed (gzip), Parquet and binary input need no option: they are
/// recognised by their first bytes.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Input")]
pub struct ReaderArgs {
    /// Field delimiter of CSV input: `,`, `tab` (or `\t`) or `;` [default: detected from the
    /// first line: a comma if it has one outside quotes, else whichever of tab and semicolon
    /// splits it into more fields].
    /// Fields may be quoted as in RFC 4180 ("a, b", "say ""hi"""); a quoted field must end on
    /// its line.
    #[arg(long, value_name = "D", value_parser = parse_delimiter)]
    pub delimiter: Option<em_io::Delimiter>,
    /// Read the first line as a header even if it is numeric (e.g. `2019,2020`) [default: a
    /// first line with any field that is neither a number nor a missing value is a header].
    #[arg(long, conflicts_with = "no_header")]
    pub header: bool,
    /// Read the first line as data, even if it is not numeric (an error then names it).
    #[arg(long)]
    pub no_header: bool,
    /// Missing values (an empty field, NA, nan or NaN; in Parquet, a null or NaN): model
    /// fits the mixture to the values that were observed, by exact EM (each row through the
    /// marginal density of its observed columns; predict classifies rows from their observed
    /// values, and `predict --impute` fills the missing ones in); drop drops the rows that
    /// have one and says how many on standard error; error stops with a message naming the
    /// line and column.
    #[arg(long, value_enum, value_name = "WHAT", default_value = "model")]
    pub missing: MissingArg,
}

impl ReaderArgs {
    /// The readers' options.
    pub fn options(&self) -> em_io::ReadOptions {
        em_io::ReadOptions {
            delimiter: self.delimiter.unwrap_or_default(),
            header: match (self.header, self.no_header) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            missing: match self.missing {
                MissingArg::Model => em_io::Missing::Keep,
                MissingArg::Error => em_io::Missing::Error,
                MissingArg::Drop => em_io::Missing::Drop,
            },
        }
    }

    /// What the models make of a NaN in the data read: a missing value with `--missing
    /// model`; otherwise the reader has already dropped or refused them.
    pub fn missing_values(&self) -> gmm::MissingValues {
        match self.missing {
            MissingArg::Model => gmm::MissingValues::Model,
            MissingArg::Error | MissingArg::Drop => gmm::MissingValues::Error,
        }
    }
}

/// What `--missing` does with a row that has a missing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum MissingArg {
    /// Read a missing value as NaN and let the model treat it as unobserved.
    #[default]
    Model,
    /// Stop with an error naming the line and column.
    Error,
    /// Drop the row (the number dropped is printed on standard error unless --quiet).
    Drop,
}

fn parse_delimiter(s: &str) -> Result<em_io::Delimiter, String> {
    match s {
        "," | "comma" => Ok(em_io::Delimiter::Comma),
        "\t" | "\\t" | "tab" | "TAB" => Ok(em_io::Delimiter::Tab),
        ";" | "semicolon" => Ok(em_io::Delimiter::Semicolon),
        _ => Err(format!("{s:?}: expected `,`, `tab` (or `\\t`) or `;`")),
    }
}

/// `em convert`.
#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// Numeric CSV or Parquet file to read (as `em fit` reads it).
    pub input: PathBuf,
    /// Binary file to write: a 16-byte header (the bytes `EMF64LE1`, then the number of
    /// columns as a little-endian u64), then every row as little-endian f64 values.
    pub output: PathBuf,
    /// How the input file is read.
    #[command(flatten)]
    pub reader: ReaderArgs,
}

/// `em select`.
#[derive(Debug, Clone, Args)]
pub struct SelectArgs {
    /// CSV or Parquet file (default: the bundled Old Faithful data).
    pub file: Option<PathBuf>,
    /// Values of K: a range 1..9 (inclusive), one K, or a list 1,2,5.
    #[arg(short = 'k', long = "k", value_name = "RANGE", default_value = "1..9", value_parser = parse_k_list)]
    pub k: KList,
    /// Which columns of FILE are fitted.
    #[command(flatten)]
    pub cols: ColumnArgs,
    /// Covariance structures to try: all, or a comma-separated list.
    #[arg(
        long,
        value_enum,
        value_name = "TYPES",
        value_delimiter = ',',
        default_value = "all"
    )]
    pub covariance: Vec<CovarianceChoice>,
    /// The criterion minimised to choose the best converged fit.
    #[arg(long, value_enum, value_name = "NAME", default_value = "bic")]
    pub criterion: Criterion,
    /// EM options (--init takes no model file here).
    #[command(flatten)]
    pub em: EmArgs,
    /// Fit on column z-scores and report in the original units, as `em fit --standardize`
    /// does. Spherical covariances are left out of `--covariance all` (with a note) and
    /// refused when asked for by name: σ²I on z-scores is not spherical in the original
    /// units.
    #[arg(long)]
    pub standardize: bool,
    /// Print the table as JSON instead: `criterion`, `rows` (each with `bic`, `aic`, `icl`,
    /// `converged`, `n_iter`), `best` (the selected fit, or null) and `passed_over` (the fit
    /// with the lowest criterion if it did not converge, else null).
    #[arg(long)]
    pub json: bool,
    /// Write the JSON report of the selected model to this file, atomically (not written
    /// when no fit converged).
    #[arg(long, value_name = "MODEL.json")]
    pub output: Option<PathBuf>,
    /// Draw the criterion against K, one line per covariance type, to FILE (.svg or .png);
    /// fits that did not converge are hollow circles, the selected one is ringed.
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
    /// How FILE is read.
    #[command(flatten)]
    pub reader: ReaderArgs,
}

/// `em predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// A model file (the JSON written by `em fit --output`).
    #[arg(long, value_name = "MODEL.json")]
    pub model: PathBuf,
    /// CSV or Parquet file. Its columns are matched to the model's features by name (the model file
    /// stores them): they may come in any order, and columns the model was not fitted on are
    /// left out with a note. A model file without names is matched by position.
    pub file: PathBuf,
    /// Which columns of FILE are read (then matched to the model's features by name).
    #[command(flatten)]
    pub cols: ColumnArgs,
    /// Also print the probability of every component (columns p0, p1, …).
    #[arg(long)]
    pub proba: bool,
    /// Print a `row` number (1-based) instead of the input columns before the predictions.
    #[arg(long, conflicts_with = "impute")]
    pub no_input: bool,
    /// Print the input columns with every missing value replaced by its conditional
    /// expectation given the row's observed values under the model, E[x_missing |
    /// x_observed] (imputation), instead of as read (where a missing value is an empty
    /// field). Needs --missing model (the default) for rows with missing values.
    #[arg(long)]
    pub impute: bool,
    /// Add a column `outlier` (true/false): whether the row's log-density is below the
    /// Q-quantile (0 < Q < 1) of the training rows' log-densities, which `em fit --output`
    /// and `em select --output` store in the model file. With a model file that does not
    /// store them (older files, `fit --stream`), the threshold is the Q-quantile of the rows
    /// being predicted, and a note says so.
    #[arg(long, value_name = "Q", value_parser = parse_probability)]
    pub outliers: Option<f64>,
    /// How FILE is read (with --missing drop, the rows printed are those kept).
    #[command(flatten)]
    pub reader: ReaderArgs,
}

/// `em sample`.
#[derive(Debug, Clone, Args)]
pub struct SampleArgs {
    /// A model file (the JSON written by `em fit --output`).
    #[arg(long, value_name = "MODEL.json")]
    pub model: PathBuf,
    /// Number of observations to draw.
    #[arg(short = 'n', value_name = "N")]
    pub n: usize,
    /// Seed of the random generator.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Add a last column `component` with the component each row was drawn from.
    #[arg(long)]
    pub labels: bool,
}

/// Which columns of FILE are read: `--columns` and `--drop`, shared by `fit`, `select` and
/// `predict`. Columns that are not read are not parsed, so they may hold text.
#[derive(Debug, Clone, Default, Args)]
pub struct ColumnArgs {
    /// Read only these columns, in this order: comma-separated header names or 1-based
    /// positions (a name wins when a column is named like a number).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Leave these columns out (names or 1-based positions, comma-separated): an id column,
    /// a label such as a species name, a pandas index column (empty name: use its position).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub drop: Vec<String>,
}

impl ColumnArgs {
    /// The selection for the reader.
    pub fn selection(&self) -> em_io::Selection {
        em_io::Selection {
            columns: self.columns.clone(),
            drop: self.drop.clone(),
        }
    }
}

fn parse_probability(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("must be between 0 and 1 (exclusive), got {s}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
        // Every subcommand's arguments convert to their fields (a type mismatch panics here).
        for args in [
            &["em", "fit"][..],
            &["em", "select", "--k", "2..3", "--covariance", "full,tied"],
            &["em", "select", "--criterion", "icl"],
            &["em", "fit", "--accelerate"],
            &["em", "predict", "--model", "m.json", "d.csv", "--proba"],
            &[
                "em",
                "predict",
                "--model",
                "m.json",
                "d.csv",
                "--no-input",
                "--outliers",
                "0.01",
                "--drop",
                "id",
            ],
            &["em", "fit", "d.csv", "-k", "2", "--columns", "a,3"],
            &["em", "select", "d.csv", "--drop", "1"],
            &["em", "sample", "--model", "m.json", "-n", "5"],
            &[
                "em",
                "fit",
                "d.csv",
                "-k",
                "2",
                "--stream",
                "--chunk-size",
                "100",
            ],
            &["em", "convert", "d.csv", "d.f64"],
            &[
                "em",
                "fit",
                "d.tsv",
                "-k",
                "2",
                "--delimiter",
                "tab",
                "--no-header",
            ],
            &[
                "em",
                "select",
                "d.csv",
                "--delimiter",
                ";",
                "--missing",
                "drop",
            ],
            &["em", "predict", "--model", "m.json", "d.csv", "--header"],
            &["em", "zip", "--stopping", "aitken", "--tol", "1e-12"],
            &["em", "fit", "--std-errors", "--rate"],
            &["em", "zip", "--std-errors=empirical", "--rate"],
            &[
                "em",
                "bound",
                "--model",
                "m.json",
                "--parameter",
                "μ_0[1]",
                "--from",
                "-3",
                "--to",
                "-1e-3",
                "--points",
                "3",
            ],
        ] {
            Cli::try_parse_from(args).unwrap();
        }
    }

    #[test]
    fn stopping_rules_take_their_own_default_tolerance_unless_given() {
        let stop = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::Fit(a) => a.em.stop.stopping(),
            Command::Zip(a) => a.stop.stopping(),
            other => panic!("{other:?}"),
        };
        assert_eq!(stop(&["em", "fit"]), Stopping::DEFAULT);
        assert_eq!(stop(&["em", "zip"]), Stopping::DEFAULT);
        assert_eq!(
            stop(&["em", "fit", "--stopping", "objective-change"]),
            Stopping::SKLEARN
        );
        assert_eq!(
            stop(&["em", "fit", "--stopping", "loglik-change", "--tol", "1e-6"]),
            Stopping::ObjectiveChange { tol: 1e-6 }
        );
        assert_eq!(
            stop(&["em", "zip", "--stopping", "aitken"]),
            Stopping::AITKEN
        );
        assert_eq!(
            stop(&["em", "fit", "--tol", "1e-9"]),
            Stopping::Parameters { tol: 1e-9 }
        );
    }

    #[test]
    fn reader_options_map_to_the_readers() {
        let options = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::Fit(a) => a.reader.options(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            options(&["em", "fit"]),
            em_io::ReadOptions {
                missing: em_io::Missing::Keep,
                ..em_io::ReadOptions::default()
            }
        );
        assert_eq!(
            options(&["em", "fit", "--missing", "error"]).missing,
            em_io::Missing::Error
        );
        for (d, expected) in [
            (",", em_io::Delimiter::Comma),
            ("tab", em_io::Delimiter::Tab),
            ("\\t", em_io::Delimiter::Tab),
            (";", em_io::Delimiter::Semicolon),
        ] {
            assert_eq!(
                options(&["em", "fit", "--delimiter", d]).delimiter,
                expected
            );
        }
        assert!(Cli::try_parse_from(["em", "fit", "--delimiter", "|"]).is_err());
        assert_eq!(options(&["em", "fit", "--header"]).header, Some(true));
        assert_eq!(options(&["em", "fit", "--no-header"]).header, Some(false));
        assert!(Cli::try_parse_from(["em", "fit", "--header", "--no-header"]).is_err());
        assert_eq!(
            options(&["em", "fit", "--missing", "drop"]).missing,
            em_io::Missing::Drop
        );
    }

    #[test]
    fn std_errors_takes_its_method_only_after_an_equals_sign() {
        let parse = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::Fit(a) => (a.inference.std_errors, a.file),
            Command::Zip(a) => (a.inference.std_errors, a.file),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            parse(&["em", "fit", "--std-errors", "d.csv", "-k", "2"]),
            (Some(InformationArg::Observed), Some(PathBuf::from("d.csv")))
        );
        assert_eq!(
            parse(&["em", "zip", "--std-errors=empirical"]),
            (Some(InformationArg::Empirical), None)
        );
        assert_eq!(parse(&["em", "zip"]), (None, None));
        assert!(Cli::try_parse_from(["em", "fit", "--std-errors=hessian"]).is_err());
        assert!(Cli::try_parse_from(["em", "fit", "d.csv", "--stream", "--rate"]).is_err());
        assert!(
            Cli::try_parse_from(["em", "bound", "--model", "m.json", "--from", "inf"]).is_err()
        );
    }

    #[test]
    fn k_lists_parse() {
        assert_eq!(parse_k_list("1..9").unwrap().0, (1..=9).collect::<Vec<_>>());
        assert_eq!(parse_k_list("2..=4").unwrap().0, vec![2, 3, 4]);
        assert_eq!(parse_k_list("3").unwrap().0, vec![3]);
        assert_eq!(parse_k_list("5,1,2,2").unwrap().0, vec![1, 2, 5]);
        assert!(parse_k_list("0..3").is_err());
        assert!(parse_k_list("4..2").is_err());
        assert!(parse_k_list("a").is_err());
    }

    #[test]
    fn init_values_map_to_methods_and_anything_else_is_a_file() {
        let method = |s| match parse_init(s) {
            Ok(InitArg::Method(m)) => Some(m),
            _ => None,
        };
        assert_eq!(method("auto"), Some(Init::Auto));
        assert_eq!(method("hc"), Some(Init::Hierarchical));
        assert_eq!(method("kmeans"), Some(Init::KMeans));
        assert_eq!(method("kmeans-std"), Some(Init::KMeansStandardized));
        assert_eq!(method("kmeans++"), Some(Init::KMeansPlusPlus));
        assert_eq!(method("short-em"), Some(Init::ShortEm(ShortEm::default())));
        assert_eq!(method("random"), Some(Init::RandomResponsibilities));
        assert_eq!(method("data"), Some(Init::RandomFromData));
        assert_eq!(
            parse_init("m.json").unwrap(),
            InitArg::File(PathBuf::from("m.json"))
        );
    }
}
