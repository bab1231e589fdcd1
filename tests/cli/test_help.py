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


def test_run_takes_config_like_every_other_command_and_the_old_spellings_still_work_unshown(cli):
    code, out, _ = cli("run", "--help")
    assert code == 0 and "--config" in out and "--preset" not in out
    for command in ("run", "benchmark"):
        code, _, err = cli(command, "--preset", "no-such-preset", "--out", "/nonexistent/x")
        assert code != 0 and "no-such-preset" in err and "Traceback" not in err


def _commands():
    from mdaug.cli import app as full_app  # with every command registered and its example attached
    from mdaug.cli.reference import _commands as walk

    return dict(walk(typer.main.get_command(full_app)))


def test_every_command_has_an_example_that_parses_with_its_own_options():
    """The example at the end of each --help (and in docs/cli.md) names only options the command has."""
    import shlex

    from mdaug.cli.examples import EXAMPLES

    commands = _commands()
    assert sorted(commands) == sorted(EXAMPLES)
    for name, cmd in commands.items():
        assert cmd.epilog == f"Example: {EXAMPLES[name]}", name
        words = shlex.split(EXAMPLES[name])
        assert words[:1 + name.count(" ") + 1] == ["mdaug", *name.split()], name
        ctx = cmd.make_context(name, words[2 + name.count(" "):])  # raises on an option the command lacks
        assert ctx.params is not None


def test_every_shown_option_says_what_it_is_and_one_word_means_one_thing():
    commands = _commands()
    for name, cmd in commands.items():
        for p in cmd.params:
            if p.param_type_name == "option" and not p.hidden and p.name != "help":
                assert p.help, f"{name} {p.opts[0]} has no help"
    per_class = {name for name, cmd in commands.items()
                 for p in cmd.params if p.param_type_name == "option" and "--per-class" in p.opts}
    assert {"sample", "augment", "simulate", "evaluate", "eval-conditions"} <= per_class
    shown = {o for cmd in commands.values() for p in cmd.params if not getattr(p, "hidden", False)
             for o in getattr(p, "opts", [])}
    assert not shown & {"--n", "--per-person", "--seeds", "--preset"}  # the old dialects: hidden aliases only
    for name, cmd in commands.items():  # with a preset, it is --config (-c) everywhere
        if any("Preset or YAML" in (getattr(p, "help", "") or "") for p in cmd.params):
            assert any(p.opts[:2] == ["--config", "-c"] for p in cmd.params if p.param_type_name == "option"), name


def test_docs_cli_md_is_generated_from_the_cli_and_current():
    from pathlib import Path

    from mdaug.cli.reference import cli_markdown

    text = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    assert text == cli_markdown(), "docs/cli.md is stale: run .venv/bin/python scripts/update_docs.py"
    for name in _commands():
        assert f"## mdaug {name}\n" in text


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
