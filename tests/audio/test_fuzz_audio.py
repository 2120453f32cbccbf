"""Fuzzing of every public entry of spikecore.audio (issue 20), with the shared harness.

The property (tests/fuzzing.py): a valid result without new NaN/inf, or ValueError / TypeError /
IndexError / MemoryError naming the argument; never a crash, a hang, nanobind's "incompatible
function arguments" or an internal error. Each test varies one argument (the others valid), so a
failure names its argument; sizes that cannot fit must be refused before anything is allocated.
"""

import numpy as np
from fuzzing import (
    FUZZ,
    expect_clean,
    hostile_arrays,
    hostile_ints,
    hostile_numbers,
    shapes,
    wrong_types,
)
from hypothesis import example, given
from hypothesis import strategies as st

from spikecore.audio import (
    Cochlea,
    GammatoneDictionary,
    RateCoder,
    SendOnDelta,
    SpikeEvents,
    Spiketrum,
    as_audio,
    drop_spikes,
    jitter_spikes,
    si_snr_db,
    snr_db,
)

COCHLEA_ARGS = dict(
    fs=hostile_numbers(),
    n_channels=st.one_of(hostile_ints(), wrong_types()),
    f_lo=hostile_numbers(),
    f_hi=hostile_numbers(),
    pre_emphasis=hostile_numbers(),
    lowpass_hz=hostile_numbers(),
    frame_rate_hz=hostile_numbers(),
    compression=st.one_of(st.sampled_from(["none", "power", "log", "x", ""]), wrong_types()),
    exponent=hostile_numbers(),
    log_floor=hostile_numbers(),
    n_threads=st.one_of(hostile_ints(), wrong_types()),
    envelope=st.one_of(st.booleans(), wrong_types()),
)
# a valid envelope cochlea the hostile value is put into (small, fast)
COCHLEA_OK = dict(fs=8000.0, n_channels=4, f_lo=100.0, f_hi=3000.0, envelope=True)


def _arg_case(table):
    return st.sampled_from(sorted(table)).flatmap(lambda k: st.tuples(st.just(k), table[k]))


def _small_signal():
    return hostile_arrays(shapes(max_dims=2, max_side=16))


@FUZZ
@given(case=_arg_case(COCHLEA_ARGS))
def test_fuzz_cochlea_params(case):
    name, value = case
    kw = dict(COCHLEA_OK, **{name: value})
    if name == "frame_rate_hz" or name == "lowpass_hz":
        kw.setdefault("envelope", True)
    # a valid call, when it returns, must filter a short signal
    out = expect_clean(lambda: Cochlea(**kw), names=[name], inputs=(value,))
    if isinstance(out, Cochlea):
        # many channels (n_channels=1032445) may make even 64 samples' output too large: a
        # MemoryError naming the input then
        y = expect_clean(
            lambda: out(np.linspace(-1, 1, 64, dtype=np.float32)), names=["x", name], inputs=()
        )
        if not isinstance(y, BaseException):
            assert y.shape[1] == out.n_channels and np.isfinite(y).all()


@FUZZ
@given(x=_small_signal())
def test_fuzz_cochlea_call(x):
    c = Cochlea(**COCHLEA_OK)
    expect_clean(lambda: c(x), names=["x"], inputs=(x,))


@FUZZ
@given(
    out=st.one_of(
        hostile_arrays(shapes(max_dims=3, max_side=6)),
        wrong_types(),
        st.just(np.zeros((6, 4), np.float32)),
        st.just(np.zeros((1, 6, 4), np.float32)),
    )
)
def test_fuzz_cochlea_out(out):
    c = Cochlea(**COCHLEA_OK)
    x = np.linspace(-1, 1, 6, dtype=np.float32)
    expect_clean(lambda: c(x, out=out), names=["out"], inputs=(out,))
    expect_clean(lambda: c.stream(1).process(x, out=out), names=["out"], inputs=(out,))


@FUZZ
@given(
    x=hostile_arrays(shapes(max_dims=3, max_side=6)), batch=st.one_of(hostile_ints(), wrong_types())
)
def test_fuzz_cochlea_stream(x, batch):
    c = Cochlea(**COCHLEA_OK)

    def call():
        s = c.stream(batch)
        return s.process(x)

    expect_clean(call, names=["x", "batch"], inputs=(x,))


@FUZZ
@given(
    x=st.one_of(
        hostile_arrays(shapes(max_dims=3, max_side=8)),
        wrong_types(),
        st.just(np.array(["a"])),
        st.just(np.zeros(3, np.complex64)),
    )
)
def test_fuzz_as_audio(x):
    expect_clean(lambda: as_audio(x), names=["x"], inputs=(x,))


