"""The hostile-input catalogue (issue 15): run directories people share cannot run code.

One test per crafted directory. Each runs ``gymkit evaluate`` and/or ``gymkit train --resume``
on it and asserts: one line on stderr naming the file and the reason, exit code 2, no
traceback, the marker file a crafted pickle (or module) would create absent, and every file
of the run directory (and of any outside target) byte-identical afterwards.

The run is trained once per module (a tiny DQN, so weights, optimizer slots and replay files
exist) and copied per test.
"""

from __future__ import annotations

import io
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import gymkit
from gymkit.checkpoint import MANIFEST, checkpoint_dirs, verify_folder
from gymkit.spaces_json import read_spaces

from .hostile import (
    EVALUATE,
    RESUME,
    RunsCode,
    assert_refused,
    crafted_pickle,
    rehash,
    sealed_folders,
    sha256,
    snapshot,
)
from .hostile import gymkit as run_gymkit

#: every file of a DQN agent folder (agent/ and each checkpoint; loop_state.json: checkpoints only)
AGENT_FILES = ("agent.json", "spaces.json", "critic.weights.h5", "actor.weights.h5", "dqn_state.json",
               "optimizer.npz", "replay/actions.npy", "replay/cursor.npy", "replay/filled.npy",
               "replay/flags.npy", "replay/frames.npy", "replay/open.npy", "replay/rewards.npy")


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("hostile") / "run"
    gymkit.train("dqn", "CartPole-v1", steps=300, run_dir=run, progress=False, seed=0,
                 config={"training_start": 100, "replay_memory_size": 500, "hidden_sizes": [8],
                         "batch_size": 16},
                 checkpoint_every=100, eval_every=150, keep_best=True, eval_episodes=1,
                 periodic_eval_episodes=1)
    return run


