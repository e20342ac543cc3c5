class TrainingDiverged(RuntimeError):
    """Training produced NaN or infinite values."""
