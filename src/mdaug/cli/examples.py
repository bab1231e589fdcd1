"""One example per command, shown at the end of its --help and in docs/cli.md. tests/cli/test_help.py parses each
with the command's own options, so an example cannot name an option that no longer exists."""

from __future__ import annotations

EXAMPLES: dict[str, str] = {
    "run": "mdaug run --data my_spectrograms/ --out runs/mine",
    "benchmark": "mdaug benchmark --config quick --families kl,vq --out runs/families",
    "tour": "mdaug tour --out runs/sim",
    "utility": "mdaug utility --config standard --budgets 5,10,all --repeats 5 --out runs/study",
    "simulate": "mdaug simulate --people 8 --per-class 40 --size 64 --images --out runs/gait8",
    "train-recognizer": "mdaug train-recognizer --role eval --data runs/gait8 --out runs/rec",
    "train-ae": "mdaug train-ae --config quick --family vq --data runs/gait8 --out runs/ae-vq",
    "train-ldm": "mdaug train-ldm --ae runs/ae-vq --steps 2000 --out runs/ldm-vq",
    "train-prior": "mdaug train-prior --ae runs/ae-vq --out runs/prior-vq",
    "pretrain-ae": "mdaug pretrain-ae --config pretrain ae.family=vq --name vq-64x64 --out runs/pretrain-vq",
    "pretrain-recognizer": "mdaug pretrain-recognizer --out runs/pretrain-recognizer",
    "pretrain-ldm": "mdaug pretrain-ldm --ae src/mdaug/pretrained/kl-64x64 --name kl-64x64-ldm",
    "pretrain-prior": "mdaug pretrain-prior --ae src/mdaug/pretrained/vq-64x64 --name vq-64x64-prior",
    "sample": "mdaug sample runs/mine/ldm --per-class 4 --classes person01,person02 --out runs/look",
    "augment": "mdaug augment runs/mine/ldm --per-class 100 --out runs/mine-synthetic",
    "eval-ae": "mdaug eval-ae runs/ae-vq --recognizer runs/rec",
    "diagnose": "mdaug diagnose runs/ae-vq --json",
    "evaluate": "mdaug evaluate runs/ldm-vq --recognizer runs/rec --per-class 30",
    "eval-conditions": "mdaug eval-conditions runs/mine/ldm --recognizer runs/mine/recognizer-eval",
    "report": "mdaug report runs/mine",
    "compare": "mdaug compare runs/mine runs/other --out table.md",
    "data inspect": "mdaug data inspect my_spectrograms/ --colormap jet",
    "data prepare": "mdaug data prepare my_spectrograms/ --size 64 --out runs/prepared",
    "data examples": "mdaug data examples --format mat --out runs/examples-mat",
    "config show": "mdaug config show --config quick ldm.guidance_scale=2",
    "config reference": "mdaug config reference",
    "config presets": "mdaug config presets",
}


def attach_examples(app, data_app, config_app) -> None:
    """Each registered command's epilog: its example."""
    for group, prefix in ((app, ""), (data_app, "data "), (config_app, "config ")):
        for info in group.registered_commands:
            name = prefix + (info.name or "")
            if name in EXAMPLES:
                info.epilog = f"Example: {EXAMPLES[name]}"


__all__ = ["EXAMPLES", "attach_examples"]
