"""The benchmark networks' parameters, shared by spikecore and the peer runners.

CUBA is Brian2's examples/CUBA.py (Vogels & Abbott 2005 benchmark 2); Brunel is model A of
Brunel (2000) in the asynchronous irregular state, as NEST's brunel_delta example sets it up.
Units: ms, mV, Hz.
"""

from __future__ import annotations

CUBA = dict(
    n=4000,
    n_exc=3200,
    p=0.02,
    tau_m=20.0,
    tau_ex=5.0,
    tau_in=10.0,
    v_th=-50.0,
    v_reset=-60.0,
    v_rest=-49.0,
    t_ref=5.0,
    w_ex=1.62,
    w_in=-9.0,
)

# Total external Poisson rate per neuron: eta * nu_thr * k_exc with nu_thr = theta / (J k_exc tau).
_ETA = 2.0
BRUNEL = dict(
    n_exc=10000,
    n_inh=2500,
    k_exc=1000,
    k_inh=250,
    J=0.1,
    g=5.0,
    eta=_ETA,
    delay_ms=1.5,
    tau_m=20.0,
    v_th=20.0,
    v_reset=10.0,
    t_ref=2.0,
    poisson_rate_hz=_ETA * 20.0 / (0.1 * 1000 * 20.0) * 1000 * 1000.0,
    v0_low=0.0,
    v0_high=20.0,
)


def brunel(scale: float = 1.0) -> dict:
    """Brunel parameters with ``scale`` times the neurons and the same in-degrees."""
    p = dict(BRUNEL)
    p["n_exc"] = max(int(round(BRUNEL["n_exc"] * scale)), p["k_exc"])
    p["n_inh"] = max(int(round(BRUNEL["n_inh"] * scale)), p["k_inh"])
    return p


def cuba() -> dict:
    return dict(CUBA)
