"""gymkit regress (golden files, exact/stat/auto checks, exit codes) and gymkit.stats."""

from __future__ import annotations

import json
import shutil

import pytest

from gymkit.cli import main
from gymkit.machine import machine_signature
from gymkit.stats import bootstrap_ci, fisher_p_less, iqm, permutation_p_less
from gymkit.testing import check_regression

#: tabular Q-Learning on the deterministic FrozenLake: finds the goal on every seed in 3,000 steps
RECORD = ["regress", "record", "--agent", "q-learning", "--env", "FrozenLake-v1",
          "--env-kwargs", "{is_slippery: false}", "--set", "exploration=epsilon-greedy",
          "--set", "learning_rate0=0.5", "--set", "learning_rate_decay=0", "--set", "eps_decay_steps=2000",
          "--set", "discount_rate=0.95", "--steps", "3000", "--eval-episodes", "3", "--seeds", "5",
          "--target", "1.0"]
#: a learning rate so small that every bootstrapped update underflows to 0: nothing is learnt
CANNOT_LEARN = ["--set", "learning_rate0=1e-300"]


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    path = tmp_path_factory.mktemp("golden") / "frozenlake.json"
    assert main([*RECORD, "--out", str(path)]) == 0
    return path


def test_record_writes_settings_per_seed_results_and_the_machine(golden):
    data = json.loads(golden.read_text())
    assert data["format_version"] == 1 and data["agent"] == "q-learning" and data["env"] == "FrozenLake-v1"
    assert data["settings"]["steps"] == 3000 and data["settings"]["env_kwargs"] == {"is_slippery": False}
    assert data["config"]["learning_rate0"] == 0.5 and data["target"] == 1.0
    assert [s["seed"] for s in data["seeds"]] == [0, 1, 2, 3, 4]
    assert all(s["returns"] == [1.0, 1.0, 1.0] and len(s["metrics_sha256"]) == 64 for s in data["seeds"])
    machine = data["machine"]
    assert machine["cpu"] and "TF_NUM_INTRAOP_THREADS" in machine["threads"]
    assert {"gymkit", "numpy", "python"} <= set(machine["versions"])


def test_unchanged_rerun_passes_exactly(golden, capsys):
    assert main(["regress", "check", str(golden), "--mode", "exact"]) == 0
    out = capsys.readouterr().out
    assert "mode exact: no regression: every metrics.csv is identical" in out
    assert out.count("same") == 5 and "+0.000" in out


def test_a_learning_rate_that_cannot_learn_is_a_regression(golden, capsys):
    assert main(["regress", "check", str(golden), *CANNOT_LEARN]) == 1
    out = capsys.readouterr().out
    assert "mode stat: REGRESSION" in out and "success (>= 1) 0/5 vs golden 5/5" in out
    assert "p=0.0040" in out  # the exact permutation p-value 1 / C(10, 5)
    assert out.count("-1.000") == 5


def test_exact_mode_reports_a_changed_metrics_file(golden, tmp_path, capsys):
    data = json.loads(golden.read_text())
    data["seeds"][2]["metrics_sha256"] = "0" * 64
    tampered = tmp_path / "t.json"
    tampered.write_text(json.dumps(data))
    assert main(["regress", "check", str(tampered), "--mode", "exact"]) == 1
    assert "metrics.csv differs for seed(s) 2" in capsys.readouterr().out


def test_auto_mode_falls_back_to_stat_on_another_machine(golden, tmp_path, capsys):
    data = json.loads(golden.read_text())
    data["machine"]["cpu"] = "Some Other CPU"
    for s in data["seeds"]:
        s["metrics_sha256"] = "f" * 64  # another machine's bytes: exact could not pass
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    assert main(["regress", "check", str(other)]) == 0
    assert "mode stat: no regression" in capsys.readouterr().out


@pytest.mark.parametrize("change", ["other_model", "other_flags", "recorded_before_cpu_id"])
def test_auto_mode_tells_two_cpus_of_one_model_name_apart(golden, tmp_path, capsys, change):
    """An "AMD EPYC" with AVX2 only and one with AVX-512 sum floats differently: the same model
    name is not the same machine (nor is a file that did not record the CPU's identity)."""
    data = json.loads(golden.read_text())
    assert data["machine"]["cpu_id"]["isa"] == machine_signature()["cpu_id"]["isa"]
    if change == "other_model":
        data["machine"]["cpu_id"]["model"] = "not " + str(data["machine"]["cpu_id"].get("model"))
    elif change == "other_flags":
        data["machine"]["cpu_id"]["isa"] = ["avx", "avx2", "fma", "made_up_flag"]
    else:
        del data["machine"]["cpu_id"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    assert main(["regress", "check", str(other)]) == 0
    assert "mode stat: no regression" in capsys.readouterr().out


def test_check_regression_raises_with_the_table(golden):
    report = check_regression(golden)
    assert not report.regression and report.mode == "exact"
    with pytest.raises(AssertionError, match=r"(?s)gymkit regression in .*seed.*golden.*REGRESSION"):
        check_regression(golden, overrides={"learning_rate0": 1e-300})


def _bad(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("make, message", [
    (lambda t: str(t / "missing.json"), "does not exist"),
    (lambda t: _bad(t, "{not json"), "is not valid JSON"),
    (lambda t: _bad(t, json.dumps({"format_version": 99})), "has format version 99"),
    (lambda t: _bad(t, json.dumps({"format_version": 1, "agent": "random"})), "lacks"),
])
def test_bad_golden_files_exit_2_with_one_line(tmp_path, capsys, make, message):
    assert main(["regress", "check", make(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_record_refuses_an_unknown_preset_and_an_existing_out(golden, tmp_path, capsys):
    assert main(["regress", "record", "--preset", "no-such-preset", "--seeds", "1",
                 "--out", str(tmp_path / "g.json")]) == 2
    assert "unknown preset 'no-such-preset'" in capsys.readouterr().err
    copy = tmp_path / "exists.json"
    shutil.copy(golden, copy)
    before = copy.read_bytes()
    assert main([*RECORD, "--out", str(copy)]) == 2
    assert "exists: choose another file, or pass --force" in capsys.readouterr().err
    assert copy.read_bytes() == before


def test_interquartile_mean_and_bootstrap_interval():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8, 9, 100]) == pytest.approx(5.5)  # 2 trimmed each end
    assert iqm([5.0]) == 5.0
    lo, hi = bootstrap_ci([10.0] * 6)
    assert lo == hi == 10.0
    lo, hi = bootstrap_ci(list(range(20)))
    assert lo < iqm(range(20)) < hi


def test_permutation_and_fisher_tests():
    assert permutation_p_less([500, 500, 500], [10, 12, 9]) == pytest.approx(1 / 20)
    assert permutation_p_less([5, 5, 5], [5, 5, 5]) == 1.0
    assert permutation_p_less([1, 2, 3], [4, 5, 6]) == pytest.approx(1.0)
    big = permutation_p_less(list(range(12)), [x - 6 for x in range(12)])  # Monte Carlo branch
    assert 0.0 < big < 0.05
    assert fisher_p_less(10, 10, 4, 10) == pytest.approx(0.005418, abs=1e-6)
    assert fisher_p_less(3, 3, 2, 3) == pytest.approx(0.5)
    assert fisher_p_less(5, 10, 9, 10) > 0.9