DICT_ARGS = dict(
    fs=hostile_numbers(),
    n_kernels=st.one_of(hostile_ints(), wrong_types()),
    f_lo=hostile_numbers(),
    f_hi=hostile_numbers(),
    tail_db=hostile_numbers(),
)
DICT_OK = dict(fs=8000.0, n_kernels=4, f_lo=100.0, f_hi=3000.0, tail_db=40.0)


@FUZZ
@given(case=_arg_case(DICT_ARGS), m=st.one_of(hostile_ints(), wrong_types()))
@example(case=("n_kernels", 2**31 - 1), m=0)  # was std::bad_alloc, or 18 GB and the OOM killer
def test_fuzz_gammatone_dictionary(case, m):
    name, value = case
    kw = dict(DICT_OK, **{name: value})
    d = expect_clean(lambda: GammatoneDictionary(**kw), names=[name], inputs=(value,))
    if isinstance(d, GammatoneDictionary):
        expect_clean(lambda: d.kernel(m), names=["m"])


SPIKETRUM_ARGS = dict(
    DICT_ARGS,
    rate_hz=hostile_numbers(),
    n_levels=st.one_of(hostile_ints(), wrong_types()),
    level_step_db=hostile_numbers(),
    level_ref=hostile_numbers(),
    frame_length=st.one_of(hostile_ints(), wrong_types()),
    positive_only=st.one_of(st.booleans(), wrong_types()),
)
SPIKETRUM_OK = dict(DICT_OK, rate_hz=500.0, n_levels=3)


@FUZZ
@given(case=_arg_case(SPIKETRUM_ARGS))
def test_fuzz_spiketrum_params(case):
    name, value = case
    kw = dict(SPIKETRUM_OK, **{name: value})
    st_ = expect_clean(lambda: Spiketrum(**kw), names=[name], inputs=(value,))
    if isinstance(st_, Spiketrum):
        # a constructed encoder encodes a short signal (or refuses its size, naming why)
        x = np.sin(np.arange(200, dtype=np.float32) * 0.3)
        expect_clean(lambda: st_.encode(x), names=[name, "x"], inputs=(value,))


@FUZZ
@given(x=_small_signal())
def test_fuzz_spiketrum_encode(x):
    enc = Spiketrum(**SPIKETRUM_OK)
    ev = expect_clean(lambda: enc.encode(x), names=["x"], inputs=(x,))
    if isinstance(ev, SpikeEvents):
        y = expect_clean(lambda: enc.decode(ev), names=["events"], inputs=(x,))
        assert y.shape == (ev.n_steps,)


def _events(draw_t, draw_unit, draw_level, n_steps, amp=None, level_amp=None):
    return SpikeEvents(
        t=draw_t,
        unit=draw_unit,
        level=draw_level,
        n_units=4,
        n_levels=3,
        dt_s=1 / 8000,
        n_steps=n_steps,
        amp=amp,
        level_amp=level_amp,
    )


@st.composite
def hostile_events(draw):
    n = draw(st.integers(0, 6))
    ints = st.one_of(st.integers(-3, 10), hostile_ints())
    t = draw(
        st.one_of(
            st.lists(ints, min_size=n, max_size=n).map(np.array),
            hostile_arrays(shapes(max_dims=2, max_side=6)),
        )
    )
    unit = draw(
        st.one_of(
            st.lists(ints, min_size=n, max_size=n).map(np.array),
            hostile_arrays(shapes(max_dims=1, max_side=6)),
        )
    )
    level = draw(
        st.one_of(
            st.lists(st.integers(-2, 4), min_size=n, max_size=n).map(np.array),
            hostile_arrays(shapes(max_dims=1, max_side=6)),
        )
    )
    amp = draw(st.one_of(st.none(), hostile_arrays(st.just((n,)))))
    level_amp = draw(st.one_of(st.none(), hostile_arrays(st.sampled_from([(3,), (1,), (0,)]))))
    n_steps = draw(st.one_of(st.integers(0, 50), hostile_ints(), wrong_types()))
    return _events(t, unit, level, n_steps, amp, level_amp)


@FUZZ
@given(
    ev=hostile_events(),
    quantized=st.booleans(),
    n_samples=st.one_of(st.none(), hostile_ints(), wrong_types()),
)
def test_fuzz_spiketrum_decode(ev, quantized, n_samples):
    enc = Spiketrum(**SPIKETRUM_OK)
    expect_clean(
        lambda: enc.decode(ev, quantized=quantized, n_samples=n_samples),
        names=["events", "t", "unit", "kernel", "level", "amp", "n_samples", "n_steps"],
        inputs=(ev.amp, ev.level_amp),
    )


