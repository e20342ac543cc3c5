"""Notebook 07, what the network learned: the exercises and their known mistakes."""

from __future__ import annotations

import numpy as np

from segdend_lite.course.checks import Exercise, Prediction, register
from segdend_lite.analysis import representations

NB = "07_what_the_network_learned"


def _knn_cases(rng):
    three = np.repeat(np.arange(3), 20)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    two = rng.integers(0, 2, 80)
    return [
        (centres[three] + rng.normal(0, 1.2, (60, 2)), three, 1),
        (rng.normal(0, 1, (80, 5)) + two[:, None], two, 5),
        (rng.normal(0, 1, (41, 1)) + 1.5 * (np.arange(41) % 2)[:, None], np.arange(41) % 2, 3),
    ]


def _knn_with_itself(Z, y, k):
    """The mistake: each point counted among its own neighbours."""
    d = np.linalg.norm(Z[:, None] - Z[None], axis=2)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    votes = np.array([np.bincount(y[n], minlength=y.max() + 1).argmax() for n in nearest])
    return 100.0 * np.mean(votes == y)


register(
    Exercise(
        name="knn_accuracy",
        notebook=NB,
        title="how clean are the clusters? leave-one-out k-nearest-neighbour accuracy",
        reference=representations.knn_accuracy,
        cases=_knn_cases,
        mistakes=[
            (
                _knn_with_itself,
                "Each point is its own nearest neighbour (distance 0): leave it out, e.g. by "
                "setting the diagonal of the distance matrix to infinity.",
            ),
            (
                lambda Z, y, k: representations.knn_accuracy(Z, y, k) / 100.0,
                "Return a percentage (0-100), not a fraction.",
            ),
            (
                lambda Z, y, k: 100.0 - representations.knn_accuracy(Z, y, k),
                "That is the error rate; return the accuracy, the % classified correctly.",
            ),
        ],
        hints=(
            "For every point: find the k closest *other* points, take the most common label "
            "among them, and count how often it is the point's own label.",
            "d = distances between all pairs (N, N); np.fill_diagonal(d, np.inf); "
            "nearest = np.argsort(d, axis=1)[:, :k]; vote with np.bincount(y[nearest[i]]).",
        ),
    )
)


def _field_cases(rng):
    G = rng.normal(0, 1, (7, 30))
    return [
        (rng.normal(0, 1, (5, 30)), G),
        (np.vstack([3 * G[2] + 1, -G[4] + 5, rng.normal(2, 1, 30)]), G),
        (rng.normal(1, 2, (4, 12)), rng.normal(-1, 1, (9, 12))),
    ]


def _cosine(F, G):
    Fn = F / np.linalg.norm(F, axis=1, keepdims=True)
    Gn = G / np.linalg.norm(G, axis=1, keepdims=True)
    return Fn @ Gn.T


def _pearson_matrix(F, G):
    return _cosine(F - F.mean(axis=1, keepdims=True), G - G.mean(axis=1, keepdims=True))


register(
    Exercise(
        name="best_correlation",
        notebook=NB,
        title="each receptive field's best Pearson correlation with another network's fields",
        reference=lambda F, G: representations.best_correlations(F, G),
        cases=_field_cases,
        mistakes=[
            (
                lambda F, G: _cosine(F, G).max(axis=1),
                "That is the cosine of the raw fields. Pearson's r first subtracts each field's "
                "own mean (over its pixels), then divides by the norms.",
            ),
            (
                lambda F, G: _pearson_matrix(F, G).max(axis=0),
                "The best match of each field of F: take the maximum over G's fields (axis 1), "
                "one value per row of F.",
            ),
            (
                lambda F, G: np.abs(_pearson_matrix(F, G)).max(axis=1),
                "Keep the sign: a field that is the negative of another is not a match here; "
                "take the largest r, not the largest |r|.",
            ),
            (
                lambda F, G: (
                    ((F - F.mean(1, keepdims=True)) @ (G - G.mean(1, keepdims=True)).T).max(axis=1)
                    / F.shape[1]
                ),
                "That is a covariance: divide by the two fields' standard deviations (or norms "
                "of the centred fields) to get a correlation between -1 and 1.",
            ),
        ],
        hints=(
            "Centre each field (subtract its mean over pixels) and scale it to length 1; then "
            "one matrix product gives all the correlations at once.",
            "Flatten each field to a row (reshape(len(F), -1)); subtract each row's mean "
            "(keepdims=True keeps the shapes aligned) and divide by its norm; the product of "
            "the two sets of rows is then the (n, m) matrix of correlations: take each row's "
            "maximum.",
        ),
    )
)


register(
    Prediction(
        name="cleanest",
        notebook=NB,
        title="which representation separates the digits more cleanly?",
        options=("the input", "the hidden layers"),
        outcome=lambda knn: "the hidden layers" if min(knn[1:]) > knn[0] else "the input",
        explanation=(
            "Pixels are a poor space for comparing digits: two 7s written with different "
            "slants share few pixels. The hidden layers were trained to make the output "
            "separable, so images of one digit land near each other there; the paper's Fig. 6C "
            "shows the same, with the second hidden layer the cleanest after 60 epochs."
        ),
        hints=(
            "The network learned weights that make the digits easy to tell apart at the output.",
            "With all 60,000 training images as neighbours, a nearest-neighbour classifier on raw "
            "MNIST pixels makes about 3 % errors; with a few hundred images as neighbours, as "
            "here, far more. The comparison is between layers on the same images.",
        ),
    )
)

register(
    Prediction(
        name="rate_feedback_angle",
        notebook=NB,
        title="rate feedback vs spiking feedback: which is closer to backprop?",
        options=("rate feedback", "spiking feedback", "about the same"),
        outcome=lambda diff: (
            "rate feedback" if diff < -5 else "spiking feedback" if diff > 5 else "about the same"
        ),
        explanation=(
            "The hidden error is alpha^t - alpha^f, a difference of two short averages of "
            "apical voltage. With spikes each average carries Poisson noise of the output "
            "neurons, which is of the same size as the signal once the output is nearly right; "
            "with rates (no spike noise) the difference is the clean signal, so its direction "
            "is closer to backprop's (paper Fig. 7A: about 65-70 vs 35-40 degrees)."
        ),
        hints=(
            "What is in alpha^t - alpha^f besides the teaching signal, when it comes from spikes?",
            "Spike counts in a 20-30 ms window are noisy; rates are not.",
        ),
    )
)