@pytest.fixture
def run(base_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(base_run, copy, symlinks=True)
    return copy


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "MARKER"


def latest(run: Path) -> Path:
    return checkpoint_dirs(run)[-1]


def in_every_folder(run: Path, rel: str, write) -> None:
    """``write(path)`` on ``rel`` in every sealed folder holding it, then re-hash each (the attack)."""
    for folder in sealed_folders(run):
        if (folder / rel).exists():
            write(folder / rel)
            rehash(folder)


# -- the baseline: a clean copy works, and the crafted pickle really runs code ----------------


def test_a_clean_copy_evaluates_and_resumes(capsys, run):
    rc, out, err = run_gymkit(capsys, *EVALUATE, run=run)
    assert rc == 0, err
    rc, out, err = run_gymkit(capsys, *RESUME, run=run)
    assert rc == 0, err
    assert latest(run).name == "step_000000000400"


def test_the_crafted_pickle_really_runs_code(marker, tmp_path):
    pickle.loads(crafted_pickle(marker))  # what `gymkit evaluate` did before issue 15
    assert marker.exists()
    marker.unlink()
    payload = np.empty(1, dtype=object)
    payload[0] = RunsCode(marker)
    np.save(tmp_path / "x.npy", payload, allow_pickle=True)
    np.load(tmp_path / "x.npy", allow_pickle=True)  # what allow_pickle=True would do
    assert marker.exists()


def test_agent_files_listed_here_are_all_the_files(run):
    on_disk = {p.relative_to(run / "agent").as_posix() for p in (run / "agent").rglob("*") if p.is_file()}
    assert on_disk - {MANIFEST} == set(AGENT_FILES)
    assert "spaces.pkl" not in {p.name for p in run.rglob("*")}


# -- 1. a crafted pickle in place of each file of an agent directory --------------------------


@pytest.mark.parametrize("rel", AGENT_FILES + ("loop_state.json",))
def test_crafted_pickle_in_place_of(capsys, run, marker, rel):
    in_every_folder(run, rel, lambda p: p.write_bytes(crafted_pickle(marker)))
    if (run / "agent" / rel).exists():
        assert_refused(capsys, run, EVALUATE, rel, marker)
    assert_refused(capsys, run, RESUME, rel, marker)


def test_crafted_pickle_as_a_listed_spaces_pkl(capsys, run, marker):
    """A format-2 folder whose manifest lists a spaces.pkl: refused, the pickle never read."""
    in_every_folder(run, "spaces.json", lambda p: p.with_name("spaces.pkl").write_bytes(crafted_pickle(marker)))
    assert_refused(capsys, run, EVALUATE, "spaces.pkl is a pickle, which gymkit never reads", marker)
    assert_refused(capsys, run, RESUME, "spaces.pkl is a pickle, which gymkit never reads", marker)


# -- 2. YAML with a python tag in config.yaml -------------------------------------------------


def _tag_config(run: Path, marker: Path) -> None:
    path = run / "config.yaml"
    text = path.read_text().replace("agent: dqn", f"agent: !!python/object/apply:os.system ['touch {marker}']")
    assert "python/object" in text
    path.write_text(text)


def test_yaml_python_tag_in_config_for_evaluate(capsys, run, marker):
    _tag_config(run, marker)
    assert_refused(capsys, run, EVALUATE, "config.yaml is not plain YAML", marker)


def test_yaml_python_tag_in_config_for_resume(capsys, run, marker):
    _tag_config(run, marker)
    assert_refused(capsys, run, RESUME, "config.yaml is not plain YAML", marker)


# -- 3. symbolic links to files outside the run directory -------------------------------------


@pytest.mark.parametrize("rel", ["config.yaml", "metrics.csv", "agent/critic.weights.h5", "checkpoints/LATEST",
                                 "checkpoints", "best", "agent"])
def test_symlink_to_outside(capsys, run, tmp_path, rel):
    """The outside copy has the very bytes the manifest lists, so only the link check can refuse it."""
    if rel == "checkpoints/LATEST":
        rel = f"checkpoints/{latest(run).name}"
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / Path(rel).name
    shutil.move(run / rel, target)
    (run / rel).symlink_to(target, target_is_directory=target.is_dir())
    assert_refused(capsys, run, EVALUATE, "is a symbolic link", outside=outside)
    assert_refused(capsys, run, RESUME, "is a symbolic link", outside=outside)


def test_wandb_folder_keeps_its_links(capsys, run):
    (run / "wandb" / "run-1").mkdir(parents=True)
    (run / "wandb" / "latest-run").symlink_to(run / "wandb" / "run-1", target_is_directory=True)
    rc, _, err = run_gymkit(capsys, *EVALUATE, run=run)
    assert rc == 0, err


# -- 4. manifests that reach outside, and files the manifest does not list --------------------


@pytest.mark.parametrize("how", ["dotdot", "absolute"])
def test_manifest_entry_out_of_the_folder(capsys, run, tmp_path, how):
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the run directory\n")
    for folder in (run / "agent", latest(run)):
        rel = str(secret) if how == "absolute" else "../" * len(folder.relative_to(tmp_path).parts) + "secret.txt"
        assert (folder / rel).resolve() == secret.resolve()
        rehash(folder, extra={rel: sha256(secret)})
    fragment = "which is absolute or climbs out of the folder"
    assert_refused(capsys, run, EVALUATE, fragment, outside=tmp_path / "secret.txt")
    assert_refused(capsys, run, RESUME, fragment)


def test_file_on_disk_missing_from_the_manifest(capsys, run, marker):
    for folder in (run / "agent", latest(run)):
        (folder / "evil.py").write_text(f"import os\nos.system('touch {marker}')\n")
    assert_refused(capsys, run, EVALUATE, "evil.py is not listed in", marker)
    assert_refused(capsys, run, RESUME, "evil.py is not listed in", marker)


# -- 5. .npy / .npz headers claiming 10**12 elements -----------------------------------------


def _huge_npy() -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    return buf.getvalue() + b"\0" * 64


def test_npy_header_claiming_1e12_elements(capsys, run):
    in_every_folder(run, "replay/frames.npy", lambda p: p.write_bytes(_huge_npy()))
    line = assert_refused(capsys, run, EVALUATE, "1,000,000,000,000 elements")
    assert "replay/frames.npy" in line and "of memory available" in line
    assert_refused(capsys, run, RESUME, "1,000,000,000,000 elements")


def test_npz_member_claiming_1e12_elements(capsys, run):
    def write(p: Path) -> None:
        with zipfile.ZipFile(p, "w") as zf:
            zf.writestr("v0.npy", _huge_npy())

    in_every_folder(run, "optimizer.npz", write)
    assert_refused(capsys, run, EVALUATE, "optimizer.npz member v0.npy claims shape (1000000000000,)")
    assert_refused(capsys, run, RESUME, "optimizer.npz member v0.npy claims shape (1000000000000,)")


# -- 6. replay arrays of the wrong dtype or shape ---------------------------------------------


def test_replay_array_of_the_wrong_dtype(capsys, run):
    in_every_folder(run, "replay/actions.npy",
                    lambda p: np.save(p, np.load(p).astype(np.float64) + 0.5))
    assert_refused(capsys, run, EVALUATE, "replay/actions.npy holds dtype float64, expected int32")
    assert_refused(capsys, run, RESUME, "replay/actions.npy holds dtype float64, expected int32")


def test_replay_array_of_the_wrong_shape(capsys, run):
    in_every_folder(run, "replay/rewards.npy", lambda p: np.save(p, np.zeros(501, np.float32)))
    assert_refused(capsys, run, EVALUATE, "replay/rewards.npy has shape (501,), expected (500,)")
    assert_refused(capsys, run, RESUME, "replay/rewards.npy has shape (501,), expected (500,)")


def test_object_array_in_replay(capsys, run, marker):
    """An .npy of dtype object is a pickle inside: refused from its header, never unpickled."""
    def write(p: Path) -> None:
        payload = np.empty(1, dtype=object)
        payload[0] = RunsCode(marker)  # np.save pickles it: np.load(allow_pickle=True) would run it
        np.save(p, payload, allow_pickle=True)

    in_every_folder(run, "replay/flags.npy", write)
    assert_refused(capsys, run, EVALUATE, "holds Python objects (dtype object)", marker)
    assert_refused(capsys, run, RESUME, "holds Python objects (dtype object)", marker)


# -- 7. NaN in saved weights -----------------------------------------------------------------


def test_nan_in_saved_weights(capsys, run):
    def poison(p: Path) -> None:
        with h5py.File(p, "r+") as f:
            names = []
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and o.dtype.kind == "f" else None)
            data = f[names[0]][()]
            data.flat[0] = np.nan
            f[names[0]][...] = data

    in_every_folder(run, "critic.weights.h5", poison)
    assert_refused(capsys, run, EVALUATE, "holds NaN")
    assert_refused(capsys, run, RESUME, "holds NaN")


