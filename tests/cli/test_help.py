"""The CLI's help tells the truth: no default swallowed by rich markup, every preset named, the --family default
as the presets set it, one --config spelling, and the old `demo` name pointing to where things went."""

import re

import pytest
import typer.main

from mdaug.cli.app import FAMILY_HELP, PRESETS_HELP, app
from mdaug.config import load_config, preset_names, preset_summary


def _all_option_helps():
    cmd = typer.main.get_command(app)
    stack = [("", cmd)]
    while stack:
        name, c = stack.pop()
        for p in getattr(c, "params", []):
            yield f"{name} {p.name}".strip(), p.help or ""
        for sub_name, sub in getattr(c, "commands", {}).items():
            stack.append((f"{name} {sub_name}".strip(), sub))


def test_no_help_string_holds_square_brackets_that_rich_would_swallow():
    # rich reads "[default: x]" as a markup tag and drops it, leaving "Your dataset ." on screen
    bad = [(name, h) for name, h in _all_option_helps() if re.search(r"\[[a-z]", h)]
    assert not bad, bad


@pytest.mark.parametrize("command", ["run", "train-ae", "train-ldm", "sample", "simulate", "utility", "benchmark"])
def test_rendered_help_has_no_orphan_full_stop(cli, command):
    code, out, _ = cli(command, "--help")
    assert code == 0
    assert not re.search(r"\S \.(\s|$)", out.replace("│", " ")), out


def test_presets_help_names_every_shipped_preset_and_each_preset_describes_itself():
    for name in preset_names():
        assert re.search(rf"\b{name}\b", PRESETS_HELP), name
        assert len(preset_summary(name)) > 10 and preset_summary(name).endswith((".", "`")), name


def test_family_help_states_each_main_presets_family():
    for preset in ("tiny", "quick", "standard", "full"):
        family = load_config(preset).ae.family
        assert re.search(rf"{family} in [a-z ,]*\b{preset}\b", FAMILY_HELP), (preset, family)


def test_run_takes_config_like_every_other_command_and_keeps_preset_as_an_alias(cli):
    code, out, _ = cli("run", "--help")
    assert code == 0 and "--config" in out and "--preset" in out
    code, _, err = cli("run", "--config", "no-such-preset", "--out", "/nonexistent/x")
    assert code != 0 and "no-such-preset" in err and "Traceback" not in err


def test_config_presets_lists_names_with_their_summaries(cli):
    code, out, _ = cli("config", "presets")
    assert code == 0
    lines = out.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == preset_names()
    assert preset_summary("quick") in out.replace("\n", " ") or preset_summary("quick")[:40] in out


def test_demo_is_not_a_command_any_more_and_says_where_things_went(cli):
    code, out, err = cli("demo")
    assert code != 0 and "mdaug run" in err and "mdaug tour" in err and len(err.strip().splitlines()) == 1
    code, out, _ = cli("tour", "--help")
    assert code == 0 and "simulator tour" in out
