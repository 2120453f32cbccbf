// C++ unit tests of the event-driven engine (spikecore::Network).
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "check.hpp"
#include "spikecore/core/memory.hpp"
#include "spikecore/engine/network.hpp"

using namespace spikecore;

namespace {
// A small Brunel-like network: delta LIF, fixed in-degree, Poisson drive.
// With n_ranks > 1: rank `rank`'s part (its neuron ranges and the synapses onto them).
Network brunel_small(int threads, uint64_t seed, int rank = 0, int n_ranks = 1) {
  Network net(0.1, threads, seed, 10.0);
  if (n_ranks > 1) net.set_partition(rank, n_ranks);
  LIFParams p;
  p.v_reset = 10.0;
  const int32_t e = net.add_lif(400, p, "E"), i = net.add_lif(100, p, "I");
  ValueSpec we, wi, d;
  we.a = 0.1;
  wi.a = -0.5;
  d.a = 1.5;
  for (int32_t post : {e, i}) {
    net.connect(e, post, ConnRule::FixedIndegree, 100, we, d, false, true);
    net.connect(i, post, ConnRule::FixedIndegree, 25, wi, d, false, true);
  }
  net.add_poisson(e, 20000.0, 0.1, 0, 400);
  net.add_poisson(i, 20000.0, 0.1, 0, 100);
  net.record_spikes(e);
  return net;
}
}  // namespace

TEST_CASE("raster identical for 1, 2, 3 threads") {
  std::vector<std::vector<int64_t>> steps;
  std::vector<std::vector<int32_t>> ids;
  for (int t : {1, 2, 3}) {
    Network net = brunel_small(t, 11);
    net.run(500);
    steps.push_back(net.spike_record(0).step);
    ids.push_back(net.spike_record(0).id);
  }
  CHECK(steps[0].size() > 100);
  CHECK(steps[0] == steps[1] && steps[0] == steps[2]);
  CHECK(ids[0] == ids[1] && ids[0] == ids[2]);
}

TEST_CASE("run in pieces equals one run") {
  Network a = brunel_small(1, 3), b = brunel_small(2, 3);
  a.run(300);
  b.run(100);
  b.run(1);
  b.run(199);
  CHECK(a.spike_record(0).step == b.spike_record(0).step);
  CHECK(a.spike_record(0).id == b.spike_record(0).id);
  CHECK(a.events() == b.events());
}

TEST_CASE("delta PSP is exact and delayed by the synaptic delay") {
  Network net(0.1, 1, 0, 10.0);
  LIFParams p;
  p.v_th = 1e6;
  p.t_ref = 0;
  const int32_t src = net.add_source(1, "s"), post = net.add_lif(1, p, "p");
  const int64_t st = 9;  // emitted in step 9 (time 1.0 ms)
  const int32_t id = 0;
  net.add_source_spikes(src, &st, &id, 1);
  ValueSpec w, d;
  w.a = 2.0;
  d.a = 0.5;
  net.connect(src, post, ConnRule::AllToAll, 0, w, d, true, true);
  net.run(14);  // up to t = 1.4 ms: not yet arrived
  float v = -1;
  net.get_state(post, StateVar::V, &v);
  CHECK(v == 0.f);
  net.run(1);  // step 14 -> t = 1.5 ms: arrived
  net.get_state(post, StateVar::V, &v);
  CHECK(v == 2.f);
  net.run(200);  // 20 ms later: decays by exp(-20/20)
  net.get_state(post, StateVar::V, &v);
  CHECK(std::fabs(v - 2.0 * std::exp(-1.0)) < 2e-5);
}

TEST_CASE("ring grows without losing pending input") {
  Network net(0.1, 1, 0, 100.0);
  LIFParams p;
  p.v_th = 1e6;
  p.t_ref = 0;
  p.tau_m = 1e9;
  const int32_t src = net.add_source(1, "s"), post = net.add_lif(1, p, "p");
  const int64_t st[2] = {0, 50};
  const int32_t id[2] = {0, 0};
  net.add_source_spikes(src, st, id, 2);
  ValueSpec w, d;
  w.a = 1.0;
  d.a = 3.0;
  const int32_t j = net.connect(src, post, ConnRule::AllToAll, 0, w, d, true, true);
  net.run(2);                          // spike 1 in flight in a ring of 31 slots
  net.regrow_random(j, 1, 4.0, 80.0);  // a multapse with delay 800 steps: ring of 801 slots
  CHECK(net.ring_slots(post) == 801);
  net.run(1000);
  float v = 0;
  net.get_state(post, StateVar::V, &v);
  CHECK(std::fabs(v - 6.0f) < 1e-4);  // 1 + (1 + 4)
}

