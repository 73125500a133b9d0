"""Optimisers: each ``step(params, grads)`` updates the parameters in place
from the plain gradients of :func:`mlp_core.model_backward`, exactly as the
formula in its docstring says.

An optimiser keeps what it carries from step to step (velocities, moments,
the step count) in ``state``, a dict of arrays, so that a checkpoint can
save and restore it.

Every optimiser takes an L2 weight decay ``weight_decay`` (``lambda``, 0 by
default): the loss minimised becomes

    J + (lambda / 2) * sum over layers of ||W{l}||^2   (weights only, not biases)

whose gradient adds ``lambda * W`` to each ``dW`` before the optimiser's own
rule. For SGD the step is ``W <- (1 - learning_rate * lambda) * W -
learning_rate * dW``: the weights shrink by a constant factor each step
(the fused SGD step applies that factor as asked over a whole run; see
:meth:`SGD._decay_factor`). With Adam this is the L2 penalty of the Adam
paper (the decay passes through the moments), not AdamW's decoupled decay.
"""

from __future__ import annotations

import math

import numpy as np

import mlp_core as mc
from dlia_a2 import blas
from dlia_a2.checks import is_real

OPTIMIZERS = ("sgd", "momentum", "adam")


class Optimizer:
    """Base class: a learning rate, a weight decay and a ``state`` dict of arrays."""

    def __init__(self, learning_rate: float, weight_decay: float = 0.0):
        check_learning_rate(learning_rate)
        check_weight_decay(weight_decay)
        check_decay_per_step(learning_rate, weight_decay)
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.state: dict[str, np.ndarray] = {}

    def penalised(self, params: dict, grads: dict) -> dict:
        """The gradients of the loss plus the L2 penalty: ``dW + weight_decay * W``
        for every weight matrix, biases unchanged; ``grads`` itself when there is
        no decay (so a run without it keeps its bits)."""
        if not self.weight_decay:
            return grads
        return {d: g + self.weight_decay * params[d[1:]] if d.startswith("dW") else g for d, g in grads.items()}

    def step(self, params: dict, grads: dict) -> None:
        raise NotImplementedError

    def backward_step(self, params: dict, dscores: np.ndarray, caches) -> None:
        """Back-propagate from ``dJ/dscores`` and take one step: :meth:`step`
        on the gradients of :func:`mlp_core.model_backward`. The training
        loop calls this; SGD overrides it with a fused step."""
        self.step(params, mc.model_backward(dscores, caches))

    def _slot(self, name: str, like: np.ndarray) -> np.ndarray:
        """The state array ``name``, zeros shaped like ``like`` on first use."""
        if name not in self.state:
            self.state[name] = np.zeros_like(like)
        return self.state[name]


class SGD(Optimizer):
    """Plain gradient descent, ``p <- p - learning_rate * dp``: the core's
    :func:`mlp_core.update_parameters`.

    With ``fused`` (the default) :meth:`backward_step` takes that step without
    writing the weight gradients out: per layer, as
    :func:`mlp_core.backward_layers` yields ``dZ`` and the layer's input
    ``A_prev``, one matrix product updates the weights in place,

        W <- (1 - learning_rate * weight_decay) * W - learning_rate * dZ.T @ A_prev

    (:func:`dlia_a2.blas.gemm_update`), and ``b <- b - learning_rate *
    dZ.sum(0)``. That is the same step, rounded once inside the product
    instead of three times outside it: equal to :meth:`step` on
    :func:`mlp_core.model_backward`'s gradients to float rounding
    (``tests/test_optimizers.py``). With ``fused=False`` it is that
    :meth:`step`, bit for bit the core's ``train_model``.
    """

    def __init__(self, learning_rate: float, weight_decay: float = 0.0, fused: bool = True):
        super().__init__(learning_rate, weight_decay)
        self.fused = bool(fused)

    def step(self, params, grads):
        mc.update_parameters(params, self.penalised(params, grads), self.learning_rate)

    def backward_step(self, params, dscores, caches):
        if not self.fused:
            return super().backward_step(params, dscores, caches)
        lr = self.learning_rate
        beta = self._decay_factor(params["W1"].dtype) if self.weight_decay else 1.0
        for l, dZ, A_prev in mc.backward_layers(dscores, caches):
            blas.gemm_update(params[f"W{l}"], dZ, A_prev, -lr, beta)
            params[f"b{l}"] -= lr * dZ.sum(axis=0)

    def _decay_factor(self, dtype: np.dtype) -> float:
        """This step's ``1 - learning_rate * weight_decay`` as ``dtype`` holds
        it, with the rounding carried over to the next step.

        BLAS takes ``beta`` in the weights' dtype. Rounded afresh each step, a
        float32 ``1 - 2e-5`` decays 0.14% too much every step, and any decay
        below 3e-8 rounds to none at all. So the factor actually applied is
        kept in step with the one asked for: ``state["decay_debt"]`` holds, in
        float64, the log of the decay asked for so far minus the log of the
        decay applied, and each step applies the representable factor nearest
        to what is owed. Over a whole run the product of the factors applied
        equals ``prod(1 - learning_rate_t * weight_decay)`` to float64 rounding
        and one rounding of the last factor (``tests/test_optimizers.py``).
        """
        debt = self._slot("decay_debt", np.zeros((), np.float64))
        owed = float(debt) + math.log1p(-self.learning_rate * self.weight_decay)
        beta = float(dtype.type(math.exp(owed)))
        debt[...] = owed - math.log1p(beta - 1.0)  # beta - 1 is exact
        return beta


