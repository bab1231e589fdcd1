import numpy as np
import pytest

from mdaug.config import SplitConfig
from mdaug.data import check_leak_free, load_split, make_split, save_split
from mdaug.data.canonical import Record, SpectrogramSet
from mdaug.errors import MdaugError


def make_set(n_classes=4, sessions=5, per_session=6, with_sessions=True, seed=0):
    rng = np.random.default_rng(seed)
    records, labels = [], []
    for c in range(n_classes):
        for s in range(sessions):
            for k in range(per_session):
                sid = f"p{c}/s{s}" if with_sessions else None
                records.append(Record(id=f"p{c}/s{s}.mat#{k}", file=f"p{c}/s{s}.mat", index=k, class_name=f"p{c}",
                                      session=sid, orig_shape=(1, 4, 4), file_sha256="", sample_hash=f"{c}-{s}-{k}"))
                labels.append(c)
    x = rng.standard_normal((len(records), 1, 4, 4)).astype(np.float32)
    return SpectrogramSet(x=x, labels=np.array(labels), class_names=[f"p{c}" for c in range(n_classes)],
                          records=records)


def groups_by_split(split, ds, key):
    return {name: {key(ds.records[i]) for i in split.indices(ds, name)} for name in ("train", "val", "test")}


def test_split_is_deterministic_and_seed_dependent():
    ds = make_set()
    a, b = make_split(ds, SplitConfig(seed=3)), make_split(ds, SplitConfig(seed=3))
    assert a.ids == b.ids
    assert make_split(ds, SplitConfig(seed=4)).ids != a.ids


def test_no_session_in_two_splits_and_every_class_stratified():
    ds = make_set()
    split = make_split(ds, SplitConfig(val_fraction=0.2, test_fraction=0.2, seed=1))
    g = groups_by_split(split, ds, lambda r: r.session)
    assert not (g["train"] & g["val"]) and not (g["train"] & g["test"]) and not (g["val"] & g["test"])
    check_leak_free(split, ds)
    assert sum(len(v) for v in split.ids.values()) == len(ds)
    for c in range(4):  # 5 sessions per class -> 3 / 1 / 1
        per = [int((ds.labels[split.indices(ds, n)] == c).sum()) for n in ("train", "val", "test")]
        assert per == [18, 6, 6], per
    assert split.group_by == "session"


def test_falls_back_to_files_without_sessions():
    ds = make_set(with_sessions=False)
    split = make_split(ds, SplitConfig(seed=0))
    assert split.group_by == "file"
    g = groups_by_split(split, ds, lambda r: r.file)
    assert not (g["train"] & g["test"]) and not (g["train"] & g["val"])


def test_sessions_shared_across_classes_stay_whole():
    """Activity data: a session is a person who did every activity; hold out whole people."""
    ds = make_set()
    recs = [Record(**{**r.__dict__, "session": f"person{r.id.split('/')[1][1]}"}) for r in ds.records]
    ds.records[:] = recs
    split = make_split(ds, SplitConfig(seed=2))
    g = groups_by_split(split, ds, lambda r: r.session)
    assert not (g["train"] & g["test"]) and g["test"], g


def test_identical_samples_never_straddle_splits():
    ds = make_set(with_sessions=False)
    ds.records[0] = Record(**{**ds.records[0].__dict__, "sample_hash": ds.records[-1].sample_hash})
    for seed in range(5):
        split = make_split(ds, SplitConfig(seed=seed))
        check_leak_free(split, ds)


def test_check_leak_free_catches_a_leak():
    ds = make_set()
    split = make_split(ds, SplitConfig(seed=0))
    moved = split.ids["train"].pop(0)
    split.ids["test"].append(moved)
    with pytest.raises(MdaugError, match="leaks"):
        check_leak_free(split, ds)


def test_saved_split_reloads_and_checks_the_dataset(tmp_path):
    ds = make_set()
    split = make_split(ds, SplitConfig(seed=5))
    back = load_split(save_split(split, tmp_path / "split.json"))
    assert back.ids == split.ids
    np.testing.assert_array_equal(back.indices(ds, "test"), split.indices(ds, "test"))
    with pytest.raises(MdaugError, match="different dataset"):
        back.indices(make_set(sessions=4), "train")


def test_single_session_class_is_warned():
    ds = make_set(sessions=1)
    split = make_split(ds, SplitConfig(seed=0))
    assert split.warnings == [
        "4 class(es) have no val samples (p0, p1, p2, ...): as few as 1 session group(s) per class",
        "4 class(es) have no test samples (p0, p1, p2, ...): as few as 1 session group(s) per class"]


def test_requested_val_split_is_filled_when_groups_tie():
    """5 equal sessions per class at val 0.1 / test 0.2: train 3, val 1, test 1 (not 4 / 0 / 1)."""
    ds = make_set(sessions=5, per_session=30)
    split = make_split(ds, SplitConfig(seed=0, val_fraction=0.1, test_fraction=0.2))
    for c in range(4):
        per = [int((ds.labels[split.indices(ds, n)] == c).sum()) for n in ("train", "val", "test")]
        assert per == [90, 30, 30], per
    assert not split.warnings


def test_train_budget_keeps_k_per_class_and_leaves_val_test_alone():
    from mdaug.config import load_config
    from mdaug.runs.run_data import load_run_data

    full = load_run_data(load_config("tiny"))
    limited = load_run_data(load_config("tiny", ["split.train_per_class=2"]))
    for name in ("val", "test"):
        assert limited.split.ids[name] == full.split.ids[name]
    train = limited.indices("train")
    counts = np.bincount(limited.dataset.labels[train], minlength=len(limited.dataset.class_names))
    assert counts.tolist() == [2] * len(counts)
    assert set(limited.split.ids["train"]) < set(full.split.ids["train"])
    again = load_run_data(load_config("tiny", ["split.train_per_class=2"]))
    assert again.split.ids == limited.split.ids  # seeded: the same budget picks the same samples


def test_a_session_budget_keeps_whole_sessions_of_each_class():
    from mdaug.data.splits import limit_sessions

    ds = make_set(sessions=6, per_session=4)
    split = make_split(ds, SplitConfig(val_fraction=0.0, test_fraction=0.34))
    limited = limit_sessions(split, ds, 2, seed=5)
    train = limited.indices(ds, "train")
    for c in range(len(ds.class_names)):
        sessions = {ds.records[i].session for i in train if ds.labels[i] == c}
        assert len(sessions) == 2
        assert sum(ds.labels[i] == c for i in train) == 2 * 4  # every recording of those sessions
    assert limited.ids["test"] == split.ids["test"]
    assert limit_sessions(split, ds, 2, seed=5).ids == limited.ids  # seeded
    assert limit_sessions(split, ds, 2, seed=6).ids != limited.ids
    assert limit_sessions(split, ds, None, seed=5) is split


def test_a_session_budget_on_data_without_sessions_is_refused():
    from mdaug.data.splits import limit_sessions

    ds = make_set(with_sessions=False)
    split = make_split(ds, SplitConfig())
    with pytest.raises(MdaugError, match="needs session ids"):
        limit_sessions(split, ds, 2, seed=0)
