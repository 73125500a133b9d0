"""A fully connected network with hand-written backpropagation, in NumPy.

The assignment's network and nothing else: initialisation, the layers
(and dropout) with their gradients, the softmax cross-entropy, the forward
and backward passes, a gradient-descent step and a student's training loop.
NumPy only; it prints nothing and touches no files. The machinery around it
(settings, optimisers, evaluation, checkpoints, progress) is the package
``dlia_a2``, whose training loop calls the functions below.

Conventions, used everywhere below
----------------------------------
- One row per sample. ``N`` is the batch size, ``D`` the input size,
  ``H`` a hidden size, ``C`` the number of classes.
- Layer ``l`` holds ``W{l}`` of shape ``(n_out, n_in)`` and ``b{l}`` of
  shape ``(n_out,)`` and computes ``Z = A_prev @ W.T + b``: the
  assignment's ``Z = X W^T + b^T``. Row ``m`` of ``W1`` in the one-layer
  network is the weight vector of class ``m`` (the "filter" of Exercise 2).
- Parameters and gradients are dicts with matching keys: ``W1, b1, ...``
  and ``dW1, db1, ...``.
- Labels are integer class indices of shape ``(N,)``, or one-hot (or soft)
  label rows of shape ``(N, C)`` that each sum to 1.
- Randomness comes only from an explicit ``numpy.random.Generator``.
- Forward functions return ``(out, cache)``; backward functions take
  ``(dout, cache)`` and return gradients, in pairs such as
  :func:`linear_forward` and :func:`linear_backward`. None of them changes
  its inputs.
- The parameters do not record the hidden layers' activation, so every
  function that runs the network must be told it: none assumes one.
"""

from __future__ import annotations

import numpy as np

ACTIVATIONS = ("relu", "sigmoid")
INITIALIZATIONS = ("normal", "he", "lecun")


# --- initialisation -------------------------------------------------------------


def initialize_parameters(layer_sizes, rng: np.random.Generator, init: str = "normal", dtype=np.float32) -> dict:
    """Draw the weights of a network; the biases start at zero.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[D, H1, ..., C]``; ``[784, 10]`` is the one-layer network.
    rng : numpy.random.Generator
    init : {"normal", "he", "lecun"}
        Standard deviation of the weights: ``"normal"`` is the assignment's
        0.01; ``"he"`` is ``sqrt(2 / n_in)`` (He et al. 2015, for ReLU);
        ``"lecun"`` is ``sqrt(1 / n_in)`` (LeCun et al. 1998, for sigmoid).
    dtype : numpy dtype
        float32 (fast) or float64 (gradient checks).

    Returns
    -------
    dict
        ``W{l}`` of shape ``(n_out, n_in)`` and ``b{l}`` of shape ``(n_out,)``.
    """
    if init not in INITIALIZATIONS:
        raise ValueError(f"unknown init {init!r}; choose one of {INITIALIZATIONS}")
    if min(layer_sizes) < 1:
        raise ValueError(f"every layer needs at least one unit; got layer sizes {list(layer_sizes)}")
    params = {}
    for l, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        std = {"normal": 0.01, "he": np.sqrt(2.0 / n_in), "lecun": np.sqrt(1.0 / n_in)}[init]
        params[f"W{l}"] = (rng.standard_normal((n_out, n_in)) * std).astype(dtype)
        params[f"b{l}"] = np.zeros(n_out, dtype=dtype)
    return params


