#pragma once
// Synapse-sparse 2-D convolution for structure learning (ESL-SNN on convolutions): the kernel
// W[co, ci, kh, kw] exists only at its synapses. The synapses are a SynapseMatrix over the
// flattened kernel in row order: row (pre) i = (ci * KH + kh) * KW + kw owns positions
// [row_ptr[i], row_ptr[i + 1]) of post (= co) / w. Activations are NCHW, C-contiguous:
// x [N, Ci, H, W], y [N, Co, OH, OW], OH = (H + 2 ph - KH) / sh + 1 (likewise OW).
//
//   forward      y[n, co, oh, ow] = b[co] + sum_{s = (ci, kh, kw -> co)} w[s]
//                                   * x[n, ci, oh sh + kh - ph, ow sw + kw - pw]
//   grad input   gx[n, ci, ih, iw] = sum_{s of ci, (oh, ow) hitting (ih, iw)} w[s] gy[n, co, oh,
//   ow] grad weight  gw[s] = sum_n sum_{(oh, ow)} x[n, ci, oh sh + kh - ph, ow sw + kw - pw]
//                                             * gy[n, co, oh, ow]
//
// Two algorithms (the sums are the same; forward results are identical bit for bit):
// - event-driven (forward, grad weight; inputs at most kEventMaxFraction nonzero, e.g. spike
//   frames): walk the nonzero input pixels and, for each, the synapses of its input channel;
//   cost (nonzero inputs) x (synapses per input channel).
// - batch-inner (forward, grad weight on denser inputs; grad input always): blocks of 16 images
//   are transposed to [C][H][W][16] with a zero border, and runs of 8 output pixels x 16 images
//   accumulate the synapses of their channel in vector registers (grad weight: one dot product
//   per synapse and output row); cost synapses x N x OH x OW / 16 vector operations plus the
//   transposes.
//
// Threads own fixed blocks of images (forward, grad input, batch-inner grad weight: per-block
// partial sums added in block order) or of synapses (event-driven grad weight); every output
// element is summed in a fixed order (bias, then synapses by pre ascending; or images, then
// output pixels ascending), so results do not depend on the thread count. Arrays are
// caller-allocated; shapes are checked by the caller (the bindings).
#include <cstdint>

namespace spikecore::learn {

struct ConvGeometry {
  int64_t n = 0, ci = 0, h = 0, w = 0;  // input [n, ci, h, w]
  int64_t co = 0, oh = 0, ow = 0;       // output [n, co, oh, ow]
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
};

// algorithm (forward, grad weight): 0 = by the input's nonzero fraction (event-driven at most
// kEventMaxFraction, else batch-inner), 1 = event-driven, 2 = batch-inner.
constexpr double kEventMaxFraction = 0.05;

template <typename T>
void sparse_conv2d_forward(const ConvGeometry& g, const T* x, const int64_t* row_ptr,
                           const int32_t* post, const T* w, const T* bias, T* y, int n_threads,
                           int algorithm = 0);

template <typename T>
void sparse_conv2d_grad_input(const ConvGeometry& g, const T* gy, const int64_t* row_ptr,
                              const int32_t* post, const T* w, T* gx, int n_threads);

template <typename T>
void sparse_conv2d_grad_weight(const ConvGeometry& g, const T* x, const T* gy,
                               const int64_t* row_ptr, const int32_t* post, T* gw, int n_threads,
                               int algorithm = 0);

// Both gradients (either pointer may be null to skip it); the batch-inner paths share one
// transpose of gy. Same results as the two calls above.
template <typename T>
void sparse_conv2d_backward(const ConvGeometry& g, const T* x, const T* gy, const int64_t* row_ptr,
                            const int32_t* post, const T* w, T* gx, T* gw, int n_threads,
                            int algorithm = 0);

}  // namespace spikecore::learn
