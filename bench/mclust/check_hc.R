# Checks the description of mclust's default hierarchical agglomeration in
# bench/mclust/README.md against the installed mclust: a plain R implementation of that
# description (the SVD transform, the VVV merge criterion, the slot bookkeeping that breaks
# ties, and the way hcVVV stores a merged group's scatter factor) must reproduce hc()'s merges,
# and its criterion values must match the ones hcVVV's Fortran reports
# (crates/gmm/tests/fixtures/mclust/hc_pairs_*.csv).
#
#     Rscript bench/mclust/check_hc.R [name ...]   (default: every data file)
#
# For comparison it also runs the same agglomeration with the exact criterion (the true scatter
# matrix of every group) and reports whether the partitions for K = 1..16 differ.
# Interpreted R, one determinant per candidate pair: about a minute for all data sets.

suppressPackageStartupMessages(library(mclust))

# use = "SVD": standardise (centre; divide by the n − 1 standard deviation), then Z = X V D^{-1/2}
# with X = U D V' the thin SVD, i.e. Z = U D^{1/2}.
svd_transform <- function(x) {
  xs <- scale(x, center = TRUE, scale = TRUE)
  s <- svd(xs, nu = 0)
  xs %*% s$v %*% diag(1 / sqrt(s$d), ncol(x), ncol(x))
}

# n log(det(W / n) + beta (tr W + alpha) / n), the determinant only when n > p.
group_term <- function(m, w, tr, p, alpha, beta) {
  if (m == 1) return(log(alpha * beta))
  if (m <= p) return(m * log(beta * (tr + alpha) / m))
  m * log(det(w / m) + beta * (tr + alpha) / m)
}

# What hcVVV keeps of a merged group's scatter W = R'R: min(m - 1, p) rows that all hold R's
# first row, row k read from column k on. Returns that stored factor's Gram matrix.
stored_gram <- function(w, m, p) {
  if (w[1, 1] > 0) {
    r1 <- w[1, ] / sqrt(w[1, 1])
  } else {
    stopifnot(all(w == 0)) # a group of identical rows; otherwise R's first row is not defined by W
    r1 <- rep(0, p)
  }
  g <- matrix(0, p, p)
  for (k in seq_len(min(m - 1, p))) {
    row <- r1
    row[seq_len(k - 1)] <- 0
    g <- g + tcrossprod(row)
  }
  g
}

# stored = "mclust": as hcVVV computes; "exact": every group's true scatter.
agglomerate <- function(z, stored = c("mclust", "exact"), alpha = 1, beta = 1) {
  stored <- match.arg(stored)
  n <- nrow(z)
  p <- ncol(z)
  alpha <- max(alpha * sum(scale(z, scale = FALSE)^2) / (n * p), .Machine$double.eps)
  # One group per slot: size, mean, trace of the scatter, term, the scatter as a group that is
  # not the last one formed is seen (gram), and its label (smallest row number it contains).
  size <- rep(1, n)
  mean <- lapply(seq_len(n), function(i) z[i, ])
  trace <- rep(0, n)
  term <- rep(log(alpha * beta), n)
  gram <- lapply(seq_len(n), function(i) matrix(0, p, p))
  label <- seq_len(n)
  last <- 0L      # slot of the group formed by the previous merge
  last_w <- NULL  # its scatter as computed when it was formed
  seen <- function(s) if (s == last) last_w else gram[[s]]
  merged <- function(i, j) {
    m <- size[i] + size[j]
    d <- mean[[i]] - mean[[j]]
    ward <- (size[i] * size[j] / m) * tcrossprod(d)
    list(m = m, w = seen(i) + seen(j) + ward, tr = trace[i] + trace[j] + sum(diag(ward)))
  }
  criterion <- function(i, j) {
    g <- merged(i, j)
    group_term(g$m, g$w, g$tr, p, alpha, beta) - term[i] - term[j]
  }
  cost <- matrix(Inf, n, n) # cost[i, j], i < j
  for (j in 2:n) for (i in 1:(j - 1)) cost[i, j] <- criterion(i, j)
  merges <- matrix(0L, 2, n - 1)
  change <- numeric(n - 1)
  g <- n
  for (step in 1:(n - 1)) {
    # The smallest criterion; among equal ones the last in the order (1,2), (1,3), (2,3),
    # (1,4), ..., i.e. the largest j, then the largest i.
    live <- cost[seq_len(g), seq_len(g), drop = FALSE]
    best <- min(live)
    at <- max(which(live == best)) # column-major: by j, then i
    i <- (at - 1) %% g + 1
    j <- (at - 1) %/% g + 1
    merges[, step] <- sort(c(label[i], label[j]))
    change[step] <- best
    new <- merged(i, j)
    # hcVVV recomputes the new group's term only when the pair involves the last group formed
    # (its loop stored it); otherwise it adds the stored criterion to the two terms.
    new_term <- if (i == last || j == last) {
      group_term(new$m, new$w, new$tr, p, alpha, beta)
    } else {
      best + term[i] + term[j]
    }
    mean[[i]] <- (size[i] * mean[[i]] + size[j] * mean[[j]]) / new$m
    size[i] <- new$m
    trace[i] <- new$tr
    term[i] <- new_term
    label[i] <- min(label[i], label[j])
    gram[[i]] <- if (stored == "mclust") stored_gram(new$w, new$m, p) else new$w
    last <- i
    last_w <- new$w
    # The group of the last slot g moves into slot j, with its criteria.
    if (j != g) {
      size[j] <- size[g]; mean[[j]] <- mean[[g]]; trace[j] <- trace[g]
      term[j] <- term[g]; gram[[j]] <- gram[[g]]; label[j] <- label[g]
      for (k in seq_len(g - 1)) {
        if (k < j) cost[k, j] <- cost[k, g]
        if (k > j) cost[j, k] <- cost[k, g]
      }
    }
    g <- g - 1
    if (g == 1) break
    for (k in seq_len(g)) {
      if (k < i) cost[k, i] <- criterion(k, i)
      if (k > i) cost[i, k] <- criterion(i, k)
    }
  }
  list(merges = merges, change = change)
}

