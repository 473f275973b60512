"""The report stage: every table built by one command (``padpos table NAME``), the
``cost`` table of a study's job times, and ``figures/all``, the index of its outputs."""
