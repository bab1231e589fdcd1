#!/usr/bin/env bash
# Create (or refresh) the virtual environment for mdaug without ever replacing a working torch.
#
#   scripts/setup.sh            runtime dependencies
#   scripts/setup.sh --dev      plus the test tools
#
# Torch is settled first, then everything else is installed with a constraint that pins it:
#   * a torch the calling Python already has (e.g. the user's CUDA build) is reused as is: the venv
#     sees it through a .pth file;
#   * otherwise, with an NVIDIA GPU visible, the default PyPI (CUDA) build is installed;
#   * otherwise the CPU build of torch 2.13.0: a local wheel when pip can find one offline, else the
#     PyTorch CPU index. Multi-GB CUDA packages are never pulled onto a machine without a GPU.
# Environment: PYTHON (interpreter to use, default python3), VENV (default .venv),
#              MDAUG_TORCH (a pip requirement for torch that overrides the choice above).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
EXTRAS=""
[ "${1:-}" = "--dev" ] && EXTRAS="[dev]"

stamp_src=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -c1-16)
stamp="$VENV/.mdaug-setup-$stamp_src${EXTRAS:+-dev}"
if [ -f "$stamp" ] && "$VENV/bin/python" -c "import mdaug, torch" 2>/dev/null; then
  exit 0  # already set up from these exact files
fi

"$PY" -c 'import sys; assert sys.version_info >= (3, 10), "mdaug needs Python >= 3.10"' \
  || { echo "error: $PY is older than Python 3.10; set PYTHON=python3.11" >&2; exit 1; }

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
VPY="$VENV/bin/python"
# An existing torch of the calling Python (conda env, venv or system) is made visible to the venv
# through a .pth file: it is used as is and never reinstalled. Packages installed in the venv itself
# still come first on sys.path.
parent_site=$("$PY" -c "import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))" 2>/dev/null || true)
if [ -n "$parent_site" ] && ! "$VPY" -c "import torch" 2>/dev/null; then
  venv_site=$("$VPY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  echo "$parent_site" > "$venv_site/_mdaug_existing_torch.pth"
  echo "setup: using the torch already in $parent_site ($("$VPY" -c 'import torch; print(torch.__version__)' 2>/dev/null))"
fi
pip_q() { "$VPY" -m pip install --quiet --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

if ! "$VPY" -c "import torch" 2>/dev/null; then
  if [ -n "${MDAUG_TORCH:-}" ]; then
    pip_q "$MDAUG_TORCH"
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: NVIDIA GPU found, installing the default CUDA build of torch"
    pip_q "torch>=2.3"
  else
    echo "setup: no GPU, installing the CPU build of torch 2.13.0"
    # Does plain pip already resolve torch==2.13.0 to a CPU build (a local wheel, as on our machines)?
    report=$(mktemp)
    "$VPY" -m pip install --quiet --dry-run --ignore-installed --no-deps --report "$report" torch==2.13.0 2>/dev/null || true
    if "$VPY" -c "import json,sys; v=json.load(open(sys.argv[1]))['install'][0]['metadata']['version']; sys.exit(0 if '+cpu' in v else 1)" "$report" 2>/dev/null; then
      pip_q torch==2.13.0
    else  # PyPI's Linux wheel is the CUDA build: take the CPU one from PyTorch's own index
      pip_q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
    fi
    rm -f "$report"
  fi
fi

torch_version=$("$VPY" -c "import torch; print(torch.__version__)" 2>/dev/null)
pin="$VENV/mdaug-torch-pin.txt"
echo "torch==$torch_version" > "$pin"
pip_q -c constraints.txt -c "$pin" -e ".$EXTRAS"
"$VPY" -c "import torch; assert torch.__version__ == '$torch_version', 'torch was replaced'"
rm -f "$VENV"/.mdaug-setup-*
touch "$stamp"
echo "setup: ready ($VENV, torch $torch_version, cuda=$("$VPY" -c 'import torch; print(torch.cuda.is_available())'))"
