"""Position-information metrics: PPP (Lin et al. 2023), PosENet (Islam et al. 2020)."""
