"""The probes that several stages share, each written once: a stage imports them, and
no stage imports another stage's science (the benchmark stage, which measures the
others, may).

- :mod:`padpos.probes.readout`: the PosENet readout [ISL20] (targets, SPC, the readout
  network and its training), used by the posenet, reliability and pretrained stages;
- :mod:`padpos.probes.pattern`: the PPP statistics [LIN23] (running sums, SNR,
  consistency, reach), used by the ppp, reliability and pretrained stages;
- :mod:`padpos.probes.location`: the location (quadrant) test [KAY20] with a frozen
  network (canvases, corner offsets, pooled features, the linear head), used by the
  fconv_location, reliability and pretrained stages.
"""
