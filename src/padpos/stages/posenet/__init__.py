"""The PosENet stage (Islam et al. 2020): how much absolute position a readout decodes
from the frozen features of every trained backbone, and from raw RGB with the
readout's own padding ("PosENet alone")."""
