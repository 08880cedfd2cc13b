# Reference fits of R's mclust for the `gmm` crate: data files, log-likelihoods and the
# hierarchical-agglomeration partitions mclust starts EM from.
#
# Run from the repository root:
#
#     Rscript bench/mclust/make_fixtures.R
#
# It writes
#   data/r/<name>.csv                                   the data sets (faithful reuses data/faithful.csv)
#   crates/gmm/tests/fixtures/mclust/loglik.csv         one Mclust() fit per data set, model and K
#   crates/gmm/tests/fixtures/mclust/hc_classes.csv     the default hc partitions, K = 1..16
#   crates/gmm/tests/fixtures/mclust/hc_pairs_<name>.csv   every merge of the hc tree (faithful, diabetes)
#   crates/gmm/tests/fixtures/mclust/hc_svd_<name>.csv  the transformed data the hc tree is built on
#   crates/gmm/tests/fixtures/mclust/README.md          what the files hold, and the versions
#
# Every fit uses mclust's defaults: Mclust(X, G = K, modelNames = M) with no prior, the default
# emControl() and the default initialisation (hc on mclust.options("hcUse"); no subset, since
# every data set here has at most mclust.options("subset") = 2000 rows). The script stops if
# anything it checks along the way does not hold.

suppressPackageStartupMessages(library(mclust))

stopifnot(file.exists("data/faithful.csv"), dir.exists("crates/gmm"))

fixture_dir <- "crates/gmm/tests/fixtures/mclust"
data_dir <- "data/r"
dir.create(fixture_dir, recursive = TRUE, showWarnings = FALSE)
dir.create(data_dir, recursive = TRUE, showWarnings = FALSE)

models <- c("VVV", "VVI", "VII", "EEE")
ks_default <- 1:6
hc_ks <- 1:16

# --- number formatting ------------------------------------------------------------------------

# The shortest of 15 or 17 significant digits that reads back as the same double: data such as
# 3.6 stay "3.6", simulated values get all 17 digits. Rust's parser is correctly rounded, so a
# 17-digit string always reads back exactly.
fmt_num <- function(x) {
  out <- sprintf("%.15g", x)
  inexact <- !is.na(x) & as.numeric(out) != x
  out[inexact] <- sprintf("%.17g", x[inexact])
  out[is.na(x)] <- "NA"
  out
}

write_matrix <- function(x, path) {
  cols <- lapply(seq_len(ncol(x)), function(j) fmt_num(x[, j]))
  lines <- do.call(paste, c(cols, sep = ","))
  writeLines(c(paste(colnames(x), collapse = ","), lines), path)
}

read_matrix <- function(path) {
  m <- as.matrix(read.csv(path, check.names = FALSE))
  storage.mode(m) <- "double"
  dimnames(m) <- list(NULL, colnames(m))
  m
}

same_values <- function(a, b) {
  identical(dim(a), dim(b)) && identical(unname(as.vector(a)), unname(as.vector(b)))
}

# --- the data sets ----------------------------------------------------------------------------

data("diabetes", "thyroid", "wreath", "banknote", "wdbc", "chevron", package = "mclust")

datasets <- list(
  # name, role, matrix, where it comes from, what was dropped
  list(name = "faithful", role = "tuning", x = faithful,
       source = "datasets::faithful", dropped = "nothing"),
  list(name = "iris", role = "tuning", x = iris[, 1:4],
       source = "datasets::iris", dropped = "Species"),
  list(name = "diabetes", role = "tuning", x = diabetes[, c("glucose", "insulin", "sspg")],
       source = "mclust::diabetes", dropped = "class"),
  list(name = "thyroid", role = "tuning", x = thyroid[, c("RT3U", "T4", "T3", "TSH", "DTSH")],
       source = "mclust::thyroid", dropped = "Diagnosis"),
  list(name = "wreath", role = "tuning", x = wreath,
       source = "mclust::wreath", dropped = "nothing"),
  list(name = "banknote", role = "tuning",
       x = banknote[, c("Length", "Left", "Right", "Bottom", "Top", "Diagonal")],
       source = "mclust::banknote", dropped = "Status"),
  list(name = "usarrests", role = "holdout", x = USArrests,
       source = "datasets::USArrests", dropped = "row names (states)"),
  list(name = "quakes", role = "holdout", x = quakes[, c("lat", "long", "depth", "mag")],
       source = "datasets::quakes", dropped = "stations"),
  list(name = "wdbc", role = "holdout", x = wdbc[, 3:12],
       source = "mclust::wdbc", dropped = "ID, Diagnosis and the 20 _se and _extreme columns"),
  list(name = "chevron", role = "holdout", x = chevron[, c("x", "y")],
       source = "mclust::chevron", dropped = "class")
)

