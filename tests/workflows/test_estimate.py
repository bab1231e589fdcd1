import pytest

from mdaug.config import load_config
from mdaug.workflows.estimate import AE_FAMILY, Clock, step_costs


def costs(*overrides, prior=False):
    return step_costs(load_config("quick", list(overrides)), 4650, 930, 31, prior=prior)


def test_costs_grow_with_the_work_of_each_step():
    base = costs()
    assert costs("ae_train.steps=400")["ae"] == pytest.approx(2 * base["ae"])
    assert costs("ldm_train.batch_size=32")["ldm"] == pytest.approx(base["ldm"] / 2)
    assert costs("data.size=128")["ae"] == pytest.approx(4 * base["ae"])
    assert costs("ae.family=vqgan")["ae"] == pytest.approx(AE_FAMILY["vqgan"] * base["ae"])
    assert base["prior"] == 0 and costs("ae.family=vq", prior=True)["prior"] > 0
    # a smaller budget trains its own stage 1 and 2; 'all' reuses the pipeline's and its recogniser
    small = costs("utility.budgets=[10, all]")
    assert small["utility"] == pytest.approx(base["utility"] + base["ae"] + base["ldm"] + 3 * base["recognizer"]
                                             + base["export"])
    # at 'all' the exported samples are taken (latent diffusion only), and the evaluation recogniser when it
    # does not blur (the utility ones never do)
    vq = costs("ae.family=vq")
    assert costs("ae.family=vq", "utility.generator=prior")["utility"] == pytest.approx(vq["utility"] + vq["export"])
    assert costs("recognizer.blur_max=0")["utility"] == pytest.approx(base["utility"] - base["recognizer"])


def test_the_clock_corrects_itself_by_the_steps_that_ran():
    clock = Clock([100.0, 200.0, 300.0])
    assert clock.left(0) == 600 and clock.factor == 1
    clock.ran(0, 50.0)  # this machine is twice as fast as the reference
    assert clock.factor == pytest.approx(0.5) and clock.left(1) == pytest.approx(250)
    clock.skip(2)
    assert clock.left(1) == pytest.approx(100)
