#pragma once
// Spike-train distances on sorted spike-time arrays (any time unit; all times in one unit).
//
// van Rossum (exponential kernel, Houghton & Kreuz 2012 recursion, O(n_a + n_b) per pair):
//   K(a, b) = sum_{i,j} exp(-|a_i - b_j| / tau),
//   D_R(a, b) = sqrt(K(a, a) + K(b, b) - 2 K(a, b))       (elephant's normalisation)
// Victor-Purpura (Victor & Purpura 1996): minimum cost of turning a into b, with deleting or
//   inserting a spike costing 1 and moving a spike by dt costing q |dt|; dynamic programme
//   O(n_a n_b) time, O(n_b) memory.
// ISI-distance (Kreuz et al. 2007) and SPIKE-distance (Kreuz et al. 2013) over [t_start, t_end],
//   with PySpike's edge corrections (auxiliary spikes, MRTS = 0, rate-dependent SPIKE): a port
//   of pyspike/cython/cython_distances.pyx, so the numbers agree with PySpike's.
//
// Inputs: ascending (ISI / SPIKE: also duplicate-free, as PySpike makes them), inside [t_start,
// t_end] (the Python layer sorts, removes duplicates and checks). An empty train takes PySpike's
// convention for ISI / SPIKE (the two auxiliary spikes t_start and t_end); van Rossum and
// Victor-Purpura are defined for empty trains.
#include <cstddef>
#include <vector>

namespace spikecore::analysis {

// Boundary checks (value_error naming `name`): finite, ascending, and inside
// [t_start, t_end] when t_start < t_end (pass t_start = t_end = 0 to skip the range check).
void check_train(const double* t, std::size_t n, double t_start, double t_end, const char* name);
void check_csr(const long long* offsets, std::size_t n_offsets, std::size_t n_times,
               const char* name);

// sum_{i,j} exp(-|a_i - b_j| / tau) in one merged sweep (ties counted once).
double vr_kernel_sum(const double* a, std::size_t na, const double* b, std::size_t nb, double tau);
// sum_{i,j} exp(-|a_i - a_j| / tau) (including i == j) by the markage recursion.
double vr_self_sum(const double* a, std::size_t na, double tau);
double van_rossum(const double* a, std::size_t na, const double* b, std::size_t nb, double tau);

// Victor-Purpura distance with cost q per unit time (q >= 0). `scratch` is resized as needed.
double victor_purpura(const double* a, std::size_t na, const double* b, std::size_t nb, double q,
                      std::vector<double>& scratch);

double isi_distance(const double* a, std::size_t na, const double* b, std::size_t nb,
                    double t_start, double t_end);
double spike_distance(const double* a, std::size_t na, const double* b, std::size_t nb,
                      double t_start, double t_end);

// Pairwise matrices over N trains given in CSR form: train k is times[offsets[k], offsets[k+1]).
// out is N x N, row-major, symmetric, zero diagonal. Rows are split over n_threads workers;
// every entry is computed by the same pair function, so the result is identical for any count.
enum class Metric { van_rossum, victor_purpura, isi, spike };
void distance_matrix(Metric metric, const double* times, const long long* offsets, std::size_t n,
                     double param, double t_start, double t_end, double* out, int n_threads);

}  // namespace spikecore::analysis
