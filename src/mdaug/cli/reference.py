"""docs/cli.md, generated from the command line itself (every command, its options with their defaults, its
example), so the reference cannot fall behind the CLI. scripts/update_docs.py writes it; a test checks it is
current."""

from __future__ import annotations

import inspect

import typer

HEADER = """# CLI reference

Generated from the command line by `scripts/update_docs.py` (a test checks it is current); `mdaug COMMAND --help`
shows the same. Every command that reads a config accepts trailing `section.key=value` overrides (an unknown key
fails with the nearest valid one named; [config.md](config.md) lists every key). The same words mean the same thing
everywhere: `--per-class N` is spectrograms per class, `--repeats N` repeats of a study, `--config` a preset or YAML
file, `--out` the folder written (never an existing one's files overwritten). Errors are one line on stderr starting
with `error:`, exit code 1 (2 for config errors); a terms list is in [glossary.md](glossary.md).
"""


def _commands(group, prefix: str = ""):
    for name, cmd in group.commands.items():
        if getattr(cmd, "hidden", False):
            continue
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, f"{prefix}{name} ")
        else:
            yield prefix + name, cmd


def _default(p) -> str:
    if p.is_flag:
        return "off" if not p.default else "on"
    if p.default in (None, [], ()):
        return ""
    return f"`{p.default}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def cli_markdown() -> str:
    """The whole of docs/cli.md."""
    from mdaug.cli import app

    root = typer.main.get_command(app)
    parts = [HEADER, "| command | what it does |", "|---|---|"]
    commands = list(_commands(root))
    for name, cmd in commands:
        first = inspect.cleandoc(cmd.help or "").split("\n\n")[0]
        parts.append(f"| [`mdaug {name}`](#mdaug-{name.replace(' ', '-')}) | {_cell(first)} |")
    for name, cmd in commands:
        args = " ".join(p.name.upper() + ("..." if p.nargs == -1 else "") for p in cmd.params
                        if p.param_type_name == "argument")
        parts += ["", f"## mdaug {name}", "", f"`mdaug {name} [OPTIONS]{' ' + args if args else ''}`", "",
                  inspect.cleandoc(cmd.help or "")]
        rows = [p for p in cmd.params if not getattr(p, "hidden", False)]
        if rows:
            parts += ["", "| option | default | what it is |", "|---|---|---|"]
            for p in rows:
                if p.param_type_name == "argument":
                    label, help_ = p.name.upper() + ("..." if p.nargs == -1 else ""), getattr(p, "help", "") or ""
                    parts.append(f"| `{label}` | {'required' if p.required else ''} | {_cell(help_)} |")
                    continue
                names = " / ".join(f"`{o}`" for o in p.opts + p.secondary_opts)
                default = "required" if p.required else _default(p)
                parts.append(f"| {names} | {default} | {_cell(p.help or '')} |")
        if cmd.epilog:
            parts += ["", cmd.epilog.replace("Example: ", "Example:\n\n```bash\n", 1) + "\n```"]
    return "\n".join(parts) + "\n"


__all__ = ["cli_markdown"]
