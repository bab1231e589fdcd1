"""`mdaug run --out` checks its folder before any work (issue 18, item 4): a folder of the user's own files, a
folder of another run (another preset), and a config.yaml that is not this run's are refused in one line, before
the data is read or simulated, and nothing in the folder is written over."""

import json

import pytest

from mdaug.config import config_to_yaml
from mdaug.runs.layout import PipelineFolders
from mdaug.workflows import pipeline as pipe
from tests.conftest import assert_one_line_error


@pytest.fixture(autouse=True)
def no_data(monkeypatch):
    def load_run_data(*_a, **_k):
        raise RuntimeError("the data was loaded before the folder was checked")

    monkeypatch.setattr(pipe, "load_run_data", load_run_data)


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def started_run(folder, preset="tiny", config_text=None):
    """A folder as `mdaug run --preset PRESET` leaves it after its first step started."""
    cfg = pipe.pipeline_config(preset, "vq", None, [])
    f = PipelineFolders(folder)
    folder.mkdir()
    plan = pipe.PipelinePlan(family=cfg.ae.family, data=cfg.data.path, size=list(cfg.data.size or []),
                             ae_steps=cfg.ae_train.steps, ldm_steps=cfg.ldm_train.steps)
    f.plan.write_text(json.dumps({"plan": plan.model_dump(mode="json")}))
    f.config.write_text(config_to_yaml(cfg) if config_text is None else config_text)
    return folder


def test_a_folder_of_the_users_files_is_refused(cli, tmp_path):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("mine")
    (mine / "figures").mkdir()
    before = snapshot(mine)
    code, _, err = cli("run", "--out", mine, "-c", "tiny", "--family", "vq")
    assert_one_line_error(code, err, "not empty and holds no mdaug run", "chapter1.tex", "nothing was written")
    assert snapshot(mine) == before and sorted(p.name for p in mine.iterdir()) == ["chapter1.tex", "figures"]


def test_another_preset_is_refused_before_the_data_is_read(cli, tmp_path):
    run = started_run(tmp_path / "run", preset="quick")
    code, _, err = cli("run", "--out", run, "-c", "tiny", "--family", "vq")
    assert_one_line_error(code, err, "another family, data or preset")


@pytest.mark.parametrize("text, needle", [("{not: [yaml", "not a config mdaug wrote"),
                                          ("- a list\n", "not a config mdaug wrote"),
                                          (None, "seed is 7 there and 0 now")])
def test_a_config_that_is_not_this_runs_is_refused_not_overwritten(cli, tmp_path, text, needle):
    if text is None:  # hand-edited: one value changed
        text = config_to_yaml(pipe.pipeline_config("tiny", "vq", None, [])).replace("seed: 0\n", "seed: 7\n", 1)
        assert "seed: 7" in text
    run = started_run(tmp_path / "run", config_text=text)
    before = snapshot(run)
    code, _, err = cli("run", "--out", run, "-c", "tiny", "--family", "vq")
    assert_one_line_error(code, err, needle, "nothing was overwritten")
    assert snapshot(run) == before


def test_this_runs_own_folder_and_hand_launched_stages_pass_the_check(tmp_path):
    cfg = pipe.pipeline_config("tiny", "vq", None, [])
    run = started_run(tmp_path / "run")
    plan = pipe.PipelinePlan(family="vq", data=None, size=list(cfg.data.size or []), ae_steps=cfg.ae_train.steps,
                             ldm_steps=cfg.ldm_train.steps)
    pipe.check_pipeline_folder(PipelineFolders(run), plan, "refused", config_to_yaml(cfg))
    launched = tmp_path / "launched"  # train-ae / train-ldm launched with accelerate into OUT/ae, OUT/ldm
    (launched / "ae").mkdir(parents=True)
    (launched / "ldm").mkdir()
    pipe.check_pipeline_folder(PipelineFolders(launched), plan, "refused", config_to_yaml(cfg))
    with pytest.raises(RuntimeError, match="data was loaded"):  # the check passed; then comes the data
        pipe.Pipeline(cfg, launched, console=None)._start()


