import pytest
import yaml

from mdaug.config import Config, apply_overrides, load_config, parse_override, preset_names, save_config
from mdaug.errors import ConfigError
from tests.conftest import assert_one_line_error


def test_presets_exist_and_set_sizes():
    assert {"tiny", "quick", "full"} <= set(preset_names())
    assert load_config("tiny").data.size == (32, 32)
    assert load_config("quick").data.size == (64, 64)
    assert load_config("full").data.size == (256, 256)


def test_dotted_overrides_are_typed_and_applied_in_order():
    cfg = load_config("quick", ["data.size=128", "split.seed=7", "data.colormap=viridis", "data.size=[96, 48]"])
    assert cfg.data.size == (96, 48)
    assert cfg.split.seed == 7 and isinstance(cfg.split.seed, int)
    assert cfg.data.colormap == "viridis"
    assert cfg.data.dynamic_range_db == 40.0  # untouched default
    assert apply_overrides(cfg, ["data.dynamic_range_db=50"]).data.dynamic_range_db == 50.0


def test_parse_override_values_are_yaml():
    assert parse_override("model.codebook_size=1024") == (["model", "codebook_size"], 1024)
    assert parse_override("data.path=null") == (["data", "path"], None)
    assert parse_override("data.size=64x32") == (["data", "size"], "64x32")
    assert load_config(None, ["data.size=64x32"]).data.size == (64, 32)


@pytest.mark.parametrize(
    "override, nearest",
    [("data.colomap=jet", "data.colormap"), ("dat.size=64", "data"), ("split.sed=1", "split.seed"),
     ("data.dynamic_range=30", "data.dynamic_range_db")],
)
def test_unknown_key_names_the_nearest(override, nearest):
    with pytest.raises(ConfigError) as e:
        load_config("quick", [override])
    assert f"did you mean '{nearest}'" in str(e.value)
    assert "\n" not in str(e.value)


def test_bad_values_are_rejected_with_the_key():
    with pytest.raises(ConfigError, match="data.scale"):
        load_config(None, ["data.scale=lin"])
    with pytest.raises(ConfigError, match="did you mean 'jet'"):
        load_config(None, ["data.colormap=jte"])
    with pytest.raises(ConfigError, match="split.val_fraction"):
        load_config(None, ["split.val_fraction=1.5"])
    with pytest.raises(ConfigError, match="preset"):
        load_config("quik")


def test_yaml_file_with_typo(tmp_path):
    p = tmp_path / "my.yaml"
    p.write_text("data:\n  sise: 64\n")
    with pytest.raises(ConfigError, match="did you mean 'data.size'"):
        load_config(p)
    p.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)


def test_saved_config_round_trips(tmp_path):
    cfg = load_config("quick", ["data.colormap=jet", "split.seed=3"])
    path = save_config(cfg, tmp_path / "config.yaml")
    again = load_config(path)
    assert again == cfg
    assert yaml.safe_load(path.read_text())["data"]["size"] == [64, 64]


def test_cli_config_show_and_typo(cli):
    code, out, err = cli("config", "show", "--config", "quick", "data.size=128")
    assert code == 0
    assert Config.model_validate(yaml.safe_load(out)).data.size == (128, 128)
    code, out, err = cli("config", "show", "data.colomap=jet")
    assert_one_line_error(code, err, "data.colomap", "data.colormap")


def test_readme_config_reference_is_current():
    from pathlib import Path

    from mdaug.config import reference_markdown

    readme = (Path(__file__).parents[2] / "docs" / "config.md").read_text()
    assert reference_markdown() in readme, "docs/config.md config table is stale: run scripts/update_readme_config.py"


@pytest.mark.parametrize("override, needle", [
    ("data.size=4.5", "whole numbers"), ("data.size=[1,2,3]", "whole numbers"), ("data.size=100,100", "whole numbers"),
    ("data.size=2", "between 4 and 4096"), ("data.dynamic_range_db=.inf", "dynamic_range_db"),
    ("split.test_fraction=0.6", "below 1"),
    ("utility.strategies=[{name: real}]", "strategy name 'real'"),
    ("utility.strategies=[{name: a}, {name: a}]", "must be unique"), ("utility.strategies=[{name: a/b}]", "'a/b'"),
    ("utility.strategies=[]", "is empty"),
    ("utility.tstr_guidance=[]", "one or more different"), ("utility.tstr_guidance=[1, 1]", "one or more different"),
    ("utility.tstr_guidance=[25]", "0-20"), ("utility.strategies=[{name: tstr-g1}]", "synthetic-only arm's"),
])
def test_config_values_give_one_line(override, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config(None, ["split.val_fraction=0.5", override] if "test_fraction" in override else [override])


def test_an_fsq_level_of_2_is_a_config_error_not_a_library_assertion():
    with pytest.raises(ConfigError, match="ae.fsq_levels.*3 or more"):
        load_config(None, ["ae.family=fsq", "ae.fsq_levels=[2,2,2,2]"])
    assert load_config(None, ["ae.family=fsq", "ae.fsq_levels=[3,3,3]"]).ae.fsq_levels == (3, 3, 3)
