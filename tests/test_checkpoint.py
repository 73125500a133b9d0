"""Checkpoints: a resumed run ends bit-identical to an uninterrupted one."""

import copy
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from dlia_a2 import blas, training
from dlia_a2 import checkpoint as ck
from dlia_a2.config import TrainConfig
from dlia_a2.files import remove_stale_parts

ROOT = Path(__file__).resolve().parents[1]


def data(n=400, d=30, c=5, seed=0):
    r = np.random.default_rng(seed)
    centres = r.standard_normal((c, d)) * 2
    y = r.integers(0, c, n)
    return (centres[y] + r.standard_normal((n, d))).astype(np.float32), y


def same(p, q):
    return set(p) == set(q) and all(p[k].tobytes() == q[k].tobytes() for k in p)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_resume_from_any_checkpoint_gives_same_bits(optimizer):
    X, y = data()
    cfg = TrainConfig(
        layer_sizes=(30, 16, 5),
        init="he",
        learning_rate=0.01,
        batch_size=32,
        epochs=3,
        optimizer=optimizer,
        eval_every=5,
    )
    sets = {"train": (X, y)}
    saved = []
    keep = lambda s: saved.append(copy.deepcopy(s))
    p_full, h_full = training.train(X, y, cfg, np.random.default_rng(9), eval_sets=sets, on_checkpoint=keep)
    assert [s.epoch for s in saved] == [1, 2, 3]
    for state in saved:
        p, h = training.train(X, y, cfg, np.random.default_rng(12345), eval_sets=sets, resume=copy.deepcopy(state))
        assert same(p, p_full), state.epoch
        assert h.to_dict() == h_full.to_dict()


def test_checkpoint_file_roundtrip_without_pickle(tmp_path):
    X, y = data()
    cfg = TrainConfig(layer_sizes=(30, 5), epochs=1, optimizer="adam", learning_rate=0.01)
    states = []
    training.train(X, y, cfg, np.random.default_rng(0), on_checkpoint=lambda s: states.append(copy.deepcopy(s)))
    path = ck.save(tmp_path / "run", states[-1], cfg, "abc")
    assert path.suffix == ".npz" and path.with_suffix(".json").exists()
    with np.load(path, allow_pickle=False) as z:  # arrays only
        assert "param/W1" in z.files and "opt/m_W1" in z.files
    state, meta = ck.load(path)
    assert meta["fingerprint"] == "abc" and meta["config"] == cfg.to_dict()
    assert same(state.params, states[-1].params)
    assert state.rng_state == states[-1].rng_state
    assert json.loads(path.with_suffix(".json").read_text())["iteration"] == state.iteration


def test_damaged_checkpoint_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "run.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ck.CheckpointError, match="run.npz cannot be read.*delete it"):
        ck.load(bad)


def test_checkpoint_of_another_run_is_not_resumed(tmp_path):
    X, y = data()
    cfg = TrainConfig(layer_sizes=(30, 5), epochs=2, learning_rate=0.1)
    logs = []
    p1, _ = ck.train_resumable(X, y, cfg, 0, tmp_path / "run", log=logs.append)
    other = TrainConfig(layer_sizes=(30, 5), epochs=2, learning_rate=0.2)
    p2, _ = ck.train_resumable(X, y, other, 0, tmp_path / "run", log=logs.append)
    assert "another run" in logs[-1]
    fresh, _ = training.train(X, y, other, np.random.default_rng(0))
    assert same(p2, fresh)
    ck.train_resumable(X, y, other, 0, tmp_path / "run", log=logs.append)
    assert "resuming" in logs[-1] and "epoch 2" in logs[-1]


def test_damaged_checkpoint_file_is_ignored_and_replaced(tmp_path):
    X, y = data()
    cfg = TrainConfig(layer_sizes=(30, 5), epochs=1)
    (tmp_path / "run.npz").write_bytes(b"garbage")
    logs = []
    p, _ = ck.train_resumable(X, y, cfg, 0, tmp_path / "run", log=logs.append)
    assert "ignoring" in logs[0] and "run.npz cannot be read" in logs[0]
    assert ck.load(tmp_path / "run.npz")[0].epoch == 1


