// C++ unit tests of the audio core: filterbank gain and streaming, Spiketrum budget and decoder,
// send-on-delta round trip, bad input.
#include <cmath>
#include <memory>
#include <vector>

#include "check.hpp"
#include "spikecore/audio/encoders.hpp"
#include "spikecore/audio/gammatone.hpp"
#include "spikecore/audio/spiketrum.hpp"
#include "spikecore/core/errors.hpp"

using namespace spikecore::audio;

static std::vector<float> tone(double f, double fs, int n, double amp = 1.0) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) x[size_t(i)] = float(amp * std::sin(2 * M_PI * f * i / fs));
  return x;
}

TEST_CASE("erb_space endpoints and monotone") {
  auto cf = erb_space(100, 6000, 10);
  CHECK(std::fabs(cf.front() - 100) < 1e-9 && std::fabs(cf.back() - 6000) < 1e-6);
  for (size_t i = 1; i < cf.size(); ++i) CHECK(cf[i] > cf[i - 1]);
}

TEST_CASE("gammatone unit gain at centre frequency, chunked == whole") {
  CochleaParams p;
  p.fs = 16000;
  p.n_channels = 5;
  p.f_lo = 300;
  p.f_hi = 4000;
  Cochlea bank(p);
  const auto& cf = bank.centre_frequencies();
  auto x = tone(cf[2], p.fs, 8000);
  std::vector<float> out(8000 * 5);
  auto s = bank.initial_state();
  bank.process(x.data(), 1, 8000, out.data(), &s, nullptr);
  float peak = 0;
  for (int t = 4000; t < 8000; ++t) peak = std::max(peak, std::fabs(out[size_t(t * 5 + 2)]));
  CHECK(std::fabs(peak - 1.0f) < 0.02f);
  std::vector<float> out2(8000 * 5);
  auto s2 = bank.initial_state();
  for (int t0 = 0; t0 < 8000; t0 += 999) {
    const int n = std::min(999, 8000 - t0);
    bank.process(x.data() + t0, 1, n, out2.data() + size_t(t0) * 5, &s2, nullptr);
  }
  CHECK(out == out2);
}

TEST_CASE("gammatone batch output stride: blocks of a longer output written in place") {
  CochleaParams p;
  p.fs = 16000;
  p.n_channels = 7;
  p.f_lo = 100;
  p.f_hi = 6000;
  Cochlea bank(p);
  const int T = 3000, C = 7, B = 2;
  std::vector<float> x(size_t(B * T));
  for (int i = 0; i < B * T; ++i) x[size_t(i)] = float(std::sin(0.37 * i) * (1 + i % 5));
  std::vector<float> whole(size_t(B * T * C));
  std::vector<CochleaState> s(2, bank.initial_state());
  bank.process(x.data(), B, T, whole.data(), s.data(), nullptr);
  // the same output, block by block: block rows of item b start at out + b * T * C + t0 * C
  std::vector<float> blocks(size_t(B * T * C), -1.f);
  std::vector<CochleaState> s2(2, bank.initial_state());
  for (int t0 = 0; t0 < T; t0 += 700) {
    const int n = std::min(700, T - t0);
    std::vector<float> xb(size_t(B * n));
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < n; ++t) xb[size_t(b * n + t)] = x[size_t(b * T + t0 + t)];
    bank.process(xb.data(), B, n, blocks.data() + size_t(t0) * C, s2.data(), nullptr,
                 int64_t(T) * C);
  }
  CHECK(whole == blocks);
  CochleaStream st(std::make_shared<const Cochlea>(p), 2, 1);
  CHECK_THROWS(st.process(x.data(), T, whole.data(), int64_t(T) * C - 1));
}

TEST_CASE("cochlea parameter validation") {
  CochleaParams p;
  p.fs = 16000;
  p.f_hi = 8000;
  CHECK_THROWS(Cochlea{p});
  p.f_hi = 7000;
  p.n_channels = 0;
  CHECK_THROWS(Cochlea{p});
  p.n_channels = 4;
  p.fs = -1;
  CHECK_THROWS(Cochlea{p});
}

TEST_CASE("spiketrum budget exact and decoder reduces the residual") {
  auto dict = std::make_shared<const GammatoneDictionary>(16000.0, 12, 100.0, 6000.0);
  auto x = tone(440, 16000, 4000, 0.5);
  SpiketrumEncoder enc(dict, 600.0, 0, false);
  std::vector<SpikeEvent> ev;
  enc.push(x.data(), int64_t(x.size()), ev);
  enc.flush(ev);
  CHECK(ev.size() == 150);
  std::vector<float> xh(x.size());
  spiketrum_decode(*dict, ev.data(), int64_t(ev.size()), xh.data(), int64_t(xh.size()));
  double e0 = 0, e1 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    e0 += double(x[i]) * x[i];
    e1 += double(x[i] - xh[i]) * (x[i] - xh[i]);
  }
  CHECK(e1 < 0.1 * e0);
  CHECK_THROWS(SpiketrumEncoder(dict, 0.0, 0, false));
  float bad[2] = {0.f, NAN};
  SpiketrumEncoder enc2(dict, 100.0, 0, false);
  CHECK_THROWS(enc2.push(bad, 2, ev));
}

TEST_CASE("send-on-delta decode tracks the signal within delta") {
  const int T = 200, C = 2;
  std::vector<float> x(T * C);
  for (int t = 0; t < T; ++t) {
    x[size_t(t * C)] = float(std::sin(t * 0.05));
    x[size_t(t * C + 1)] = float(0.01 * t);
  }
  SendOnDelta sod(C, {0.1f});
  std::vector<ChannelEvent> ev;
  sod.process(x.data(), T, ev);
  std::vector<float> y(T * C);
  const float d = 0.1f;
  send_on_delta_decode(ev.data(), int64_t(ev.size()), &d, 1, C, y.data(), T);
  for (int i = 0; i < T * C; ++i) CHECK(std::fabs(y[size_t(i)] - x[size_t(i)]) < 0.1f + 1e-5f);
  CHECK_THROWS(SendOnDelta(C, {0.0f}));
}

TEST_MAIN()
