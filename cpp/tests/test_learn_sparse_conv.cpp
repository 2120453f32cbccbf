// Synapse-sparse convolution equals a naive dense convolution of the scattered kernel, for both
// algorithms (event-driven, batch-inner) and strides 1 and 2, and does not depend on the thread
// count.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "spikecore/learn/sparse_conv.hpp"

using namespace spikecore;

namespace {
struct Layer {
  learn::ConvGeometry g;
  std::vector<int64_t> row_ptr;
  std::vector<int32_t> post;
  std::vector<double> w, kernel;  // kernel [co, ci, kh, kw]
  Layer(int64_t stride, unsigned seed) {
    g.n = 35, g.ci = 3, g.h = 7, g.w = 9, g.co = 4, g.kh = 3, g.kw = 2;
    g.sh = g.sw = stride, g.ph = 1, g.pw = 1;
    g.oh = (g.h + 2 * g.ph - g.kh) / g.sh + 1;
    g.ow = (g.w + 2 * g.pw - g.kw) / g.sw + 1;
    std::mt19937 r(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::bernoulli_distribution keep(0.4);
    kernel.assign(size_t(g.co * g.ci * g.kh * g.kw), 0.0);
    row_ptr.push_back(0);
    for (int64_t i = 0; i < g.ci * g.kh * g.kw; ++i) {
      for (int64_t c = 0; c < g.co; ++c)
        if (keep(r)) {
          post.push_back(int32_t(c));
          w.push_back(u(r));
          kernel[size_t(c * g.ci * g.kh * g.kw + i)] = w.back();
        }
      row_ptr.push_back(int64_t(post.size()));
    }
  }
  // x index, or -1 outside the input
  int64_t xi(int64_t n, int64_t ci, int64_t oh, int64_t ow, int64_t kh, int64_t kw) const {
    const int64_t ih = oh * g.sh + kh - g.ph, iw = ow * g.sw + kw - g.pw;
    if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) return -1;
    return ((n * g.ci + ci) * g.h + ih) * g.w + iw;
  }
};
}  // namespace

TEST_CASE("sparse_conv2d forward / grad input / grad weight equal the dense convolution") {
  for (int64_t stride : {1, 2}) {
    Layer L(stride, unsigned(7 + stride));
    const auto& g = L.g;
    std::mt19937 r(5);
    std::bernoulli_distribution spike(0.3);
    std::normal_distribution<double> nd;
    std::vector<double> x(size_t(g.n * g.ci * g.h * g.w)), gy(size_t(g.n * g.co * g.oh * g.ow));
    for (auto& v : x) v = spike(r) ? 1.0 : 0.0;
    for (auto& v : gy) v = nd(r);
    std::vector<double> bias(size_t(g.co));
    for (auto& v : bias) v = nd(r);
    std::vector<double> y_ref(gy.size()), gx_ref(x.size(), 0.0), gw_ref(L.w.size(), 0.0);
    const int64_t kk = g.kh * g.kw;
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t c = 0; c < g.co; ++c)
        for (int64_t oh = 0; oh < g.oh; ++oh)
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            const size_t yo = size_t(((n * g.co + c) * g.oh + oh) * g.ow + ow);
            double acc = bias[size_t(c)];
            for (int64_t ci = 0; ci < g.ci; ++ci)
              for (int64_t kh = 0; kh < g.kh; ++kh)
                for (int64_t kw = 0; kw < g.kw; ++kw) {
                  const int64_t k = L.xi(n, ci, oh, ow, kh, kw);
                  if (k < 0) continue;
                  const double wk = L.kernel[size_t((c * g.ci + ci) * kk + kh * g.kw + kw)];
                  acc += wk * x[size_t(k)];
                  gx_ref[size_t(k)] += wk * gy[yo];
                }
            y_ref[yo] = acc;
          }
    for (int64_t i = 0; i < g.ci * kk; ++i)
      for (int64_t s = L.row_ptr[size_t(i)]; s < L.row_ptr[size_t(i + 1)]; ++s)
        for (int64_t n = 0; n < g.n; ++n)
          for (int64_t oh = 0; oh < g.oh; ++oh)
            for (int64_t ow = 0; ow < g.ow; ++ow) {
              const int64_t k = L.xi(n, i / kk, oh, ow, (i % kk) / g.kw, i % g.kw);
              if (k >= 0)
                gw_ref[size_t(s)] +=
                    x[size_t(k)] *
                    gy[size_t(((n * g.co + L.post[size_t(s)]) * g.oh + oh) * g.ow + ow)];
            }
    for (int algorithm : {1, 2}) {
      std::vector<double> first_y, first_gx, first_gw;
      for (int threads : {1, 2, 3}) {
        std::vector<double> y(y_ref.size()), gx(x.size()), gw(L.w.size());
        learn::sparse_conv2d_forward<double>(g, x.data(), L.row_ptr.data(), L.post.data(),
                                             L.w.data(), bias.data(), y.data(), threads, algorithm);
        learn::sparse_conv2d_backward<double>(g, x.data(), gy.data(), L.row_ptr.data(),
                                              L.post.data(), L.w.data(), gx.data(), gw.data(),
                                              threads, algorithm);
        for (size_t k = 0; k < y.size(); ++k) CHECK(std::fabs(y[k] - y_ref[k]) < 1e-12);
        for (size_t k = 0; k < gx.size(); ++k) CHECK(std::fabs(gx[k] - gx_ref[k]) < 1e-12);
        for (size_t k = 0; k < gw.size(); ++k) CHECK(std::fabs(gw[k] - gw_ref[k]) < 1e-11);
        if (threads == 1) {
          first_y = y, first_gx = gx, first_gw = gw;
        } else {
          CHECK(y == first_y);
          CHECK(gx == first_gx);
          CHECK(gw == first_gw);
        }
      }
    }
  }
}

TEST_MAIN()
