"""Mutation testing of one module: do its tests notice when its code is changed?

    .venv/bin/python scripts/mutation.py src/mdaug/data/classical.py          # run, write its results file
    .venv/bin/python scripts/mutation.py src/mdaug/data/classical.py --show   # also print each survivor's diff
    .venv/bin/python scripts/mutation.py --list                               # the modules and their tests
    .venv/bin/python scripts/mutation.py --render                             # docs/testing.md's table from files
    .venv/bin/python scripts/mutation.py --check                              # exit 1 if that table is stale

The module -> test files map is [tool.mdaug.mutation.modules] of pyproject.toml; the mutmut settings are
[tool.mutmut]. mutmut's own `mutmut run` in the repository would run the tests of every listed module for
every mutant's stats; here it runs in a scratch copy (mutants/<module>/, ignored by git) whose pyproject names
only the one module and its tests, so one module takes minutes. The results go to
benchmarks/results/mutation/<module>.json; the judgement of each survivor is typed in
benchmarks/results/mutation/judgements.toml (why it is harmless), and docs/testing.md's table is rendered from both.
In the scratch copy, mutmut's own commands work too: `cd mutants/<module> && ../../.venv/bin/mutmut results`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mutation"
JUDGEMENTS = RESULTS / "judgements.toml"
DOC = ROOT / "docs" / "testing.md"
BLOCK = re.compile(r"(<!-- mutation:start -->\n)(.*?)(<!-- mutation:end -->)", re.S)
# mutmut's statuses: a timeout or crash is a change the tests noticed; "no tests" and "suspicious" are not
KILLED = ("killed", "timeout", "segfault", "caught by type check")
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          37: "caught by type check", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          -11: "segfault", -9: "segfault", None: "not checked"}


def config() -> tuple[dict, dict[str, list[str]]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["tool"]["mutmut"], data["tool"]["mdaug"]["mutation"]["modules"]


def deselected() -> list[str]:
    """Tests left out of mutation runs ([tool.mdaug.mutation] deselect): slow wiring tests whose logic fast tests
    check, which would otherwise run again for every mutant."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mdaug"]["mutation"].get("deselect", [])


def slug(module: str) -> str:
    """src/mdaug/data/classical.py -> data.classical (the results file's and scratch folder's name)."""
    return Path(module).with_suffix("").relative_to("src/mdaug").as_posix().replace("/", ".")


def test_files(patterns: list[str]) -> list[str]:
    found = sorted({p.relative_to(ROOT).as_posix() for pat in patterns for p in ROOT.glob(pat)})
    if not found:
        sys.exit(f"error: no test file matches {patterns}")
    return found