TEST_CASE("bad arguments throw value/index errors") {
  CHECK_THROWS(Network(0.0, 1, 0, 10.0));
  CHECK_THROWS(Network(0.1, 0, 0, 10.0));
  Network net(0.1, 1, 0, 10.0);
  LIFParams p;
  CHECK_THROWS(net.add_lif(0, p, "x"));
  const int32_t a = net.add_lif(5, p, "a");
  ValueSpec w, d;
  d.a = 0.01;
  CHECK_THROWS(net.connect(a, a, ConnRule::AllToAll, 0, w, d, true, true));
  d.a = 1.0;
  CHECK_THROWS(net.connect(a, a, ConnRule::PairwiseBernoulli, 1.5, w, d, true, true));
  CHECK_THROWS(net.connect(a, 3, ConnRule::AllToAll, 0, w, d, true, true));
  CHECK_THROWS(net.run(-1));
  net.run(10);
  CHECK(net.step() == 10);
}

TEST_CASE("sizes above the memory limit throw memory_error before allocating") {
  const int64_t old = memory_limit();
  set_memory_limit(int64_t(64) << 20);
  Network net(0.1, 1, 0, 7000.0);
  LIFParams p;
  const int32_t a = net.add_lif(1000, p, "a");
  ValueSpec w, d;
  d.a = 1.0;
  auto is_memory_error = [](auto&& f) {
    try {
      f();
    } catch (const memory_error& e) {
      const std::string m = e.what();  // "<arg>: <what> would need <size>, more than the ..."
      return m.find(" would need ") != std::string::npos &&
             m.find(", more than the memory limit of 64 MiB") != std::string::npos;
    } catch (...) {
    }
    return false;
  };
  CHECK(is_memory_error([&] { net.add_lif(int32_t(1) << 30, p, "huge"); }));
  CHECK(
      is_memory_error([&] { net.connect(a, a, ConnRule::FixedIndegree, 1e9, w, d, true, true); }));
  const int32_t b = net.add_lif(1 << 18, p, "b");
  d.a = 6553.5;  // 65535 slots x 2**18 targets: 64 GiB
  CHECK(is_memory_error([&] { net.connect(a, b, ConnRule::FixedIndegree, 1, w, d, true, true); }));
  CHECK(net.n_projections() == 0);
  d.a = 1.0;
  net.connect(a, a, ConnRule::FixedIndegree, 10, w, d, true, true);
  CHECK(is_memory_error([&] { net.regrow_random(0, int64_t(1) << 40, 0.0, 1.0); }));
  net.record_rate(a);
  CHECK(is_memory_error([&] { net.run(int64_t(1) << 40); }));
  set_memory_limit(old);
  net.run(10);
  CHECK(net.step() == 10);
}

TEST_CASE("restoring saved records checks ids, steps and sizes (Network.load)") {
  Network net(0.1, 1, 0, 10.0);
  LIFParams p;
  const int32_t a = net.add_lif(4, p, "a");
  const int32_t sr = net.record_spikes(a), vr = net.record_state(a, {0}, {0, 2}, 1),
                rr = net.record_rate(a);
  net.run(5);
  const int64_t s_ok[2] = {1, 3}, s_bad[2] = {3, 1}, s_future[1] = {5};
  const int32_t id_ok[2] = {0, 3}, id_bad[2] = {0, 4};
  CHECK_THROWS(net.restore_spikes(sr, s_ok, id_bad, 2));     // id >= population size
  CHECK_THROWS(net.restore_spikes(sr, s_bad, id_ok, 2));     // steps not sorted
  CHECK_THROWS(net.restore_spikes(sr, s_future, id_ok, 1));  // a step not yet run
  net.restore_spikes(sr, s_ok, id_ok, 2);
  CHECK(net.spike_record(sr).id.size() == 2);
  const float data[4] = {0, 0, 0, 0};
  CHECK_THROWS(net.restore_state_record(vr, 0, s_ok, 2, data, 3));  // size != steps x vars x idx
  CHECK_THROWS(net.restore_state_record(vr, 0, s_bad, 2, data, 4));
  CHECK_THROWS(net.restore_state_record(vr, 9, s_ok, 0, data, 0));  // start after the clock
  net.restore_state_record(vr, 1, s_ok, 2, data, 4);
  const int32_t counts[5] = {0, 1, 0, 2, 0};
  CHECK_THROWS(net.restore_rate(rr, 0, counts, 3));   // one count per step since start
  CHECK_THROWS(net.restore_rate(rr, -1, counts, 5));  // a start before step 0
  CHECK_THROWS(net.restore_rate(rr, 6, counts, 0));   // a start after the clock
  net.restore_rate(rr, 0, counts, 5);
  CHECK_THROWS(net.set_step(int64_t(1) << 60));
  net.run(3);  // the restored records grow with the run
  CHECK(net.rate_record(rr).count.size() == 8 && net.state_record(vr).step.size() == 5);
}

