"""A textbook two-layer sigmoid network, trained by backprop or feedback alignment (notebooks 1-2).

``h = sigma(W1 x + b1)`` (n_h,), ``y_hat = sigma(W2 h + b2)`` (10,), loss
``L = 1/2 ||y_hat - y||^2`` with one-hot ``y``. Rows of ``X`` are images (pixels / 255), so a
batch is ``X`` (N, 784) and the code uses ``X @ W1.T``.

Backprop: ``delta2 = (y_hat - y) sigma'(a2)``, ``delta1 = (delta2 @ W2) * sigma'(a1)``, with
``dL/dW2 = delta2^T h`` and ``dL/dW1 = delta1^T x``. Feedback alignment (Lillicrap et al. 2016)
replaces ``W2`` in ``delta1`` by a fixed random matrix ``Y`` (10, n_h), the feedback weights
(``Y`` as in the segregated-dendrite network).

This is the network the course builds from scratch; the paper's model is in ``network.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from segdend_lite.model.learning import angle
from segdend_lite.model.loop import new_history, record
from segdend_lite.model.neuron import sigma
from segdend_lite.threads import loop_threads


def sigma_prime_from_output(s: np.ndarray) -> np.ndarray:
    """``sigma'(a) = sigma(a) (1 - sigma(a))``, given ``s = sigma(a)``."""
    return s * (1.0 - s)


