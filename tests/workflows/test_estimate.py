import pytest

from mdaug.config import load_config
from mdaug.workflows.estimate import AE_FAMILY, RATE, Clock, step_costs


def costs(*overrides, prior=False):
    return step_costs(load_config("quick", list(overrides)), 4650, 930, 31, prior=prior)


def test_costs_grow_with_the_work_of_each_step():
    base = costs()
    assert costs("ae_train.steps=400")["ae"] == pytest.approx(2 * base["ae"])
    assert costs("ldm_train.batch_size=32")["ldm"] == pytest.approx(base["ldm"] / 2)
    assert costs("data.size=128")["ae"] == pytest.approx(4 * base["ae"])
    assert costs("ae.family=vqgan")["ae"] == pytest.approx(AE_FAMILY["vqgan"] * base["ae"])
    assert base["prior"] == 0 and costs("ae.family=vq", prior=True)["prior"] > 0
    # per (budget, repeat): real, real + classical at each lower-SNR dose, the pretrained recogniser's, one
    # recogniser per strategy, one per synthetic-only guidance (2 by default); a smaller budget trains its own stage 1
    # and 2, 'all' reuses the pipeline's (and its recogniser when that does not blur)
    one = ["utility.strategies=[{name: a, per_real: 1.0}]", "utility.snr_drop_db=[0, 10]",
           "utility.tstr_guidance=[null, 1.0]"]
    at_all = costs("utility.budgets=[all]", *one)
    both = costs("utility.budgets=[10, all]", *one)
    draw_10 = both["utility"] - at_all["utility"] - base["ae"] - base["ldm"] - (1 + 2 + 1 + 1 + 2) * base["recognizer"]
    per_image = 4096 * RATE.sample * load_config("quick").ldm.sample_steps
    # the strategy's pool (per_real 1 x 10 real per class x 31 classes) and the synthetic-only arm's two, as large
    assert draw_10 == pytest.approx(3 * 10 * 31 * per_image)
    single = costs("utility.budgets=[10]", *one, "utility.tstr_guidance=[null]")
    assert costs("utility.budgets=[10]", *one)["utility"] - single["utility"] == pytest.approx(
        base["recognizer"] + 10 * 31 * per_image)
    # the model's own guidance being 1, the two candidates are one pool and one recogniser
    assert costs("utility.budgets=[10]", "ldm.guidance_scale=1", *one)["utility"] == pytest.approx(
        costs("utility.budgets=[10]", "ldm.guidance_scale=1", *one, "utility.tstr_guidance=[null]")["utility"])
    two = costs("utility.budgets=[10]", "utility.strategies=[{name: a}, {name: b}]")
    one_10 = costs("utility.budgets=[10]", "utility.strategies=[{name: a}]")
    assert two["utility"] - one_10["utility"] == pytest.approx(base["recognizer"] + 2 * 10 * 31 * per_image)
    anchored = costs("utility.budgets=[10]", "utility.strategies=[{name: a, strength: 0.5, filter_confidence: 0.5}]")
    assert anchored["utility"] == pytest.approx(one_10["utility"])  # half the path, twice the draws
    assert costs("recognizer.blur_max=0", "utility.budgets=[all]", *one)["utility"] == pytest.approx(
        at_all["utility"] - base["recognizer"])
    # without the pretrained arm one recogniser less; without generative arms only real, the doses and pretrained
    assert costs("utility.budgets=[10]", "utility.pretrained=false", *one)["utility"] == pytest.approx(
        costs("utility.budgets=[10]", *one)["utility"] - base["recognizer"])
    assert costs("utility.budgets=[10]", "utility.generative=false", *one)["utility"] == pytest.approx(
        (1 + 2 + 1) * base["recognizer"])


def test_the_clock_corrects_itself_by_the_steps_that_ran():
    clock = Clock([100.0, 200.0, 300.0])
    assert clock.left(0) == 600 and clock.factor == 1
    clock.ran(0, 50.0)  # this machine is twice as fast as the reference
    assert clock.factor == pytest.approx(0.5) and clock.left(1) == pytest.approx(250)
    clock.skip(2)
    assert clock.left(1) == pytest.approx(100)