TEST_CASE("DelayRing: slot(t) is periodic, add accumulates, take reads and clears") {
  DelayRing r;
  r.reset(2, 3);  // 2 receptors x 3 targets, one slot
  CHECK(r.slots() == 1 && r.receptors() == 2 && r.targets() == 3 && r.stride() == 6);
  r.grow(4, 0);
  CHECK(r.slots() == 4);
  CHECK(r.slot(1, 0) == r.slot(5, 0) && r.slot(0, 0) != r.slot(1, 0));
  r.add(5, 1, 2, 1.5f);
  r.add(5, 1, 2, 0.25f);
  r.add(6, 0, 0, -2.f);
  CHECK(r.slot(5, 0)[1 * 3 + 2] == 1.75f);  // receptor r of a slot starts at r * targets()
  CHECK(r.take(5, 1, 2) == 1.75f);
  CHECK(r.take(5, 1, 2) == 0.f);  // cleared for step 5 + slots()
  CHECK(r.take(6, 0, 0) == -2.f);
  r.add(7, 0, 1, 3.f);
  r.clear();
  CHECK(r.take(7, 0, 1) == 0.f);
}

TEST_CASE("DelayRing: grow keeps the pending input of each step at that step") {
  DelayRing r;
  r.reset(1, 2);
  r.grow(3, 0);
  const int64_t now = 7;  // pending steps 7, 8, 9 sit in slots 1, 2, 0
  for (int64_t t = now; t < now + 3; ++t) r.add(t, 0, 1, float(t));
  r.grow(5, now);
  CHECK(r.slots() == 5);
  for (int64_t t = now; t < now + 3; ++t) CHECK(r.take(t, 0, 1) == float(t));
  for (int64_t t = now + 3; t < now + 5; ++t) CHECK(r.take(t, 0, 1) == 0.f);
  r.grow(2, now);  // never shrinks
  CHECK(r.slots() == 5);
}

TEST_CASE("DelayRing: blocks keep the contents, each in pages of its own") {
  DelayRing r;
  r.reset(2, 10);  // 2 receptors x 10 targets
  r.grow(3, 0);
  for (int64_t t = 0; t < 3; ++t)
    for (int32_t q = 0; q < 2; ++q)
      for (int32_t i = 0; i < 10; ++i) r.add(t, q, i, float(100 * t + 10 * q + i));
  const std::vector<float> before = r.data();
  CHECK(before.size() == 3 * 20);
  CHECK(before[size_t(2 * 20 + 1 * 10 + 7)] == 217.f);  // [slot][receptor][target]
  r.set_blocks({0, 3, 3, 10});                          // an empty block too
  CHECK(r.n_blocks() == 3);
  CHECK(r.data() == before);
  CHECK(r.block_of(2) == 0 && r.block_of(3) == 2 && r.block_of(9) == 2);
  // block b: slot(t, b)[i + q * rstride(b)], on pages no other block touches
  CHECK(r.rstride(0) == 3 && r.rstride(2) == 7);
  CHECK(r.slot(2, 2)[7 + 1 * 7] == 217.f);
  CHECK(r.slot(1, 0)[2] == 102.f);
  const auto page = [](const float* p) { return reinterpret_cast<uintptr_t>(p) / 4096; };
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t u = 0; u < 3; ++u) {
      CHECK(page(r.slot(t, 0) + 0) != page(r.slot(u, 2) + 3));
      CHECK(page(r.slot(t, 0) + 2 + 3) != page(r.slot(u, 2) + 3 + 6 + 7));
    }
  r.grow(5, 1);  // steps 1, 2, 3 pending (slot 0 holds step 3)
  for (int64_t t = 1; t < 3; ++t) CHECK(r.take(t, 1, 8) == float(100 * t + 18));
  CHECK(r.take(3, 0, 4) == 4.f);
  std::vector<float> v(5 * 20);
  for (size_t k = 0; k < v.size(); ++k) v[k] = float(k);
  r.assign(5, v.data(), int64_t(v.size()));
  CHECK(r.data() == v);
  r.set_blocks({0, 10});
  CHECK(r.data() == v);
  r.clear();
  CHECK(r.data() == std::vector<float>(v.size(), 0.f));
}