# --- layers ---------------------------------------------------------------------


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
    cache : tuple ``(A_prev, W)``
    """
    Z = A_prev @ W.T
    Z += b
    return Z, (A_prev, W)


def linear_backward(dZ: np.ndarray, cache, need_dA_prev: bool = True):
    """The pair of :func:`linear_forward`: from ``dZ = dJ/dZ``, shape
    ``(N, n_out)``, and its cache ``(A_prev, W)``, the gradients ``dA_prev =
    dZ @ W``, ``dW = dZ.T @ A_prev`` (``dJ/dW_mj = sum_i dZ_im A_ij``) and
    ``db = dZ.sum(axis=0)``, shaped like ``A_prev``, ``W`` and ``b``.
    ``need_dA_prev=False`` skips the first product, which the network's
    input does not need, and returns None in its place."""
    A_prev, W = cache
    return (dZ @ W if need_dA_prev else None), dZ.T @ A_prev, dZ.sum(axis=0)


def relu_forward(Z: np.ndarray):
    """``A = max(Z, 0)``; the cache is ``A`` itself."""
    A = np.maximum(Z, 0)
    return A, A


def relu_backward(dA: np.ndarray, cache) -> np.ndarray:
    """``dZ = dA * 1[Z > 0]``, read off the stored output (``A > 0`` exactly where ``Z > 0``)."""
    return dA * (cache > 0)


def sigmoid_forward(Z: np.ndarray):
    """``A = 1 / (1 + exp(-Z))``, computed as ``(1 + tanh(Z / 2)) / 2``, which
    neither overflows nor warns for large ``|Z|``. The cache is ``A``."""
    A = np.tanh(Z * 0.5)
    A += 1
    A *= 0.5
    return A, A


def sigmoid_backward(dA: np.ndarray, cache) -> np.ndarray:
    """``dZ = dA * s * (1 - s)``, with ``s`` the stored output."""
    return dA * cache * (1 - cache)


def dropout_forward(A: np.ndarray, p: float, rng: np.random.Generator):
    """Inverted dropout, for training only: each unit of a float array ``A``
    is zeroed with probability ``p`` and the kept ones are scaled by ``1 / (1
    - p)``, so the expected output is ``A`` and a trained network is used
    without dropout. Returns ``out = A * mask`` and the cache ``mask =
    1[kept] / (1 - p)``, both shaped like ``A``."""
    if not 0 <= p < 1:
        raise ValueError(f"the dropout probability must lie in [0, 1), got {p}")
    if not np.issubdtype(A.dtype, np.floating):
        raise TypeError(f"dropout needs floating-point input to scale, got dtype {A.dtype}; convert it first")
    mask = (rng.random(A.shape, dtype=np.float32) >= p) * A.dtype.type(1 / (1 - p))
    return A * mask, mask


def dropout_backward(dout: np.ndarray, cache) -> np.ndarray:
    """``dA = dout * mask``: for a fixed mask the layer is linear in ``A``."""
    return dout * cache


_FORWARD = {"relu": relu_forward, "sigmoid": sigmoid_forward}
_BACKWARD = {"relu": relu_backward, "sigmoid": sigmoid_backward}


# --- output and loss ------------------------------------------------------------


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax(Z)`` with the row maximum subtracted first
    (log-sum-exp), so that any finite scores give finite results."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of scores ``Z`` of shape ``(N, C)``."""
    return np.exp(log_softmax(Z))


def _check_labels(scores: np.ndarray, Y: np.ndarray) -> None:
    # The gradient (p - y) / N below is the gradient of the loss only when
    # every label row is a probability distribution; refuse anything else.
    N, C = scores.shape
    if Y.ndim == 1:
        if len(Y) != N or not np.issubdtype(Y.dtype, np.integer):
            raise ValueError(f"labels must be {N} integer class indices, got shape {Y.shape}, dtype {Y.dtype}")
        if Y.min() < 0 or Y.max() >= C:
            raise ValueError(f"labels must lie in [0, {C - 1}], found {Y.min()} to {Y.max()}")
    elif Y.shape == (N, C):
        sums = Y.sum(axis=1)
        if (Y < 0).any() or not np.allclose(sums, 1, atol=1e-6):
            raise ValueError(
                "label rows must be one-hot (or probabilities): non-negative, each summing to 1; "
                f"found sums from {sums.min():g} to {sums.max():g} and minimum entry {Y.min():g}"
            )
    else:
        raise ValueError(f"labels must have shape ({N},) or ({N}, {C}), got {Y.shape}")


