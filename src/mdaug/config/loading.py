"""Loading configs: YAML presets and files (with `base:` inheritance), dotted command-line overrides, one-line
errors that name the nearest valid key, and writing the resolved config beside every run."""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from mdaug.config.schema import Config, family_key_problem, prune_for_family
from mdaug.errors import ConfigError, MdaugError
from mdaug.files import atomic_write_text

CONFIG_FILE = "config.yaml"
"""The resolved config every run folder holds."""


def _presets():
    return resources.files("mdaug.config").joinpath("presets")



def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in _presets().iterdir() if p.name.endswith(".yaml"))


def preset_summary(name: str) -> str:
    """The first sentence of a preset's leading comment: what it is for, in the preset's own words."""
    lines = []
    for line in _presets().joinpath(f"{name}.yaml").read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
    text = " ".join(lines)
    end = text.find(". ")
    return (text[:end + 1] if end >= 0 else text).strip()


def _read_yaml(source: str | Path, _depth: int = 0) -> dict[str, Any]:
    path = Path(source)
    if path.suffix not in (".yaml", ".yml"):
        if str(source) not in preset_names():
            near = difflib.get_close_matches(str(source), preset_names(), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f" (presets: {', '.join(preset_names())})"
            raise ConfigError(f"no preset or YAML file named '{source}'{hint}")
        text = _presets().joinpath(f"{source}.yaml").read_text()
    elif not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"config file {path} cannot be read ({type(e).__name__})") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config {source} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {source} must be a mapping of sections, got {type(data).__name__}")
    base = data.pop("base", None)
    if base is not None:  # `base: quick` (or a YAML path, relative to this file): this file's keys win
        if not isinstance(base, str) or base == str(source) or _depth > 8:
            raise ConfigError(f"config {source}: 'base' must name another preset or YAML file")
        if base.endswith((".yaml", ".yml")) and path.suffix in (".yaml", ".yml"):
            base = str(path.parent / base)
        data = _deep_merge(_read_yaml(base, _depth + 1), data)
    return data


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """'model.codebook_size=1024' -> (['model', 'codebook_size'], 1024); the value is parsed as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override '{text}' must look like section.key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def _merge(base: dict[str, Any], keys: list[str], value: Any) -> None:
    node = base
    for i, k in enumerate(keys[:-1]):
        child = node.setdefault(k, {})
        if not isinstance(child, dict):
            raise ConfigError(f"'{'.'.join(keys[: i + 1])}' is a value, not a section")
        node = child
    node[keys[-1]] = value


def all_keys(model: type[BaseModel] = Config, prefix: str = "") -> list[str]:
    """Every dotted key a config accepts, sections included."""
    keys = []
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        keys.append(dotted)
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys.extend(all_keys(ann, dotted + "."))
    return keys


def error_where(err: ValidationError) -> str:
    """The dotted location of a pydantic validation error's first problem ('' at the top level)."""
    return ".".join(str(p) for p in err.errors()[0]["loc"])


def _one_line(err: ValidationError, source: str) -> str:
    e = err.errors()[0]
    dotted = error_where(err) or "(top level)"
    if e["type"] == "extra_forbidden":
        near = difflib.get_close_matches(dotted, all_keys(), n=1, cutoff=0.5)
        if not near:  # compare the last part only, within the same section
            parent = dotted.rsplit(".", 1)[0] if "." in dotted else ""
            siblings = [k for k in all_keys() if k.rsplit(".", 1)[0] == parent or (not parent and "." not in k)]
            near = difflib.get_close_matches(dotted, siblings, n=1, cutoff=0.3)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        return f"unknown config key '{dotted}' in {source}{hint}"
    msg = e["msg"].removeprefix("Value error, ")
    return f"config key '{dotted}' in {source}: {msg} (got {e.get('input')!r})"


def load_config(source: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Build a Config from a preset name or YAML file, then apply dotted overrides in order."""
    data = _read_yaml(source) if source is not None else {}
    origin = f"config '{source}'" if source is not None else "the defaults"
    for text in overrides or []:
        keys, value = parse_override(text)
        _merge(data, keys, value)
        origin = "the overrides" if source is None else f"'{source}' + overrides"
    return _validate(data, origin)


def _validate(data: dict[str, Any], origin: str) -> Config:
    ae = data.get("ae")
    family = ae.get("family", Config().ae.family) if isinstance(ae, dict) else Config().ae.family
    for section in ("ae", "ae_loss", "gan"):
        raw = data.get(section)
        if isinstance(raw, dict) and isinstance(family, str):
            problem = family_key_problem(section, family, raw)
            if problem:
                raise ConfigError(f"{problem} (in {origin}): a config for another family? Remove the key or "
                                  "set ae.family to match")
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_one_line(err, origin)) from None


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """A new Config with `overrides` applied on top of `cfg`."""
    data = config_dict(cfg)
    for text in overrides:
        keys, value = parse_override(text)
        _merge(data, keys, value)
    return _validate(data, "the overrides")


def reference_markdown(model: type[BaseModel] = Config, prefix: str = "", instance: BaseModel | None = None) -> str:
    """The config reference table (docs/config.md): every key, its default and what it means."""
    rows = [] if prefix else ["| key | default | meaning |", "|---|---|---|"]
    for name, field in model.model_fields.items():
        ann = field.annotation
        default = getattr(instance, name) if instance is not None else field.default
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows.append(reference_markdown(ann, f"{prefix}{name}.", default if isinstance(default, ann) else None))
            continue
        value = to_jsonable_python(default)
        if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
            value = [v["name"] for v in value]  # a list of sections (the corpus radars): their names
        shown = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        text = " ".join((field.description or "").split()).replace("|", "\\|")
        rows.append(f"| `{prefix}{name}` | `{shown}` | {text} |")
    return "\n".join(rows)


def config_dict(cfg: BaseModel) -> dict[str, Any]:
    """Every key with its value, without the keys that do not apply to the config's model family."""
    data = cfg.model_dump(mode="json")
    return prune_for_family(data, cfg.ae.family) if isinstance(cfg, Config) else data


def config_from_dict(data: dict[str, Any], origin: str) -> Config:
    """Validate a dict (e.g. a run's saved config) as a Config, with the same one-line errors."""
    return _validate(data, origin)


def config_to_yaml(cfg: BaseModel) -> str:
    return yaml.safe_dump(config_dict(cfg), sort_keys=False)


def save_config(cfg: BaseModel, path: str | Path) -> Path:
    """Write the resolved config (every key, defaults included) atomically."""
    return atomic_write_text(path, config_to_yaml(cfg))


def saved_config(run: str | Path) -> dict[str, Any]:
    """The resolved config a run was started with (RUN/config.yaml), as the dict it was written from."""
    path = Path(run) / CONFIG_FILE
    if not path.is_file():
        raise MdaugError(f"{run} is not an mdaug run (no {CONFIG_FILE})")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise MdaugError(f"{path} is not valid YAML") from None
    if not isinstance(data, dict):
        raise MdaugError(f"{path} is not a config (a mapping of sections)")
    return data


def run_config(run: str | Path) -> Config:
    """The resolved config a run was started with (RUN/config.yaml), validated."""
    return config_from_dict(saved_config(run), str(Path(run) / CONFIG_FILE))
