"""The metric-reliability stage: PPP, PosENet and the location test on the same networks
whose truth is known (the padding-free control, its dose calibration, CoordConv and the
study's backbones); its tables and figures."""
