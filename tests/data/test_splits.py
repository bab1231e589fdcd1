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


def test_a_sample_budget_keeps_that_many_of_each_class_at_random_in_the_named_split_only():
    from mdaug.data.splits import limit_train

    ds = make_set(sessions=5, per_session=6)
    split = make_split(ds, SplitConfig(seed=1, val_fraction=0.2, test_fraction=0.2))
    split.warnings.append("kept")
    limited = limit_train(split, ds, 5, seed=7)
    train = limited.indices(ds, "train")
    assert np.bincount(ds.labels[train]).tolist() == [5] * 4  # 18 per class before
    assert set(limited.ids["train"]) < set(split.ids["train"])
    assert limited.ids["train"] == [i for i in split.ids["train"] if i in set(limited.ids["train"])]  # in order
    assert limited.ids["val"] == split.ids["val"] and limited.ids["test"] == split.ids["test"]
    assert (limited.group_by, limited.seed, limited.fingerprint, limited.warnings) == ("session", 1,
                                                                                        ds.fingerprint(), ["kept"])
    assert limit_train(split, ds, 5, seed=7).ids == limited.ids and limit_train(split, ds, 5, seed=8).ids != limited.ids
    assert limit_train(split, ds, 6, seed=7, name="val").ids["val"] == split.ids["val"]  # 6 per class: all kept
    val = limit_train(split, ds, 2, seed=7, name="val")
    assert np.bincount(ds.labels[val.indices(ds, "val")]).tolist() == [2] * 4 and val.ids["train"] == split.ids["train"]
    assert limit_train(split, ds, None, seed=7) is split


def test_a_session_budget_names_the_split_and_keeps_its_metadata():
    from mdaug.data.splits import limit_sessions

    ds = make_set(sessions=6, per_session=2)
    split = make_split(ds, SplitConfig(seed=3, val_fraction=0.0, test_fraction=0.34))
    split.warnings.append("kept")
    limited = limit_sessions(split, ds, 1, seed=2, name="test")
    for c in range(4):
        assert len({ds.records[i].session for i in limited.indices(ds, "test") if ds.labels[i] == c}) == 1
    assert limited.ids["train"] == split.ids["train"] and len(limited.ids["test"]) == 4 * 2
    assert (limited.group_by, limited.seed, limited.fingerprint, limited.warnings) == ("session", 3,
                                                                                        ds.fingerprint(), ["kept"])
    assert limit_sessions(split, ds, 4, seed=2, name="train").ids == split.ids  # 4 train sessions per class: all
    split.group_by = "file"
    with pytest.raises(MdaugError, match=r"^a budget in sessions \('2s'\) needs session ids, but this data is split "
                                         r"by file; set data.session_key or data.session_regex, or give a budget in "
                                         r"samples$"):
        limit_sessions(split, ds, 2, seed=0)


def test_the_group_of_a_sample_is_its_session_its_file_or_itself():
    from mdaug.data.splits import groups_of

    ds = make_set(n_classes=1, sessions=2, per_session=2)
    assert groups_of(ds, "auto") == (["session:p0/s0"] * 2 + ["session:p0/s1"] * 2, "session")
    assert groups_of(ds, "file") == (["file:p0/s0.mat"] * 2 + ["file:p0/s1.mat"] * 2, "file")
    assert groups_of(ds, "sample")[0] == [f"sample:p0/s{s}.mat#{k}" for s in (0, 1) for k in (0, 1)]
    bare = make_set(n_classes=1, sessions=2, per_session=2, with_sessions=False)
    assert groups_of(bare, "auto")[1] == "file"
    one_file = SpectrogramSet(x=bare.x, labels=bare.labels, class_names=bare.class_names,
                              records=[Record(**{**r.__dict__, "file": "all.mat"}) for r in bare.records])
    assert groups_of(one_file, "auto")[1] == "sample"
    bare.records[0] = Record(**{**ds.records[0].__dict__})  # one sample with a session, the others without
    assert groups_of(bare, "auto")[1] == "file"
    with pytest.raises(MdaugError, match=r"^split.group_by=session but some samples have no session id; set "
                                         r"data.session_key or data.session_regex$"):
        groups_of(bare, "session")


def test_one_file_without_sessions_is_split_sample_by_sample_with_a_warning():
    ds = make_set(n_classes=2, sessions=1, per_session=10, with_sessions=False)
    ds.records[:] = [Record(**{**r.__dict__, "file": "all.mat"}) for r in ds.records]
    split = make_split(ds, SplitConfig(seed=0, val_fraction=0.2, test_fraction=0.2))
    assert split.group_by == "sample" and [len(split.ids[n]) for n in ("train", "val", "test")] == [12, 4, 4]
    assert split.warnings == ["no session ids and a single source file: split sample by sample; if the samples are "
                              "overlapping windows of longer recordings the test score will be optimistic "
                              "(set data.session_key)"]
    assert make_split(ds, SplitConfig(seed=0, group_by="sample")).warnings == []  # asked for: no warning


@pytest.mark.parametrize(("val", "test", "per"), [(0.2, 0.2, [6, 2, 2]), (0.0, 0.3, [7, 0, 3]),
                                                  (0.1, 0.0, [9, 1, 0]), (0.5, 0.3, [2, 5, 3])])
def test_each_class_gets_the_target_share_of_its_sessions(val, test, per):
    ds = make_set(n_classes=3, sessions=10, per_session=1)
    split = make_split(ds, SplitConfig(seed=0, val_fraction=val, test_fraction=test))
    for c in range(3):
        assert [int((ds.labels[split.indices(ds, n)] == c).sum()) for n in ("train", "val", "test")] == per
    assert split.warnings == []


