#include "spikecore/audio/encoders.hpp"

#include <algorithm>
#include <cmath>

#include "spikecore/core/errors.hpp"
#include "spikecore/core/rng.hpp"

namespace spikecore {
namespace audio {

namespace {
void check_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      throw value_error("x: values must be finite, found " + std::to_string(x[i]) + " at index " +
                        std::to_string(i));
}
}  // namespace

SendOnDelta::SendOnDelta(int n_channels, std::vector<float> delta) : C_(n_channels) {
  require(n_channels >= 1, "n_channels", "must be >= 1, got " + std::to_string(n_channels));
  require(delta.size() == 1 || delta.size() == size_t(n_channels), "delta",
          "must have 1 or n_channels values, got " + std::to_string(delta.size()));
  for (float d : delta) require_positive(d, "delta");
  if (delta.size() == 1) delta.assign(size_t(n_channels), delta[0]);
  delta_ = std::move(delta);
  ref_.assign(size_t(C_), 0.f);
}

void SendOnDelta::reset() {
  std::fill(ref_.begin(), ref_.end(), 0.f);
  t_ = 0;
}

void SendOnDelta::process(const float* x, int64_t T, std::vector<ChannelEvent>& out) {
  check_finite(x, T * C_);
  for (int64_t t = 0; t < T; ++t) {
    const float* xt = x + t * C_;
    for (int c = 0; c < C_; ++c) {
      float& v = ref_[size_t(c)];
      const float d = delta_[size_t(c)];
      while (xt[c] - v >= d) {
        v += d;
        out.push_back(ChannelEvent{t_ + t, c, 1});
      }
      while (v - xt[c] >= d) {
        v -= d;
        out.push_back(ChannelEvent{t_ + t, c, 0});
      }
    }
  }
  t_ += T;
}

void send_on_delta_decode(const ChannelEvent* ev, int64_t n, const float* delta, int n_delta, int C,
                          float* out, int64_t T) {
  require(n_delta == 1 || n_delta == C, "delta", "must have 1 or n_channels values");
  std::vector<float> v(size_t(C), 0.f);
  int64_t e = 0;
  for (int64_t t = 0; t < T; ++t) {
    for (; e < n && ev[e].t <= t; ++e) {
      if (ev[e].t < 0) throw value_error("t: event times must be >= 0 and sorted");
      require_index(ev[e].channel, C, "channel");
      const float d = delta[n_delta == 1 ? 0 : ev[e].channel];
      v[size_t(ev[e].channel)] += ev[e].level ? d : -d;
    }
    for (int c = 0; c < C; ++c) out[t * C + c] = v[size_t(c)];
  }
}

RateCoder::RateCoder(int n_channels, double gain, uint64_t seed)
    : C_(n_channels), gain_(gain), seed_(seed) {
  require(n_channels >= 1, "n_channels", "must be >= 1, got " + std::to_string(n_channels));
  require_positive(gain, "gain");
}

void RateCoder::process(const float* x, int64_t T, std::vector<ChannelEvent>& out) {
  check_finite(x, T * C_);
  for (int64_t t = 0; t < T; ++t) {
    for (int c = 0; c < C_; ++c) {
      const double p = std::min(1.0, std::max(0.0, gain_ * double(x[t * C_ + c])));
      if (p <= 0) continue;
      CounterRng rng(seed_, 0xA0D10, uint64_t(c), uint64_t(t_ + t));
      if (rng.uniform() < p) out.push_back(ChannelEvent{t_ + t, c, 0});
    }
  }
  t_ += T;
}

}  // namespace audio
}  // namespace spikecore
