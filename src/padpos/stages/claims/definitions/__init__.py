"""The claims of the four papers, each a statistic of the study's tables and a rule
fixed before the data are seen (docs/protocols.md section 8 explains every row).

Papers: [ISL20] Islam, Jia, Bruce, ICLR 2020 (PosENet); [ISL21] Islam et al. 2021
(padding, boundary effects, the canvas task); [KAY20] Kayhan & van Gemert, CVPR 2020
(F-Conv tests); [LIN23] Lin et al., ICML 2023 (PPP). Published values are quoted with
their source; where a paper publishes none that this protocol measures, the field is empty.
"""

from __future__ import annotations

from padpos.stages.claims.definitions.isl20 import ISL20
from padpos.stages.claims.definitions.isl21 import ISL21
from padpos.stages.claims.definitions.kay20 import KAY20
from padpos.stages.claims.definitions.lin23 import LIN23
from padpos.stages.claims.scorecard import Claim

__all__ = ["CLAIMS", "ISL20", "ISL21", "KAY20", "LIN23"]

CLAIMS: tuple[Claim, ...] = (*ISL20, *ISL21, *KAY20, *LIN23)
assert len({c.id for c in CLAIMS}) == len(CLAIMS), "claim ids must be unique"