def test_bigger_sessions_are_placed_first_so_the_shares_hold_in_samples():
    ds = make_set(n_classes=1, sessions=1, per_session=1)
    sizes = [8, 1, 1, 4, 2, 2, 2]  # 20 samples: the 8 must not land in test after the small ones filled train
    records = [Record(**{**ds.records[0].__dict__, "id": f"s{s}#{k}", "session": f"s{s}", "sample_hash": f"{s}-{k}"})
               for s, n in enumerate(sizes) for k in range(n)]
    big = SpectrogramSet(x=np.zeros((20, 1, 4, 4), np.float32), labels=np.zeros(20, int), class_names=["p0"],
                         records=records)
    for seed in range(4):
        split = make_split(big, SplitConfig(seed=seed, val_fraction=0.2, test_fraction=0.2))
        assert [len(split.ids[n]) for n in ("train", "val", "test")] == [12, 4, 4]


def test_fractions_that_leave_no_training_data_are_refused():
    with pytest.raises(MdaugError, match=r"^split.val_fraction \+ split.test_fraction must be below 1, got 1.05$"):
        make_split(make_set(), SplitConfig.model_construct(val_fraction=0.5, test_fraction=0.55))  # past its own check


def test_the_warning_names_at_most_three_classes_and_the_fewest_groups():
    ds = make_set(n_classes=3, sessions=1, per_session=2)
    split = make_split(ds, SplitConfig(seed=0))
    assert split.warnings[0] == "3 class(es) have no val samples (p0, p1, p2): as few as 1 session group(s) per class"
    two = make_set(n_classes=2, sessions=2, per_session=2)
    assert make_split(two, SplitConfig(seed=0, val_fraction=0.2, test_fraction=0.2)).warnings == [
        "2 class(es) have no test samples (p0, p1): as few as 2 session group(s) per class"]  # train 1, val 1


def test_duplicates_chain_their_groups_together():
    from mdaug.data.splits import _merge_duplicates

    # c shares a sample with b, b with a: all three one group, named by the smallest; d alone
    assert _merge_duplicates(["c", "c", "b", "b", "a", "d"], ["1", "2", "2", "3", "3", "4"]) == ["a"] * 5 + ["d"]
    assert _merge_duplicates(["b", "a", "c"], ["1", "1", "1"]) == ["a", "a", "a"]


def test_a_leak_is_named_by_its_group_or_its_identical_sample(tmp_path):
    ds = make_set()
    split = make_split(ds, SplitConfig(seed=0))
    moved = split.ids["train"].pop(0)
    split.ids["test"].append(moved)
    session = ds.records[ds.ids.index(moved)].session
    with pytest.raises(MdaugError, match=rf"^split leaks: session:{session} is in both train and test$"):
        check_leak_free(split, ds)
    copy = make_set(with_sessions=False)
    split = make_split(copy, SplitConfig(seed=0, group_by="sample"))
    first, last = split.ids["train"][0], split.ids["test"][-1]
    i, j = copy.ids.index(first), copy.ids.index(last)
    copy.records[j] = Record(**{**copy.records[j].__dict__, "sample_hash": copy.records[i].sample_hash})
    split.fingerprint = copy.fingerprint()
    with pytest.raises(MdaugError, match=rf"^split leaks: {copy.records[i].sample_hash} is in both train and test$"):
        check_leak_free(split, copy)


def test_the_split_file_holds_everything_and_a_broken_one_is_named(tmp_path):
    import json

    ds = make_set(sessions=1)
    split = make_split(ds, SplitConfig(seed=5))
    path = save_split(split, tmp_path / "split.json")
    saved = json.loads(path.read_text())
    assert saved["counts"] == {"train": 24, "val": 0, "test": 0} and saved["warnings"] == split.warnings
    back = load_split(path)
    assert (back.ids, back.group_by, back.seed, back.fingerprint, back.warnings) == (
        split.ids, "session", 5, ds.fingerprint(), split.warnings)
    del saved["warnings"]
    path.write_text(json.dumps(saved))
    assert load_split(path).warnings == []
    path.write_text("{}")
    with pytest.raises(MdaugError, match=rf"^{path} is not a readable mdaug split file$"):
        load_split(path)
    with pytest.raises(MdaugError, match=r"^the saved split was made for a different dataset \(fingerprint differs\); "
                                         r"make a new split$"):
        back.indices(make_set(sessions=2), "train")


def test_a_budget_above_what_a_class_has_keeps_it_all_and_a_draw_never_repeats_a_sample():
    from mdaug.data.splits import limit_sessions, limit_train

    ds = make_set(sessions=5, per_session=6)
    split = make_split(ds, SplitConfig(seed=1, val_fraction=0.2, test_fraction=0.2))
    assert limit_train(split, ds, 100, seed=7).ids == split.ids
    assert np.bincount(ds.labels[limit_train(split, ds, 17, seed=7).indices(ds, "train")]).tolist() == [17] * 4
    assert limit_sessions(split, ds, 10, seed=7).ids == split.ids
    three = limit_sessions(split, ds, 2, seed=7)  # 2 of each class's 3 training sessions, 2 distinct
    for c in range(4):
        assert len({ds.records[i].session for i in three.indices(ds, "train") if ds.labels[i] == c}) == 2


def test_fractions_summing_to_one_are_refused():
    with pytest.raises(MdaugError, match=r"must be below 1, got 1$"):
        make_split(make_set(), SplitConfig.model_construct(val_fraction=0.5, test_fraction=0.5))
