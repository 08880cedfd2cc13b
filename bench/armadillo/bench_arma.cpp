// Armadillo's side of bench/compare_sklearn.py (--armadillo): a fixed number of EM iterations
// of arma::gmm_full or arma::gmm_diag from given starting parameters, timed, with the result
// printed as one line of JSON with the keys examples/bench_gmm.rs prints.
//
//   g++ -O3 -march=native -fopenmp -DARMA_DONT_USE_WRAPPER bench_arma.cpp -o bench_arma \
//       -llapack -lblas
//   OMP_NUM_THREADS=T OPENBLAS_NUM_THREADS=1 bench_arma --dir DIR [--iters 20] [--repeat 1]
//
// DIR holds what the comparison script writes (see bench/README.md): meta.txt (n, d, k,
// covariance, reg_covar), x.f64 (N x D column-major little-endian f64), init.f64 (K weights,
// K x D means row by row, then K D x D covariances row by row (full) or K x D variances (diag)).
//
// Armadillo keeps one observation per column (D x N), so the data are read as N x D and
// transposed once, before any timing. Every timed run starts with set_params(means, covs,
// hefts) at the given start (untimed) and then times only
//
//   learn(X, K, eucl_dist, keep_existing, km_iter = 0, em_iter = m, var_floor, false)
//
// for m = 1 and m = iters. With keep_existing and km_iter = 0 there is no seeding and no
// k-means (dist_mode then only matters for k-means, and eucl_dist skips maha_dist's variance
// pass). learn() also has fixed costs (a finiteness scan of X, a copy of the model, a final
// recomputation of the inverses): per iteration we report (t(iters) - t(1)) / (iters - 1), as
// bench_gmm and the script do for em and scikit-learn, which cancels them.
//
// Armadillo's EM loop stops early when |avg_log_p(new) - avg_log_p(old)| <= DBL_EPSILON (no
// tolerance can be passed). So that the timed runs are not silently shorter than asked, one
// more, untimed run of `iters` iterations is made with print_mode = true and std::cout captured
// in memory; it prints one line per EM iteration, and the count is reported as `iterations`
// (the script rejects a count other than --iters). The computation is deterministic for a
// given thread count, so the count holds for the timed runs too.
//
// With --chained, a run of m iterations is m calls of learn(..., em_iter = 1, ...), each
// continuing from the parameters the previous one left (keep_existing): a single iteration
// cannot meet the stopping rule, so this runs exactly m iterations on data where learn(m) stops
// early, at the price of learn()'s fixed costs once per iteration (the finiteness scan of X,
// the copy of the model, the recomputation of the inverses), which the difference then does not
// cancel: it slightly overstates Armadillo's time per iteration. The script uses it only when
// learn(m) stopped early, and marks those figures.
//
// var_floor is the `reg_covar` of meta.txt. It is a floor (diagonal entries below it are set to
// it), not scikit-learn's addition of reg_covar to every diagonal entry: see bench/README.md.
//
// Threads: Armadillo's gmm splits the N observations into omp_get_max_threads() contiguous
// chunks (OMP_NUM_THREADS), one per thread, and adds the per-thread accumulators in thread
// order. The BLAS/LAPACK is used only for the K inverses and log-determinants per iteration.

#include <armadillo>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Args {
  std::string dir;
  arma::uword iters = 20;
  arma::uword repeat = 1;
  bool chained = false;
};

struct Meta {
  arma::uword n = 0, d = 0, k = 0;
  std::string covariance;
  double reg_covar = 0.0;
};

const char* kUsage =
    "usage: bench_arma --dir DIR [--iters N (>= 2, default 20)] [--repeat R (default 1)] "
    "[--chained]";

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") throw std::runtime_error(kUsage);
    if (flag == "--chained") {
      args.chained = true;
      continue;
    }
    if (i + 1 >= argc) throw std::runtime_error(flag + " needs a value\n" + kUsage);
    std::string value = argv[++i];
    if (flag == "--dir") {
      args.dir = value;
    } else if (flag == "--iters" || flag == "--repeat") {
      char* end = nullptr;
      unsigned long long v = std::strtoull(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0') throw std::runtime_error(flag + ": not a count: " + value);
      (flag == "--iters" ? args.iters : args.repeat) = arma::uword(v);
    } else {
      throw std::runtime_error("unknown argument " + flag + "\n" + kUsage);
    }
  }
  if (args.dir.empty()) throw std::runtime_error(kUsage);
  if (args.iters < 2) throw std::runtime_error("--iters must be at least 2");
  if (args.repeat < 1) throw std::runtime_error("--repeat must be at least 1");
  return args;
}

Meta read_meta(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::map<std::string, std::string> kv;
  std::string key, value;
  while (in >> key >> value) kv[key] = value;
  Meta m;
  try {
    m.n = std::stoull(kv.at("n"));
    m.d = std::stoull(kv.at("d"));
    m.k = std::stoull(kv.at("k"));
    m.covariance = kv.at("covariance");
    m.reg_covar = std::stod(kv.at("reg_covar"));
  } catch (const std::exception&) {
    throw std::runtime_error(path + ": needs lines n, d, k, covariance, reg_covar");
  }
  if (m.covariance != "full" && m.covariance != "diag")
    throw std::runtime_error(path + ": covariance must be full or diag, not " + m.covariance);
  return m;
}

