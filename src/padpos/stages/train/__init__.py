"""The training stage: one backbone per (arch, padding, seed), resumable; its table
(final held-out accuracy) and figure (learning curves)."""
