"""A fully connected network with hand-written backpropagation, in NumPy.

This module is the assignment's network: forward pass, mean cross-entropy
loss, backward pass and the optimiser steps, written by hand. It does all
the numerical work and imports NumPy only (tqdm is imported lazily when a
progress bar is asked for); it prints nothing and touches no files.

Conventions, used everywhere below
----------------------------------
- One row per sample. ``N`` is the batch size, ``D`` the input size,
  ``H`` a hidden size, ``C`` the number of classes.
- Layer ``l`` holds ``W{l}`` of shape ``(n_out, n_in)`` and ``b{l}`` of
  shape ``(n_out,)``, and computes ``Z = A_prev @ W.T + b``, which is the
  assignment's ``Z = X W^T + b^T``. Row ``m`` of ``W1`` in the one-layer
  network is the weight vector of class ``m`` (the "filter" of exercise 2).
- Parameters and gradients are dicts with matching keys (``W1``, ``b1``,
  ``W2``, ...), so an optimiser step is one loop over keys.
- Labels are integer class indices of shape ``(N,)``; a one-hot (or soft)
  label matrix of shape ``(N, C)`` is accepted by the loss as well.
- Randomness comes only from an explicit ``numpy.random.Generator``.

Forward functions return ``(out, cache)``; backward functions take
``(dout, cache)`` and return gradients; none of them mutates its inputs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Callable, Mapping

import numpy as np

__all__ = [
    "ACTIVATIONS", "INITIALIZATIONS", "OPTIMIZERS",
    "TrainConfig", "History", "TrainingDiverged",
    "initialize_parameters", "linear_forward", "linear_backward",
    "relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
    "softmax", "log_softmax", "softmax_cross_entropy", "model_forward",
    "compute_loss", "model_backward", "make_optimizer", "update_parameters",
    "predict", "predict_proba", "evaluate", "random_mini_batches",
    "train_model", "check_inputs", "TrainState",
]

ACTIVATIONS = ("relu", "sigmoid")
INITIALIZATIONS = ("normal", "he", "xavier")
OPTIMIZERS = ("sgd", "momentum", "adam")

Params = dict[str, np.ndarray]


# --- validation ---------------------------------------------------------------

def _check_layer_sizes(layer_sizes) -> tuple[int, ...]:
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise TypeError(f"layer_sizes must be a sequence of ints such as "
                        f"[784, 100, 10], got {layer_sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output "
                         f"size, such as [784, 10]; got {list(sizes)}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"layer_sizes must hold whole numbers, got {s!r} "
                            f"in {list(sizes)}")
        if s < 1:
            raise ValueError(f"every layer size must be at least 1, got {s} in "
                             f"{list(sizes)}")
    if sizes[-1] < 2:
        raise ValueError(f"the output layer needs at least 2 classes, got "
                         f"{sizes[-1]} in {list(sizes)}")
    return tuple(int(s) for s in sizes)


def _check_choice(name: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of "
                         f"{', '.join(repr(a) for a in allowed)}")
    return value


def check_inputs(X, y, n_features: int | None = None,
                 n_classes: int | None = None, name: str = "X") -> None:
    """Raise a clear error unless ``X`` and ``y`` form a valid data set.

    Parameters
    ----------
    X : ndarray, shape (N, D)
        Floating-point inputs, all finite.
    y : ndarray, shape (N,)
        Integer class labels in ``[0, n_classes)``.
    n_features, n_classes : int, optional
        Expected ``D`` and number of classes, when known.
    name : str
        What to call the data set in messages ("X_train", "validation", ...).
    """
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), one row per sample; "
                         f"got shape {X.shape}. Flatten images with "
                         f"X.reshape(len(X), -1).")
    if not np.issubdtype(X.dtype, np.floating):
        raise TypeError(f"{name} must hold floating-point values, got dtype "
                        f"{X.dtype}; scale uint8 images to [0, 1] first "
                        f"(mnist_data.to_float).")
    if len(X) == 0:
        raise ValueError(f"{name} is empty (shape {X.shape})")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features per row but the "
                         f"network's input layer has {n_features}")
    # min and max propagate NaN and reveal infinities, without the
    # full-size temporary that np.isfinite(X).all() would allocate
    if not (np.isfinite(X.min()) and np.isfinite(X.max())):
        bad = int(np.size(X) - np.count_nonzero(np.isfinite(X)))
        raise ValueError(f"{name} contains {bad} NaN or infinite values; "
                         f"clean or re-load the data")
    if not isinstance(y, np.ndarray):
        raise TypeError(f"labels for {name} must be a NumPy array, got "
                        f"{type(y).__name__}")
    if y.ndim != 1:
        raise ValueError(f"labels for {name} must be a 1-D array of class "
                         f"indices, got shape {y.shape}; for one-hot labels "
                         f"use y.argmax(axis=1)")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"labels for {name} must be integers, got dtype "
                        f"{y.dtype}")
    if len(y) != len(X):
        raise ValueError(f"{name} has {len(X)} rows but {len(y)} labels")
    if n_classes is not None:
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            raise ValueError(f"labels for {name} must lie in [0, {n_classes - 1}]"
                             f" for a network with {n_classes} outputs; found "
                             f"values from {lo} to {hi}")


# --- parameters ---------------------------------------------------------------

def initialize_parameters(layer_sizes, rng: np.random.Generator,
                          init: str = "normal",
                          dtype=np.float32) -> Params:
    """Draw the weights of a network with the given layer sizes.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[D, H1, ..., C]``; ``[784, 10]`` is the one-layer network.
    rng : numpy.random.Generator
        The only source of randomness.
    init : {"normal", "he", "xavier"}
        ``"normal"`` is the assignment's N(0, 0.01^2); ``"he"`` uses standard
        deviation sqrt(2 / n_in) (for ReLU), ``"xavier"`` sqrt(1 / n_in)
        (Glorot's normal rule in its LeCun form, for sigmoid).
    dtype : numpy dtype
        float32 (fast) or float64 (gradient checks).

    Returns
    -------
    dict
        ``W{l}`` of shape ``(n_out, n_in)`` and zero biases ``b{l}``.
    """
    sizes = _check_layer_sizes(layer_sizes)
    _check_choice("init", init, INITIALIZATIONS)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator, such as "
                        "np.random.default_rng(0)")
    dtype = np.dtype(dtype)
    params: Params = {}
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        std = {"normal": 0.01, "he": math.sqrt(2.0 / n_in),
               "xavier": math.sqrt(1.0 / n_in)}[init]
        params[f"W{l}"] = (rng.standard_normal((n_out, n_in)) * std).astype(dtype)
        params[f"b{l}"] = np.zeros(n_out, dtype=dtype)
    return params


def _num_layers(params: Mapping[str, np.ndarray]) -> int:
    L = sum(1 for k in params if k.startswith("W"))
    if L == 0 or any(f"W{l}" not in params or f"b{l}" not in params
                     for l in range(1, L + 1)):
        raise ValueError(f"params must hold W1, b1, ..., WL, bL; got keys "
                         f"{sorted(params)}")
    return L


# --- layers -------------------------------------------------------------------

def linear_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray):
    """Affine layer ``Z = A_prev @ W.T + b``.

    Parameters
    ----------
    A_prev : ndarray, shape (N, n_in)
    W : ndarray, shape (n_out, n_in)
    b : ndarray, shape (n_out,)

    Returns
    -------
    Z : ndarray, shape (N, n_out)
    cache : tuple
        ``(A_prev, W)``, for :func:`linear_backward`.
    """
    Z = A_prev @ W.T
    Z += b
    return Z, (A_prev, W)


def linear_backward(dZ: np.ndarray, cache):
    """Gradients of an affine layer.

    With ``Z_im = sum_j A_ij W_mj + b_m``: ``dA = dZ @ W``,
    ``dW = dZ.T @ A`` (sum over samples of ``dZ_im A_ij``) and
    ``db = dZ.sum(0)`` (since ``dZ_im/db_m = 1``).

    Returns
    -------
    dA_prev : ndarray, shape (N, n_in)
    dW : ndarray, shape (n_out, n_in)
    db : ndarray, shape (n_out,)
    """
    A_prev, W = cache
    return dZ @ W, dZ.T @ A_prev, dZ.sum(axis=0)


def relu_forward(Z: np.ndarray):
    """ReLU ``max(Z, 0)``; the cache is the output itself."""
    A = np.maximum(Z, 0)
    return A, A


def relu_backward(dA: np.ndarray, cache) -> np.ndarray:
    """``dZ = dA * 1[Z > 0]``, read off the stored output ``A > 0``."""
    return dA * (cache > 0)


def sigmoid_forward(Z: np.ndarray):
    """Logistic sigmoid, written as ``(1 + tanh(Z/2)) / 2`` so that large
    ``|Z|`` neither overflows nor warns. The cache is the output."""
    A = np.tanh(Z * 0.5)
    A += 1
    A *= 0.5
    return A, A


def sigmoid_backward(dA: np.ndarray, cache) -> np.ndarray:
    """``dZ = dA * s * (1 - s)`` with ``s`` the stored output."""
    return dA * cache * (1 - cache)


_FORWARD = {"relu": relu_forward, "sigmoid": sigmoid_forward}
_BACKWARD = {"relu": relu_backward, "sigmoid": sigmoid_backward}


# --- output and loss ----------------------------------------------------------

def log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax(Z)``, computed with the row maximum subtracted
    (log-sum-exp), so any finite scores give finite results."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of scores ``Z`` of shape ``(N, C)``."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    E /= E.sum(axis=1, keepdims=True)
    return E


def _check_targets(Z: np.ndarray, Y: np.ndarray) -> None:
    if Z.ndim != 2:
        raise ValueError(f"scores must have shape (N, C), got {Z.shape}")
    if Y.ndim == 1:
        if len(Y) != len(Z):
            raise ValueError(f"{len(Z)} rows of scores but {len(Y)} labels")
        if not np.issubdtype(Y.dtype, np.integer):
            raise TypeError(f"1-D labels must be integer class indices, got "
                            f"dtype {Y.dtype}")
        if len(Y) and (Y.min() < 0 or Y.max() >= Z.shape[1]):
            raise ValueError(f"labels must lie in [0, {Z.shape[1] - 1}], found "
                             f"values from {Y.min()} to {Y.max()}")
    elif Y.ndim == 2:
        if Y.shape != Z.shape:
            raise ValueError(f"one-hot labels of shape {Y.shape} do not match "
                             f"scores of shape {Z.shape}")
    else:
        raise ValueError(f"labels must have shape (N,) or (N, C), got {Y.shape}")


def softmax_cross_entropy(Z: np.ndarray, Y: np.ndarray):
    """Mean cross-entropy of softmax(Z) against the labels, and its gradient.

    ``J = -(1/N) sum_i log p_{i,y_i}`` with ``p = softmax(Z)``; the batch mean.
    Computed from the raw scores with log-sum-exp, so it is finite for any
    finite scores. The gradient is ``dJ/dZ_im = (p_im - y_im) / N``.

    Parameters
    ----------
    Z : ndarray, shape (N, C)
        Raw scores of the last layer.
    Y : ndarray, shape (N,) of int, or (N, C)
        Class indices, or one-hot (or soft) label rows.

    Returns
    -------
    loss : float
    dZ : ndarray, shape (N, C), same dtype as ``Z``
    """
    _check_targets(Z, Y)
    return _softmax_cross_entropy(Z, Y)


def _softmax_cross_entropy(Z: np.ndarray, Y: np.ndarray, grad_scale: float = 1.0):
    # The unchecked body of softmax_cross_entropy, for the training loop,
    # whose labels were validated once before the first iteration; the
    # gradient is multiplied by grad_scale.
    N = len(Z)
    logp = log_softmax(Z)
    P = np.exp(logp)
    if Y.ndim == 1:
        rows = np.arange(N)
        loss = -float(logp[rows, Y].sum(dtype=np.float64)) / N
        P[rows, Y] -= 1
    else:
        loss = -float((Y * logp).sum(dtype=np.float64)) / N
        P -= Y.astype(P.dtype, copy=False)
    P *= P.dtype.type(grad_scale / N)
    return loss, P


def compute_loss(scores: np.ndarray, Y: np.ndarray) -> float:
    """The batch mean of the cross-entropy of ``softmax(scores)``.

    Parameters
    ----------
    scores : ndarray, shape (N, C)
        Raw scores of the last layer (before softmax).
    Y : ndarray, shape (N,) of int, or (N, C)
    """
    _check_targets(scores, Y)
    logp = log_softmax(scores)
    N = len(scores)
    if Y.ndim == 1:
        return -float(logp[np.arange(N), Y].sum(dtype=np.float64)) / N
    return -float((Y * logp).sum(dtype=np.float64)) / N


# --- the network --------------------------------------------------------------

def model_forward(X: np.ndarray, params: Mapping[str, np.ndarray],
                  activation: str = "relu"):
    """Forward pass: hidden layers with ``activation``, a linear last layer.

    Parameters
    ----------
    X : ndarray, shape (N, D)
    params : dict
        ``W1, b1, ..., WL, bL`` from :func:`initialize_parameters`.
    activation : {"relu", "sigmoid"}
        Applied after every layer but the last.

    Returns
    -------
    scores : ndarray, shape (N, C)
        Raw scores of the last layer; ``softmax(scores)`` are the class
        probabilities (see :func:`predict_proba`).
    caches : list
        One ``(linear_cache, activation_cache)`` pair per layer.
    """
    _check_choice("activation", activation, ACTIVATIONS)
    forward = _FORWARD[activation]
    L = _num_layers(params)
    A, caches = X, []
    for l in range(1, L + 1):
        Z, lin_cache = linear_forward(A, params[f"W{l}"], params[f"b{l}"])
        if l < L:
            A, act_cache = forward(Z)
        else:
            A, act_cache = Z, None
        caches.append((lin_cache, act_cache))
    return A, caches


def model_backward(scores: np.ndarray, Y: np.ndarray, caches,
                   activation: str = "relu", check: bool = True,
                   grad_scale: float = 1.0):
    """Backward pass of the mean cross-entropy through the whole network.

    Starts from ``dJ/dZ_L = (softmax(Z_L) - Y) / N`` and applies, layer by
    layer from the last, ``dA = dZ @ W``, ``dW = dZ.T @ A_prev``,
    ``db = dZ.sum(0)`` and ``dZ = dA * activation'(Z)``.

    ``check=False`` skips the label checks (the training loop validates
    all labels once, up front). ``grad_scale`` multiplies every gradient
    (but not the loss): the gradients of ``grad_scale * J``, at no extra
    cost, since only the starting gradient ``dZ_L`` is scaled.

    Returns
    -------
    loss : float
        The batch-mean cross-entropy (a by-product of the gradient).
    grads : dict
        ``dW1, db1, ..., dWL, dbL`` matching the parameters' shapes.
    """
    _check_choice("activation", activation, ACTIVATIONS)
    backward = _BACKWARD[activation]
    if check:
        _check_targets(scores, Y)
    loss, dZ = _softmax_cross_entropy(scores, Y, grad_scale)
    grads: Params = {}
    dA = None   # dJ/dA of the layer below, set by each layer but the first
    for l in range(len(caches), 0, -1):
        lin_cache, act_cache = caches[l - 1]
        if l < len(caches):
            dZ = backward(dA, act_cache)
        if l > 1:
            dA, grads[f"dW{l}"], grads[f"db{l}"] = linear_backward(dZ, lin_cache)
        else:  # the gradient with respect to the input is not needed
            A_prev, _ = lin_cache
            grads["dW1"], grads["db1"] = dZ.T @ A_prev, dZ.sum(axis=0)
    return loss, grads


def predict_proba(X: np.ndarray, params: Mapping[str, np.ndarray],
                  activation: str = "relu") -> np.ndarray:
    """Class probabilities ``softmax(scores)``, shape ``(N, C)``."""
    return softmax(model_forward(X, params, activation)[0])


def predict(X: np.ndarray, params: Mapping[str, np.ndarray],
            activation: str = "relu") -> np.ndarray:
    """Predicted class indices, shape ``(N,)``."""
    return model_forward(X, params, activation)[0].argmax(axis=1)


def evaluate(X: np.ndarray, y: np.ndarray, params: Mapping[str, np.ndarray],
             activation: str = "relu", chunk_size: int = 10_000):
    """Mean cross-entropy and accuracy over a whole data set.

    Processed in chunks of ``chunk_size`` rows, so memory stays bounded for
    any ``N``.

    Returns
    -------
    loss : float
    accuracy : float
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    total_loss, correct = 0.0, 0
    for start in range(0, len(X), chunk_size):
        Xc, yc = X[start:start + chunk_size], y[start:start + chunk_size]
        scores, _ = model_forward(Xc, params, activation)
        total_loss += compute_loss(scores, yc) * len(Xc)
        correct += int(np.count_nonzero(scores.argmax(axis=1) == yc))
    return total_loss / len(X), correct / len(X)


# --- optimisers ---------------------------------------------------------------

class _Optimizer:
    """Updates parameters in place; holds its own state.

    :meth:`step` takes the gradients of ``grad_scale * J``. For SGD and
    momentum ``grad_scale`` is the learning rate: backpropagation is linear
    in its starting gradient, so :func:`model_backward` can return
    ``learning_rate * dW`` directly (``grad_scale=``), which saves the step a
    full pass over every weight matrix. Adam is not linear in the gradient
    and takes it unscaled. ``state`` is a dict of arrays, so that it can be
    saved and restored.
    """

    grad_scale = 1.0

    def __init__(self, learning_rate: float):
        self.learning_rate = learning_rate
        self.state: dict[str, np.ndarray] = {}

    def step(self, params: Params, grads: Mapping[str, np.ndarray]) -> None:
        raise NotImplementedError


class SGD(_Optimizer):
    """Plain gradient descent, ``p -= learning_rate * dp``, given the
    gradients already multiplied by the learning rate."""

    @property
    def grad_scale(self):
        return self.learning_rate

    def step(self, params, grads):
        for k, p in params.items():
            p -= grads["d" + k]


class Momentum(_Optimizer):
    """Heavy-ball momentum, ``v = mu v - learning_rate dp; p += v``, given
    the gradients already multiplied by the learning rate."""

    def __init__(self, learning_rate: float, momentum: float = 0.9):
        super().__init__(learning_rate)
        self.momentum = momentum

    @property
    def grad_scale(self):
        return self.learning_rate

    def step(self, params, grads):
        mu = self.momentum
        for k, p in params.items():
            v = self.state.get("v_" + k)
            if v is None:
                v = self.state["v_" + k] = np.zeros_like(p)
            v *= mu
            v -= grads["d" + k]
            p += v


class Adam(_Optimizer):
    """Adam (Kingma and Ba 2015) with bias-corrected moment estimates."""

    def __init__(self, learning_rate: float, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(learning_rate)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.state["t"] = np.zeros((), dtype=np.int64)

    def step(self, params, grads):
        b1, b2 = self.beta1, self.beta2
        self.state["t"] += 1
        t = int(self.state["t"])
        step_size = self.learning_rate * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for k, p in params.items():
            g = grads["d" + k]
            m = self.state.get("m_" + k)
            if m is None:
                m = self.state["m_" + k] = np.zeros_like(p)
                self.state["v_" + k] = np.zeros_like(p)
            v = self.state["v_" + k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p -= step_size * m / (np.sqrt(v) + self.eps)


def make_optimizer(name: str, learning_rate: float, **options) -> _Optimizer:
    """Build ``"sgd"``, ``"momentum"`` (option ``momentum``) or ``"adam"``
    (options ``beta1``, ``beta2``, ``eps``)."""
    _check_choice("optimizer", name, OPTIMIZERS)
    _check_learning_rate(learning_rate)
    cls = {"sgd": SGD, "momentum": Momentum, "adam": Adam}[name]
    try:
        return cls(learning_rate, **options)
    except TypeError:
        raise ValueError(f"optimizer {name!r} does not take options "
                         f"{sorted(options)}") from None


def update_parameters(params: Params, grads: Mapping[str, np.ndarray],
                      learning_rate: float) -> Params:
    """One plain gradient-descent step, ``p -= learning_rate * dp``, from
    the unscaled gradients of :func:`model_backward`.

    Updates ``params`` in place (no copy of the weights per step) and
    returns it.
    """
    _check_learning_rate(learning_rate)
    for k, p in params.items():
        p -= learning_rate * grads["d" + k]
    return params


def _check_learning_rate(learning_rate) -> None:
    if isinstance(learning_rate, bool) or not isinstance(
            learning_rate, (int, float, np.floating)):
        raise TypeError(f"learning_rate must be a number, got {learning_rate!r}")
    if not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive finite number such "
                         f"as 0.05, got {learning_rate}")


# --- mini-batches -------------------------------------------------------------

def random_mini_batches(X: np.ndarray, y: np.ndarray, batch_size: int,
                        rng: np.random.Generator,
                        out: tuple[np.ndarray, np.ndarray] | None = None):
    """Shuffle the samples once and cut them into mini-batches.

    The last batch holds the remainder when ``batch_size`` does not divide
    ``N``. The shuffled copy is written into ``out`` when given (buffers of
    the same shapes and dtypes as ``X`` and ``y``, reused across epochs), so
    an epoch allocates no new copy of the data; the batches are contiguous
    views of it.

    Returns
    -------
    list of (X_batch, y_batch)
    """
    N = len(X)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be a whole number, got {batch_size!r}")
    if not 1 <= batch_size <= N:
        raise ValueError(f"batch_size must lie between 1 and the number of "
                         f"training samples ({N}), got {batch_size}")
    perm = rng.permutation(N)
    if out is None:
        Xs, ys = X[perm], y[perm]
    else:
        Xs, ys = out
        np.take(X, perm, axis=0, out=Xs, mode="clip")  # "raise" would buffer
        np.take(y, perm, axis=0, out=ys, mode="clip")
    return [(Xs[s:s + batch_size], ys[s:s + batch_size])
            for s in range(0, N, batch_size)]


# --- training -----------------------------------------------------------------

@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run, apart from data and seed."""

    layer_sizes: tuple[int, ...] = (784, 10)   # [D, H1, ..., C]
    activation: str = "relu"          # hidden-layer non-linearity
    init: str = "normal"              # "normal" = N(0, 0.01^2), "he", "xavier"
    learning_rate: float = 0.05       # step size of the optimiser
    batch_size: int = 64              # samples per mini-batch
    epochs: int = 10                  # passes over the training set
    optimizer: str = "sgd"            # "sgd", "momentum" or "adam"
    momentum: float = 0.9             # momentum coefficient (optimizer="momentum")
    beta1: float = 0.9                # Adam's first-moment decay
    beta2: float = 0.999              # Adam's second-moment decay
    eval_every: int = 0               # evaluate every k iterations (0: epoch ends only)
    eval_chunk_size: int = 10_000     # rows per chunk when evaluating a data set
    dtype: str = "float32"            # "float32" (fast) or "float64"

    def __post_init__(self):
        object.__setattr__(self, "layer_sizes", _check_layer_sizes(self.layer_sizes))
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("init", self.init, INITIALIZATIONS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("dtype", self.dtype, ("float32", "float64"))
        _check_learning_rate(self.learning_rate)
        for name in ("batch_size", "epochs", "eval_every", "eval_chunk_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be a whole number, got {v!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.epochs < 0:
            raise ValueError(f"epochs must be zero or more, got {self.epochs}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be zero (epoch ends only) or a "
                             f"positive number of iterations, got {self.eval_every}")
        if self.eval_chunk_size < 1:
            raise ValueError(f"eval_chunk_size must be at least 1, got "
                             f"{self.eval_chunk_size}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1), got "
                                 f"{getattr(self, name)}")

    @classmethod
    def from_dict(cls, d: Mapping) -> "TrainConfig":
        """Build from a mapping, rejecting keys that are not settings."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}; known "
                             f"settings are {sorted(known)}")
        return cls(**dict(d))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["layer_sizes"] = list(self.layer_sizes)
        return d

    def make_optimizer(self) -> _Optimizer:
        opts = {"sgd": {}, "momentum": {"momentum": self.momentum},
                "adam": {"beta1": self.beta1, "beta2": self.beta2}}
        return make_optimizer(self.optimizer, self.learning_rate,
                              **opts[self.optimizer])


@dataclass
class History:
    """What a training run measured, one entry per evaluation point.

    ``columns["iteration"][k]`` is the number of parameter updates done at
    point ``k``; ``epoch`` the (fractional) number of passes over the
    training set; ``batch_loss`` / ``batch_accuracy`` are measured on the
    mini-batch of that iteration, before its update (what the assignment
    plots); ``<set>_loss`` / ``<set>_accuracy`` on the whole of each data
    set given to :func:`train_model` (``train``, ``val``, ``test``), after
    the update.
    """

    set_names: tuple[str, ...] = ()
    iterations_per_epoch: int = 0
    columns: dict[str, list] = field(default_factory=dict)

    def __post_init__(self):
        if not self.columns:
            names = ["iteration", "epoch", "batch_loss", "batch_accuracy"]
            for s in self.set_names:
                names += [f"{s}_loss", f"{s}_accuracy"]
            self.columns = {n: [] for n in names}

    def append(self, **values) -> None:
        if set(values) != set(self.columns):
            raise ValueError(f"history row needs {sorted(self.columns)}, got "
                             f"{sorted(values)}")
        for k, v in values.items():
            self.columns[k].append(v)

    def __len__(self) -> int:
        return len(self.columns["iteration"])

    def __getitem__(self, name: str) -> np.ndarray:
        return np.asarray(self.columns[name])

    def last(self, name: str):
        return self.columns[name][-1]

    def epoch_ends(self) -> np.ndarray:
        """Indices of the points that close an epoch."""
        it = self["iteration"]
        return np.flatnonzero(it % self.iterations_per_epoch == 0)

    def to_dict(self) -> dict:
        return {"set_names": list(self.set_names),
                "iterations_per_epoch": self.iterations_per_epoch,
                "columns": {k: list(v) for k, v in self.columns.items()}}

    @classmethod
    def from_dict(cls, d: Mapping) -> "History":
        return cls(tuple(d["set_names"]), int(d["iterations_per_epoch"]),
                   {k: list(v) for k, v in d["columns"].items()})


@dataclass
class TrainState:
    """Everything needed to continue a run exactly where it stopped.

    Taken between two iterations. ``rng_state`` is the generator's state at
    the start of epoch ``epoch`` (before that epoch's shuffle), so resuming
    redraws the same shuffle and skips the ``batch`` mini-batches already
    done: a resumed run gives the same bits as an uninterrupted one.
    """

    params: Params                 # the weights, W1, b1, ...
    optimizer_state: dict          # the optimiser's arrays (velocity, moments, step)
    rng_state: dict                # bit_generator.state at the start of `epoch`
    epoch: int                     # epochs completed
    batch: int                     # mini-batches of the current epoch completed
    iteration: int                 # parameter updates so far
    history: History               # evaluation points so far


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. ``history`` and ``params`` hold the
    run up to the last finite evaluation point."""

    def __init__(self, message: str, history: History, params: Params):
        super().__init__(message)
        self.history = history
        self.params = params


def train_model(X_train: np.ndarray, y_train: np.ndarray, config: TrainConfig,
                rng: np.random.Generator,
                eval_sets: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
                params: Params | None = None,
                callback: Callable[[History], None] | None = None,
                progress: bool = False,
                resume: TrainState | None = None,
                on_checkpoint: Callable[[TrainState], None] | None = None,
                checkpoint_every: int = 0):
    """Train a network with mini-batch gradient descent.

    Parameters
    ----------
    X_train : ndarray, shape (N, D)
        Floating-point inputs (cast to ``config.dtype`` once, up front).
    y_train : ndarray, shape (N,)
        Integer labels in ``[0, C)``.
    config : TrainConfig
    rng : numpy.random.Generator
        Draws the initial weights (unless ``params`` is given) and the
        shuffle of every epoch; the same seed gives the same bits.
    eval_sets : dict, optional
        Data sets to evaluate in full at every evaluation point, by name,
        e.g. ``{"train": (X_train, y_train), "test": (X_test, y_test)}``.
    params : dict, optional
        Starting weights (they are copied, not modified).
    callback : callable, optional
        Called with the history after every evaluation point.
    progress : bool
        Show a tqdm progress bar over iterations.
    resume : TrainState, optional
        Continue from this state (from ``on_checkpoint``) instead of
        starting afresh; ``rng`` is set to the saved state and ``params`` is
        ignored.
    on_checkpoint : callable, optional
        Called with a :class:`TrainState` every ``checkpoint_every``
        iterations and at the end of every epoch; saving it is the
        caller's business (see :mod:`checkpoint`). The state shares the
        arrays of the run: copy or write them out before returning.

    Returns
    -------
    params : dict
    history : History

    Raises
    ------
    TrainingDiverged
        When the loss becomes NaN or infinite.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError("config must be a TrainConfig; build one with "
                        "TrainConfig(layer_sizes=..., ...) or TrainConfig.from_dict")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator, such as "
                        "np.random.default_rng(0)")
    D, C = config.layer_sizes[0], config.layer_sizes[-1]
    dtype = np.dtype(config.dtype)
    check_inputs(X_train, y_train, D, C, name="X_train")
    if config.batch_size > len(X_train):
        raise ValueError(f"batch_size {config.batch_size} is larger than the "
                         f"{len(X_train)} training samples; choose at most "
                         f"{len(X_train)}")
    eval_sets = dict(eval_sets or {})
    prepared = {}
    for name, pair in eval_sets.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"eval_sets[{name!r}] must be a pair (X, y)")
        Xe, ye = pair
        check_inputs(Xe, ye, D, C, name=f"eval set {name!r}")
        prepared[name] = (Xe.astype(dtype, copy=False), ye)

    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) \
            or checkpoint_every < 0:
        raise ValueError(f"checkpoint_every must be a whole number of iterations "
                         f"(0: epoch ends only), got {checkpoint_every!r}")
    X = np.ascontiguousarray(X_train, dtype=dtype)
    y = np.ascontiguousarray(y_train, dtype=np.intp)
    if resume is not None:
        params = resume.params
    if params is None:
        params = initialize_parameters(config.layer_sizes, rng, config.init, dtype)
    else:
        if _num_layers(params) != len(config.layer_sizes) - 1:
            raise ValueError("params do not match config.layer_sizes")
        params = {k: np.array(v, dtype=dtype) for k, v in params.items()}
    optimizer = config.make_optimizer()
    scale = optimizer.grad_scale
    act = config.activation
    N, B = len(X), config.batch_size
    per_epoch = -(-N // B)
    history = History(tuple(prepared), per_epoch)
    buffers = (np.empty_like(X), np.empty_like(y))
    start_epoch, skip, iteration = 0, 0, 0
    if resume is not None:
        if resume.history.iterations_per_epoch != per_epoch or \
                tuple(resume.history.set_names) != tuple(prepared):
            raise ValueError("the checkpoint was taken with other training data "
                             "or other evaluation sets; start afresh")
        history = History.from_dict(resume.history.to_dict())
        optimizer.state = {k: np.array(v) for k, v in resume.optimizer_state.items()}
        rng.bit_generator.state = resume.rng_state
        start_epoch, skip, iteration = resume.epoch, resume.batch, resume.iteration

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=config.epochs * per_epoch, initial=iteration, unit="it",
                   leave=False)

    def record(iteration: int, batch_loss: float, batch_acc: float) -> None:
        row = {"iteration": iteration, "epoch": iteration / per_epoch,
               "batch_loss": batch_loss, "batch_accuracy": batch_acc}
        for name, (Xe, ye) in prepared.items():
            row[f"{name}_loss"], row[f"{name}_accuracy"] = evaluate(
                Xe, ye, params, act, config.eval_chunk_size)
        history.append(**row)
        if callback is not None:
            callback(history)

    # Overflow shows up below as a non-finite loss, reported with a clearer
    # message than NumPy's warnings would give.
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            for epoch in range(start_epoch, config.epochs):
                epoch_rng_state = rng.bit_generator.state
                batches = random_mini_batches(X, y, B, rng, out=buffers)
                for b, (Xb, yb) in enumerate(batches, start=1):
                    if b <= skip:   # done before the checkpoint we resumed from
                        continue
                    scores, caches = model_forward(Xb, params, act)
                    loss, grads = model_backward(scores, yb, caches, act,
                                                 check=False, grad_scale=scale)
                    if not math.isfinite(loss):
                        raise TrainingDiverged(
                            f"the training loss became {loss} at iteration "
                            f"{iteration + 1} (epoch {epoch + 1}) with "
                            f"learning_rate={config.learning_rate:g} and "
                            f"optimizer {config.optimizer!r}; try a smaller "
                            f"learning rate (for example "
                            f"{config.learning_rate / 10:g}), a larger batch "
                            f"size, or the 'normal' initialisation",
                            history, params)
                    optimizer.step(params, grads)
                    iteration += 1
                    if bar is not None:
                        bar.update()
                    if b == len(batches) or (config.eval_every and
                                             iteration % config.eval_every == 0):
                        batch_acc = float(np.count_nonzero(
                            scores.argmax(axis=1) == yb)) / len(yb)
                        record(iteration, loss, batch_acc)
                    if on_checkpoint is not None and (b == len(batches) or (
                            checkpoint_every and iteration % checkpoint_every == 0)):
                        done = b == len(batches)
                        on_checkpoint(TrainState(
                            params, optimizer.state,
                            rng.bit_generator.state if done else epoch_rng_state,
                            epoch + 1 if done else epoch, 0 if done else b,
                            iteration, history))
                skip = 0
        finally:
            if bar is not None:
                bar.close()
    return params, history