for (i in seq_along(datasets)) {
  ds <- datasets[[i]]
  x <- as.matrix(ds$x)
  storage.mode(x) <- "double"
  dimnames(x) <- list(NULL, colnames(x))
  stopifnot(all(is.finite(x)))
  if (ds$name == "faithful") {
    path <- "data/faithful.csv"
    # The repository's copy must hold exactly datasets::faithful; then it is reused.
    if (!same_values(read_matrix(path), x)) stop("data/faithful.csv differs from datasets::faithful")
  } else {
    path <- file.path(data_dir, paste0(ds$name, ".csv"))
    write_matrix(x, path)
  }
  back <- read_matrix(path)
  if (!same_values(back, x)) stop(sprintf("%s does not read back exactly", path))
  datasets[[i]]$x <- back
  datasets[[i]]$path <- path
}

# --- the default hierarchical agglomeration ---------------------------------------------------

# Exactly what mclustBIC() computes when n > d, n <= mclust.options("subset") and no hcPairs are
# given (checked against the fits' own initialization attribute below).
default_hc <- function(x) {
  stopifnot(nrow(x) > ncol(x), nrow(x) <= mclust.options("subset"))
  hc(data = x, modelName = mclust.options("hcModelName"), use = mclust.options("hcUse"))
}

# hcVVV() keeps only the merge pairs; its Fortran routine also returns the criterion value of
# every merge. Repeat the call hcVVV() makes (same arguments, partition 1:n) to get both.
hcvvv_with_change <- function(z) {
  n <- nrow(z)
  p <- ncol(z)
  m <- n - 1
  ld <- max(n, (n * (n - 1)) / 2 + 1, 3 * m)
  alpha <- max(1 * mclust:::traceW(z / sqrt(n * p)), .Machine$double.eps)
  out <- .Fortran("hcvvv", cbind(unname(z), 0), as.integer(n), as.integer(p),
                  as.integer(1:n), as.integer(n), as.integer(m), as.double(alpha),
                  as.double(1), double(p), double(p * p), double(p * p), double(p * p),
                  as.integer(ld), double(ld), PACKAGE = "mclust")
  list(pairs = t(out[[1]][1:m, 1:2, drop = FALSE]), change = out[[14]][1:m], alpha = alpha)
}

hc_rows <- list()
hc_info <- list()
for (i in seq_along(datasets)) {
  ds <- datasets[[i]]
  hcp <- default_hc(ds$x)
  datasets[[i]]$hc <- hcp
  cls <- hclass(hcp, hc_ks)
  for (k in hc_ks) {
    labels <- cls[, as.character(k)]
    stopifnot(length(unique(labels)) == k)
    hc_rows[[length(hc_rows) + 1]] <- data.frame(
      dataset = ds$name, k = k, labels = paste(labels, collapse = " "))
  }
  if (ds$name %in% c("faithful", "diabetes")) {
    z <- attr(hcp, "data")
    again <- hcvvv_with_change(z)
    stopifnot(identical(unname(unclass(hcp)[, ]), unname(again$pairs)))
    pairs <- data.frame(step = seq_len(ncol(again$pairs)), i = again$pairs[1, ],
                        j = again$pairs[2, ], change = fmt_num(again$change))
    write.csv(pairs, file.path(fixture_dir, sprintf("hc_pairs_%s.csv", ds$name)),
              row.names = FALSE, quote = FALSE)
    zz <- unname(z)
    colnames(zz) <- paste0("z", seq_len(ncol(zz)))
    write_matrix(zz, file.path(fixture_dir, sprintf("hc_svd_%s.csv", ds$name)))
    hc_info[[ds$name]] <- again$alpha
  }
}
write.csv(do.call(rbind, hc_rows), file.path(fixture_dir, "hc_classes.csv"),
          row.names = FALSE, quote = FALSE)

# --- the fits ---------------------------------------------------------------------------------

quiet <- function(expr) suppressWarnings(expr)

fit_rows <- list()
failures <- character()
for (ds in datasets) {
  x <- ds$x
  n <- nrow(x)
  d <- ncol(x)
  ks <- if (ds$name == "wreath") 1:16 else ks_default
  for (model in models) {
    for (k in ks) {
      fit <- quiet(Mclust(x, G = k, modelNames = model, verbose = FALSE))
      # The same fit by hand, for its iteration count and return code: EM (me) from the
      # indicator matrix of the hc partition, or for K = 1 the closed form (mvn).
      if (k == 1) {
        direct <- quiet(mvn(model, x))
        iterations <- 0L
      } else {
        z <- unmap(hclass(ds$hc, k))
        direct <- quiet(me(data = x, modelName = model, z = z))
        iterations <- as.integer(attr(direct, "info")[["iterations"]])
      }
      rc <- attr(direct, "returnCode")
      if (is.null(fit)) {
        loglik <- bic <- icl <- NA_real_
        stopifnot(is.na(direct$loglik))
        failures <- c(failures, sprintf("%s %s K=%d (return code %d)", ds$name, model, k, rc))
      } else {
        loglik <- fit$loglik
        bic <- fit$bic
        icl <- fit$icl
        stopifnot(identical(loglik, direct$loglik), fit$df == nMclustParams(model, d, k))
        if (k > 1) {
          used <- attr(fit$BIC, "initialization")
          stopifnot(is.null(used$subset),
                    identical(unname(unclass(used$hcPairs)[, ]), unname(unclass(ds$hc)[, ])))
        }
      }
      fit_rows[[length(fit_rows) + 1]] <- data.frame(
        dataset = ds$name, role = ds$role, file = ds$path, model = model, k = k, n = n, d = d,
        loglik = fmt_num(loglik), df = nMclustParams(model, d, k),
        bic = fmt_num(bic), icl = fmt_num(icl), iterations = iterations, return_code = rc)
    }
  }
  cat(sprintf("%-10s %4d x %-2d done\n", ds$name, n, d))
}
fits <- do.call(rbind, fit_rows)
write.csv(fits, file.path(fixture_dir, "loglik.csv"), row.names = FALSE, quote = FALSE)