TEST_CASE("reset_state keeps or drops the pending input") {
  for (bool clear : {true, false}) {
    Network net(1.0, 1, 0, 10.0);
    const int32_t src = net.add_source(1, "s");
    const int32_t post = net.add_discrete(1, 1.0, 0.0, 1e6, 0.0, false, -1, 0, "p");
    const int64_t st[1] = {0};
    const int32_t id[1] = {0};
    net.add_source_spikes(src, st, id, 1);
    ValueSpec w, d;
    w.a = 2.0;
    d.a = 3.0;
    net.connect(src, post, ConnRule::AllToAll, 0, w, d, true, true);
    net.run(1);  // the spike is in flight (arrives in step 3)
    net.reset_state(post, clear);
    net.run(4);
    float v = 0;
    net.get_state(post, StateVar::V, &v);
    CHECK(v == (clear ? 0.f : 2.f));
  }
}

TEST_CASE("ranks exchanging each window's spikes give the single-process raster") {
  Network ref = brunel_small(1, 11);
  ref.run(500);
  CHECK(ref.spike_record(0).step.size() > 100);
  for (int R : {2, 3}) {
    for (int T : {1, 2}) {
      std::vector<std::unique_ptr<Network>> nets;
      for (int r = 0; r < R; ++r)
        nets.push_back(std::make_unique<Network>(brunel_small(T, 11, r, R)));
      for (auto& n : nets) CHECK(n->window_begin(500) == 15);  // window = min delay
      while (nets[0]->window_steps_left() > 0) {
        std::vector<int32_t> all_ids, all_counts, ids, counts;
        for (auto& n : nets) {  // what Allgather + Allgatherv do across processes
          n->window_update(ids, counts);
          all_ids.insert(all_ids.end(), ids.begin(), ids.end());
          all_counts.insert(all_counts.end(), counts.begin(), counts.end());
        }
        for (auto& n : nets)
          n->window_deliver(all_ids.data(), int64_t(all_ids.size()), all_counts.data(),
                            int64_t(all_counts.size()), R);
      }
      int64_t events = 0;
      for (auto& n : nets) {
        CHECK(n->spike_record(0).step == ref.spike_record(0).step);
        CHECK(n->spike_record(0).id == ref.spike_record(0).id);
        events += n->events();
      }
      CHECK(events == ref.events());
      // each rank holds only the synapses onto its targets
      int64_t nnz = 0;
      for (auto& n : nets) nnz += n->matrix(0).nnz();
      CHECK(nnz == ref.matrix(0).nnz());
      CHECK(nets[0]->matrix(0).nnz() < ref.matrix(0).nnz());
    }
  }
}

TEST_CASE("window API rejects inconsistent spike data") {
  Network net = brunel_small(1, 3, 0, 2);
  net.window_begin(30);
  std::vector<int32_t> ids, counts;
  net.window_update(ids, counts);
  std::vector<int32_t> bad_counts(counts.size() * 2, 0);
  bad_counts[0] = 1;
  std::vector<int32_t> bad_ids{400};  // population E has 400 neurons
  CHECK_THROWS(
      net.window_deliver(bad_ids.data(), 1, bad_counts.data(), int64_t(bad_counts.size()), 2));
  CHECK_THROWS(net.window_deliver(bad_ids.data(), 1, bad_counts.data(), 3, 2));
  CHECK_THROWS(net.run(10));  // a partitioned network runs window by window
}

TEST_MAIN()