def compute_loss(scores: np.ndarray, Y: np.ndarray) -> float:
    """The batch mean of the cross-entropy of ``softmax(scores)`` against ``Y``:
    ``J = -(1/N) sum_i sum_m y_im log p_im``.

    Parameters
    ----------
    scores : ndarray, shape (N, C), raw scores of the last layer (before the softmax)
    Y : ndarray, shape (N,) of int, or (N, C)
    """
    return softmax_cross_entropy(scores, Y)[0]


def softmax_cross_entropy(scores: np.ndarray, Y: np.ndarray):
    """The mean cross-entropy loss and its gradient with respect to the scores.

    ``dJ/dz_im = (p_im - y_im) / N`` with ``p = softmax(scores)``: the result
    of Exercise 1.

    Returns
    -------
    loss : float
        The batch mean, accumulated in float64.
    dscores : ndarray, shape (N, C), the dtype of ``scores``
    """
    N = len(scores)
    if N == 0:
        raise ValueError("the batch is empty: the mean loss of no samples is undefined; pass at least one row")
    _check_labels(scores, Y)
    logp = log_softmax(scores)
    dscores = np.exp(logp)
    if Y.ndim == 1:
        rows = np.arange(N)
        loss = -float(logp[rows, Y].sum(dtype=np.float64)) / N
        dscores[rows, Y] -= 1
    else:
        loss = -float((Y * logp).sum(dtype=np.float64)) / N
        dscores -= Y
    dscores /= N
    return loss, dscores


# --- the network ----------------------------------------------------------------


def model_forward(X: np.ndarray, params: dict, activation: str, dropout: float = 0.0, rng=None):
    """Forward pass: ``activation`` after every layer but the last, whose
    raw scores are returned.

    Parameters
    ----------
    X : ndarray, shape (N, D)
    params : dict
        ``W1, b1, ..., WL, bL``.
    activation : {"relu", "sigmoid"}
        The one the network was trained with: the parameters do not record it.
    dropout : float
        Probability of dropping each hidden unit after its activation
        (:func:`dropout_forward`); 0, the default, for evaluation.
    rng : numpy.random.Generator, the dropout masks' source (if ``dropout > 0``)

    Returns
    -------
    scores : ndarray, shape (N, C)
    caches : list of ``(linear_cache, activation, activation_cache, dropout_cache)``
        per layer (None where it has none), for :func:`model_backward`.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")
    if dropout and rng is None:
        raise ValueError("dropout needs an rng (a numpy.random.Generator) to draw its masks")
    D = params["W1"].shape[1]
    if np.ndim(X) != 2 or X.shape[1] != D:
        raise ValueError(f"X must have shape (N, {D}) for this network, got {np.shape(X)}; one image: X.reshape(1, -1)")
    L = len(params) // 2
    A, caches = X, []
    for l in range(1, L + 1):
        A, linear_cache = linear_forward(A, params[f"W{l}"], params[f"b{l}"])
        if l == L:  # the scores
            caches.append((linear_cache, None, None, None))
            break
        A, act_cache = _FORWARD[activation](A)
        A, drop_cache = dropout_forward(A, dropout, rng) if dropout else (A, None)
        caches.append((linear_cache, activation, act_cache, drop_cache))
    return A, caches


def _scores_backward(dA: np.ndarray, cache) -> np.ndarray:
    """``dJ/dZ`` of a layer's scores from ``dJ/dA``, back through its dropout and activation."""
    _, activation, act_cache, drop_cache = cache
    if drop_cache is not None:
        dA = dropout_backward(dA, drop_cache)
    return dA if activation is None else _BACKWARD[activation](dA, act_cache)


