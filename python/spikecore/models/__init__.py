"""spikecore.models: HebbFF (familiarity detection with Hebbian plasticity) and friends.

Imported lazily because the models need torch.
"""

_LAZY = {
    "HebbFF": "spikecore.models.hebbff",
    "SpikingHebbFF": "spikecore.models.hebbff",
    "train_hebbff": "spikecore.models.hebbff",
    "hebbff_plastic": "spikecore.models.hebbff",
    "hebbff_plastic_reference": "spikecore.models.hebbff",
}
__all__ = ["HebbFF", "SpikingHebbFF", "hebbff_plastic", "hebbff_plastic_reference", "train_hebbff"]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spikecore.models' has no attribute {name!r}")
