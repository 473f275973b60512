#!/usr/bin/env bash
# requirements/lock.sh: (re)write the lock files from pyproject.toml.
#
#   requirements/lock.sh                   keep the current pins, add or drop what
#                                          pyproject.toml added or dropped
#   requirements/lock.sh --upgrade         the newest releases pyproject.toml allows
#   requirements/lock.sh --upgrade-package pandas     one package (and what it needs)
#
# Arguments go to both `uv pip compile` calls. Writes
#   requirements/run.txt   the package's runtime dependencies plus the `effnet` extra (the
#                          published EfficientNet-Lite0 of config/effnet.yaml), direct and transitive
#   requirements/test.txt  the same pins plus the `test` and `slurm` extras
#                          (compiled with -c run.txt, so shared packages agree)
# for one target, the one CI tests: Linux x86_64 (manylinux_2_28), CPython 3.11. It
# resolves against PyPI with uv, which it installs into a throwaway virtual
# environment (no tool is committed). If pip on this machine is configured with a
# constraint file (global.constraint in `pip config list`, or PIP_CONSTRAINT), the lock
# obeys it too, so that pip here can install what the lock names (on the CI machine
# that file caps torch and torchvision at the releases that lie on its disk).
# Afterwards run `pytest tests/test_lock.py` and commit both files.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
TARGET=(--python-version 3.11 --python-platform x86_64-manylinux_2_28)

tools=$(mktemp -d "${TMPDIR:-/tmp}/padpos-lock.XXXXXX")
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet "uv==$UV_VERSION"
uv=$tools/venv/bin/uv

constraints=()
pip_constraint=${PIP_CONSTRAINT:-$(python3 -m pip config list 2>/dev/null |
  sed -n "s/^global\.constraint='\(.*\)'$/\1/p" | head -n 1)}
for c in $pip_constraint; do
  echo "lock.sh: obeying pip's constraint file $c"
  constraints+=(-c "$c")
done

# header FILE WHAT: put this project's header above uv's (uv rewrites the whole file)
header() {
  local file=$1 what=$2
  {
    echo "# Exact versions of $what,"
    echo "# direct and transitive: the lock (pyproject.toml keeps the ranges). Do not edit by hand."
    echo "# For Linux x86_64, CPython 3.11: what CI (.ci/run) installs and tests. torch is"
    echo "# PyPI's CUDA build (the nvidia-* packages below), which runs on the CPU too."
    echo "#   install: pip install -r $file -e ."
    echo "#   refresh: requirements/lock.sh [--upgrade]   (uv $UV_VERSION; its command below)"
    echo "#"
    cat "$file"
  } > "$file.new"
  mv "$file.new" "$file"
}

"$uv" pip compile pyproject.toml --extra effnet "${TARGET[@]}" "${constraints[@]}" "$@" \
  --custom-compile-command "requirements/lock.sh  # uv pip compile pyproject.toml --extra effnet ${TARGET[*]} ${constraints[*]}" \
  -o requirements/run.txt > /dev/null
header requirements/run.txt "the runtime dependencies of padpos"

"$uv" pip compile pyproject.toml --extra effnet --extra test --extra slurm "${TARGET[@]}" "${constraints[@]}" \
  -c requirements/run.txt "$@" \
  --custom-compile-command "requirements/lock.sh  # uv pip compile pyproject.toml --extra effnet --extra test --extra slurm ${TARGET[*]} ${constraints[*]} -c requirements/run.txt" \
  -o requirements/test.txt > /dev/null
header requirements/test.txt "the runtime dependencies of padpos plus its test and slurm extras"
