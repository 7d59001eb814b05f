"""`python -m bench.run` (what `inv bench` runs): its flags reach run_all, and it prints the report and the record."""

import pytest

from bench import run


@pytest.fixture
def recorded(monkeypatch):
    calls = []

    def run_all(**kwargs):
        calls.append(kwargs)
        return {"quick": kwargs["quick"]}, "bench/results/x.json"

    monkeypatch.setattr(run, "run_all", run_all)
    monkeypatch.setattr(run.report, "render", lambda payload: f"REPORT {payload}")
    return calls


def test_every_section_by_default(recorded, capsys):
    run.main([])
    assert recorded == [{"quick": False, "serving": True, "deploy": True, "ship": True, "views": True,
                         "databases": True, "swarm": True, "adopt": True}]
    assert capsys.readouterr().out == "REPORT {'quick': False}\nwrote bench/results/x.json\n"


def test_quick_and_sections_left_out(recorded):
    run.main(["--quick", "--no-swarm", "--no-ship"])
    assert recorded == [{"quick": True, "serving": True, "deploy": True, "ship": False, "views": True,
                         "databases": True, "swarm": False, "adopt": True}]


def test_an_unknown_section_is_refused(recorded, capsys):
    with pytest.raises(SystemExit) as done:
        run.main(["--no-such"])
    assert done.value.code == 2 and "unrecognized arguments: --no-such" in capsys.readouterr().err
    assert recorded == []
