"""spikecore.convert: ANN-to-SNN conversion (SUHD, arXiv 2306.12010; METHODS.md section 4).

BN folding, threshold balancing, QCFS timestep-compression training, rate coding (IF, soft reset,
v0 = theta/2) and STDI coding (MSB-first time-varying threshold, exact max-pool gate), on any
torch.fx-traceable ANN. See docs/convert.md.
"""

from spikecore.nn.qcfs import QCFS, levels_for

from .converter import SUPPORTED, SpikingNetwork, calibrate, convert, fold_bn, is_lossless_T
from .layers import MAX_STDI_BITS, SpikeMaxPool2d, SpikingActivation, stdi_threshold

__all__ = [
    "MAX_STDI_BITS",
    "QCFS",
    "SUPPORTED",
    "SpikeMaxPool2d",
    "SpikingActivation",
    "SpikingNetwork",
    "calibrate",
    "convert",
    "fold_bn",
    "is_lossless_T",
    "levels_for",
    "stdi_threshold",
]