CHILD = textwrap.dedent("""
    import sys, numpy as np
    from dlia_a2 import checkpoint as ck
    from dlia_a2.config import TrainConfig
    r = np.random.default_rng(0)
    centres = r.standard_normal((10, 200)) * 2
    y = r.integers(0, 10, 6000)
    X = (centres[y] + r.standard_normal((6000, 200))).astype(np.float32)
    cfg = TrainConfig(layer_sizes=(200, 256, 10), init="he", learning_rate=0.01,
                      batch_size=32, epochs=int(sys.argv[3]), optimizer="momentum",
                         eval_every=50)
    path = sys.argv[1]
    p, h = ck.train_resumable(X, y, cfg, 7, path if path != "-" else sys.argv[2] + ".tmp",
                              eval_sets={"train": (X[:1000], y[:1000])})
    np.savez(sys.argv[2], **p)
    import json; open(sys.argv[2] + ".json", "w").write(json.dumps(h.to_dict()))
""")


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_killed_training_resumes_bit_identical(tmp_path, how):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    # A shell that starts a job in the background without job control (a CI
    # runner may) makes it ignore SIGINT, and so its children; Python then
    # installs no KeyboardInterrupt handler and the "Ctrl-C" below was lost.
    # The child gets SIGINT's default back, as under a terminal.
    run = lambda *a: subprocess.Popen(
        [sys.executable, str(script), *map(str, a)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # the uninterrupted run: long enough (20 epochs of 188 steps) that the
    # stop below, sent after the second epoch's checkpoint, finds it running
    ref = run(tmp_path / "ref-ckpt", tmp_path / "ref.npz", 20)
    assert ref.wait(timeout=300) == 0, ref.stderr.read()
    # the same run, stopped part-way once a few checkpoints were written
    ckpt = tmp_path / "ckpt.npz"
    child = run(ckpt, tmp_path / "out.npz", 20)
    deadline = time.time() + 120

    def saved_iteration():  # the npz is authoritative; it is replaced atomically
        return ck.load(ckpt)[0].iteration if ckpt.exists() else -1

    while time.time() < deadline and saved_iteration() < 300:
        time.sleep(0.05)
    time.sleep(0.137)  # somewhere inside an iteration
    child.send_signal(how)
    err = child.communicate(timeout=60)[1]
    assert child.returncode != 0, "the child finished before it was stopped"
    if how == signal.SIGINT:
        assert "interrupted; run again to resume" in err
    stopped_at = saved_iteration()
    assert stopped_at < 20 * 188
    assert not (tmp_path / "out.npz").exists()
    # resume
    again = run(ckpt, tmp_path / "out.npz", 20)
    err = again.communicate(timeout=300)[1]
    assert again.returncode == 0, err
    assert f"resuming from {ckpt} at iteration {stopped_at}" in err
    with np.load(tmp_path / "ref.npz") as a, np.load(tmp_path / "out.npz") as b:
        assert all(a[k].tobytes() == b[k].tobytes() for k in a.files)
    assert (tmp_path / "ref.npz.json").read_text() == (tmp_path / "out.npz.json").read_text()


def test_checkpoint_from_another_blas_thread_count_is_not_resumed(tmp_path):
    from threadpoolctl import threadpool_limits

    X, y = data()
    cfg = TrainConfig(layer_sizes=(30, 5), epochs=1)
    with threadpool_limits(1):
        one = ck.fingerprint(X, y, cfg, 0)
    with threadpool_limits(2):
        two = ck.fingerprint(X, y, cfg, 0)
    assert one != two


def test_fingerprint_changes_with_the_seed():
    """The seed is in every run's checkpoint name (``jobs.Run``), and in the
    fingerprint too, so that a checkpoint moved or named by hand is still
    not resumed by a run with another seed."""
    X, y = data()
    cfg = TrainConfig(layer_sizes=(30, 5), epochs=1)
    assert ck.fingerprint(X, y, cfg, 0) != ck.fingerprint(X, y, cfg, 1)
    assert ck.fingerprint(X, y, cfg, 0) == ck.fingerprint(X, y, cfg, 0)


def test_fingerprint_changes_with_the_blas_path(monkeypatch):
    """Fused and plain NumPy round differently: a run must not resume on the
    other path."""
    X, y = data()
    cfg = TrainConfig(layer_sizes=(30, 5), epochs=1)
    before = ck.fingerprint(X, y, cfg, 0)
    monkeypatch.setattr(blas, "PATH", "plain NumPy: forced by the test")
    assert ck.fingerprint(X, y, cfg, 0) != before


def test_fingerprint_covers_the_core_and_every_module_of_the_package():
    """Globbed, not listed: optimizers.py and blas.py were once left out, and
    modules split off training.py are covered without being named."""
    package = Path(ck.__file__).parent
    expected = {ROOT / "mlp_core.py", *package.glob("*.py")}
    assert {p.resolve() for p in ck.CODE_FILES} == {p.resolve() for p in expected}
    assert {"optimizers.py", "blas.py", "training.py", "checkpoint.py"} <= {p.name for p in ck.CODE_FILES}


@pytest.mark.parametrize("name", ["mlp_core.py", "optimizers.py", "blas.py", "training.py"])
def test_fingerprint_changes_with_each_code_file(tmp_path, monkeypatch, name):
    copies = []
    for f in ck.CODE_FILES:
        copies.append(tmp_path / f.parent.name / f.name)
        copies[-1].parent.mkdir(exist_ok=True)
        copies[-1].write_bytes(f.read_bytes())
    monkeypatch.setattr(ck, "CODE_FILES", tuple(copies))
    X, y = data()
    cfg = TrainConfig(layer_sizes=(30, 5), epochs=1)
    before = ck.fingerprint(X, y, cfg, 0)
    (edited,) = [c for c in copies if c.name == name]
    edited.write_bytes(edited.read_bytes() + b"\n# an edit\n")
    assert ck.fingerprint(X, y, cfg, 0) != before


WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from dlia_a2 import files
    def stall(fd):  # the data is written, the rename not yet done: killed here
        print("writing", flush=True)
        time.sleep(120)
    os.fsync = stall
    files.atomic_write(Path(sys.argv[1]), b"half of a checkpoint" * 100)
""")


def test_part_file_of_a_killed_write_is_removed_on_the_next_run(tmp_path):
    """A kill during a checkpoint write leaves a locked *.part file: left
    alone while its writer lives, removed by the next run once it is dead."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    target = tmp_path / "run.npz"
    writer = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        (part,) = tmp_path.glob("run.npz.*.part")
        assert remove_stale_parts(target) == [] and part.exists()  # another process is writing it
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert part.exists() and not target.exists()
    X, y = data()
    logs = []
    ck.train_resumable(X, y, TrainConfig(layer_sizes=(30, 5), epochs=1), 0, tmp_path / "run", log=logs.append)
    assert f"[checkpoint] removed {part}, left by an interrupted write" in logs
    assert not part.exists() and target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.npz", "writer.py"]
