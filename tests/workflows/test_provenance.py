"""The machine line of every model card and results file says when torch computed on fewer threads than cores."""

from mdaug.workflows import provenance


def test_fewer_threads_than_cores_are_named_and_all_cores_are_not(monkeypatch):
    monkeypatch.setattr(provenance.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(provenance.torch, "get_num_threads", lambda: 1)
    assert provenance.machine().split(", ")[1:4:2] == ["2 CPU cores", "1 torch thread"]
    monkeypatch.setattr(provenance.torch, "get_num_threads", lambda: 2)
    assert "thread" not in provenance.machine()
    monkeypatch.setattr(provenance.os, "cpu_count", lambda: 16)
    monkeypatch.setattr(provenance.torch, "get_num_threads", lambda: 4)
    assert ", 4 torch threads" in provenance.machine()
