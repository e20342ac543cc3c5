"""The model: configuration, neuron, learning rule, network, engines, baselines, analysis,
training. Knows nothing of the course."""
