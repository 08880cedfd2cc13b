#!/usr/bin/env bash
# The Python package's CI step: from this checkout, a fresh virtual environment, the build and
# test dependencies from PyPI, `pip install ./python` (maturin compiles the extension in release
# mode against the workspace crates), then the pytest suite.
#
#   bash python/ci.sh
#
# EM_PY_VENV sets where the environment is made (default: a new temporary directory, removed at
# the end). Cargo's own variables apply (CARGO_BUILD_JOBS, CARGO_TARGET_DIR; the default target
# directory is python/target).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
start=$(date +%s)

if [[ -n "${EM_PY_VENV:-}" ]]; then
    venv="$EM_PY_VENV"
else
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    venv="$scratch/venv"
fi

python3 -m venv "$venv"
py="$venv/bin/python"
# maturin's build backend runs the `maturin` executable of the environment.
export PATH="$venv/bin:$PATH"
"$py" -m pip install --quiet --upgrade pip
# pandas only lets scikit-learn's estimator checks run their pandas-input check. Versions are
# pinned to the ones the suite last passed with, so that a CI verdict does not change with a
# new release on PyPI (raise them together, by hand).
"$py" -m pip install --quiet maturin==1.16.0 numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1 \
    hmmlearn==0.3.3 "dask[distributed]==2026.8.0" distributed==2026.8.0 pandas==3.1.1 pytest==9.2.0
echo "python/ci.sh: dependencies installed after $(($(date +%s) - start)) s"

# The build backend (maturin) is already in the environment: no isolated build environment.
"$py" -m pip install --quiet --no-build-isolation "$here"
echo "python/ci.sh: package built and installed after $(($(date +%s) - start)) s"

# From the tests directory, so that `import em` is the installed package, not the source tree.
cd "$here/tests"
"$py" -m pytest -q -p no:cacheprovider .
echo "python/ci.sh: done after $(($(date +%s) - start)) s"
