// Engine populations of the conversion neurons (IF, STDI, max-pool gate: engine/population.hpp
// ConversionPopulation): the engine's spikes equal the neuron headers' scalar steps, STDI spikes
// weigh T 2^-(t+1) downstream, signed spikes are negative, any thread count gives the same raster.
#include <cmath>
#include <random>
#include <vector>

#include "check.hpp"
#include "spikecore/engine/network.hpp"

using namespace spikecore;

namespace {
// x [T][n] current input from step 0; spikes of the population (id n + i: negative).
std::vector<std::pair<int64_t, int32_t>> run_pop(bool stdi, int threads, int32_t T, int32_t n,
                                                 const std::vector<float>& x, double slope) {
  Network net(1.0, threads, 0, 4.0);
  std::vector<float> th(size_t(n), 0.8f);
  int32_t p;
  if (stdi) {
    STDIParams sp;
    sp.T = T;
    sp.negative_slope = slope;
    p = net.add_stdi(n, sp, th.data(), 0, "s");
  } else {
    IFParams ip;
    ip.negative_slope = slope;
    p = net.add_if(n, ip, th.data(), "i");
  }
  net.set_current_steps(p, 0, T, x.data());
  const int32_t r = net.record_spikes(p);
  net.run(3 * T);
  std::vector<std::pair<int64_t, int32_t>> out;
  const SpikeRecord& rec = net.spike_record(r);
  for (size_t k = 0; k < rec.step.size(); ++k) out.emplace_back(rec.step[k], rec.id[k]);
  return out;
}
}  // namespace

TEST_CASE("IF / STDI populations equal the scalar steps, for any thread count") {
  const int32_t T = 5, n = 300;
  std::vector<float> x(size_t(T * n));
  std::mt19937 g(3);
  std::uniform_real_distribution<float> u(-0.6f, 1.2f);
  for (auto& v : x) v = u(g);
  for (bool stdi : {false, true}) {
    for (double slope : {0.0, 0.5}) {
      // expected from the scalar steps of neurons/if_neuron.hpp and neurons/stdi.hpp
      std::vector<std::pair<int64_t, int32_t>> want;
      STDIParams sp;
      sp.T = T;
      sp.negative_slope = slope;
      const STDICoeffs c = STDICoeffs::make(sp);
      std::vector<float> v(size_t(n), stdi ? 0.f : 0.4f);
      // the engine runs 3 T steps: an IF neuron left at v >= theta after its soft reset fires again
      // without input (v can reach 2 theta), so its reference runs as long; an STDI window has
      // emitted its T bits by step D + T = 2 T and stays silent afterwards
      const int32_t steps = stdi ? 2 * T : 3 * T;
      for (int32_t r = 0; r < steps; ++r)
        for (int32_t i = 0; i < n; ++i) {
          const float xi = r < T ? x[size_t(r * n + i)] : 0.f;
          float z;
          if (stdi)
            z = slope > 0 ? stdi_step<true, float>(r, T, c.D, c.factor.data(), c.half, 0.5f, 0.8f,
                                                   v[size_t(i)], xi)
                          : stdi_step<false, float>(r, T, c.D, c.factor.data(), c.half, 0.f, 0.8f,
                                                    v[size_t(i)], xi);
          else
            z = slope > 0 ? if_step<true, float>(0.5f, 0.8f, v[size_t(i)], xi)
                          : if_step<false, float>(0.f, 0.8f, v[size_t(i)], xi);
          if (z != 0.f) want.emplace_back(r, z > 0 ? i : n + i);
        }
      for (int threads : {1, 3}) {
        const auto got = run_pop(stdi, threads, T, n, x, slope);
        CHECK(got == want);
      }
      CHECK(!want.empty());
    }
  }
}

TEST_CASE("STDI spikes weigh T 2^-(t+1) downstream; negative spikes are negative") {
  const int32_t T = 4;
  Network net(1.0, 1, 0, 4.0);
  STDIParams sp;
  sp.T = T;
  sp.negative_slope = 1.0;
  std::vector<float> th(2, 1.f), big(2, 1e30f);
  const int32_t s = net.add_stdi(2, sp, th.data(), 0, "s");
  IFParams ip;
  ip.v0 = 0;
  const int32_t o = net.add_if(2, ip, big.data(), "o");
  // a = 0.625 = 0.101b (bits 0 and 2), a = -0.375 (negative bits 1 and 2)
  std::vector<float> x = {0.625f, -0.375f, 0.625f, -0.375f, 0.625f, -0.375f, 0.625f, -0.375f};
  net.set_current_steps(s, 0, T, x.data());
  const int32_t pre[2] = {0, 1}, post[2] = {0, 1};
  ValueSpec w, d;
  w.a = 1.0;
  d.a = 1.0;
  net.connect_explicit(s, o, pre, post, 2, w, d, false, false);
  net.run(2 * T + 1);
  float v[2];
  net.get_state(o, StateVar::V, v);
  CHECK(v[0] == 0.625f * T);
  CHECK(v[1] == -0.375f * T);
}

TEST_CASE("conversion populations validate their arguments") {
  Network net(1.0, 1, 0, 4.0);
  std::vector<float> th = {1.f, 0.f};
  CHECK_THROWS(net.add_if(2, IFParams{}, th.data(), "bad"));
  STDIParams sp;
  sp.T = 4;
  sp.delay = 5;
  th[1] = 1.f;
  CHECK_THROWS(net.add_stdi(2, sp, th.data(), 0, "bad"));
  const int32_t cnt[2] = {1, 3};
  CHECK_THROWS(net.add_maxgate(2, 2, cnt, 4, false, 0, "bad"));
}

TEST_MAIN()
