"""Network.save writes the file array by array and each projection piece by piece (issue 17:
saving a network split across MPI ranks must not need the whole network in one process). The
pieces must not change the file (np.savez's format, the same arrays for any piece size), the
writing process's extra memory must stay near one piece, and a failed write must raise and leave
no half-written file. The same across ranks: tests/sim/test_mpi.py."""

from __future__ import annotations

import tracemalloc
import zipfile

import numpy as np
import pytest

from spikecore.data.files import read_npz
from spikecore.sim import Network, persistence
from spikecore.sim.persistence import _NpzStream, _pieces


def test_stream_members_are_those_of_np_savez(tmp_path):
    arrays = dict(
        a=np.arange(10, dtype=np.int32),
        b=np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4),
        c=np.zeros(0, np.uint16),
        d=np.arange(7, dtype=np.int64)[::2],  # not contiguous
        meta=np.frombuffer(b'{"version": 1}', np.uint8),
    )
    np.savez(tmp_path / "ref.npz", **arrays)
    out = _NpzStream(str(tmp_path / "new.npz"))
    for k, v in arrays.items():
        if k == "a":  # in pieces
            out.begin(k, v.dtype, v.shape)
            for lo in range(0, 10, 3):
                out.write(v[lo : lo + 3])
            out.end()
        else:
            out.array(k, v)
    out.close()
    assert out.error is None
    with zipfile.ZipFile(tmp_path / "ref.npz") as r, zipfile.ZipFile(tmp_path / "new.npz") as n:
        assert r.namelist() == n.namelist()
        for name in r.namelist():
            assert r.read(name) == n.read(name), name
            assert n.getinfo(name).compress_type == zipfile.ZIP_STORED


@pytest.mark.parametrize("piece", [1, 2, 5, 1000])
def test_pieces_cover_the_rows_within_the_bound(piece):
    totals = np.array([0, 3, 1, 0, 0, 9, 2, 2, 0, 4], np.int64)
    got = list(_pieces(totals, piece))
    assert got[0][0] == 0 and got[-1][1] == totals.size
    assert all(a[1] == b[0] for a, b in zip(got, got[1:]))  # contiguous, in order
    for lo, hi in got:
        assert hi - lo <= piece
        assert totals[lo:hi].sum() <= piece or hi - lo == 1  # one long row alone may exceed


def _net() -> Network:
    net = Network(dt=0.1, seed=4)
    a = net.add_population(60, "lif", v_threshold=5.0, v_init=("uniform", 0.0, 5.0))
    s = net.add_population(3, "spike_source", spike_times=[0.5, 1.0], spike_neurons=[0, 2])
    net.connect(a, a, "pairwise_bernoulli", p=0.3, weight={"normal": (0.5, 0.3)}, delay=1.0)
    net.connect(s, a, "all_to_all", weight=2.0, delay={"uniform": (0.5, 3.0)})
    net.connect(a, a, "one_to_one", weight=0.0, delay=1.0)
    net.prune(2, fraction=1.0)  # an empty projection
    # a row longer than a piece: multapses onto one target
    net.connect(s, a, "explicit", pre_index=[1] * 9, post_index=[4] * 9, weight=1.0, delay=2.0)
    net.add_poisson_input(a, 900.0, 1.0)
    net.record_spikes(a)
    net.record_state(a, "v", neurons=[0, 59], every=0.5)
    return net


def test_piece_size_does_not_change_the_file(tmp_path, monkeypatch):
    net = _net()
    net.run(5.0)
    net.save(str(tmp_path / "one.npz"))
    monkeypatch.setattr(persistence, "SAVE_PIECE", 4)
    net.save(str(tmp_path / "pieces.npz"))
    a, b = read_npz(tmp_path / "one.npz"), read_npz(tmp_path / "pieces.npz")
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
    assert a["proj2_pre"].size == 0 and a["proj3_pre"].size == 9
    for j, pj in enumerate(net.projections):  # the members are to_coo's
        pre, post, w, d = pj.to_coo()
        np.testing.assert_array_equal(a[f"proj{j}_pre"], pre)
        np.testing.assert_array_equal(a[f"proj{j}_post"], post)
        np.testing.assert_array_equal(a[f"proj{j}_w"], w)
    # and the network continues bitwise from the piecewise file
    back = Network.load(str(tmp_path / "pieces.npz"))
    net.run(5.0)
    back.run(5.0)
    np.testing.assert_array_equal(net.spike_monitors[0].senders, back.spike_monitors[0].senders)
    np.testing.assert_array_equal(net.get_state(0, "v"), back.get_state(0, "v"))


