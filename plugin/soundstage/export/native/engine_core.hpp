// What every part of soundstage's native engine shares (engine.hpp): the program blob's reader, the real FFT with
// numpy's conventions, the knobs and ramps operations read, and the operation interface.

#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine_api.hpp"

#ifndef M_PI  // POSIX's, which strict C++ leaves out (MinGW-w64's <cmath> under -std=c++17, without DPF's headers)
#define M_PI 3.14159265358979323846
#endif

namespace ssx {

using cplx = std::complex<double>;

// ---------------------------------------------------------------------------------
// Reading the program blob (little-endian, as written by bake.py).
struct Reader {
    const uint8_t* p;
    const uint8_t* end;
    bool ok = true;

    template <class T>
    T get() {
        T v{};
        if (!ok || size_t(end - p) < sizeof(T)) { ok = false; return v; }
        std::memcpy(&v, p, sizeof(T));
        p += sizeof(T);
        return v;
    }
    std::string text() {
        const uint32_t n = get<uint32_t>();
        if (!ok || size_t(end - p) < n) { ok = false; return {}; }
        std::string s(reinterpret_cast<const char*>(p), n);
        p += n;
        return s;
    }
    void floats(float* out, size_t n) {
        if (!ok || size_t(end - p) < n * sizeof(float)) { ok = false; return; }
        std::memcpy(out, p, n * sizeof(float));
        p += n * sizeof(float);
    }
    void skip(size_t n) {
        if (!ok || size_t(end - p) < n) { ok = false; return; }
        p += n;
    }
};

// The hot loops (the FFT's butterflies, the convolutions' multiply-adds) are built for AVX2 too, four doubles or
// eight floats an instruction where SSE2 takes two or four, and the processor picks at load (the bundle still runs on
// any x86-64). No FMA: every product and sum rounds as with SSE2, so the output does not depend on the machine
// (SSX_NO_AVX2 builds the SSE2 code alone, which tests/test_export_plugin.py compares against).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(SSX_NO_AVX2)
#define SSX_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SSX_AVX2_CLONES
#endif

// ---------------------------------------------------------------------------------
// Real FFTs of a power-of-two size n in double precision, with numpy's rfft / irfft
// conventions (n/2 + 1 bins; the inverse scaled by 1/n). A real transform is a
// complex one of n/2 points (even samples real, odd imaginary) and a split step;
// the complex transform is iterative radix-2 on split real/imaginary arrays with
// each stage's twiddles contiguous, so its inner loop vectorizes.
class Fft {
public:
    explicit Fft(int n) : n_(n), m_(n / 2) {
        const size_t m = size_t(m_);
        re_.assign(m, 0.0); im_.assign(m, 0.0);
        int bits = 0;
        while ((1 << bits) < m_) ++bits;
        for (int i = 0; i < m_; ++i) {
            int r = 0;
            for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
            if (i < r) { swaps_.push_back(i); swaps_.push_back(r); }
        }
        for (int h = 1; h < m_; h <<= 1)  // stage of half-length h: exp(-i pi k / h), k < h, at offset h - 1
            for (int k = 0; k < h; ++k) {
                twr_.push_back(std::cos(M_PI * k / h));
                twi_.push_back(-std::sin(M_PI * k / h));
            }
        for (int k = 0; k <= m_; ++k) {  // the split step: exp(-2 pi i k / n)
            splr_.push_back(std::cos(2 * M_PI * k / n_));
            spli_.push_back(-std::sin(2 * M_PI * k / n_));
        }
    }
    // n real samples -> n/2 + 1 bins
    void rfft(const double* in, cplx* out) {
        for (int j = 0; j < m_; ++j) { re_[size_t(j)] = in[2 * j]; im_[size_t(j)] = in[2 * j + 1]; }
        transform(false);
        for (int k = 0; k <= m_ / 2; ++k) {
            const int l = (m_ - k) % m_;  // Z[m - k], Z[m] = Z[0]
            const double zr = re_[size_t(k)], zi = im_[size_t(k)], yr = re_[size_t(l)], yi = -im_[size_t(l)];
            // E = (Z[k] + conj Z[m-k]) / 2, O = (Z[k] - conj Z[m-k]) / 2i; X[k] = E + W^k O, X[m-k] = conj(E) - ...
            const double er = 0.5 * (zr + yr), ei = 0.5 * (zi + yi);
            const double or_ = 0.5 * (zi - yi), oi = -0.5 * (zr - yr);
            const double wr = splr_[size_t(k)], wi = spli_[size_t(k)];
            const double tr = wr * or_ - wi * oi, ti = wr * oi + wi * or_;
            out[k] = cplx(er + tr, ei + ti);
            // bin m - k: E' = conj(E), O' = -conj(O) rotated by W^(m-k) = -conj(W^k)
            out[m_ - k] = cplx(er - tr, -(ei - ti));
        }
        out[0] = cplx(re_[0] + im_[0], 0.0);
        out[m_] = cplx(re_[0] - im_[0], 0.0);
    }

