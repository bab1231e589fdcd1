"""Saved models load only into the architecture they were saved from: diffusers alone would fill unmatched
layers with random weights and merely log a warning."""

import json

import pytest
import torch

from mdaug.errors import MdaugError
from mdaug.models import Recognizer, load_model


def test_a_saved_model_loads_back_exactly(tmp_path):
    torch.manual_seed(0)
    model = Recognizer(num_classes=3, channels=(4, 8)).eval()
    model.save_pretrained(tmp_path, safe_serialization=True)
    again = load_model(tmp_path).eval()
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x))


@pytest.mark.parametrize("saved, loaded", [((4, 8), (4, 8, 8)), ((4, 8, 8), (4, 8)),  # weights missing / left over
                                           ((4, 8), (4, 6))])  # weights of another shape
def test_weights_of_another_architecture_are_refused(tmp_path, saved, loaded):
    Recognizer(num_classes=3, channels=saved).save_pretrained(tmp_path, safe_serialization=True)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["channels"] = list(loaded)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(MdaugError, match="another architecture or mdaug version") as e:
        load_model(tmp_path)
    assert "\n" not in str(e.value) and "random" not in str(e.value)
