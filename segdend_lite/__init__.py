"""segdend_lite: a small numpy reference implementation of Guerguiev, Lillicrap & Richards (2017),
"Towards deep learning with segregated dendrites", eLife 6:e22901, and the course built on it.

Parts: ``model`` (the paper's model: ``config``, ``neuron``, ``learning``, ``network``, its
engines, ``baselines``, ``training``), ``analysis`` (measurements on a network: the angle to
backprop, the losses, Theorem 1, representations), ``mlp`` (the textbook network of notebooks
01-02), ``threads`` (BLAS threads, usable CPUs), ``data`` (verified MNIST), ``runs`` (histories,
the chunked training loop, stored runs), ``reproduce`` (the paper's experiments), ``course``,
``cli`` (the command line: its parser and ``train``).
"""

from segdend_lite.model.config import Config
from segdend_lite.model.network import Network

__all__ = ["Config", "Network"]
__version__ = "0.1.0"