def _toml(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def scratch(module: str, tests: list[str]) -> Path:
    """A fresh copy of src/ and tests/ whose pyproject mutates only `module` and selects only `tests`."""
    base, _ = config()
    where = ROOT / "mutants" / slug(module)
    shutil.rmtree(where, ignore_errors=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "src", where / "src", ignore=skip)
    shutil.copytree(ROOT / "tests", where / "tests", ignore=skip)
    slow = [arg for test in deselected() if test.split("::")[0] in tests for arg in ("--deselect", test)]
    narrowed = base | {"only_mutate": [module], "pytest_add_cli_args_test_selection": tests,
                       "pytest_add_cli_args": base.get("pytest_add_cli_args", []) + slow}
    pytest_ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    lines = ["[tool.pytest.ini_options]", *(f"{k} = {_toml(v)}" for k, v in pytest_ini.items() if k != "testpaths"),
             "", "[tool.mutmut]", *(f"{k} = {_toml(v)}" for k, v in narrowed.items())]
    (where / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return where


def statuses(where: Path, module: str) -> dict[str, str]:
    meta = json.loads((where / "mutants" / (module + ".meta")).read_text())
    return {name: STATUS.get(code, "suspicious") for name, code in meta["exit_code_by_key"].items()}


def diffs(where: Path, module: str, names: list[str]) -> dict[str, list[str]]:
    """The changed lines (- original, + mutant) of each named mutant, read with mutmut's own differ."""
    code = ("import json, sys\nfrom mutmut.mutation.diff_apply import get_diff_for_mutant\n"
            "names, path = json.loads(sys.argv[1]), sys.argv[2]\n"
            "print(json.dumps({n: get_diff_for_mutant(n, path=path) for n in names}))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(names), module], cwd=where, check=True,
                         capture_output=True, text=True).stdout
    return {n: [ln for ln in d.splitlines() if ln[:1] in "+-" and ln[:3] not in ("---", "+++")]
            for n, d in json.loads(out.strip().splitlines()[-1]).items()}


def _commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return head.stdout.strip() or "unknown"


def run(module: str, *, children: int, show: bool) -> dict:
    _, modules = config()
    if module not in modules:
        sys.exit(f"error: {module} is not in [tool.mdaug.mutation.modules] of pyproject.toml; listed: "
                 + ", ".join(modules))
    tests = test_files(modules[module])
    where = scratch(module, tests)
    log = where / "mutmut.log"
    print(f"mutating {module}, running {' '.join(tests)} (log: {log.relative_to(ROOT)})", flush=True)
    # one thread per worker: the workers are processes already, and torch's own threads would fight them
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    mutmut = Path(sys.executable).with_name("mutmut")
    start = time.perf_counter()
    with log.open("w") as f:
        done = subprocess.run([str(mutmut), "run", "--max-children", str(children)], cwd=where, env=env, stdout=f,
                              stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"error: mutmut failed (exit {done.returncode}); the end of {log}:\n"
                 + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
    found = statuses(where, module)
    killed = sorted(n for n, s in found.items() if s in KILLED)
    survivors = sorted((n for n, s in found.items() if s not in KILLED), key=_order)
    result = {"module": module, "tests": tests, "command": f".venv/bin/python scripts/mutation.py {module}",
              "date": dt.date.today().isoformat(), "commit": _commit(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {children} workers",
              "wall_s": round(wall), "mutants": len(found), "killed": len(killed), "survived": len(survivors),
              "kill_rate": round(len(killed) / max(len(found), 1), 4),
              "statuses": {s: sum(v == s for v in found.values()) for s in sorted(set(found.values()))},
              "survivors": {n: {"status": found[n], "diff": d} for n, d in diffs(where, module, survivors).items()}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{slug(module)}.json").write_text(json.dumps(result, indent=1) + "\n")
    judged = judgements().get(slug(module), {})
    for n, s in result["survivors"].items():
        print(f"  {n} ({s['status']}){'' if n in judged else '  NOT JUDGED'}")
        for line in s["diff"] if show else s["diff"][-1:]:
            print(f"      {line.strip()}")
    print(f"{module}: {len(killed)} killed, {len(survivors)} survived of {len(found)} mutants: kill rate "
          f"{100 * result['kill_rate']:.1f}% ({wall / 60:.1f} min); written to "
          f"{(RESULTS / (slug(module) + '.json')).relative_to(ROOT)}")
    return result


def _order(name: str) -> tuple[str, int]:
    head, _, num = name.rpartition("__mutmut_")
    return head, int(num) if num.isdigit() else 0


def judgements() -> dict[str, dict[str, str]]:
    return tomllib.loads(JUDGEMENTS.read_text()) if JUDGEMENTS.exists() else {}


def render() -> str:
    """docs/testing.md's table (per module) and survivors list (each with its judgement) from the results files."""
    _, modules = config()
    judged = judgements()
    rows, lists = [], []
    for module in modules:
        f = RESULTS / f"{slug(module)}.json"
        if not f.exists():
            rows.append(f"| `{module}` | not measured yet | | | | | |")
            continue
        r = json.loads(f.read_text())
        mine = judged.get(slug(module), {})
        harmless = sum(n in mine for n in r["survivors"])
        rows.append(f"| `{module}` | {r['mutants']} | {r['killed']} | {r['survived']} ({harmless} judged) | "
                    f"{100 * r['kill_rate']:.1f}% | {r['date']} | {r['commit']} |")
        if r["survivors"]:
            lists.append(f"\n`{module}` ({', '.join(r['tests'])}):\n")
            for n, s in r["survivors"].items():
                change = " / ".join(f"`{ln[1:].strip()}`" for ln in s["diff"])
                lists.append(f"- `{n.rpartition('.')[2]}`: {change}: {mine.get(n, '**not judged yet**')}")
    head = ("| module | mutants | killed | survived | kill rate | date | commit |\n"
            "|---|---|---|---|---|---|---|")
    return "\n".join([head, *rows, "", "Surviving mutants (the mutant's change; the judgement):", *lists]) + "\n"


def stale() -> bool:
    m = BLOCK.search(DOC.read_text())
    return m is None or m.group(2) != render()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module", nargs="?", help="a module of [tool.mdaug.mutation.modules], e.g. src/mdaug/data/x.py")
    ap.add_argument("--show", action="store_true", help="print each survivor's whole diff")
    ap.add_argument("--children", type=int, default=os.cpu_count() or 2, help="parallel mutant workers")
    ap.add_argument("--list", action="store_true", help="list the modules and their test files")
    ap.add_argument("--render", action="store_true", help="rewrite docs/testing.md's table from the results files")
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/testing.md's table is stale")
    a = ap.parse_args()
    if a.list:
        for module, tests in config()[1].items():
            print(f"{module}: {' '.join(tests)}")
    elif a.check:
        sys.exit("docs/testing.md's mutation table is stale: run scripts/mutation.py --render" if stale() else 0)
    elif a.render or not a.module:
        if not a.render:
            ap.error("name a module (or --list, --render, --check)")
        text = DOC.read_text()
        DOC.write_text(BLOCK.sub(lambda m: m.group(1) + render() + m.group(3), text))
        print(f"{DOC.relative_to(ROOT)} rendered")
    else:
        run(a.module, children=a.children, show=a.show)
        if DOC.exists() and BLOCK.search(DOC.read_text()):
            DOC.write_text(BLOCK.sub(lambda m: m.group(1) + render() + m.group(3), DOC.read_text()))


if __name__ == "__main__":
    main()
