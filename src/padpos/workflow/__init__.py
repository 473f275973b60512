"""Workflow plumbing, imported only by the Snakefile and the command layer (never by the
science; ``tests/test_stages.py`` checks it): config validation and coercion
(:mod:`~padpos.workflow.config`), the code files each rule depends on
(:mod:`~padpos.workflow.codedeps`) and the end-of-run list of jobs that errored
(:mod:`~padpos.workflow.job_errors`). Torch-free, so that parsing the Snakefile is fast."""
