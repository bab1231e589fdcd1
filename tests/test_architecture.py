"""The shape of the package, checked: every import runs down the layers (none back up, no cycle between
modules), the library never imports the orchestration or the command line, and modules and functions stay small
enough to read in one sitting. Imports inside functions count as much as those at the top of a module."""

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "mdaug"

# Lowest first. A package may import its own modules and those of lower layers only; two packages in one layer
# may not import each other.
LAYERS = [
    {"mdaug.errors", "mdaug.seeds", "mdaug.progress", "mdaug.glossary", "mdaug.plotting", "mdaug.inference"},
    {"mdaug", "mdaug.files"},
    {"mdaug.config"},
    {"mdaug.data", "mdaug.losses"},
    {"mdaug.simulate", "mdaug.models"},
    {"mdaug.runs"},
    {"mdaug.sampling"},
    {"mdaug.evaluation"},
    {"mdaug.training"},
    {"mdaug.workflows"},
    {"mdaug.cli"},
    {"mdaug.__main__"},
]
LIBRARY = {p for layer in LAYERS[:-3] for p in layer}
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 450, 80


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit(module: str) -> str:
    """The package a module belongs to for layering: mdaug.<first level>."""
    return ".".join(module.split(".")[:2])


def imports() -> dict[str, set[str]]:
    """module -> mdaug modules it imports (anywhere in it)."""
    modules = {module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mdaug":
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
                graph[name].add(next(t for t in targets if t in modules))
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules)
    return graph


def layer_of(package: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def test_every_package_has_a_layer():
    packages = {unit(module_name(p)) for p in SRC.rglob("*.py")}
    assert not [p for p in packages if not any(p in layer for layer in LAYERS)]


def back_edges(graph: dict[str, set[str]]) -> list[str]:
    """Imports of a package in the same or a higher layer (the package root mdaug itself only exports names)."""
    return sorted(f"{m} -> {t}" for m, ts in graph.items() for t in ts
                  if unit(m) != unit(t) and t != "mdaug" and layer_of(unit(t)) >= layer_of(unit(m)))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle between modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> list[str] | None:
        state[m] = 1
        for t in sorted(graph.get(m, ())):
            if t == m or t == "mdaug":
                continue
            if state.get(t) == 1:
                return path[path.index(t):] + [m, t] if t in path else [m, t]
            if t not in state and (cycle := visit(t, path + [m])):
                return cycle
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m, [])):
            return cycle
    return None


def test_imports_run_down_the_layers_only():
    found = back_edges(imports())
    assert not found, "imports that run sideways or back up:\n" + "\n".join(found)


def test_the_library_never_imports_the_workflows_or_the_command_line():
    found = [f"{m} -> {t}" for m, ts in imports().items() for t in ts
             if unit(m) in LIBRARY and unit(t) in ("mdaug.workflows", "mdaug.cli")]
    assert not found


def test_no_module_import_cycle():
    cycle = find_cycle(imports())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_catch_what_they_are_for():
    assert back_edges({"mdaug.models.vq": {"mdaug.workflows.pipeline", "mdaug.config.models"},
                       "mdaug.data.read": {"mdaug.losses.kl"}}) == ["mdaug.data.read -> mdaug.losses.kl",
                                                                   "mdaug.models.vq -> mdaug.workflows.pipeline"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_modules_and_functions_stay_small():
    long_modules, long_functions = [], []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(f"{path.relative_to(SRC)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}: {n} lines")
    assert not long_modules and not long_functions, "\n".join(long_modules + long_functions)


def test_only_one_module_chooses_the_plotting_backend():
    choosers = [p.name for p in SRC.rglob("*.py") if "matplotlib.use(" in p.read_text()]
    assert choosers == ["plotting.py"]


def test_batched_inference_goes_through_one_helper():
    """A hand-written `for i in range(0, len(x), batch)` loop over a model is what mdaug.inference replaces; the
    loops left are not inference: condition estimators over numpy chunks, sampling seeded per batch, simulation jobs."""
    loops = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
             if p.name != "inference.py" and "range(0, len(" in p.read_text()]
    assert sorted(loops) == ["data/conditions.py", "sampling/generate.py", "simulate/dataset.py"]


# Keys that several modules read by name although no record crosses between them: two files that happen to use the
# same word. Anything else read by string key in two modules is a record's field read without its record.
SHARED_WORDS = {
    "family": "a config's YAML before validation (config.loading) and a checkpoint's identity (training.autoencoder)",
    "labels": "the arrays of two different files: a study's pool (workflows.utility.synthetic), the latent cache",
}


def string_keys_read() -> dict[str, set[str]]:
    """key -> modules that read it as `x["key"]` or `x.get("key")` (type subscripts such as Literal["x"] aside)."""
    reads: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            key = None
            if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
                    and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)
                    and not (isinstance(node.value, ast.Name) and node.value.id == "Literal")):
                key = node.slice.value
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in ("get", "pop", "setdefault") and node.args
                  and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                key = node.args[0].value
            if key is not None:
                reads[key].add(module_name(path))
    return reads


def test_no_key_is_read_by_string_in_two_modules():
    """A record that crosses modules is read by its fields; its file's keys are read in one place (its `read`)."""
    shared = {key: sorted(modules) for key, modules in string_keys_read().items() if len(modules) > 1}
    assert {k: v for k, v in shared.items() if k not in SHARED_WORDS} == {}
    assert set(SHARED_WORDS) <= set(shared), "a listed word is no longer shared: remove it from SHARED_WORDS"
