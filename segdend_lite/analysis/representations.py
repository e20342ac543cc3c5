"""What a trained network represents (paper Figs. 6C and 7B-C).

- :func:`hidden_activities`: the activity of every layer for a set of images (Fig. 6C's data);
- :func:`embed`: a 2-D t-SNE embedding of one layer's activities (scikit-learn's ``TSNE``
  after a PCA to 50 dimensions, the usual recipe);
- :func:`knn_accuracy` and :func:`silhouette`: how cleanly the digits cluster, as numbers, so
  that "the hidden layers cluster more cleanly than the input" is measured, not eyeballed;
- :func:`receptive_fields`, :func:`best_correlations` and :func:`shuffled_correlations`: the
  first hidden layer's input weights as images and, for each unit, the best Pearson correlation
  with the units of another network (e.g. backprop of the same shape), with a shuffled control
  (Fig. 7B-C).

Uses only the public API of :class:`~segdend_lite.model.network.Network`.
"""

from __future__ import annotations

import numpy as np

from segdend_lite.model.network import Network

IMAGE_SHAPE = (28, 28)


def rate_twin(net: Network) -> Network:
    """A rate-mode copy of ``net`` (same shape, weights, biases and feedback).

    In rate mode the activities are the closed form of the authors' non-spiking mode
    (docs/model.md, "Rate mode"); for a spiking network they are the rates its weights give without
    spike noise, ``phi_max sigma(k_B (W r + b))``, i.e. about its mean firing rates.
    """
    twin = Network(
        net.layer_sizes, net.config.replace(mode="rate"), seed=net.seed, n_input=net.n_input
    )
    for name in ("W", "b", "Y"):
        for i, a in enumerate(getattr(net, name)):
            getattr(twin, name)[i] = a
    return twin


def hidden_activities(net: Network, X: np.ndarray, chunk: int = 5000) -> list[np.ndarray]:
    """The activity of every layer below the output for images ``X``, forward phase.

    Args:
        net: a network (rate or spiking mode; a spiking network is read through
            :func:`rate_twin`).
        X: images (N, 784), uint8 or pixels / 255.
        chunk: images per batch (memory).

    Returns:
        ``[r^in, r^0, ..., r^{L-1}]``: input rates ``phi_max x`` (N, 784), then each hidden
        layer's rates ``phi_max sigma(C^h)`` (N, n_h), all in spikes/ms, float64.
    """
    X = np.atleast_2d(np.asarray(X))
    if len(X) == 0:
        raise ValueError("no images: X has shape (0, ...)")
    rate_net = net if net.config.mode == "rate" else rate_twin(net)
    labels = np.zeros(len(X), dtype=np.int64)  # the forward phase does not depend on labels
    out = [[] for _ in range(net.n_hidden + 1)]
    for i in range(0, len(X), chunk):
        p = rate_net.phases(X[i : i + chunk], labels[i : i + chunk])
        for layer, r in enumerate(p.r[: net.n_hidden + 1]):
            out[layer].append(np.asarray(r, dtype=np.float64))
    return [np.concatenate(parts) for parts in out]


def embed(
    A: np.ndarray,
    seed: int = 0,
    perplexity: float = 30.0,
    pca_components: int = 50,
    threads: int | None = 1,
) -> np.ndarray:
    """A 2-D t-SNE embedding of activities ``A`` (N, d), shape (N, 2) (Fig. 6C).

    The activities are first reduced by PCA to ``pca_components`` dimensions (if d is larger),
    then embedded by scikit-learn's ``TSNE`` (Barnes-Hut, PCA initialisation, learning rate
    ``"auto"``, ``random_state=seed``). The axes of a t-SNE map have no units: only who is
    near whom means something. ``threads``: OpenMP/BLAS threads (None = all cores; the default
    1 is predictable on a shared machine, where spinning threads can make t-SNE many times
    slower). About 6 s of CPU for 1,000 images, 12 s for 2,000.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or len(A) < 4:
        raise ValueError(f"A must be (N, d) activities with N >= 4 images; got shape {A.shape}")
    if not 0 < perplexity < len(A):
        raise ValueError(f"perplexity={perplexity} must lie between 0 and N={len(A)}")
    with threadpool_limits(limits=threads):
        if A.shape[1] > pca_components:
            A = PCA(n_components=pca_components, random_state=seed).fit_transform(A)
        tsne = TSNE(
            n_components=2,
            perplexity=perplexity,
            init="pca",
            learning_rate="auto",
            random_state=seed,
            n_jobs=threads,
        )
        return tsne.fit_transform(A)


def knn_accuracy(Z: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-nearest-neighbour accuracy (%) of labels ``y`` (N,) in points ``Z`` (N, d).

    Each point is classified by the majority label of its ``k`` nearest other points
    (Euclidean); a tie goes to the smallest label among the most frequent. 100 % means every
    point sits among points of its own digit: clean clusters.
    """
    Z = np.asarray(Z, dtype=np.float64)
    y = np.asarray(y)
    if Z.ndim != 2 or y.shape != (len(Z),):
        raise ValueError(f"Z must be (N, d) and y (N,); got {Z.shape} and {y.shape}")
    if not 1 <= k < len(Z):
        raise ValueError(f"k={k} must lie between 1 and N - 1 = {len(Z) - 1}")
    labels = np.unique(y)
    y_idx = np.searchsorted(labels, y)
    sq = np.sum(Z * Z, axis=1)
    correct = 0
    for i in range(0, len(Z), 1000):
        d2 = sq[i : i + 1000, None] - 2.0 * Z[i : i + 1000] @ Z.T + sq[None, :]
        d2[np.arange(len(d2)), np.arange(i, i + len(d2))] = np.inf  # leave the point itself out
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
        votes = np.zeros((len(d2), len(labels)), dtype=np.int64)
        np.add.at(votes, (np.arange(len(d2))[:, None], y_idx[nearest]), 1)
        correct += int(np.sum(np.argmax(votes, axis=1) == y_idx[i : i + 1000]))
    return 100.0 * correct / len(Z)


