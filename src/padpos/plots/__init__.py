"""One module per figure family; :mod:`padpos.plots.style` holds the shared look."""
