"""segdend_lite: a small numpy reference implementation of Guerguiev, Lillicrap & Richards (2017),
"Towards deep learning with segregated dendrites", eLife 6:e22901, and the course built on it.

Modules: ``data`` (verified MNIST), ``neuron`` (single-neuron equations), ``config`` (parameters
and options), ``network`` (the model), ``baselines``, ``training``, ``analysis``, ``plots``.
"""

from segdend_lite.model.config import Config
from segdend_lite.model.network import Network

__all__ = ["Config", "Network"]
__version__ = "0.1.0"