// Reads exactly `count` little-endian f64 (this harness assumes a little-endian host) into `out`.
void read_f64(const std::string& path, double* out, std::size_t count) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::streamoff size = in.tellg();
  if (size != std::streamoff(count * sizeof(double)))
    throw std::runtime_error(path + ": " + std::to_string(size) + " bytes, expected " +
                             std::to_string(count * sizeof(double)));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(out), std::streamsize(count * sizeof(double)));
  if (!in) throw std::runtime_error(path + ": short read");
}

std::string json_list(const double* v, std::size_t n) {
  std::string s = "[";
  char buf[40];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%s%.17g", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

// Counts "EM: iteration:" lines in what learn(..., print_mode = true) printed.
arma::uword count_iterations(const std::string& log) {
  arma::uword count = 0;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line))
    if (line.find("EM: iteration:") != std::string::npos) ++count;
  return count;
}

// Model = arma::gmm_full or arma::gmm_diag; Covs = arma::cube (D x D x K) or arma::mat (D x K).
template <typename Model, typename Covs>
int run(const Args& args, const Meta& meta, const arma::mat& X, const arma::rowvec& hefts,
        const arma::mat& means, const Covs& covs) {
  using clock = std::chrono::steady_clock;
  const double var_floor = meta.reg_covar;
  Model model;
  auto fit = [&](arma::uword m, bool print_mode) {
    model.reset();
    model.set_params(means, covs, hefts);
    const auto t0 = clock::now();
    bool ok = true;
    if (args.chained) {
      for (arma::uword i = 0; ok && i < m; ++i)
        ok = model.learn(X, meta.k, arma::eucl_dist, arma::keep_existing, 0, 1, var_floor,
                         print_mode);
    } else {
      ok = model.learn(X, meta.k, arma::eucl_dist, arma::keep_existing, 0, m, var_floor,
                       print_mode);
    }
    const double seconds = std::chrono::duration<double>(clock::now() - t0).count();
    if (!ok) throw std::runtime_error("learn() failed (Armadillo restored the start)");
    return seconds;
  };

  double best_one = std::numeric_limits<double>::infinity();
  double best_total = best_one;
  for (arma::uword r = 0; r < args.repeat; ++r) {
    best_one = std::min(best_one, fit(1, false));
    best_total = std::min(best_total, fit(args.iters, false));
  }
  const double ll = model.avg_log_p(X) * double(meta.n);
  const arma::rowvec final_hefts = model.hefts;
  const arma::mat final_means = model.means;  // D x K: column g is mean g, i.e. K x D row by row

  // Untimed check run: how many EM iterations learn() really did (see the header comment).
  std::ostringstream log;
  std::streambuf* saved = std::cout.rdbuf(log.rdbuf());
  try {
    fit(args.iters, true);
  } catch (...) {
    std::cout.rdbuf(saved);
    throw;
  }
  std::cout.rdbuf(saved);
  const arma::uword iterations = count_iterations(log.str());
  const bool same = arma::approx_equal(model.means, final_means, "absdiff", 0.0) &&
                    arma::approx_equal(model.hefts, final_hefts, "absdiff", 0.0);

  const double per_iteration = (best_total - best_one) / double(args.iters - 1);
  std::printf(
      "{\"n\": %llu, \"d\": %llu, \"k\": %llu, \"covariance\": \"%s\", \"threads\": %d, "
      "\"iterations\": %llu, \"repeat\": %llu, \"seconds_per_iteration\": %.6e, "
      "\"seconds_total\": %.6e, \"seconds_one\": %.6e, \"final_log_likelihood\": %.17g, "
      "\"final_weights\": %s, \"final_means\": %s, \"var_floor\": %g, "
      "\"check_run_identical\": %s, \"chained\": %s, \"armadillo\": \"%u.%u.%u\"}\n",
      (unsigned long long)meta.n, (unsigned long long)meta.d, (unsigned long long)meta.k,
      meta.covariance.c_str(), omp_get_max_threads(), (unsigned long long)iterations,
      (unsigned long long)args.repeat, per_iteration, best_total, best_one, ll,
      json_list(final_hefts.memptr(), final_hefts.n_elem).c_str(),
      json_list(final_means.memptr(), final_means.n_elem).c_str(), var_floor,
      same ? "true" : "false", args.chained ? "true" : "false", arma::arma_version::major, arma::arma_version::minor,
      arma::arma_version::patch);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse_args(argc, argv);
    const Meta meta = read_meta(args.dir + "/meta.txt");
    const arma::uword n = meta.n, d = meta.d, k = meta.k;
    const bool full = meta.covariance == "full";
    const std::size_t cov_len = full ? k * d * d : k * d;

    std::vector<double> init(k + k * d + cov_len);
    read_f64(args.dir + "/init.f64", init.data(), init.size());
    const double* p = init.data();
    const arma::rowvec hefts(p, k);
    // K x D row by row is D x K column-major: column g is mean g, Armadillo's layout.
    const arma::mat means(p + k, d, k);

    arma::mat X;
    {
      arma::mat x_nd(n, d);  // the file is N x D column-major, which is this matrix's layout
      read_f64(args.dir + "/x.f64", x_nd.memptr(), n * d);
      X = x_nd.t();  // D x N: one observation per column
    }

    if (full) {
      // Symmetric D x D matrices: row by row equals column by column.
      const arma::cube fcovs(p + k + k * d, d, d, k);
      return run<arma::gmm_full>(args, meta, X, hefts, means, fcovs);
    }
    const arma::mat dcovs(p + k + k * d, d, k);
    return run<arma::gmm_diag>(args, meta, X, hefts, means, dcovs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_arma: %s\n", e.what());
    return 1;
  }
}
