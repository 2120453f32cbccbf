"""spikecore.experiments: end-to-end workflows composed from the library packages.

The only package that composes several subsystems (see ARCHITECTURE.md, "Layout"); it sits above
nn, sim, audio, learn, models and analysis and below the ``spikecore`` command:

- :mod:`spikecore.experiments.audio_pipeline`: spoken digits -> cochlea -> Spiketrum -> SNN
  (spikecore.nn) -> event engine (``spikecore demo``, part 1).
- :mod:`spikecore.experiments.brunel`: the Brunel (2000) network run once in the event engine,
  with its rates and ISI CV (``spikecore demo``, part 2).
- :mod:`spikecore.experiments.reconfiguration`: the HebbFF learning-mode sweep with network
  reconfiguration analysis; :mod:`spikecore.experiments.hebbff_cli` is ``spikecore hebbff``.

Submodules are imported on use (most need torch).
"""