class Momentum(Optimizer):
    """Heavy-ball momentum: ``v <- momentum * v - learning_rate * dp``, then
    ``p <- p + v``, with ``v`` starting at zero.

    The velocity ``v`` is a step in parameter space, with the learning rate
    already inside it (Polyak's heavy ball, and the form of Sutskever et al.
    2013). PyTorch and optax keep instead ``v <- momentum * v + dp; p <- p -
    learning_rate * v``. The two are the same step while the rate is
    constant; when a schedule changes it, ours applies the new rate to new
    gradients only, so the steps already under way keep their size and the
    step shrinks smoothly, whereas the other form rescales all the momentum
    at once. We keep ours because it is the form the course teaches and
    because the step it takes never jumps when the rate changes. The two
    forms end in different weights after a cosine schedule (by 0.12 on the
    quadratic bowl of ``tests/test_optimizers.py``, which holds the form).
    """

    def __init__(self, learning_rate: float, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(learning_rate, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        self.momentum = momentum

    def step(self, params, grads):
        grads = self.penalised(params, grads)
        for k, p in params.items():
            v = self._slot("v_" + k, p)
            v *= self.momentum
            v -= self.learning_rate * grads["d" + k]
            p += v


class Adam(Optimizer):
    """Adam as in Algorithm 1 of Kingma and Ba (2015), the form PyTorch and
    JAX's optax compute. With ``t`` the step count (from 1) and ``g = dp``::

        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g**2
        p <- p - learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    so ``eps`` is added to the bias-corrected ``sqrt(v_hat)``, not to
    ``sqrt(v)`` (the paper's "efficient" variant in its section 2 differs
    there).
    """

    def __init__(
        self,
        learning_rate: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(learning_rate, weight_decay)
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= b < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {b}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.state["t"] = np.zeros((), dtype=np.int64)

    def step(self, params, grads):
        b1, b2 = self.beta1, self.beta2
        grads = self.penalised(params, grads)
        self.state["t"] += 1
        t = int(self.state["t"])
        for k, p in params.items():
            g = grads["d" + k]
            m = self._slot("m_" + k, p)
            v = self._slot("v_" + k, p)
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            m_hat = m / (1 - b1**t)
            v_hat = v / (1 - b2**t)
            p -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)


def make_optimizer(name: str, learning_rate: float, **options) -> Optimizer:
    """``"sgd"`` (option ``fused``), ``"momentum"`` (option ``momentum``) or
    ``"adam"`` (options ``beta1``, ``beta2``, ``eps``); each also takes
    ``weight_decay``."""
    classes = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")
    check_learning_rate(learning_rate)  # before the call, whose TypeError means a wrong option
    try:
        return classes[name](learning_rate, **options)
    except TypeError:
        raise ValueError(f"optimizer {name!r} does not take options {sorted(options)}") from None


def check_learning_rate(learning_rate) -> None:
    """Refuse anything but a positive, finite number."""
    if not is_real(learning_rate):
        raise TypeError(f"learning_rate must be a number, got {learning_rate!r}")
    if not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive finite number such as 0.05, got {learning_rate}")


def check_weight_decay(weight_decay) -> None:
    """Refuse anything but a finite number >= 0."""
    if not is_real(weight_decay):
        raise TypeError(f"weight_decay must be a number, got {weight_decay!r}")
    if not math.isfinite(weight_decay) or weight_decay < 0:
        raise ValueError(f"weight_decay must be zero (none) or a positive number such as 1e-4, got {weight_decay}")


def check_decay_per_step(learning_rate: float, weight_decay: float) -> None:
    """Refuse a weight decay that no weight can apply: a factor ``1 -
    learning_rate * weight_decay`` of zero or less (each step would flip the
    weights' sign), or one so close to 1 that even float64 holds it as 1.

    The smallest ``learning_rate * weight_decay`` allowed is therefore just
    over ``2**-54`` (5.6e-17). Float32 weights apply a decay that small only
    because :meth:`SGD._decay_factor` carries it over from step to step; the
    unfused step adds it to the gradient.

    Parameters
    ----------
    learning_rate : float
        Positive; the rate of the first step (a schedule only lowers it).
    weight_decay : float
        Zero (no decay) or positive.
    """
    per_step = learning_rate * weight_decay
    if weight_decay and not 1.0 - per_step < 1.0:
        raise ValueError(
            f"learning_rate * weight_decay = {per_step:g} is too small to decay anything: 1 - {per_step:g} is 1 "
            f"even in float64; use weight_decay=0, or one of at least {2**-53 / learning_rate:.2g}"
        )
    if per_step >= 1:
        raise ValueError(
            f"learning_rate * weight_decay = {per_step:g} shrinks the weights by a factor of 1 - {per_step:g} <= 0 "
            f"each step; use a weight_decay below {1 / learning_rate:g} (such as 1e-4)"
        )


# --- a constraint applied after the step --------------------------------------------


def max_norm_(params: dict, c: float) -> dict:
    """The max-norm constraint (Srivastava et al. 2014, sec. 5.1), applied
    after an optimiser's step, in place:
    every hidden unit's incoming weight vector, row ``m`` of ``W{l}`` for the
    hidden layers ``l = 1 .. L-1`` (``Z = A_prev @ W.T + b``), is scaled down
    to Euclidean norm ``c`` when it is longer; shorter rows, the biases and
    the output layer are left as they are. Returns ``params``.

    Parameters
    ----------
    params : dict
        ``W1, b1, ..., WL, bL``; the hidden layers' ``W`` are changed in place.
    c : float
        The largest norm allowed, > 0.
    """
    if not c > 0:
        raise ValueError(f"the max-norm bound c must be > 0, got {c}")
    for l in range(1, len(params) // 2):
        W = params[f"W{l}"]
        norms = np.sqrt(np.einsum("ij,ij->i", W, W))
        over = norms > c
        if over.any():
            W[over] *= (c / norms[over])[:, None].astype(W.dtype)
    return params