def silhouette(Z: np.ndarray, y: np.ndarray) -> float:
    """Mean silhouette coefficient of the clusters given by labels ``y`` (N,) in ``Z`` (N, d).

    Per point ``(b - a) / max(a, b)``, with ``a`` its mean distance to its own digit and ``b``
    to the nearest other digit; from -1 to 1, higher = tighter, better separated clusters.
    (scikit-learn's ``silhouette_score``.)
    """
    from sklearn.metrics import silhouette_score

    return float(silhouette_score(np.asarray(Z, dtype=np.float64), np.asarray(y)))


def receptive_fields(net: Network, layer: int = 0) -> np.ndarray:
    """The input weights of the first hidden layer as images, shape (n_0, 28, 28) (Fig. 7B).

    Row ``i`` of ``W^0`` (dimensionless weights onto the basal dendrite) reshaped to the image
    grid (the images are flattened row by row).
    """
    if layer != 0:
        raise ValueError("only the first hidden layer (layer=0) sees the image directly")
    if net.n_hidden < 1 or net.n_input != IMAGE_SHAPE[0] * IMAGE_SHAPE[1]:
        raise ValueError("receptive fields need a hidden layer and 784 inputs")
    return np.asarray(net.W[0], dtype=np.float64).reshape(-1, *IMAGE_SHAPE)


def _standardize(F: np.ndarray) -> np.ndarray:
    F = np.asarray(F, dtype=np.float64).reshape(len(F), -1)
    F = F - F.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(F, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("a receptive field is constant: its correlation is undefined")
    return F / norm


def best_correlations(F: np.ndarray, G: np.ndarray, pixels: np.ndarray | None = None) -> np.ndarray:
    """For each field in ``F`` (n, 28, 28) or (n, d), its best Pearson correlation with the
    fields of ``G`` (m, ...): ``max_j r(F_i, G_j)``, shape (n,) (Fig. 7C).

    ``pixels``: an optional boolean mask (784,) or (28, 28) of the pixels to compare (e.g.
    those lit in some training images; the others never change from their random start).
    """
    F = np.asarray(F).reshape(len(F), -1)
    G = np.asarray(G).reshape(len(G), -1)
    if F.shape[1] != G.shape[1]:
        raise ValueError(f"fields of different sizes: {F.shape[1]} and {G.shape[1]} pixels")
    if pixels is not None:
        mask = np.asarray(pixels, dtype=bool).reshape(-1)
        if mask.shape != (F.shape[1],):
            raise ValueError(f"pixels mask has {mask.size} entries; the fields {F.shape[1]}")
        F, G = F[:, mask], G[:, mask]
    return np.max(_standardize(F) @ _standardize(G).T, axis=1)


def shuffled_correlations(
    F: np.ndarray,
    G: np.ndarray,
    rng: np.random.Generator,
    pixels: np.ndarray | None = None,
) -> np.ndarray:
    """The control of :func:`best_correlations`: each field of ``F`` with its pixels shuffled
    (a separate random permutation per field, within ``pixels`` if given), shape (n,).

    Shuffling keeps each field's weight values but destroys its spatial structure, so the
    best correlations it reaches by chance set the floor to compare with.
    """
    F = np.array(F, dtype=np.float64).reshape(len(F), -1)
    G = np.asarray(G).reshape(len(G), -1)
    if pixels is not None:
        mask = np.asarray(pixels, dtype=bool).reshape(-1)
        F, G = F[:, mask], G[:, mask]
    shuffled = rng.permuted(F, axis=1)
    return best_correlations(shuffled, G)