def test_nan_in_saved_optimizer_slots(capsys, run):
    def poison(p: Path) -> None:
        arrays = dict(np.load(p))
        key = next(k for k, v in arrays.items() if v.dtype.kind == "f" and v.size)
        arrays[key] = arrays[key].copy()
        arrays[key].flat[0] = np.nan
        np.savez(p, **arrays)

    in_every_folder(run, "optimizer.npz", poison)
    assert_refused(capsys, run, EVALUATE, "optimizer.npz member")
    assert_refused(capsys, run, RESUME, "holds NaN")


# -- 8. a class in agent.json (or config.yaml) that is not an Agent ---------------------------


def _set_class(folder: Path, name: str) -> None:
    meta = json.loads((folder / "agent.json").read_text())
    meta["class"] = name
    (folder / "agent.json").write_text(json.dumps(meta))
    rehash(folder)


@pytest.mark.parametrize("name, fragment", [
    ("os:system", "names Python's standard library (os)"),
    ("subprocess:Popen", "names Python's standard library (subprocess)"),
    ("builtins:eval", "names Python's standard library (builtins)"),
    ("gymkit.agents.base:masked_argmax", "not a gymkit Agent subclass"),
    ("gymkit.registry:resolve_agent", "not a gymkit Agent subclass"),
    ("/tmp/evil.py:Agent", "is not a 'module:name' import path"),
    ("../evil:Agent", "is not a 'module:name' import path"),
    ("evil", "is not a 'module:name' import path"),
])
def test_agent_json_class_that_is_not_an_agent(capsys, run, marker, name, fragment):
    _set_class(run / "agent", name)
    line = assert_refused(capsys, run, EVALUATE, fragment, marker)
    assert "agent.json" in line


@pytest.mark.parametrize("name", ["os:system", "gymkit.agents.base:masked_argmax", "gymkit.agents.random:RandomAgent"])
def test_agent_json_class_that_disagrees_with_config_for_resume(capsys, run, marker, name):
    _set_class(latest(run), name)
    assert_refused(capsys, run, RESUME, f"agent.json names the agent class '{name}', but the folder is being "
                   "loaded as gymkit.agents.dqn.agent:DQNAgent", marker)


def test_agent_json_class_from_a_module_inside_the_run_directory(capsys, run, marker, monkeypatch):
    """Even when the run directory is on sys.path (python -m gymkit run from inside it)."""
    (run / "evil_in_run.py").write_text(f"import os\nos.system('touch {marker}')\nclass Agent: pass\n")
    monkeypatch.syspath_prepend(str(run))
    _set_class(run / "agent", "evil_in_run:Agent")
    assert_refused(capsys, run, EVALUATE, "inside the run directory", marker)


@pytest.mark.parametrize("name, fragment", [
    ("os:system", "names Python's standard library (os)"),
    ("gymkit.agents.base:masked_argmax", "not a gymkit Agent subclass"),
])
def test_config_yaml_agent_that_is_not_an_agent_for_resume(capsys, run, marker, name, fragment):
    path = run / "config.yaml"
    path.write_text(path.read_text().replace("agent: dqn", f"agent: '{name}'"))
    assert_refused(capsys, run, RESUME, fragment, marker)


@pytest.mark.parametrize("args", [EVALUATE, RESUME], ids=["evaluate", "resume"])
def test_config_yaml_env_importing_the_standard_library(capsys, run, args):
    path = run / "config.yaml"
    path.write_text(path.read_text().replace("env: CartPole-v1", "env: os:CartPole-v1"))
    assert_refused(capsys, run, args, "env 'os:CartPole-v1' would import os, from Python's standard library")


