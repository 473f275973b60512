"""The canvas stage (Islam et al. 2021): location-dependent classification on a k x k
canvas, fresh nets per arch x padding x seed predicting an image's cell and class; their
tables (per ring, per cell) and figures."""