# --- README -----------------------------------------------------------------------------------

data_lines <- vapply(datasets, function(ds) {
  sprintf("| `%s` | %s | %s | %d × %d | %s | %s |", ds$name, ds$role, ds$path, nrow(ds$x),
          ncol(ds$x), ds$source, ds$dropped)
}, "")

readme <- c(
  "# mclust reference fits",
  "",
  "Generated by `Rscript bench/mclust/make_fixtures.R` (run from the repository root); do not",
  "edit by hand. The method and the facts behind it are in `bench/mclust/README.md`.",
  "",
  sprintf("- %s", R.version.string),
  sprintf("- mclust %s", as.character(packageVersion("mclust"))),
  sprintf("- mclust.options(): hcModelName = \"%s\", hcUse = \"%s\", subset = %d",
          mclust.options("hcModelName"), mclust.options("hcUse"), mclust.options("subset")),
  sprintf("- emControl(): tol = %s (relative change of the log-likelihood), eps = %s, itmax = %d",
          format(emControl()$tol[1]), format(emControl()$eps), emControl()$itmax[1]),
  "",
  "## Data sets",
  "",
  "Tuning sets may be used to choose defaults; holdout sets only to check them.",
  "",
  "| name | role | file | n × d | source | dropped |",
  "| --- | --- | --- | --- | --- | --- |",
  data_lines,
  "",
  "## Files",
  "",
  "- `loglik.csv`: one row per data set, model (VVV, VVI, VII, EEE) and K (1..6; wreath 1..16):",
  "  `Mclust(X, G = K, modelNames = M)` with every default. Columns: `dataset`, `role`, `file`",
  "  (the data file, from the repository root), `model`, `k`, `n`, `d`, `loglik` (the fit's",
  "  log-likelihood), `df` (`nMclustParams`: means, variances, K − 1 mixing proportions),",
  "  `bic` (mclust's sign: 2·loglik − df·log n, larger is better), `icl`, `iterations`",
  "  (EM iterations of `me()` from the hc partition; 0 for K = 1, fitted in",
  "  closed form by `mvn()`; negative if the iteration limit was hit), `return_code` (mclust's:",
  "  0 converged, 1 iteration limit, −1 singular covariance, −2/−3 a component's weight fell",
  "  below threshold). `loglik`, `bic` and `icl` are NA when mclust could not fit the model.",
  "- `hc_classes.csv`: for every data set, `hclass(hc(X, modelName = \"VVV\", use = \"SVD\"), K)`",
  "  for K = 1..16, the partition EM starts from. `labels` holds the n class labels (1..K, in",
  "  order of first appearance) separated by spaces, row i of the data file first.",
  "- `hc_pairs_<name>.csv` (faithful, diabetes): the n − 1 merges of that tree, in order. `i < j`",
  "  name the two groups merged by the smallest row number (1-based) each contains; the merged",
  "  group keeps `i`. `change` is the merge criterion of the step as hcVVV computed it (its",
  "  Fortran returns it, `hc()` drops it); bench/mclust/README.md explains where that departs",
  "  from the exact criterion.",
  "- `hc_svd_<name>.csv`: the transformed data the tree is built on (`attr(hc, \"data\")`,",
  "  `use = \"SVD\"`), to check the transform separately from the merges. The signs of its",
  "  columns depend on the LAPACK build and do not change the merges.",
  "  hcVVV's `alpha` (1 × traceW(Z / sqrt(n·p))):",
  sprintf("  %s for faithful, %s for diabetes.", fmt_num(hc_info$faithful),
          fmt_num(hc_info$diabetes)),
  "",
  "## Fits mclust could not make",
  "",
  if (length(failures)) paste("-", failures) else "None.",
  ""
)
writeLines(readme, file.path(fixture_dir, "README.md"))
cat(sprintf("%d fits, %d failed; files in %s and %s\n", nrow(fits), length(failures),
            fixture_dir, data_dir))