def test_loop_state_naming_a_function_as_bit_generator(capsys, run):
    def write(p: Path) -> None:
        state = json.loads(p.read_text())
        state["env_rng"][0]["bit_generator"] = "seed"
        p.write_text(json.dumps(state))

    in_every_folder(run, "loop_state.json", write)
    assert_refused(capsys, run, RESUME, "'seed' is not one of NumPy's bit generators")


# -- 9. format 1 (spaces.pkl) and gymkit upgrade-run ------------------------------------------


def _to_format_1(run: Path, payload: bytes | None = None) -> None:
    """What gymkit wrote before issue 15: spaces.pkl instead of spaces.json, manifest version 1."""
    for folder in sealed_folders(run):
        spaces = read_spaces(folder / "spaces.json")
        (folder / "spaces.json").unlink()
        (folder / "spaces.pkl").write_bytes(payload if payload and folder.name == "agent" else pickle.dumps(spaces))
        rehash(folder, version=1)


def test_format_1_is_refused_naming_upgrade_run(capsys, run):
    _to_format_1(run)
    line = assert_refused(capsys, run, EVALUATE, f"gymkit upgrade-run {run} --trust")
    assert "pickle" in line
    assert_refused(capsys, run, RESUME, f"gymkit upgrade-run {run} --trust")


def test_upgrade_run_needs_trust(capsys, run):
    _to_format_1(run)
    assert_refused(capsys, run, ("upgrade-run", "{run}"), "--trust")


def test_upgrade_run_with_trust_converts_in_place(capsys, run):
    _to_format_1(run)
    before = snapshot(run)
    rc, out, err = run_gymkit(capsys, "upgrade-run", "{run}", "--trust", run=run)
    assert rc == 0, err
    assert "4 folder(s)" in out
    after = snapshot(run)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert {Path(k).name for k in changed} == {"spaces.pkl", "spaces.json", MANIFEST}
    for folder in sealed_folders(run):
        assert verify_folder(folder)["format_version"] == 2
        assert not (folder / "spaces.pkl").exists()
    rc, _, err = run_gymkit(capsys, *EVALUATE, run=run)
    assert rc == 0, err
    rc, out, _ = run_gymkit(capsys, "upgrade-run", "{run}", "--trust", run=run)
    assert rc == 0 and "nothing to convert" in out


def test_upgrade_run_with_trust_still_runs_no_code(capsys, run, marker):
    """--trust reads the pickle, but with an unpickler that builds only spaces: all or nothing."""
    _to_format_1(run, payload=crafted_pickle(marker))
    assert_refused(capsys, run, ("upgrade-run", "{run}", "--trust"), "not a pickle of two Gymnasium spaces", marker)


def test_pretrain_policy_run_on_a_crafted_directory(capsys, run, marker, tmp_path):
    """gymkit pretrain --policy-run loads the run's agent the same safe way."""
    in_every_folder(run, "critic.weights.h5", lambda p: p.write_bytes(crafted_pickle(marker)))
    out = tmp_path / "encoder-out"
    assert_refused(capsys, run, ("pretrain", "--policy-run", "{run}", "--kind", "linear", "--observations", "20",
                                 "--out", str(out)), "critic.weights.h5 is not an HDF5 weights file", marker)
    assert not out.exists()


def test_an_interrupted_upgrade_is_finished_by_running_it_again(capsys, run, monkeypatch):
    import gymkit.upgrade as upgrade

    _to_format_1(run)
    real, calls = upgrade._fsync_dir, {"n": 0}

    def crash_after_first_swap(path):
        real(path)
        if path.name in ("checkpoints",) or path == run:
            calls["n"] += 1
            if calls["n"] == 1:
                raise KeyboardInterrupt  # the power went out between two folders' swaps

    monkeypatch.setattr(upgrade, "_fsync_dir", crash_after_first_swap)
    rc, _, err = run_gymkit(capsys, "upgrade-run", "{run}", "--trust", run=run)
    assert rc == 130, err
    versions = sorted(json.loads((f / MANIFEST).read_text())["format_version"] for f in sealed_folders(run))
    assert versions == [1, 1, 1, 2]  # one folder swapped, three not yet
    assert list(run.glob(".old-upgrade-*")) or list(run.glob("checkpoints/.old-upgrade-*"))
    monkeypatch.setattr(upgrade, "_fsync_dir", real)
    rc, out, err = run_gymkit(capsys, "upgrade-run", "{run}", "--trust", run=run)
    assert rc == 0 and "3 folder(s)" in out, err
    assert not list(run.rglob(".old-upgrade-*")) and not list(run.rglob(".tmp-upgrade-*"))
    for folder in sealed_folders(run):
        assert verify_folder(folder)["format_version"] == 2
    rc, _, err = run_gymkit(capsys, *RESUME, run=run)
    assert rc == 0, err
