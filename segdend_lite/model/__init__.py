"""The model: configuration, neuron, learning rule, network, its two spiking engines, baselines,
training (the fit loop, checkpoints, divergence checks). Knows nothing of the course, of the
measurements made on it (:mod:`segdend_lite.analysis`) or of the machine it runs on
(:mod:`segdend_lite.threads`)."""
