#pragma once
// Envelope encoders on [T][C] signals (channels fastest), with streaming state.
//
// Send-on-delta: per channel a reference value v (starts at 0). While x - v >= delta: emit an
// "up" event (level 1), v += delta; while v - x >= delta: emit a "down" event (level 0),
// v -= delta. The decoder replays v. Dense channel index = 2 c + level.
//
// Rate (Poisson/Bernoulli) coding: a spike on channel c at step t with probability
// p = clamp(gain * x[t][c], 0, 1), drawn from the counter-based RNG keyed by
// (seed, stream = 0xA0D10, element = c, step = t_global): same seed, same spikes, however chunked.
#include <cstdint>
#include <vector>

namespace spikecore {
namespace audio {

struct ChannelEvent {
  int64_t t;  // step index
  int32_t channel;
  int32_t level;  // send-on-delta: 1 up / 0 down; rate: 0
};

class SendOnDelta {
 public:
  SendOnDelta(int n_channels, std::vector<float> delta);  // delta: 1 value or n_channels values
  void process(const float* x, int64_t T, std::vector<ChannelEvent>& out);  // x [T][C]
  void reset();
  int n_channels() const { return C_; }
  int64_t steps_seen() const { return t_; }

 private:
  int C_;
  std::vector<float> delta_, ref_;
  int64_t t_ = 0;
};

// Piecewise-constant reconstruction of a send-on-delta code: out [T][C] (zero-initialised here).
void send_on_delta_decode(const ChannelEvent* ev, int64_t n, const float* delta, int n_delta, int C,
                          float* out, int64_t T);

class RateCoder {
 public:
  RateCoder(int n_channels, double gain, uint64_t seed);
  void process(const float* x, int64_t T, std::vector<ChannelEvent>& out);
  void reset() { t_ = 0; }
  int64_t steps_seen() const { return t_; }

 private:
  int C_;
  double gain_;
  uint64_t seed_;
  int64_t t_ = 0;
};

}  // namespace audio
}  // namespace spikecore