def model_backward(dscores: np.ndarray, caches) -> dict:
    """Gradients ``dW1, db1, ..., dWL, dbL`` of the loss, shaped like the
    parameters, from ``dJ/dscores`` (:func:`softmax_cross_entropy`) and the
    caches of :func:`model_forward`: the backward pairs in reverse order,
    last layer first (dropout, activation, then :func:`linear_backward`)."""
    grads, dA = {}, dscores
    for l in range(len(caches), 0, -1):
        dZ = _scores_backward(dA, caches[l - 1])
        dA, grads[f"dW{l}"], grads[f"db{l}"] = linear_backward(dZ, caches[l - 1][0], need_dA_prev=l > 1)
    return grads


def backward_layers(dscores: np.ndarray, caches):
    """The chain of :func:`model_backward`, leaving each layer's ``dW`` and
    ``db`` to the caller: yields ``(l, dZ, A_prev)`` per layer, last first,
    with ``dZ = dJ/dZ`` of layer ``l``'s scores and ``A_prev`` its input.
    :func:`linear_backward`'s ``dA_prev = dZ @ W``, passed down, is taken
    before the yield, so the caller may change ``W{l}`` in place at once."""
    dA = dscores
    for l in range(len(caches), 0, -1):
        dZ = _scores_backward(dA, caches[l - 1])
        A_prev, W = caches[l - 1][0]
        if l > 1:  # the network's input needs no gradient
            dA = dZ @ W
        yield l, dZ, A_prev


def update_parameters(params: dict, grads: dict, learning_rate: float) -> dict:
    """One step of gradient descent, ``p -= learning_rate * dp`` for every
    parameter, in place (no copy of the weights per step); returns ``params``."""
    for k, p in params.items():
        p -= learning_rate * grads["d" + k]
    return params


def predict_proba(X: np.ndarray, params: dict, activation: str) -> np.ndarray:
    """Class probabilities ``softmax(scores)``, shape ``(N, C)``."""
    return softmax(model_forward(X, params, activation)[0])


def predict(X: np.ndarray, params: dict, activation: str) -> np.ndarray:
    """Predicted class indices, shape ``(N,)``."""
    return model_forward(X, params, activation)[0].argmax(axis=1)


# --- training -------------------------------------------------------------------


def random_mini_batches(X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator):
    """Shuffle the samples (one ``rng.permutation``) and cut them into a list
    of mini-batches ``(X_batch, y_batch)``; the last holds the remainder when
    ``batch_size`` does not divide ``N``."""
    perm = rng.permutation(len(X))
    X, y = X[perm], y[perm]
    return [(X[s : s + batch_size], y[s : s + batch_size]) for s in range(0, len(X), batch_size)]


def train_model(
    X: np.ndarray,
    y: np.ndarray,
    layer_sizes,
    learning_rate: float,
    batch_size: int,
    epochs: int,
    rng: np.random.Generator,
    activation: str,
    init: str = "normal",
):
    """Mini-batch gradient descent on the mean cross-entropy: the loop of the
    assignment.

    Parameters
    ----------
    X : ndarray, shape (N, D), float
    y : ndarray, shape (N,), int
    layer_sizes : sequence of int, ``[D, ..., C]``
    learning_rate, batch_size, epochs : the hyperparameters
    rng : numpy.random.Generator, drawing the weights, then each epoch's shuffle
    activation, init : as in :func:`model_forward` and :func:`initialize_parameters`

    Returns
    -------
    params : dict
    batch_losses : list of float
        The loss of every mini-batch, before its update.
    """
    params = initialize_parameters(layer_sizes, rng, init, X.dtype)
    batch_losses = []
    for _ in range(epochs):
        for X_batch, y_batch in random_mini_batches(X, y, batch_size, rng):
            scores, caches = model_forward(X_batch, params, activation)
            loss, dscores = softmax_cross_entropy(scores, y_batch)
            grads = model_backward(dscores, caches)
            update_parameters(params, grads, learning_rate)
            batch_losses.append(loss)
    return params, batch_losses