def test_labels_of_unknown_direction_run_every_strategy_without_its_mirror_when_all_mirror(tmp_path):
    """A user's folder (labels not known to be direction-free) with the quick preset, whose only strategy mirrors
    the Doppler axis: the plan is not refused; the strategy runs without the mirror under its own name, said in a
    note with the option that brings the mirror back. Direction-free labels keep the strategies as given."""
    from mdaug.workflows.utility.budget import strategies_to_run
    cfg = pipe.pipeline_config("quick", None, tmp_path, [])
    assert cfg.utility.strategies[0].mirror > 0
    run, note = strategies_to_run(cfg)
    assert [(s.name, s.mirror) for s in run] == [(cfg.utility.strategies[0].name + "-unmirrored", 0.0)]
    assert run[0].model_copy(update={"name": "x", "mirror": 1.0}) == \
        cfg.utility.strategies[0].model_copy(update={"name": "x"})  # nothing else changed
    assert "data.direction_free=true" in note
    assert strategies_to_run(pipe.pipeline_config("quick", None, None, [])) == (tuple(cfg.utility.strategies), None)
    with pytest.raises(RuntimeError, match="the data was loaded"):  # planned through to the data
        pipe.run_pipeline(tmp_path / "run", preset="quick", overrides=["data.direction_free=false"])


def test_labels_of_unknown_direction_leave_out_the_mirroring_strategies_when_others_remain(tmp_path):
    from mdaug.workflows.utility.budget import strategies_to_run
    text = ("utility.strategies=[{name: a, strength: 0.5, mirror: 1.0}, {name: b, strength: 0.5}, "
            "{name: c, strength: 1.0}]")
    run, note = strategies_to_run(pipe.pipeline_config("tiny", None, tmp_path, [text]))
    assert [s.name for s in run] == ["b", "c"] and note.endswith(": a")
    run, note = strategies_to_run(pipe.pipeline_config("tiny", None, tmp_path, [text, "data.direction_free=true"]))
    assert [s.name for s in run] == ["a", "b", "c"] and note is None


def test_a_plan_of_fill_strategies_without_conditions_is_refused_before_anything(cli, tmp_path):
    cfg = tmp_path / "fill.yaml"
    cfg.write_text("base: tiny\nutility:\n  strategies:\n"
                   "    - {name: fill, strength: 1.0, per_real: 1.0, conditions: fill}\n"
                   "    - {name: mirrored, strength: 0.5, per_real: 1.0, mirror: 1.0}\n")
    out = tmp_path / "run"
    code, _, err = cli("run", "--out", out, "-c", cfg, "--family", "vq", "data.direction_free=false")
    assert_one_line_error(code, err, "fills recording conditions", "ldm.conditions=auto")
    assert not out.exists()
    with pytest.raises(RuntimeError, match="the data was loaded"):  # either fix lets it through
        pipe.run_pipeline(out, preset=str(cfg), family="vq", overrides=["data.direction_free=false",
                                                                         "ldm.conditions=auto"])
    with pytest.raises(RuntimeError, match="the data was loaded"):
        pipe.run_pipeline(out, preset=str(cfg), family="vq", overrides=["data.direction_free=true"])


@pytest.mark.parametrize("command", ["run", "utility"])
@pytest.mark.parametrize("args, needle", [(["--data", "/no/such/folder"], "data path /no/such/folder does not exist"),
                                          (["ldm.init=kl-64x64-nothing"], "ldm.init=kl-64x64-nothing is neither"),
                                          (["ldm.init=runs/no-such-run"], "ldm.init=runs/no-such-run is neither")])
def test_a_missing_data_path_or_stage2_start_is_refused_before_anything(cli, tmp_path, command, args, needle):
    """Both are otherwise found only after stage 1 (and, in a study, the first budget's recognisers) trained."""
    out = tmp_path / "run"
    code, _, err = cli(command, "--out", out, "-c", "quick", *args)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_a_shipped_stage2_named_as_the_start_passes_the_check(tmp_path):
    with pytest.raises(RuntimeError, match="the data was loaded"):
        pipe.run_pipeline(tmp_path / "run", preset="quick", overrides=["ldm.init=kl-64x64-ldm-conditions"])
