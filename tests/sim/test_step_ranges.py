"""Durations converted to steps are range-checked where they are converted (issue 12, bug 4): a
refractory period or refractory count beyond the int32 counter, and times / periods beyond 2**53
steps, raise an error naming the argument and the largest value allowed, instead of wrapping."""

import numpy as np
import pytest

from spikecore.sim import Network


@pytest.mark.parametrize("model", ["lif", "alif"])
def test_t_ref_beyond_the_int32_counter_is_refused(model):
    net = Network(dt=0.1)
    with pytest.raises(ValueError, match=r"t_ref: .*largest value allowed is .*214748364\.7 ms"):
        net.add_population(1, model, t_ref=2.2e8, i_e=100.0)


def test_the_largest_t_ref_allowed_keeps_the_neuron_refractory():
    net = Network(dt=0.1)
    pop = net.add_population(1, "lif", t_ref=(2**31 - 1) * 0.1, i_e=100.0)
    spikes = net.record_spikes(pop)
    net.run(20.0)
    assert spikes.count == 1  # fires once, then stays refractory
    assert net.get_state(pop, "ref")[0] > 2**30


def test_ref_state_beyond_the_int32_counter_is_refused():
    net = Network(dt=0.1)
    pop = net.add_population(1, "lif", i_e=100.0)
    with pytest.raises(ValueError, match=r"ref: .*at most 2\*\*31 - 1"):
        net.set_state(pop, "ref", 1e30)
    net.set_state(pop, "ref", 2.0**30)
    spikes = net.record_spikes(pop)
    net.run(20.0)
    assert spikes.count == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda net, p: net.record_state(p, "v", every=1e300),
        lambda net, p: net.add_structural_plasticity(
            net.connect(p, p, "one_to_one", weight=0.1), every=1e300, fraction=0.1
        ),
        lambda net, p: net.add_current_input(p, np.ones((2, 2), np.float32), start=1e300),
        lambda net, p: net.run(1e300),
    ],
)
def test_periods_and_start_times_beyond_2_53_steps_are_refused(call):
    net = Network(dt=0.1)
    pop = net.add_population(2, "lif")
    with pytest.raises(
        ValueError,
        match=r"(every|start|duration): .*largest value allowed is "
        r"9\.007199255e\+14 ms \(9007199254740991 steps\)",
    ):
        call(net, pop)


@pytest.mark.parametrize("which", ["spike_input", "source_spikes"])
def test_input_times_beyond_2_53_steps_are_refused(which):
    net = Network(dt=0.1)
    pop = net.add_population(2, "lif")
    src = net.add_population(2, "spike_source")
    with pytest.raises(ValueError, match=r"times: .*largest value allowed"):
        if which == "spike_input":
            net.add_spike_input(pop, [1.0, 1e300], [0, 1])
        else:
            net.add_source_spikes(src, [1.0, 1e300], [0, 1])


def test_delay_error_names_the_16_bit_cap():
    net = Network(dt=0.1, max_delay=1e6)  # more than 65535 steps: capped
    pop = net.add_population(2, "lif")
    with pytest.raises(
        ValueError,
        match=r"delay: must be at most max_delay \(6553\.5\d* ms = "
        r"65535 steps; delays are 16-bit",
    ):
        net.connect(pop, pop, "all_to_all", delay=7000.0)
