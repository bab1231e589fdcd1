import os
import sys

# The suite checks CPU behaviour: bit-exact resume is a CPU promise (CUDA kernels such as the codebook's
# scatter-adds are not deterministic) and the DDP test runs gloo on CPU. On a GPU machine, MDAUG_TEST_GPU=1 runs
# the suite on the GPU instead, where the bit-exact comparisons are skipped.
if os.environ.get("MDAUG_TEST_GPU") != "1":
    os.environ["CUDA_VISIBLE_DEVICES"] = ""

import numpy as np
import pytest

from mdaug.data.examples import example_set


@pytest.fixture(scope="session")
def small_set():
    """24 example spectrograms: 3 classes x 2 sessions x 4, 32x32, canonical form."""
    return example_set(n_classes=3, per_session=4, sessions=2, shape=(32, 32), seed=1)


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run the mdaug CLI in-process: returns (exit code, stdout, stderr)."""
    from mdaug.cli import main

    def run(*args: str):
        monkeypatch.setattr(sys, "argv", ["mdaug", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def assert_one_line_error(code: int, stderr: str, *needles: str) -> None:
    """An expected mistake: non-zero exit, one 'error:' line naming the problem, no traceback."""
    assert code != 0, "expected a non-zero exit code"
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, stderr
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)


@pytest.fixture(autouse=True, scope="session")
def _simulation_cache(tmp_path_factory):
    """Simulated datasets are cached per test session, never in the user's ~/.cache."""
    import os

    old = os.environ.get("MDAUG_CACHE")
    os.environ["MDAUG_CACHE"] = str(tmp_path_factory.mktemp("mdaug-cache"))
    yield
    if old is None:
        os.environ.pop("MDAUG_CACHE", None)
    else:
        os.environ["MDAUG_CACHE"] = old


def with_texture(autoencoder_final, folder, sigma_db: float):
    """A copy of a finished stage-1 model (its final/ folder) whose card says the noise floor's texture is `sigma_db`:
    the same weights, so a stage 2 trained on the original accepts it (load_stage2(..., autoencoder=folder))."""
    import json
    import shutil
    from pathlib import Path

    folder = Path(folder)
    shutil.copytree(autoencoder_final, folder / "final")
    card = folder / "final" / "mdaug.json"
    raw = json.loads(card.read_text())
    raw["texture"]["sigma_db"] = sigma_db
    card.write_text(json.dumps(raw))
    return folder


def varied(shape, level: float = 1.0):
    """An array around `level` that is not constant (a constant spectrogram is refused as blank)."""
    import numpy as np

    return level + 0.1 * np.random.default_rng(0).random(shape)
