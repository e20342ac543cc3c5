"""Measurements on a network, for the notebooks and the experiments; the model itself is in
:mod:`segdend_lite.model` and knows nothing of them.

- :mod:`~segdend_lite.analysis.alignment`: the local rule's updates against backprop's (Fig. 7A);
- :mod:`~segdend_lite.analysis.losses`: the hidden and output losses per image and their
  correlation within each digit (Fig. 5B-C);
- :mod:`~segdend_lite.analysis.theorem1`: Theorem 1's Jacobians and condition (Fig. 5-figure
  supplement 1);
- :mod:`~segdend_lite.analysis.representations`: what the layers represent (Figs. 6C, 7B-C).

The functions of the first three are also names of this package (``analysis.layer_losses``).
"""

from segdend_lite.analysis.alignment import angle_to_backprop, whole_layer_updates
from segdend_lite.analysis.losses import (
    layer_losses,
    loss_correlation,
    pearson_r,
    spiking_layer_losses,
)
from segdend_lite.analysis.theorem1 import (
    jacobian_beta,
    jacobian_condition,
    jacobian_gamma,
    jacobians,
    theorem1_condition,
    theorem1_jacobians,
)

__all__ = [
    "angle_to_backprop",
    "jacobian_beta",
    "jacobian_condition",
    "jacobian_gamma",
    "jacobians",
    "layer_losses",
    "loss_correlation",
    "pearson_r",
    "spiking_layer_losses",
    "theorem1_condition",
    "theorem1_jacobians",
    "whole_layer_updates",
]
