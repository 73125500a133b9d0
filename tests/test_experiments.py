import numpy as np
import pytest

from dlia_a2 import experiments as ex
from dlia_a2.training import TrainConfig


def blobs(n=300, d=20, c=4, seed=0):
    """Gaussian clusters; ``seed`` draws other samples of the same clusters."""
    centres = np.random.default_rng(0).standard_normal((c, d)) * 3
    r = np.random.default_rng(seed + 1)
    y = r.integers(0, c, n)
    return (centres[y] + r.standard_normal((n, d))).astype(np.float32), y


def test_grid_builds_every_combination():
    base = TrainConfig(layer_sizes=(20, 8, 4))
    cfgs = ex.grid(base, learning_rate=[0.1, 0.2], hidden_sizes=[[8], [16, 16]])
    assert [(c.learning_rate, c.layer_sizes) for c in cfgs] == [
        (0.1, (20, 8, 4)),
        (0.1, (20, 16, 16, 4)),
        (0.2, (20, 8, 4)),
        (0.2, (20, 16, 16, 4)),
    ]
    with pytest.raises(ValueError, match="unknown training setting"):
        ex.grid(base, lr=[0.1])


def test_search_marks_diverged_runs_and_goes_on():
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    base = TrainConfig(layer_sizes=(20, 16, 4), init="he", epochs=2, batch_size=16)
    results = ex.search(ex.grid(base, learning_rate=[0.05, 1e5]), X, y, Xv, yv, workers=1)
    assert not results[0].diverged and results[0].final > 0.9
    assert "became" in results[1].diverged and np.isnan(results[1].final)
    assert ex.best(results) is results[0]
    with pytest.raises(RuntimeError, match="every configuration of the search diverged"):
        ex.best(results[1:])


def test_parallel_workers_give_the_same_results_as_one():
    X, y = blobs()
    Xv, yv = blobs(seed=1)
    base = TrainConfig(layer_sizes=(20, 16, 4), init="he", epochs=2)
    cfgs = ex.grid(base, learning_rate=[0.02, 0.1], batch_size=[16, 64])
    one = ex.search(cfgs, X, y, Xv, yv, seed=3, workers=1)
    two = ex.search(cfgs, X, y, Xv, yv, seed=3, workers=2)
    assert [r.val_accuracy for r in one] == [r.val_accuracy for r in two]
    assert [r.val_loss for r in one] == [r.val_loss for r in two]


def test_train_runs_checkpoint_and_keep_job_order(tmp_path):
    X, y = blobs()
    ex.share(X=X, y=y)
    jobs = [
        dict(
            config=TrainConfig(layer_sizes=(20, 4), epochs=e),
            seed=s,
            checkpoint=tmp_path / f"run{e}-{s}",
            label="test",
            data=("X", "y"),
            eval_sets={"train": ("X", "y")},
        )
        for e, s in ((1, 0), (3, 1))
    ]
    out = ex.train_runs(jobs, workers=2)
    assert [h.last("iteration") for _, h in out] == [5, 15]
    assert (tmp_path / "run3-1.npz").exists()
    again = ex.train_runs(jobs, workers=1)  # resumed from the finished checkpoints
    for (p1, _), (p2, _) in zip(out, again):
        assert all(p1[k].tobytes() == p2[k].tobytes() for k in p1)


def test_confusion_matrix_and_confident_mistakes():
    y = np.array([0, 1, 2, 2])
    P = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.05, 0.9, 0.05], [0.1, 0.1, 0.8]])
    cm = ex.confusion_matrix(y, P.argmax(1), 3)
    assert cm.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert ex.most_confident_mistakes(P, y, 5).tolist() == [2, 1]
