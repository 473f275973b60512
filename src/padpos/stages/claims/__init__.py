"""The claims stage: the replication scorecard. Every claim of the four papers, its
statistic over the study's tables with a 95 % interval, a decision rule fixed in code,
the paper's value where public, and a verdict (supported / contradicted / inconclusive /
by construction); the scorecard table and its figure."""