@FUZZ
@given(
    chunks=st.lists(_small_signal(), min_size=1, max_size=3),
    frame_length=st.sampled_from([0, 16, 64]),
)
def test_fuzz_spiketrum_stream(chunks, frame_length):
    s = Spiketrum(**dict(SPIKETRUM_OK, frame_length=frame_length)).stream()

    def call():
        out = [s.push(c) for c in chunks]
        return out + [s.flush()]

    expect_clean(call, names=["x"], inputs=chunks)


@FUZZ
@given(
    xs=st.one_of(st.lists(_small_signal(), max_size=3), wrong_types()),
    n_threads=st.one_of(hostile_ints(), wrong_types()),
)
def test_fuzz_spiketrum_encode_batch(xs, n_threads):
    enc = Spiketrum(**SPIKETRUM_OK)
    expect_clean(
        lambda: enc.encode_batch(xs, n_threads=n_threads), names=["xs", "x", "n_threads"], inputs=xs
    )


@FUZZ
@given(
    delta=st.one_of(hostile_numbers(), hostile_arrays(shapes(max_dims=2, max_side=5))),
    on=st.one_of(st.sampled_from(["envelope", "band", "x"]), wrong_types()),
    fs=hostile_numbers(),
)
def test_fuzz_send_on_delta_params(delta, on, fs):
    expect_clean(
        lambda: SendOnDelta(delta=delta, on=on, fs=fs),
        names=["delta", "on", "fs"],
        inputs=(delta, fs),
    )


@FUZZ
@given(y=hostile_arrays(shapes(max_dims=3, max_side=12)))
def test_fuzz_send_on_delta_signal(y):
    enc = SendOnDelta(delta=0.1, cochlea=Cochlea(**COCHLEA_OK))

    def call():
        ev = enc.encode_signal(y)
        return ev, enc.decode(ev)

    expect_clean(call, names=["y"], inputs=(y,))


@FUZZ
@given(ev=hostile_events())
def test_fuzz_send_on_delta_decode(ev):
    enc = SendOnDelta(delta=0.1, cochlea=Cochlea(**COCHLEA_OK))
    expect_clean(
        lambda: enc.decode(ev),
        names=["events", "t", "channel", "unit", "level", "n_steps", "n_units"],
    )


@FUZZ
@given(
    x=_small_signal(),
    rate_hz=hostile_numbers(),
    iters=st.one_of(st.integers(-2, 5), hostile_ints(), wrong_types()),
)
def test_fuzz_send_on_delta_calibrate(x, rate_hz, iters):
    enc = SendOnDelta(delta=0.1, cochlea=Cochlea(**COCHLEA_OK))
    expect_clean(
        lambda: enc.calibrate(x, rate_hz, iters),
        names=["x", "rate_hz", "iters"],
        inputs=(x, rate_hz),
    )


@FUZZ
@given(
    gain=hostile_numbers(),
    seed=st.one_of(hostile_ints(), wrong_types()),
    e=hostile_arrays(shapes(max_dims=3, max_side=8)),
)
def test_fuzz_rate_coder(gain, seed, e):
    def call():
        rc = RateCoder(gain=gain, seed=seed, cochlea=Cochlea(**COCHLEA_OK))
        return rc.encode_signal(e)

    expect_clean(call, names=["gain", "seed", "e"], inputs=(e, gain))


@FUZZ
@given(x=_small_signal(), x_hat=_small_signal())
def test_fuzz_snr(x, x_hat):
    # infinite SNR of a perfect reconstruction is documented; NaN is not
    for f in (snr_db, si_snr_db):
        r = expect_clean(lambda f=f: f(x, x_hat), names=["x", "x_hat"], inputs=(x, x_hat, np.inf))
        if isinstance(r, float) and np.isfinite(x).all() and np.isfinite(x_hat).all():
            assert not np.isnan(r)


@FUZZ
@given(
    ev=hostile_events(),
    fraction=hostile_numbers(),
    sigma_s=hostile_numbers(),
    seed=st.one_of(hostile_ints(), wrong_types()),
)
def test_fuzz_perturbations(ev, fraction, sigma_s, seed):
    expect_clean(
        lambda: drop_spikes(ev, fraction, seed),
        names=["fraction", "seed", "events"],
        inputs=(ev.amp, ev.level_amp),
    )
    expect_clean(
        lambda: jitter_spikes(ev, sigma_s, seed),
        names=["sigma_s", "seed", "events"],
        inputs=(ev.amp, ev.level_amp),
    )


@FUZZ
@given(
    ev=hostile_events(),
    dt_s=st.one_of(st.none(), hostile_numbers()),
    n_steps=st.one_of(st.none(), hostile_ints(), wrong_types()),
)
def test_fuzz_events_to_dense(ev, dt_s, n_steps):
    expect_clean(
        lambda: ev.to_dense(dt_s, n_steps),
        names=["dt_s", "n_steps", "events", "t", "unit", "level"],
    )