def test_save_memory_is_one_piece_not_the_projection(tmp_path, monkeypatch):
    """Python-side peak memory while saving a 250 000-synapse projection (3.5 MB as COO): with
    pieces of 2 000 synapses it stays far below the projection's size (before: the whole COO
    and more)."""
    net = Network(dt=0.1, seed=1)
    a = net.add_population(500, "lif")
    net.connect(a, a, "all_to_all", weight={"normal": (0.1, 0.05)}, delay=1.0)
    nnz = net.projections[0].nnz
    monkeypatch.setattr(persistence, "SAVE_PIECE", 2000)
    tracemalloc.start()
    try:
        net.save(str(tmp_path / "big.npz"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.1 * 14 * nnz, peak
    back = Network.load(str(tmp_path / "big.npz"))
    np.testing.assert_array_equal(back.projections[0].weights, net.projections[0].weights)


def test_save_errors_raise_and_leave_no_partial_file(tmp_path, monkeypatch):
    net = _net()
    with pytest.raises(FileNotFoundError):
        net.save(str(tmp_path / "missing" / "x.npz"))
    # a write failing half way (a full disk): raised, and the partial file removed
    calls = {"n": 0}
    real = _NpzStream.write

    def failing(self, piece):
        calls["n"] += 1
        if calls["n"] == 12 and self.active:
            self._fail(OSError(28, "No space left on device"))
            return
        real(self, piece)

    monkeypatch.setattr(_NpzStream, "write", failing)
    with pytest.raises(OSError, match="No space left"):
        net.save(str(tmp_path / "full.npz"))
    assert not (tmp_path / "full.npz").exists()
    monkeypatch.setattr(_NpzStream, "write", real)
    net.save(str(tmp_path / "ok.npz"))  # the network is unharmed
    Network.load(str(tmp_path / "ok.npz")).run(1.0)


def test_row_readers_check_their_arguments():
    net = _net()
    with pytest.raises(ValueError, match="rows"):
        net._c.proj_rows(0, 5, 2)
    with pytest.raises(ValueError, match="rows"):
        net._c.proj_rows(0, 0, 61)
    with pytest.raises((ValueError, IndexError), match="proj"):
        net._c.proj_row_lengths(9)
    lens = net._c.proj_row_lengths(0)
    post, w, d = net._c.proj_rows(0, 10, 20)
    assert post.size == w.size == d.size == lens[10:20].sum()


# ------------------------------------------------------------------------------ load, in pieces
def test_load_piece_size_does_not_change_the_network(tmp_path, monkeypatch):
    """Network.load reads each projection in pieces of LOAD_PIECE synapses (rows split across
    pieces, an empty projection, a row longer than a piece): the same synapses, in the same
    order, and the same continuation for any piece size."""
    net = _net()
    net.run(5.0)
    net.save(str(tmp_path / "n.npz"))
    whole = Network.load(str(tmp_path / "n.npz"))
    monkeypatch.setattr(persistence, "LOAD_PIECE", 3)
    pieces = Network.load(str(tmp_path / "n.npz"))
    for pa, pb, pj in zip(whole.projections, pieces.projections, net.projections):
        for x, y, z in zip(pa.to_coo(), pb.to_coo(), pj.to_coo()):
            assert x.dtype == y.dtype and np.array_equal(x, y) and np.array_equal(x, z)
    for m in (net, whole, pieces):
        m.run(5.0)
    for m in (whole, pieces):
        np.testing.assert_array_equal(net.spike_monitors[0].senders, m.spike_monitors[0].senders)
        np.testing.assert_array_equal(net.get_state(0, "v"), m.get_state(0, "v"))


def test_load_memory_is_one_copy_of_a_projection(tmp_path, monkeypatch):
    """Python-side peak memory of loading a 250 000-synapse projection (3.5 MB as COO) in pieces
    of 2 000 synapses: the COO handed to the core once, plus a piece (before: the whole file
    read, 1.48 x the COO, for every projection at once)."""
    net = Network(dt=0.1, seed=1)
    a = net.add_population(500, "lif")
    net.connect(a, a, "all_to_all", weight={"normal": (0.1, 0.05)}, delay=1.0)
    nnz = net.projections[0].nnz
    net.save(str(tmp_path / "big.npz"))
    monkeypatch.setattr(persistence, "LOAD_PIECE", 2000)
    tracemalloc.start()
    try:
        back = Network.load(str(tmp_path / "big.npz"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.1 * 14 * nnz, peak
    np.testing.assert_array_equal(back.projections[0].weights, net.projections[0].weights)


def _member_offset(path, name: str) -> int:
    """Where the data of member ``name`` (after its .npy header) starts in the file."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name + ".npy")
        with z.open(info) as f:
            head = f.read(256)
    with open(path, "rb") as f:
        f.seek(info.header_offset + 28)  # the local header's extra field length
        extra_len = int.from_bytes(f.read(2), "little")
    local = info.header_offset + 30 + len(info.filename.encode()) + extra_len
    return local + head.index(b"\n") + 1


@pytest.mark.parametrize("piece", [7, 1 << 18])
def test_damaged_synapses_read_in_pieces_raise_file_format_error(tmp_path, monkeypatch, piece):
    """A byte flipped in a projection's weights (CRC, checked when the last piece is read), a
    file cut inside the synapses, and a delay beyond the ring in a later piece: each a
    FileFormatError naming the file."""
    from spikecore.data.files import FileFormatError

    monkeypatch.setattr(persistence, "LOAD_PIECE", piece)
    net = _net()
    path = tmp_path / "n.npz"
    net.save(str(path))
    raw = path.read_bytes()
    at = _member_offset(path, "proj0_w") + 4 * 40
    flipped = bytearray(raw)
    flipped[at] ^= 0x40
    cases = {"flip": (bytes(flipped), "Bad CRC-32"), "cut": (raw[: at + 3], "path: ")}
    for kind, (data, msg) in cases.items():
        p = tmp_path / f"{kind}.npz"
        p.write_bytes(data)
        with pytest.raises(FileFormatError, match=msg) as info:
            Network.load(str(p))
        assert str(info.value).startswith(f"path: {p}"), str(info.value)
    arrays = read_npz(path)
    arrays["proj0_d"] = arrays["proj0_d"].copy()
    arrays["proj0_d"][-1] = 60000
    p = tmp_path / "delay.npz"
    np.savez(p, **arrays)
    with pytest.raises(FileFormatError, match="proj0_d: delays"):
        Network.load(str(p))


def test_npz_archive_pieces_are_the_array(tmp_path):
    """NpzArchive.pieces streams a member (stored or deflated) in pieces whose concatenation is
    the array; an empty array is one empty piece."""
    from spikecore.data.files import NpzArchive

    arrays = dict(a=np.arange(1000, dtype=np.int32), e=np.zeros(0, np.uint16))
    for save in (np.savez, np.savez_compressed):
        save(tmp_path / "x.npz", **arrays)
        with NpzArchive(tmp_path / "x.npz") as z:
            assert z.names == ["a", "e"] and z.header("a") == (np.dtype(np.int32), (1000,))
            for n in (1, 7, 1000, 5000):
                got = list(z.pieces("a", n))
                assert max(p.size for p in got) <= n
                np.testing.assert_array_equal(np.concatenate(got), arrays["a"])
            assert [p.size for p in z.pieces("e", 4)] == [0]
            np.testing.assert_array_equal(z.array("a"), arrays["a"])
