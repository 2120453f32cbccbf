#pragma once
// Spiketrum (arXiv 2309.05430): spike coding of audio by event-based temporal matching pursuit
// over an ERB-spaced gammatone kernel dictionary, with an exact spike budget.
//
//   g_m(t) = t^3 exp(-2 pi 1.019 ERB(f_m) t) cos(2 pi f_m t), unit norm, truncated where its
//   envelope has fallen tail_db below the peak.
//   Per frame, until the frame's share of the budget N = round(rate * duration) is spent:
//     (m*, tau*) = argmax_{m, tau} |c_m(tau)|,  c_m(tau) = <r, g_m(. - tau)>,
//     a = c_m*(tau*),  r <- r - a g_m*(. - tau*),  emit (tau*, m*, a).
//   The decoder is x_hat = sum a g_m(t - tau).
//
// Speed: the correlations c_m(tau) are computed once per frame (blocked axpy, vectorised); after
// each atom only the correlations it overlaps change, by a * Gram_{m*,m}(tau - tau*) with the
// kernel cross-correlations precomputed, so one atom costs O(sum of the kernel lengths) rather
// than a full recompute. The argmax uses block maxima in two levels (64 lags per block, 64
// blocks per group), refreshed only where the correlations changed.
//
// Streaming: frames of frame_length samples; a frame is encoded as soon as its lookahead (the
// longest kernel) has arrived; the budget of frame k is round(rate * end_k / fs) minus the spikes
// already emitted, so the total is exactly round(rate * duration) however the input is chunked.
// frame_length = 0 encodes the whole signal as one frame at flush() (global greedy choice).
// Deterministic: ties go to the lowest (kernel, lag) in scan order; one thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

namespace spikecore {
namespace audio {

class GammatoneDictionary {
 public:
  GammatoneDictionary(double fs, int n_kernels, double f_lo, double f_hi, double tail_db = 60.0);
  int size() const { return int(cf_.size()); }
  double fs() const { return fs_; }
  const std::vector<double>& centre_frequencies() const { return cf_; }
  int length(int m) const { return len_[size_t(m)]; }
  int max_length() const { return max_len_; }
  const float* kernel(int m) const { return kern_.data() + off_[size_t(m)]; }
  // Cross-correlation of kernels m1 and m2: gram(m1, m2)[d + length(m2) - 1] =
  // <g_m1(. - tau), g_m2(. - tau - d)> for d in (-length(m2), length(m1)).
  const float* gram(int m1, int m2) const {
    return gram_.data() + gram_off_[size_t(m1 * size() + m2)];
  }

 private:
  double fs_;
  std::vector<double> cf_;
  std::vector<int> len_;
  std::vector<size_t> off_, gram_off_;
  std::vector<float> kern_, gram_;
  int max_len_ = 0;
};

struct SpikeEvent {
  int64_t t;       // sample index of the kernel onset
  int32_t kernel;  // dictionary index m
  float amp;       // coefficient a (signed unless positive_only)
};

// Thrown by push() / flush() when the interrupt callback asked to stop; the encoder is then as it
// was before the call.
struct interrupted : std::runtime_error {
  interrupted() : std::runtime_error("interrupted") {}
};

class SpiketrumEncoder {
 public:
  // Polled about every 50 ms of encoding (and once per kernel's correlation pass): returning true
  // stops push() / flush() with `interrupted`, the encoder restored to its state before the call.
  // Empty: never interrupted. (The bindings check for Ctrl-C here.)
  using Interrupt = std::function<bool()>;
  void set_interrupt(Interrupt f) { interrupt_ = std::move(f); }
  // rate_hz > 0: spikes per second of input. frame_length >= 0 samples (0 = whole signal).
  // positive_only: choose argmax c instead of argmax |c| (all amplitudes >= 0).
  SpiketrumEncoder(std::shared_ptr<const GammatoneDictionary> dict, double rate_hz,
                   int64_t frame_length, bool positive_only);
  // Append samples (finite; checked); encodes every frame whose lookahead is complete.
  void push(const float* x, int64_t n, std::vector<SpikeEvent>& out);
  // End of signal: encodes the remaining samples (zero-padded lookahead). The encoder can then be
  // reused for a new signal.
  void flush(std::vector<SpikeEvent>& out);
  int64_t samples_seen() const { return n_in_; }
  int64_t spikes_emitted() const { return n_spikes_; }
  const GammatoneDictionary& dictionary() const { return *dict_; }

 private:
  void encode_frame(int64_t F, int64_t budget, std::vector<SpikeEvent>& out);
  int64_t target_spikes(int64_t end_sample) const;
  void encode_ready(std::vector<SpikeEvent>& out);
  void flush_frames(std::vector<SpikeEvent>& out, int64_t look);
  // Runs body; when it is interrupted, restores the state before it and rethrows.
  void guarded(std::vector<SpikeEvent>& out, const std::function<void()>& body);
  void poll(bool now);  // throws interrupted when the callback says so
  Interrupt interrupt_;
  std::chrono::steady_clock::time_point last_poll_;
  std::shared_ptr<const GammatoneDictionary> dict_;
  double rate_;
  int64_t frame_len_;
  bool positive_;
  std::vector<float> buf_;  // residual from sample frame_start_ on
  int64_t frame_start_ = 0, n_in_ = 0, n_spikes_ = 0;
  // scratch
  std::vector<float> c_, l1_, l2_;
};

// x_hat[0, n) = sum over events of amp * g_m(t - tau) (events beyond n are cut).
void spiketrum_decode(const GammatoneDictionary& dict, const SpikeEvent* ev, int64_t n_events,
                      float* out, int64_t n);

}  // namespace audio
}  // namespace spikecore