files <- c(faithful = "data/faithful.csv", iris = "data/r/iris.csv",
           diabetes = "data/r/diabetes.csv", thyroid = "data/r/thyroid.csv",
           wreath = "data/r/wreath.csv", banknote = "data/r/banknote.csv",
           usarrests = "data/r/usarrests.csv", quakes = "data/r/quakes.csv",
           wdbc = "data/r/wdbc.csv", chevron = "data/r/chevron.csv")
args <- commandArgs(trailingOnly = TRUE)
names_to_check <- if (length(args)) args else names(files)

all_ok <- TRUE
for (name in names_to_check) {
  x <- as.matrix(read.csv(files[[name]]))
  hcp <- hc(x, modelName = mclust.options("hcModelName"), use = mclust.options("hcUse"))
  zr <- attr(hcp, "data")
  zmine <- svd_transform(x)
  signs <- sign(colSums(zr * zmine)) # the same transform up to LAPACK's column signs
  transform_err <- max(abs(sweep(zmine, 2, signs, "*") - zr))
  theirs <- unname(unclass(hcp)[, ])
  as_hc <- function(m) structure(m, initialPartition = seq_len(nrow(x)), class = "hc")
  classes <- unname(hclass(hcp, 1:16))
  mine <- agglomerate(unname(zr), "mclust")
  exact <- agglomerate(unname(zr), "exact")
  same <- colSums(mine$merges == theirs) == 2
  same_exact <- colSums(exact$merges == theirs) == 2
  cat(sprintf("%-10s SVD transform max |diff| %.1e; merges reproduced %d/%d%s\n", name,
              transform_err, sum(same), length(same),
              if (all(same)) "" else sprintf(" (first difference at step %d)", which(!same)[1])))
  cat(sprintf("%-10s with the exact criterion: merges %d/%d, K = 1..16 partitions identical: %s\n",
              "", sum(same_exact), length(same_exact),
              identical(unname(hclass(as_hc(exact$merges), 1:16)), classes)))
  pairs_file <- sprintf("crates/gmm/tests/fixtures/mclust/hc_pairs_%s.csv", name)
  if (file.exists(pairs_file)) {
    ref <- read.csv(pairs_file)
    cat(sprintf("%-10s max |criterion - Fortran's| %.1e (exact criterion: %.1e)\n", "",
                max(abs(mine$change - ref$change)), max(abs(exact$change - ref$change))))
  }
  all_ok <- all_ok && all(same)
}
if (!all_ok) quit(status = 1)
