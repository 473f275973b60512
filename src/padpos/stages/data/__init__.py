"""The data stage: a study's data set generated, downloaded or indexed once, checksummed
(the science is the shared building block :mod:`padpos.data`)."""
