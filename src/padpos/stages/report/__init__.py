"""The report stage: every table built by one command (``padpos table NAME``), the
``cost`` table of a study's job times, ``figures/all``, the index of its outputs, and
``environment.txt``, the study's installed packages."""
