#!/usr/bin/env bash
# Build the notebooks' site into docs/_build/html from the executed notebooks, with their
# stored outputs (nothing is re-run), offline, with warnings as errors. Then:
#   python -m pytest docs/test_site.py    # every page in headless Chromium, once
# Options, for development:
#   SITE_NOTEBOOKS=DIR   take the executed notebooks from DIR instead of notebooks/
#   SITE_DRAFT=1         build even where a notebook lacks its gallery picture or
#                        headline (a marked placeholder stands in); never for publishing
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || bash scripts/setup.sh
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q -r requirements-docs.txt

as_root_apt() {  # install Debian packages when missing, as CI does (it runs as root)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq "$@") >/dev/null 2>&1 \
      || echo "could not install $*" >&2
  fi
}

# MathJax 3, copied into the site: math renders with no network.
MATHJAX=docs/_build/mathjax
if [ ! -f "$MATHJAX/node_modules/mathjax/es5/tex-chtml.js" ]; then
  command -v npm >/dev/null || as_root_apt npm
  npm install --silent --no-audit --no-fund --prefix "$MATHJAX" mathjax@3.2.2
fi
# Debian's Chromium, for the browser test (Playwright's own browser download fails offline).
command -v chromium >/dev/null || as_root_apt chromium

python -m sphinx -E -W --keep-going -q -b html docs docs/_build/html
echo "Site built: open docs/_build/html/index.html"