def output_delta(y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Output error ``delta2 = dL/da2 = (y_hat - y) sigma'(a2)``, with ``sigma'(a2) = y_hat (1 -
    y_hat)``. ``y_hat``, ``y`` (one-hot): (N, 10); returns (N, 10)."""
    return (y_hat - y) * sigma_prime_from_output(y_hat)


def hidden_delta(delta2: np.ndarray, W2: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Hidden error ``delta1 = (W2^T delta2) * sigma'(a1)``; with images as rows,
    ``(delta2 @ W2) * h (1 - h)``. ``delta2`` (N, 10), ``W2`` (10, n_h): the forward weights
    (backprop) or the fixed random feedback ``Y`` of the same shape (feedback alignment);
    ``h = sigma(a1)`` (N, n_h). Returns (N, n_h)."""
    return (delta2 @ W2) * sigma_prime_from_output(h)


def one_hot(y: np.ndarray, n: int = 10) -> np.ndarray:
    """Labels (N,) -> one-hot rows (N, n)."""
    out = np.zeros((len(y), n))
    out[np.arange(len(y)), y] = 1.0
    return out


@dataclass
class MLP:
    """Weights of a 784-n_h-10 sigmoid network; ``Y``: the fixed feedback of feedback alignment.
    ``history``: the training history (:func:`train`), in the format of ``Network.history``."""

    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    Y: np.ndarray
    history: dict = field(default_factory=new_history)

    @classmethod
    def create(
        cls,
        n_hidden: int = 100,
        seed: int = 0,
        n_in: int = 784,
        n_out: int = 10,
        feedback_scale: float = 1.0,
        feedback_sparsity: float = 0.0,
    ) -> MLP:
        """Uniform initial weights scaled by 1/sqrt(fan-in); ``Y`` has the spread of ``W2``
        times ``feedback_scale``, with a fraction ``feedback_sparsity`` of its entries zeroed."""
        rng = np.random.default_rng(seed)
        W1 = rng.uniform(-1, 1, (n_hidden, n_in)) / np.sqrt(n_in)
        W2 = rng.uniform(-1, 1, (n_out, n_hidden)) / np.sqrt(n_hidden)
        Y = feedback_scale * rng.uniform(-1, 1, (n_out, n_hidden)) / np.sqrt(n_hidden)
        if feedback_sparsity:
            Y[rng.random(Y.shape) < feedback_sparsity] = 0.0
        return cls(W1, np.zeros(n_hidden), W2, np.zeros(n_out), Y)

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hidden and output activities ``h`` (N, n_h) and ``y_hat`` (N, 10)."""
        h = sigma(X @ self.W1.T + self.b1)
        return h, sigma(h @ self.W2.T + self.b2)

    def loss(self, X: np.ndarray, T: np.ndarray) -> float:
        """``1/2 sum ||y_hat - t||^2`` over the batch, ``T`` the one-hot targets (N, 10)."""
        return 0.5 * float(np.sum((self.forward(X)[1] - T) ** 2))

    def deltas(self, X: np.ndarray, T: np.ndarray, rule: str = "backprop"):
        """Errors ``delta1`` (N, n_h) and ``delta2`` (N, 10) and activities, by ``rule``
        ``"backprop"`` (through ``W2``) or ``"fa"`` (through ``Y``)."""
        h, y_hat = self.forward(X)
        delta2 = output_delta(y_hat, T)
        delta1 = hidden_delta(delta2, self.W2 if rule == "backprop" else self.Y, h)
        return delta1, delta2, h

    def gradients(self, X: np.ndarray, T: np.ndarray, rule: str = "backprop"):
        """``(dW1, db1, dW2, db2)`` of the loss summed over the batch (``rule="fa"``: the
        feedback-alignment substitute for dW1, db1)."""
        delta1, delta2, h = self.deltas(X, T, rule)
        return delta1.T @ X, delta1.sum(0), delta2.T @ h, delta2.sum(0)

    def step(self, X: np.ndarray, T: np.ndarray, lr: float, rule: str = "backprop") -> None:
        """One gradient step with the mean gradient of the batch."""
        n = len(X)
        dW1, db1, dW2, db2 = self.gradients(X, T, rule)
        self.W1 -= lr * dW1 / n
        self.b1 -= lr * db1 / n
        self.W2 -= lr * dW2 / n
        self.b2 -= lr * db2 / n

    def error(self, X: np.ndarray, y: np.ndarray) -> float:
        """Test error in percent."""
        return float(100.0 * np.mean(np.argmax(self.forward(X)[1], axis=1) != y))


def numerical_gradient(f, w: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central differences ``(f(w + eps e_i) - f(w - eps e_i)) / (2 eps)`` for every entry i of
    ``w`` (changed in place during the call, restored after). Error O(eps^2)."""
    g = np.zeros_like(w, dtype=float)
    for i in np.ndindex(w.shape):
        old = w[i]
        w[i] = old + eps
        up = f(w)
        w[i] = old - eps
        down = f(w)
        w[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


@loop_threads  # minibatches of a few dozen images: small products, one BLAS thread
def train(
    net: MLP,
    X,
    y,
    X_test,
    y_test,
    epochs: int = 1,
    lr: float = 0.5,
    batch_size: int = 32,
    rule: str = "backprop",
    seed: int = 0,
    evals_per_epoch: int = 4,
    track_angle: bool = False,
) -> dict[str, list]:
    """Minibatch training; returns ``net.history`` (the format of ``Network.history``, see
    :data:`segdend_lite.model.loop.HISTORY_KEYS`), with ``evals_per_epoch`` entries per
    epoch: ``epoch`` (fractional), ``images`` seen, ``test_error`` (%) and, if
    ``track_angle``, ``angle_to_bp``: the angle between the rule's hidden update and
    backprop's on the last batch. ``X`` may be uint8 (divided by 255 here)."""
    rng = np.random.default_rng(seed)
    X = X / 255.0 if X.dtype == np.uint8 else X
    X_test = X_test / 255.0 if X_test.dtype == np.uint8 else X_test
    T = one_hot(y)
    every = max(1, len(X) // (batch_size * evals_per_epoch))
    seen = 0
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for k, i in enumerate(range(0, len(X), batch_size)):
            idx = order[i : i + batch_size]
            a = None
            if track_angle:
                d_rule = net.gradients(X[idx], T[idx], rule)[0]
                d_bp = net.gradients(X[idx], T[idx], "backprop")[0]
                a = angle(d_rule, d_bp)
            net.step(X[idx], T[idx], lr, rule)
            seen += len(idx)
            if (k + 1) % every == 0:
                record(
                    net.history,
                    epoch=seen / len(X),
                    images=seen,
                    test_error=net.error(X_test, y_test),
                    angle_to_bp=a,
                )
    return net.history
