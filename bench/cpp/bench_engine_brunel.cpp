// The whole engine on Brunel (2000) model A at full size, in C++ (no Python): the network of
// spikecore.sim.networks.brunel (12,500 delta LIF neurons, fixed in-degree 1000 E + 250 I with
// multapses and no autapses, J 0.1 mV, g 5, delay 1.5 ms, Poisson drive eta 2, v0 ~ U(0, 20) mV,
// dt 0.1 ms), 20 ms warm-up, then `--ms` simulated milliseconds (default 1000) at each thread
// count of `--threads a,b,...` (default 1,2), `--reps` times interleaved. Prints CPU and wall time
// per simulated second, events per CPU second and per wall second, the 2/1-thread wall speed-up
// and a hash of the raster (identical for every thread count). Built with
// -DSPIKECORE_PHASE_TIMERS=ON it also prints where each thread's time goes (input, ring read +
// neuron update, spike collection, barrier, delivery, recording) and a histogram of the barrier
// waits by length (us; counts per rank). A static build of this file
// runs on any x86-64 machine, e.g. a quiet one (docs/bench.md).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "spikecore/engine/network.hpp"
#include "spikecore/engine/phase_timers.hpp"

using namespace spikecore;

namespace {

struct Built {
  std::unique_ptr<Network> net;
  int32_t rec_e = 0, rec_i = 0;
};

Built build_brunel(int threads, double scale) {
  const int32_t ne = std::max<int32_t>(4, int32_t(10000 * scale + 0.5)), ni = std::max(1, ne / 4);
  const int32_t ce = std::min<int32_t>(1000, ne), ci = std::max<int32_t>(1, ce / 4);
  const double J = 0.1, g = 5.0, eta = 2.0, tau_m = 20.0, theta = 20.0, delay = 1.5, dt = 0.1;
  const double rate_ext = eta * theta / (J * ce * tau_m) * ce * 1000.0;
  Built b;
  b.net = std::make_unique<Network>(dt, threads, 1, delay);
  LIFParams p;
  p.tau_m = tau_m;
  p.v_rest = 0.0;
  p.v_reset = 10.0;
  p.v_th = theta;
  p.t_ref = 2.0;
  p.synapse = SynapseKind::Delta;
  const int32_t E = b.net->add_lif(ne, p, "E"), I = b.net->add_lif(ni, p, "I");
  b.net->init_uniform(E, StateVar::V, 0.0, 20.0);
  b.net->init_uniform(I, StateVar::V, 0.0, 20.0);
  for (auto [pre, k, w] : {std::tuple{E, ce, J}, std::tuple{I, ci, -g * J}})
    for (int32_t post : {E, I}) {
      ValueSpec ws, ds;
      ws.a = w;
      ds.a = delay;
      b.net->connect(pre, post, ConnRule::FixedIndegree, double(k), ws, ds, false, true);
    }
  b.net->add_poisson(E, rate_ext, J, 0, ne);
  b.net->add_poisson(I, rate_ext, J, 0, ni);
  b.rec_e = b.net->record_spikes(E);
  b.rec_i = b.net->record_spikes(I);
  return b;
}

uint64_t raster_hash(Network& n, int32_t re, int32_t ri) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over (step, id) of E then I
  auto mix = [&](uint64_t x) {
    for (int k = 0; k < 8; ++k) {
      h ^= (x >> (8 * k)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  for (int32_t r : {re, ri}) {
    const SpikeRecord& s = n.spike_record(r);
    for (size_t k = 0; k < s.step.size(); ++k) {
      mix(uint64_t(s.step[k]));
      mix(uint64_t(uint32_t(s.id[k])));
    }
  }
  return h;
}

std::vector<int> parse_list(const char* s) {
  std::vector<int> v;
  for (const char* p = s; *p;) {
    v.push_back(std::atoi(p));
    while (*p && *p != ',') ++p;
    if (*p == ',') ++p;
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const bool q = bench::quick(argc, argv);
  double ms = q ? 100.0 : 1000.0, scale = q ? 0.2 : 1.0;
  int reps = q ? 1 : 3;
  std::vector<int> threads = {1, 2};
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--ms") == 0) ms = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--scale") == 0) scale = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--threads") == 0) threads = parse_list(argv[i + 1]);
  }
  const int64_t steps = int64_t(ms / 0.1 + 0.5);
  std::printf("Brunel scale %.2f, %.0f ms after 20 ms warm-up, %d reps; phase timers %s\n", scale,
              ms, reps, phase::kEnabled ? "on" : "off");
  std::vector<std::vector<double>> cpu(threads.size()), wall(threads.size());
  std::vector<std::vector<double>> ph(threads.size());    // per thread count: [rank][phase] sums
  std::vector<std::vector<uint64_t>> wh(threads.size());  // [rank][bucket] barrier waits
  double tick_us = 0;
  int64_t events = 0;
  uint64_t hash0 = 0;
  bool same = true;
  for (int r = 0; r < reps; ++r)
    for (size_t ti = 0; ti < threads.size(); ++ti) {
      const int T = threads[ti];
      Built b = build_brunel(T, scale);
      b.net->run(200);
      const int64_t e0 = b.net->events();
      phase::reset();
      const double c0 = bench::cpu_s(), w0 = bench::now_s();
#ifdef SPIKECORE_PHASE_TIMERS
      const uint64_t k0 = phase::now();
#endif
      b.net->run(steps);
      const double c1 = bench::cpu_s(), w1 = bench::now_s();
#ifdef SPIKECORE_PHASE_TIMERS
      const double tick_s = (w1 - w0) / double(phase::now() - k0);
      ph[ti].resize(size_t(T) * phase::Count, 0.0);
      for (int k = 0; k < T; ++k)
        for (int i = 0; i < phase::Count; ++i)
          ph[ti][size_t(k) * phase::Count + size_t(i)] +=
              double(phase::g_slots[k].ticks[i]) * tick_s / reps;
      wh[ti].resize(size_t(T) * phase::kHist, 0);
      for (int k = 0; k < T; ++k)
        for (int i = 0; i < phase::kHist; ++i)
          wh[ti][size_t(k) * phase::kHist + size_t(i)] += phase::g_slots[k].waits[i];
      tick_us = tick_s * 1e6;
#endif
      cpu[ti].push_back(c1 - c0);
      wall[ti].push_back(w1 - w0);
      events = b.net->events() - e0;
      const uint64_t h = raster_hash(*b.net, b.rec_e, b.rec_i);
      if (r == 0 && ti == 0) hash0 = h;
      same &= h == hash0;
      std::printf("rep %d threads %d: CPU %.4f s wall %.4f s events %lld hash %016llx\n", r, T,
                  c1 - c0, w1 - w0, (long long)events, (unsigned long long)h);
      std::fflush(stdout);
    }
  const double sim_s = ms * 1e-3;
  for (size_t ti = 0; ti < threads.size(); ++ti) {
    const double c = bench::median(cpu[ti]), w = bench::median(wall[ti]);
    const auto [cmin, cmax] = std::minmax_element(cpu[ti].begin(), cpu[ti].end());
    const auto [wmin, wmax] = std::minmax_element(wall[ti].begin(), wall[ti].end());
    std::printf(
        "threads %d: CPU %.4f s (%.4f-%.4f) per sim s, %.3g events per CPU-s; wall %.4f s "
        "(%.4f-%.4f), %.3g events/s; speed-up vs %d thread(s) %.2fx\n",
        threads[ti], c / sim_s, *cmin / sim_s, *cmax / sim_s, double(events) / c, w / sim_s,
        *wmin / sim_s, *wmax / sim_s, double(events) / w, threads[0], bench::median(wall[0]) / w);
    if (phase::kEnabled) {
      for (int k = 0; k < threads[ti]; ++k) {
        std::printf("  rank %d (s per sim s):", k);
        for (int i = 0; i < phase::Count; ++i)
          std::printf(" %s %.4f", phase::name(i),
                      ph[ti][size_t(k) * phase::Count + size_t(i)] / sim_s);
        std::printf("\n");
      }
#ifdef SPIKECORE_PHASE_TIMERS
      if (threads[ti] > 1) {  // barrier waits by length, all repeats
        std::printf("  barrier waits (us: count per rank):");
        for (int i = 0; i < phase::kHist; ++i) {
          uint64_t any = 0;
          for (int k = 0; k < threads[ti]; ++k) any += wh[ti][size_t(k) * phase::kHist + size_t(i)];
          if (!any) continue;
          std::printf(" %s%.3g:", i == 0 ? "<" : "",
                      double(uint64_t(1) << (i + phase::kHistLo + (i == 0))) * tick_us);
          for (int k = 0; k < threads[ti]; ++k)
            std::printf("%s%llu", k ? "/" : "",
                        (unsigned long long)wh[ti][size_t(k) * phase::kHist + size_t(i)]);
        }
        std::printf("\n");
      }
#endif
    }
  }
  std::printf("rasters identical across thread counts and repeats: %s\n", same ? "yes" : "NO");
  return same ? 0 : 1;
}