    // n/2 + 1 bins -> n real samples (scaled by 1/n; the imaginary parts of DC and Nyquist ignored, as numpy does)
    void irfft(const cplx* in, double* out) {
        for (int k = 0; k <= m_ / 2; ++k) {
            const int l = m_ - k;
            const double xr = in[k].real(), xi = k == 0 ? 0.0 : in[k].imag();
            const double yr = in[l].real(), yi = l == m_ ? 0.0 : -in[l].imag();  // conj X[m - k]
            const double er = 0.5 * (xr + yr), ei = 0.5 * (xi + yi);
            const double dr = 0.5 * (xr - yr), di = 0.5 * (xi - yi);
            const double wr = splr_[size_t(k)], wi = -spli_[size_t(k)];  // O = D / W^k = D * conj(W^k)
            const double or_ = dr * wr - di * wi, oi = dr * wi + di * wr;
            re_[size_t(k % m_)] = er - oi;  // Z = E + i O
            im_[size_t(k % m_)] = ei + or_;
            if (l != k && l < m_) {  // Z[m - k] = conj(E) + i conj(O) ... from the same pair
                re_[size_t(l)] = er + oi;
                im_[size_t(l)] = -ei + or_;
            }
        }
        transform(true);
        const double scale = 1.0 / m_;
        for (int j = 0; j < m_; ++j) {
            out[2 * j] = re_[size_t(j)] * scale;
            out[2 * j + 1] = im_[size_t(j)] * scale;
        }
    }

private:
    SSX_AVX2_CLONES void transform(bool inverse) {
        double* __restrict re = re_.data();
        double* __restrict im = im_.data();
        for (size_t s = 0; s < swaps_.size(); s += 2) {
            std::swap(re[swaps_[s]], re[swaps_[s + 1]]);
            std::swap(im[swaps_[s]], im[swaps_[s + 1]]);
        }
        int h = 1;
        if (m_ >= 4) {  // the first two stages at once: 4-point transforms of neighbors
            const double sign = inverse ? 1.0 : -1.0;  // the 4-point twiddle -i (forward) or +i
            for (int start = 0; start < m_; start += 4) {
                double* r = re + start;
                double* i = im + start;
                const double ar = r[0] + r[1], ai = i[0] + i[1], br = r[0] - r[1], bi = i[0] - i[1];
                const double cr = r[2] + r[3], ci = i[2] + i[3], dr = r[2] - r[3], di = i[2] - i[3];
                const double er = -sign * di, ei = sign * dr;  // d times (-i) forward, (+i) inverse
                r[0] = ar + cr; i[0] = ai + ci;
                r[2] = ar - cr; i[2] = ai - ci;
                r[1] = br + er; i[1] = bi + ei;
                r[3] = br - er; i[3] = bi - ei;
            }
            h = 4;
        }
        const double sign = inverse ? -1.0 : 1.0;
        for (; h < m_; h <<= 1) {
            const double* __restrict wr = &twr_[size_t(h - 1)];
            const double* __restrict wi = &twi_[size_t(h - 1)];
            for (int start = 0; start < m_; start += 2 * h)
                butterflies(re + start, im + start, re + start + h, im + start + h, wr, wi, sign, h);
        }
    }
    // One stage's butterflies on a block: a[k], b[k] <- a[k] +- w[k] b[k]. Its own function with restrict
    // pointers, so the compiler knows the four rows apart and vectorizes the loop (two doubles per SSE2 op).
    static void butterflies(double* __restrict ar, double* __restrict ai, double* __restrict br, double* __restrict bi,
                            const double* __restrict wr, const double* __restrict wi, double sign, int h) {
        for (int k = 0; k < h; ++k) {
            const double cr = wr[k], ci = sign * wi[k];
            const double tr = br[k] * cr - bi[k] * ci, ti = br[k] * ci + bi[k] * cr;
            br[k] = ar[k] - tr;
            bi[k] = ai[k] - ti;
            ar[k] += tr;
            ai[k] += ti;
        }
    }

    int n_, m_;
    std::vector<int> swaps_;
    std::vector<double> twr_, twi_, splr_, spli_, re_, im_;
};

// A knob an operation reads: a plugin parameter, or a value fixed at export.
struct Knob {
    int32_t parameter = -1;
    double fixed = 0.0;
};

// soundstage.host.processor._Ramp: a linear ramp to a new value over `length` samples,
// its value at a position computed, not accumulated.
struct Ramp {
    double start = 0, target = 0, slope = 0;
    int64_t position = 0, length = 0;

    double value() const { return position >= length ? target : start + slope * double(position); }
    bool settled() const { return position >= length; }
    void settle(double v) { start = target = v; slope = 0; position = length = 0; }
    void move_to(double goal, int64_t samples) {
        const double current = value();
        target = goal;
        if (samples <= 0 || current == goal) { settle(goal); return; }
        start = current; position = 0; length = samples;
        slope = (goal - current) / double(samples);
    }
    double next() {
        if (position >= length) return target;
        const int64_t at = position + 1;
        const double v = at >= length ? target : start + slope * double(at);
        position = at < length ? at : length;
        return v;
    }
};

class Op {
public:
    virtual ~Op() = default;
    virtual int inputs() const = 0;
    virtual int outputs() const = 0;
    virtual void reset(const std::vector<double>& values) = 0;
    // a parameter moved (value already in `values`); called only when it changed
    virtual void changed(int32_t parameter, const std::vector<double>& values) = 0;
    // n <= kMaxBlock samples; `in` and `out` never alias
    virtual void process(const double* const* in, double* const* out, int n) = 0;
};

constexpr int kMaxBlock = 4096;
// the most channels between two operations (bake.py refuses wider chains)
constexpr int kMaxChannels = 64;
constexpr double kBypassFadeSeconds = 0.02;  // the DAW's bypass crossfades over 20 ms

inline double knob_value(const Knob& knob, const std::vector<double>& values) {
    return knob.parameter >= 0 ? values[size_t(knob.parameter)] : knob.fixed;
}

inline double smoothstep(double x, double low, double high) {
    double t = (x - low) / std::max(high - low, 1e-9);
    t = std::min(std::max(t, 0.0), 1.0);
    return t * t * (3 - 2 * t);
}

}  // namespace ssx
