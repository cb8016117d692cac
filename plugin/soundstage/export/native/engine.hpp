// soundstage's native engine: runs a chain baked by `soundstage export-plugin`.
//
// The program (a binary blob made by soundstage/export/bake.py, embedded in the
// plugin) lists the plugin's parameters and, per sample rate, the chain as a
// sequence of operations: the upmix (the same STFT, statistics and gates as
// soundstage.stages.upmix), smoothed gains, MIMO FIRs uniformly partitioned in
// frequency with crossfaded filter swaps (soundstage.dsp.fir) whose filters come
// from design grids over a knob (soundstage.dsp.grid), delays, channel matrices,
// routing nodes, and pedalboard's built-ins (JUCE's float32 arithmetic). Every
// operation mirrors the Python stream sample for sample: the same latencies, the
// same points where a fade starts, the same ramps, so the plugin nulls against
// soundstage.Chain.
//
// Real-time rules: everything is allocated when a program is loaded (construction,
// sample-rate change); process() and set_parameter() neither allocate nor lock.
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
        if (m_ >= 4) {  // the first two stages at once: 4-point transforms of neighbours
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

// ---------------------------------------------------------------------------------
// soundstage.stages.upmix.Upmix: (L, R) -> (L - C, R - C, C), latency fft_size.
class UpmixOp : public Op {
public:
    enum { kAmount, kWidthDb, kSmoothingMs, kLowHz, kHighHz, kKnobs };

    UpmixOp(Reader& r, double rate) : rate_(rate) {
        n_ = int(r.get<uint32_t>());
        hop_ = int(r.get<uint32_t>());
        for (auto& knob : knobs_) { knob.parameter = r.get<int32_t>(); knob.fixed = r.get<double>(); }
        if (!r.ok || n_ < 4 || (n_ & (n_ - 1)) || hop_ < 1 || n_ % hop_ || n_ / hop_ < 2) { r.ok = false; return; }
        bins_ = n_ / 2 + 1;
        fft_ = std::make_unique<Fft>(n_);
        window_.resize(size_t(n_)); synthesis_.resize(size_t(n_));
        std::vector<double> exact(static_cast<size_t>(n_)), overlap(static_cast<size_t>(hop_), 0.0);
        for (int j = 0; j < n_; ++j) exact[size_t(j)] = std::sqrt(0.5 - 0.5 * std::cos(2 * M_PI * j / n_));
        for (int s = 0; s < n_; s += hop_)
            for (int j = 0; j < hop_; ++j) overlap[size_t(j)] += exact[size_t(s + j)] * exact[size_t(s + j)];
        for (int j = 0; j < n_; ++j) {  // rounded to float32 as soundstage.dsp.stft keeps them
            window_[size_t(j)] = double(float(exact[size_t(j)]));
            synthesis_[size_t(j)] = double(float(exact[size_t(j)] / overlap[size_t(j % hop_)]));
        }
        dry_.assign(2 * size_t(n_), 0.0);  // the last N input samples: the dry path's delay and the frames' history
        accumulator_.assign(size_t(n_ + hop_), 0.0);
        phi_.assign(4 * size_t(bins_), 0.0);
        band_.assign(size_t(bins_), 0.0);
        segment_.assign(size_t(n_), 0.0);
        spectra_.assign(2 * size_t(bins_), cplx());
        center_.assign(size_t(bins_), cplx());
        frame_.assign(size_t(n_), 0.0);
    }
    int inputs() const override { return 2; }
    int outputs() const override { return 3; }

    void reset(const std::vector<double>& values) override {
        std::fill(dry_.begin(), dry_.end(), 0.0);
        std::fill(accumulator_.begin(), accumulator_.end(), 0.0);
        std::fill(phi_.begin(), phi_.end(), 0.0);
        t_ = 0;
        update_band(values);
    }
    void changed(int32_t parameter, const std::vector<double>& values) override {
        if (parameter == knobs_[kLowHz].parameter || parameter == knobs_[kHighHz].parameter) update_band(values);
    }

    void process(const double* const* in, double* const* out, int n) override {
        const size_t size = size_t(n_);
        for (int i = 0; i < n;) {
            // up to the next frame boundary; N is a whole number of hops, so no ring wraps inside a piece
            const int count = std::min(n - i, hop_ - int(t_ % hop_));
            const size_t at = size_t(t_ % n_);
            const size_t slot = size_t(t_ % (n_ + hop_));
            for (int j = 0; j < count; ++j) {
                const double c = accumulator_[slot + size_t(j)];
                accumulator_[slot + size_t(j)] = 0.0;
                out[0][i + j] = dry_[at + size_t(j)] - c;  // x[t - N]
                out[1][i + j] = dry_[size + at + size_t(j)] - c;
                out[2][i + j] = c;
            }
            std::memcpy(&dry_[at], in[0] + i, sizeof(double) * size_t(count));
            std::memcpy(&dry_[size + at], in[1] + i, sizeof(double) * size_t(count));
            t_ += count;
            i += count;
            if (t_ % hop_ == 0) frame();
        }
    }

private:
    void update_band(const std::vector<double>& values) {
        values_ = &values;
        const double low = knob_value(knobs_[kLowHz], values), high = knob_value(knobs_[kHighHz], values);
        for (int k = 0; k < bins_; ++k) {
            const double f = std::max(double(k) * rate_ / n_, 1.0);
            band_[size_t(k)] = smoothstep(std::log2(f / low), 0.0, 0.5) * (1 - smoothstep(std::log2(f / high), -0.5, 0.0));
        }
    }
    static double balance(double level_difference_db) {
        const double r = std::pow(10.0, level_difference_db / 20);
        return 2 * r / (1 + r * r);
    }
    // the frame that ends just before sample t_: analysis, statistics, mask, synthesis into the accumulator
    void frame() {
        const std::vector<double>& values = *values_;
        const size_t size = size_t(n_);
        for (int c = 0; c < 2; ++c) {
            const size_t oldest = size_t(t_ % n_);  // oldest first: x[t - N + j] sits at (t + j) mod N
            for (size_t j = 0; j < size; ++j) {
                const size_t at = oldest + j < size ? oldest + j : oldest + j - size;
                segment_[j] = dry_[size_t(c) * size + at] * window_[j];
            }
            fft_->rfft(segment_.data(), spectra_.data() + size_t(c) * size_t(bins_));
        }
        const double decay = std::exp(-hop_ / (knob_value(knobs_[kSmoothingMs], values) * 1e-3 * rate_));
        const double width = std::max(knob_value(knobs_[kWidthDb], values), 0.1);
        const double pan_low = balance(2 * width), pan_high = balance(width);
        const double amount = knob_value(knobs_[kAmount], values);
        double* ll = phi_.data();
        double* rr = ll + bins_;
        double* re = rr + bins_;
        double* im = re + bins_;
        for (int k = 0; k < bins_; ++k) {
            const cplx left = spectra_[size_t(k)], right = spectra_[size_t(bins_ + k)];
            const cplx cross = left * std::conj(right);
            ll[k] = ll[k] * decay + std::norm(left) * (1 - decay);
            rr[k] = rr[k] * decay + std::norm(right) * (1 - decay);
            re[k] = re[k] * decay + cross.real() * (1 - decay);
            im[k] = im[k] * decay + cross.imag() * (1 - decay);
            const double coherence = std::sqrt(re[k] * re[k] + im[k] * im[k]) / std::sqrt(ll[k] * rr[k] + 1e-20);
            const double level = 2 * std::sqrt(ll[k] * rr[k]) / (ll[k] + rr[k] + 1e-20);
            const double mask = amount * smoothstep(level, pan_low, pan_high) * smoothstep(coherence, 0.6, 0.9);
            center_[size_t(k)] = mask * band_[size_t(k)] * 0.5 * (left + right);
        }
        fft_->irfft(center_.data(), frame_.data());
        const size_t length = size_t(n_ + hop_), first = size_t(t_ % (n_ + hop_));
        for (size_t j = 0; j < size; ++j) {  // output positions t .. t + N - 1
            const size_t at = first + j < length ? first + j : first + j - length;
            accumulator_[at] += frame_[j] * synthesis_[j];
        }
    }

    double rate_;
    int n_ = 0, hop_ = 0, bins_ = 0;
    Knob knobs_[kKnobs];
    std::unique_ptr<Fft> fft_;
    std::vector<double> window_, synthesis_, dry_, accumulator_, phi_, band_, segment_, frame_;
    std::vector<cplx> spectra_, center_;
    const std::vector<double>* values_ = nullptr;
    int64_t t_ = 0;
};

// ---------------------------------------------------------------------------------
// A gain in dB on some channels, ramped linearly in dB over `smoothing` samples on a
// change (soundstage.stages.gain.Gain; the Spatializer's center level).
class GainOp : public Op {
public:
    GainOp(Reader& r, double rate) {
        channels_ = int(r.get<uint32_t>());
        first_ = int(r.get<uint32_t>());
        count_ = int(r.get<uint32_t>());
        level_.parameter = r.get<int32_t>(); level_.fixed = r.get<double>();
        invert_.parameter = r.get<int32_t>(); invert_.fixed = r.get<double>();
        const double smoothing_ms = r.get<double>();
        smoothing_ = int64_t(std::llround(smoothing_ms * 1e-3 * rate));
        if (channels_ < 1 || channels_ > kMaxChannels || first_ + count_ > channels_) r.ok = false;
    }
    int inputs() const override { return channels_; }
    int outputs() const override { return channels_; }
    void reset(const std::vector<double>& values) override { ramp_.settle(knob_value(level_, values)); sign_ = sign(values); }
    void changed(int32_t parameter, const std::vector<double>& values) override {
        if (parameter == level_.parameter) ramp_.move_to(values[size_t(parameter)], smoothing_);
        sign_ = sign(values);
    }
    void process(const double* const* in, double* const* out, int n) override {
        for (int c = 0; c < channels_; ++c)
            if (c < first_ || c >= first_ + count_) std::memcpy(out[c], in[c], sizeof(double) * size_t(n));
        if (ramp_.settled()) {  // one gain for the block
            const double g = gain(ramp_.target);
            for (int c = first_; c < first_ + count_; ++c)
                for (int i = 0; i < n; ++i) out[c][i] = in[c][i] * g;
            return;
        }
        for (int i = 0; i < n; ++i) {
            const double g = gain(ramp_.next());
            for (int c = first_; c < first_ + count_; ++c) out[c][i] = in[c][i] * g;
        }
    }

private:
    double sign(const std::vector<double>& values) const { return knob_value(invert_, values) >= 0.5 ? -1.0 : 1.0; }
    double gain(double level_db) const { return double(float(sign_ * std::pow(10.0, level_db / 20.0))); }  // float32, as numpy's
    int channels_ = 0, first_ = 0, count_ = 0;
    Knob level_, invert_;
    int64_t smoothing_ = 0;
    Ramp ramp_;
    double sign_ = 1.0;
};

// ---------------------------------------------------------------------------------
// Whole-sample delays, one per channel: y[t] = x[t - d] (rings of d + 1 samples).
class Delays {
public:
    bool add(uint32_t samples) {
        if (samples > (1u << 22)) return false;
        lines_.emplace_back(size_t(samples) + 1, 0.0);
        return true;
    }
    size_t count() const { return lines_.size(); }
    void reset() {
        for (auto& line : lines_) std::fill(line.begin(), line.end(), 0.0);
        t_ = 0;
    }
    void process(const double* const* in, double* const* out, int n) {
        for (size_t c = 0; c < lines_.size(); ++c) {
            std::vector<double>& line = lines_[c];
            const int64_t size = int64_t(line.size());
            for (int i = 0; i < n; ++i) {
                line[size_t((t_ + i) % size)] = in[c][i];
                out[c][i] = line[size_t((t_ + i + 1) % size)];  // x[t - d]
            }
        }
        t_ += n;
    }

private:
    std::vector<std::vector<double>> lines_;
    int64_t t_ = 0;
};

// soundstage.stages.align.Align.
class DelayOp : public Op {
public:
    explicit DelayOp(Reader& r) {
        const uint32_t channels = r.get<uint32_t>();
        if (channels < 1 || channels > 64) { r.ok = false; return; }
        for (uint32_t c = 0; c < channels && r.ok; ++c)
            if (!delays_.add(r.get<uint32_t>())) r.ok = false;
    }
    int inputs() const override { return int(delays_.count()); }
    int outputs() const override { return int(delays_.count()); }
    void reset(const std::vector<double>&) override { delays_.reset(); }
    void changed(int32_t, const std::vector<double>&) override {}
    void process(const double* const* in, double* const* out, int n) override { delays_.process(in, out, n); }

private:
    Delays delays_;
};

// ---------------------------------------------------------------------------------
// A mixing matrix (Mix; a Route is one of ones and zeros): out[o] = sum over c of m[o][c] * in[c].
class MatrixOp : public Op {
public:
    explicit MatrixOp(Reader& r) {
        inputs_ = int(r.get<uint32_t>());
        outputs_ = int(r.get<uint32_t>());
        if (!r.ok || inputs_ < 1 || inputs_ > kMaxChannels || outputs_ < 1 || outputs_ > kMaxChannels) { r.ok = false; return; }
        gains_.resize(size_t(inputs_) * size_t(outputs_));
        for (double& gain : gains_) gain = r.get<double>();
    }
    int inputs() const override { return inputs_; }
    int outputs() const override { return outputs_; }
    void reset(const std::vector<double>&) override {}
    void changed(int32_t, const std::vector<double>&) override {}
    void process(const double* const* in, double* const* out, int n) override {
        for (int o = 0; o < outputs_; ++o) {
            const double* row = &gains_[size_t(o) * size_t(inputs_)];
            std::fill(out[o], out[o] + n, 0.0);
            for (int c = 0; c < inputs_; ++c) {
                if (row[c] == 0.0) continue;
                for (int i = 0; i < n; ++i) out[o][i] += row[c] * in[c][i];
            }
        }
    }

private:
    int inputs_ = 0, outputs_ = 0;
    std::vector<double> gains_;  // a row of inputs_ gains per output
};

// ---------------------------------------------------------------------------------
// pedalboard's built-ins as pedalboard runs them: JUCE's DSP in float32, one channel at a time, with JUCE's
// coefficient formulas, ballistics, ramps, oscillators, lookup tables and delay lines, so they give pedalboard's output
// to the bit: every built-in soundstage knows (bake.py's BUILTIN_KINDS). A knob moved takes effect from the next
// block, as a setting takes effect from pedalboard's next call.
namespace builtin {

// juce::Decibels::decibelsToGain<float>
inline float decibels_to_gain(float db, float silence_db = -100.0f) {
    return db > silence_db ? std::pow(10.0f, db * 0.05f) : 0.0f;
}

// juce::dsp::util::snapToZero (JUCE_DSP_ENABLE_SNAP_TO_ZERO on x86): the filters' state at the end of a call
inline void snap_to_zero(float& x) {
    if (!(x < -1.0e-8f || x > 1.0e-8f)) x = 0.0f;
}

// juce::dsp::BallisticsFilter: a level follower per channel (of |x|, or of x squared: an RMS level).
class Ballistics {
public:
    void prepare(double rate, int channels, bool rms) {
        exp_factor_ = -2.0 * 3.141592653589793 * 1000.0 / rate;
        rms_ = rms;
        old_.assign(size_t(channels), 0.0f);
    }
    void set(float attack_ms, float release_ms) {
        attack_ = cte(attack_ms);
        release_ = cte(release_ms);
    }
    void reset() { std::fill(old_.begin(), old_.end(), 0.0f); }
    float process(int channel, float x) {
        float& old = old_[size_t(channel)];
        const float level = rms_ ? x * x : std::abs(x);
        const float cte = level > old ? attack_ : release_;
        const float result = level + cte * (old - level);
        old = result;
        return rms_ ? std::sqrt(result) : result;
    }

private:
    float cte(float ms) const { return ms < 1.0e-3f ? 0.0f : float(std::exp(exp_factor_ / double(ms))); }
    double exp_factor_ = 0.0;
    bool rms_ = false;
    float attack_ = 0, release_ = 0;
    std::vector<float> old_;
};

// juce::dsp::Compressor (a peak level above the threshold turns the gain down) and juce::dsp::NoiseGate (an RMS
// level, then a peak one, below the threshold turns it down).
class Dynamics {
public:
    void prepare(double rate, int channels, bool gate) {
        gate_ = gate;
        level_.prepare(rate, channels, false);
        rms_.prepare(rate, channels, true);
        rms_.set(0.0f, 50.0f);
    }
    void set(float threshold_db, float ratio, float attack_ms, float release_ms) {
        threshold_ = decibels_to_gain(threshold_db, -200.0f);
        threshold_inverse_ = 1.0f / threshold_;
        exponent_ = gate_ ? ratio - 1.0f : 1.0f / ratio - 1.0f;
        level_.set(attack_ms, release_ms);
    }
    void reset() { level_.reset(); rms_.reset(); }
    float process(int channel, float x) {
        if (!gate_) {
            const float env = level_.process(channel, x);
            return (env < threshold_ ? 1.0f : std::pow(env * threshold_inverse_, exponent_)) * x;
        }
        const float env = level_.process(channel, rms_.process(channel, x));
        return (env > threshold_ ? 1.0f : std::pow(env * threshold_inverse_, exponent_)) * x;
    }

private:
    bool gate_ = false;
    Ballistics level_, rms_;
    float threshold_ = 1, threshold_inverse_ = 1, exponent_ = 0;
};

// juce::SmoothedValue<float, Linear>: the Limiter's output level, ramped over 1 ms when it changes.
struct LinearRamp {
    float current = 0, target = 0, step = 0;
    int countdown = 0, steps = 0;
    void settle(float value) { current = target = value; countdown = 0; }
    void move_to(float value) {
        if (value == target) return;
        if (steps <= 0) { settle(value); return; }
        target = value;
        countdown = steps;
        step = (target - current) / float(countdown);
    }
    float next() {
        if (countdown <= 0) return target;
        --countdown;
        if (countdown > 0) current += step; else current = target;
        return current;
    }
};

// pedalboard.Delay: juce::dsp::DelayLine (no interpolation, 30 s long) with feedback and a dry/wet mix; a delay of
// 0 s leaves the audio and the line alone.
class Echo {
public:
    static constexpr double kLongestSeconds = 30.0;
    void prepare(double rate, int channels) {
        rate_ = rate;
        size_ = std::max(4, int(kLongestSeconds * rate) + 1);
        line_.assign(size_t(channels) * size_t(size_), 0.0f);
    }
    void set(float seconds, float feedback, float mix) {
        off_ = seconds == 0.0f;
        const int delay = int(double(seconds) * rate_);
        delay_ = std::min(std::max(delay, 0), size_ - 1);
        feedback_ = feedback;
        dry_ = 1.0f - mix;
        wet_ = mix;
    }
    void reset() { std::fill(line_.begin(), line_.end(), 0.0f); write_ = 0; }
    void process(const double* const* in, double* const* out, int channels, int n) {
        if (off_) {  // a delay of 0 s: the audio as it is, the line untouched
            for (int c = 0; c < channels; ++c)
                for (int i = 0; i < n; ++i) out[c][i] = double(float(in[c][i]));
            return;
        }
        for (int c = 0; c < channels; ++c) {
            float* line = &line_[size_t(c) * size_t(size_)];
            int write = write_, read = write_ >= delay_ ? write_ - delay_ : write_ - delay_ + size_;  // pushed `delay_` ago
            for (int i = 0; i < n; ++i) {
                const float x = float(in[c][i]);
                const float delayed = line[read];
                line[write] = x + (feedback_ * delayed);
                out[c][i] = double((x * dry_) + (wet_ * delayed));
                if (++write == size_) write = 0;
                if (++read == size_) read = 0;
            }
        }
        write_ = int((int64_t(write_) + n) % size_);
    }

private:
    double rate_ = 48000.0;
    int size_ = 4, delay_ = 0;
    bool off_ = true;
    float feedback_ = 0, dry_ = 0, wet_ = 1;
    std::vector<float> line_;
    int write_ = 0;  // where the next sample goes, in every channel's line
};

// pedalboard.Reverb: juce::Reverb (Freeverb's eight combs and four all-passes per side, its tunings scaled to the
// rate), its levels and damping ramped over 10 ms; mono or stereo (other channel counts pass, as in pedalboard).
class Freeverb {
public:
    void prepare(double rate) {
        static const int combs[] = {1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617};  // at 44100 Hz
        static const int allpasses[] = {556, 441, 341, 225};
        const int whole = int(rate), spread = 23;
        for (int side = 0; side < 2; ++side) {
            for (int j = 0; j < 8; ++j) comb_[side][j].size((whole * (combs[j] + side * spread)) / 44100);
            for (int j = 0; j < 4; ++j) allpass_[side][j].size((whole * (allpasses[j] + side * spread)) / 44100);
        }
        const int steps = int(std::floor(0.01 * rate));
        for (LinearRamp* ramp : {&damping_, &feedback_, &dry_, &wet1_, &wet2_}) ramp->steps = steps;
    }
    // room size, damping, wet level, dry level, width, freeze mode (juce::Reverb::setParameters)
    void set(float room, float damping, float wet_level, float dry_level, float width, float freeze) {
        const float wet = wet_level * 3.0f;
        dry_.move_to(dry_level * 2.0f);
        wet1_.move_to(0.5f * wet * (1.0f + width));
        wet2_.move_to(0.5f * wet * (1.0f - width));
        const bool frozen = freeze >= 0.5f;
        gain_ = frozen ? 0.0f : 0.015f;
        damping_.move_to(frozen ? 0.0f : damping * 0.4f);
        feedback_.move_to(frozen ? 1.0f : room * 0.28f + 0.7f);
    }
    void reset() {
        for (auto& side : comb_) for (auto& comb : side) comb.clear();
        for (auto& side : allpass_) for (auto& allpass : side) allpass.clear();
    }
    void settle() { for (LinearRamp* ramp : {&damping_, &feedback_, &dry_, &wet1_, &wet2_}) ramp->settle(ramp->target); }
    void process(const double* const* in, double* const* out, int channels, int n) {
        for (int i = 0; i < n; ++i) {
            const float left = float(in[0][i]), right = channels == 2 ? float(in[1][i]) : 0.0f;
            const float input = (channels == 2 ? left + right : left) * gain_;
            float out_left = 0, out_right = 0;
            const float damp = damping_.next(), feedback = feedback_.next();
            for (int j = 0; j < 8; ++j) {
                out_left += comb_[0][j].process(input, damp, feedback);
                if (channels == 2) out_right += comb_[1][j].process(input, damp, feedback);
            }
            for (int j = 0; j < 4; ++j) {
                out_left = allpass_[0][j].process(out_left);
                if (channels == 2) out_right = allpass_[1][j].process(out_right);
            }
            const float dry = dry_.next(), wet1 = wet1_.next(), wet2 = wet2_.next();
            if (channels == 2) {
                out[0][i] = double(out_left * wet1 + out_right * wet2 + left * dry);
                out[1][i] = double(out_right * wet1 + out_left * wet2 + right * dry);
            } else {
                out[0][i] = double(out_left * wet1 + left * dry);
            }
        }
    }

private:
    // JUCE_UNDENORMALISE on x86: a float round trip through 0.1 that flushes what is tiny
    static void undenormalise(float& x) { x += 0.1f; x -= 0.1f; }
    struct Comb {
        std::vector<float> buffer; size_t index = 0; float last = 0;
        void size(int n) { buffer.assign(size_t(std::max(n, 1)), 0.0f); index = 0; last = 0; }
        void clear() { std::fill(buffer.begin(), buffer.end(), 0.0f); last = 0; }
        float process(float input, float damp, float feedback) {
            const float output = buffer[index];
            last = (output * (1.0f - damp)) + (last * damp);
            undenormalise(last);
            float temp = input + (last * feedback);
            undenormalise(temp);
            buffer[index] = temp;
            if (++index == buffer.size()) index = 0;
            return output;
        }
    };
    struct AllPass {
        std::vector<float> buffer; size_t index = 0;
        void size(int n) { buffer.assign(size_t(std::max(n, 1)), 0.0f); index = 0; }
        void clear() { std::fill(buffer.begin(), buffer.end(), 0.0f); }
        float process(float input) {
            const float buffered = buffer[index];
            float temp = input + (buffered * 0.5f);
            undenormalise(temp);
            buffer[index] = temp;
            if (++index == buffer.size()) index = 0;
            return buffered - input;
        }
    };
    Comb comb_[2][8];
    AllPass allpass_[2][4];
    float gain_ = 0.015f;
    LinearRamp damping_, feedback_, dry_, wet1_, wet2_;
};

// juce::SmoothedValue::reset (sampleRate, seconds): a ramp of floor(seconds * rate) steps, settled where it was going
inline void ramp_over(LinearRamp& ramp, double rate, double seconds) {
    ramp.steps = int(std::floor(seconds * rate));
    ramp.settle(ramp.target);
}

constexpr float kPi = float(3.141592653589793238L), kTwoPi = float(2 * 3.141592653589793238L);  // juce::MathConstants

// juce::dsp::Oscillator of std::sin (no lookup table), its frequency ramped over 50 ms, as Chorus and Phaser run it:
// one value a step, from a phase that starts at 0 and wraps at 2 pi.
class Lfo {
public:
    void prepare(double rate) {
        rate_ = float(rate);
        ramp_over(frequency_, double(rate_), 0.05);
    }
    void set(float hz) { frequency_.move_to(hz); }
    void reset() {
        phase_ = 0.0f;
        frequency_.settle(frequency_.target);
    }
    float next() {
        const float increment = (kTwoPi / rate_) * frequency_.next();
        const float last = phase_;
        float next = last + increment;
        while (next >= kTwoPi) next -= kTwoPi;
        phase_ = next;
        return std::sin(last - kPi);
    }

private:
    float rate_ = 48000.0f, phase_ = 0.0f;
    LinearRamp frequency_ = {440.0f, 440.0f};
};

// juce::dsp::DryWetMixer, linear rule (no wet latency): wet * mix + dry * (1 - mix), both ramped over 50 ms. The
// ramps' values for a block are worked out first, as JUCE applies each to every channel in turn.
class DryWet {
public:
    void prepare(double rate) {
        for (LinearRamp* ramp : {&dry_, &wet_}) ramp_over(*ramp, rate, 0.05);
        dry_values_.assign(kMaxBlock, 0.0f);
        wet_values_.assign(kMaxBlock, 0.0f);
    }
    void set(float mix) {
        mix = std::min(std::max(mix, 0.0f), 1.0f);
        dry_.move_to(1.0f - mix);
        wet_.move_to(mix);
    }
    void settle() { for (LinearRamp* ramp : {&dry_, &wet_}) ramp->settle(ramp->target); }
    // out = wet * wet level + dry * dry level; `wet` is out's own samples
    void mix(const double* const* dry, double* const* out, int channels, int n) {
        for (int i = 0; i < n; ++i) wet_values_[size_t(i)] = wet_.next();
        for (int i = 0; i < n; ++i) dry_values_[size_t(i)] = dry_.next();
        for (int c = 0; c < channels; ++c)
            for (int i = 0; i < n; ++i)
                out[c][i] = double((float(out[c][i]) * wet_values_[size_t(i)]) + (float(dry[c][i]) * dry_values_[size_t(i)]));
    }

private:
    LinearRamp dry_, wet_;
    std::vector<float> dry_values_, wet_values_;
};

// What juce::dsp::Chorus and Phaser share: the LFO times depth / 2 (each ramped), the output fed back negated through
// a ramp per channel, and the dry/wet mix. The LFO and the depth step at `sweep_rate` (the Phaser's, a quarter of
// the rate); the rest at the rate.
struct Sweep {
    Lfo lfo;
    LinearRamp depth;
    std::vector<LinearRamp> feedback;
    std::vector<float> last;  // each channel's last output times its feedback
    DryWet mixer;

    void prepare(double rate, double sweep_rate, int channels) {
        last.assign(size_t(channels), 0.0f);
        feedback.assign(size_t(channels), LinearRamp{});
        for (LinearRamp& ramp : feedback) ramp_over(ramp, rate, 0.05);
        lfo.prepare(sweep_rate);
        ramp_over(depth, sweep_rate, 0.05);
        mixer.prepare(rate);
    }
    void set(float rate_hz, float depth_value, float feedback_value, float mix) {
        lfo.set(rate_hz);
        depth.move_to(depth_value * 0.5f);
        mixer.set(mix);
        for (LinearRamp& ramp : feedback) ramp.move_to(feedback_value);
    }
    void reset() {
        std::fill(last.begin(), last.end(), 0.0f);
        lfo.reset();
        mixer.settle();
        depth.settle(depth.target);
        for (LinearRamp& ramp : feedback) ramp.settle(ramp.target);
    }
    float next() { return lfo.next() * depth.next(); }  // the LFO's next value times depth / 2
    float input(int channel, double x) const { return float(x) - last[size_t(channel)]; }
    void output(int channel, float y) { last[size_t(channel)] = y * feedback[size_t(channel)].next(); }
};

// pedalboard.Chorus: juce::dsp::Chorus. A delay line read with linear interpolation, its delay swept by the LFO
// (20 ms times depth / 2 around the centre delay, at least 1 ms), the line's output fed back negated, then mixed.
class Chorus {
public:
    void prepare(double rate, int channels) {
        rate_ = rate;
        const float longest_ms = 20.0f * 1.0f * 0.5f + 100.0f;  // JUCE's maximum modulation, depth and centre delay
        size_ = std::max(4, int(std::ceil(double(longest_ms) * rate / 1000.0)) + 1);
        line_.assign(size_t(channels) * size_t(size_), 0.0f);
        write_.assign(size_t(channels), 0);
        read_.assign(size_t(channels), 0);
        delays_.assign(kMaxBlock, 0.0f);
        sweep_.prepare(rate, rate, channels);
    }
    // rate (Hz), depth, centre delay (ms), feedback, mix (juce::dsp::Chorus's setters)
    void set(float rate_hz, float depth, float centre_ms, float feedback, float mix) {
        sweep_.set(rate_hz, depth, feedback, mix);
        centre_ms_ = std::min(std::max(centre_ms, 1.0f), 100.0f);
    }
    void reset() {
        std::fill(line_.begin(), line_.end(), 0.0f);
        std::fill(write_.begin(), write_.end(), 0);
        std::fill(read_.begin(), read_.end(), 0);
        sweep_.reset();
    }
    void process(const double* const* in, double* const* out, int channels, int n) {
        for (int i = 0; i < n; ++i) {  // the delay of each sample, in samples
            const float ms = std::max(1.0f, 20.0f * sweep_.next() + centre_ms_);
            delays_[size_t(i)] = float(double(ms) * rate_ / 1000.0);
        }
        const float longest = float(size_ - 1);
        for (int c = 0; c < channels; ++c) {
            float* line = &line_[size_t(c) * size_t(size_)];
            int& write = write_[size_t(c)];
            int& read = read_[size_t(c)];
            for (int i = 0; i < n; ++i) {
                line[write] = sweep_.input(c, in[c][i]);  // juce::dsp::DelayLine: written backwards
                write = (write + size_ - 1) % size_;
                const float delay = std::min(std::max(delays_[size_t(i)], 0.0f), longest);
                const int whole = int(std::floor(delay));
                const float fraction = delay - float(whole);
                int first = read + whole, second = first + 1;
                if (second >= size_) { first %= size_; second %= size_; }
                const float output = line[first] + fraction * (line[second] - line[first]);
                read = (read + size_ - 1) % size_;
                out[c][i] = double(output);
                sweep_.output(c, output);
            }
        }
        sweep_.mixer.mix(in, out, channels, n);
    }

private:
    double rate_ = 48000.0;
    int size_ = 4;
    float centre_ms_ = 7.0f;
    std::vector<float> line_, delays_;
    std::vector<int> write_, read_;
    Sweep sweep_;
};

// pedalboard.Phaser: juce::dsp::Phaser. Six first-order all-passes (topology-preserving transform) whose cutoff the
// LFO sweeps, log-mapped between 20 Hz and 20 kHz around the centre, updated every fourth sample; the output fed back
// negated, then mixed.
class Phaser {
public:
    static constexpr int kStages = 6, kEvery = 4;
    void prepare(double rate, int channels) {
        rate_ = rate;
        top_hz_ = float(std::min(20000.0, 0.49 * rate));
        state_.assign(size_t(channels) * kStages, 0.0f);
        sweep_.prepare(rate, rate / double(kEvery), channels);
        cutoffs_.assign(kMaxBlock / kEvery + 1, 0.0f);
    }
    // rate (Hz), depth, centre frequency (Hz), feedback, mix (juce::dsp::Phaser's setters). The centre is placed in
    // the log range of the rate the Phaser last ran at: pedalboard's constructor sets it before any (44.1 kHz, whose
    // range tops at 20 kHz as every rate's from 40.9 kHz up does); `prepared` says whether this is a knob moved since
    void set(float rate_hz, float depth, float centre_hz, float feedback, float mix, bool prepared) {
        sweep_.set(rate_hz, depth, feedback, mix);
        if (centre_hz != centre_hz_ || !placed_) {
            const float top = prepared ? top_hz_ : float(std::min(20000.0, 0.49 * 44100.0));
            const float low = std::log10(20.0f), high = std::log10(top);
            centre_ = (std::log10(centre_hz) - low) / (high - low);
            centre_hz_ = centre_hz;
            placed_ = true;
        }
    }
    void reset() {
        std::fill(state_.begin(), state_.end(), 0.0f);
        sweep_.reset();
        counter_ = 0;
    }
    void process(const double* const* in, double* const* out, int channels, int n) {
        int updates = 0;  // the cutoffs this block sets: one at every fourth sample of the stream
        for (int i = 0, counter = counter_; i < n; ++i, counter = (counter + 1) % kEvery) {
            if (counter != 0) continue;
            const float position = std::min(std::max(sweep_.next() + centre_, 0.0f), 1.0f);
            const float low = std::log10(20.0f), high = std::log10(top_hz_);
            cutoffs_[size_t(updates++)] = std::pow(10.0f, position * (high - low) + low);
        }
        const float first_gain = gain_;
        for (int c = 0; c < channels; ++c) {
            float* s = &state_[size_t(c) * kStages];
            gain_ = first_gain;
            for (int i = 0, k = 0, counter = counter_; i < n; ++i, counter = (counter + 1) % kEvery) {
                if (counter == 0) gain_ = allpass_gain(cutoffs_[size_t(k++)]);
                float output = sweep_.input(c, in[c][i]);
                for (int j = 0; j < kStages; ++j) {  // juce::dsp::FirstOrderTPTFilter, all-pass
                    const float v = gain_ * (output - s[j]);
                    const float y = v + s[j];
                    s[j] = y + v;
                    output = 2 * y - output;
                }
                out[c][i] = double(output);
                sweep_.output(c, output);
            }
        }
        sweep_.mixer.mix(in, out, channels, n);
        counter_ = int((int64_t(counter_) + n) % kEvery);
    }

private:
    // FirstOrderTPTFilter::update: G = g / (1 + g), g = tan(pi fc / rate) in double
    float allpass_gain(float cutoff) const {
        const float g = float(std::tan(3.141592653589793 * double(cutoff) / rate_));
        return g / (1 + g);
    }
    double rate_ = 48000.0;
    float top_hz_ = 20000.0f, centre_ = 0.5f, centre_hz_ = 0.0f, gain_ = 0.0f;
    bool placed_ = false;
    int counter_ = 0;
    std::vector<float> state_, cutoffs_;
    Sweep sweep_;
};

// pedalboard.LadderFilter: juce::dsp::LadderFilter, a Moog ladder of four one-pole stages with tanh saturation (JUCE's
// 128-point table of it), its cutoff and resonance ramped over 50 ms; the mode (LPF12 ... BPF24) mixes the stages.
class Ladder {
public:
    Ladder() {
        for (int i = 0; i < 128; ++i) {  // juce::dsp::LookupTableTransform of std::tanh over [-5, 5]
            const float x = -5.0f + (10.0f * float(i)) / 127.0f;
            table_[i] = std::tanh(std::min(std::max(x, -5.0f), 5.0f));
        }
        table_[128] = table_[127];
    }
    void prepare(double rate, int channels) {
        rate_ = float(rate);
        scaler_ = float(-2.0 * 3.141592653589793) / rate_;
        for (LinearRamp* ramp : {&cutoff_, &resonance_}) ramp_over(*ramp, double(rate_), double(0.05f));
        state_.assign(size_t(channels) * 5, 0.0f);
    }
    // mode (0 LPF12, HPF12, BPF12, LPF24, HPF24, BPF24; a new one clears the state, as setMode does), cutoff (Hz),
    // resonance, drive
    void set(int mode, float cutoff_hz, float resonance, float drive) {
        static const float mixes[6][5] = {{0, 0, 1, 0, 0}, {1, -2, 1, 0, 0}, {0, 0, -1, 1, 0},
                                          {0, 0, 0, 0, 1}, {1, -4, 6, -4, 1}, {0, 0, 1, -2, 1}};
        mode = std::min(std::max(mode, 0), 5);
        if (mode != mode_) {  // setMode clears the state
            for (int j = 0; j < 5; ++j) mix_[j] = mixes[mode][j] * 1.2f;
            compensation_ = mode == 1 || mode == 4 ? 0.0f : 0.5f;
            if (mode_ >= 0) reset();
            mode_ = mode;
        }
        cutoff_.move_to(std::exp(cutoff_hz * scaler_));
        resonance_.move_to(0.1f + resonance * (1.0f - 0.1f));
        drive_ = drive;
        gain_ = std::pow(drive, -2.642f) * 0.6103f + 0.3903f;
        drive2_ = drive * 0.04f + 0.96f;
        gain2_ = std::pow(drive2_, -2.642f) * 0.6103f + 0.3903f;
    }
    void reset() {
        std::fill(state_.begin(), state_.end(), 0.0f);
        cutoff_.settle(cutoff_.target);
        resonance_.settle(resonance_.target);
    }
    void process(const double* const* in, double* const* out, int channels, int n) {
        for (int i = 0; i < n; ++i) {
            const float a1 = cutoff_.next(), resonance = resonance_.next();
            const float g = a1 * -1.0f + 1.0f, b0 = g * 0.76923076923f, b1 = g * 0.23076923076f;
            for (int c = 0; c < channels; ++c) {
                float* s = &state_[size_t(c) * 5];
                const float dx = gain_ * saturate(drive_ * float(in[c][i]));
                const float a = dx + resonance * -4.0f * (gain2_ * saturate(drive2_ * s[4]) - dx * compensation_);
                const float b = b1 * s[0] + a1 * s[1] + b0 * a;
                const float cc = b1 * s[1] + a1 * s[2] + b0 * b;
                const float d = b1 * s[2] + a1 * s[3] + b0 * cc;
                const float e = b1 * s[3] + a1 * s[4] + b0 * d;
                s[0] = a; s[1] = b; s[2] = cc; s[3] = d; s[4] = e;
                out[c][i] = double(a * mix_[0] + b * mix_[1] + cc * mix_[2] + d * mix_[3] + e * mix_[4]);
            }
        }
    }

private:
    float saturate(float x) const {  // LookupTableTransform::processSample: clamped, linear between the points
        const float scaler = 127.0f / 10.0f, offset = 5.0f * scaler;
        const float index = scaler * std::min(std::max(x, -5.0f), 5.0f) + offset;
        const int i = int(index);
        const float f = index - float(i);
        return table_[i] + f * (table_[i + 1] - table_[i]);
    }
    float table_[129] = {};
    float rate_ = 48000.0f, scaler_ = 0.0f;
    int mode_ = -1;
    float mix_[5] = {}, compensation_ = 0.5f;
    float drive_ = 1.0f, gain_ = 1.0f, drive2_ = 1.0f, gain2_ = 1.0f;
    LinearRamp cutoff_, resonance_;
    std::vector<float> state_;
};

}  // namespace builtin

class BuiltinOp : public Op {
public:
    // bake.py's BUILTIN_KINDS, in order
    enum Kind : uint32_t {
        kGainDb = 1, kInvert, kClipping, kHighpass, kLowpass, kHighShelf, kLowShelf, kPeak, kCompressor, kLimiter,
        kNoiseGate, kDistortion, kBitcrush, kDelay, kReverb, kChorus, kPhaser, kLadder
    };
    static constexpr int kSnapEvery = 64;  // soundstage's PedalboardStep.BLOCK: the length of a pedalboard call

    BuiltinOp(Reader& r, double rate) : rate_(rate) {
        kind_ = r.get<uint32_t>();
        channels_ = int(r.get<uint32_t>());
        const uint32_t count = r.get<uint32_t>();
        if (!r.ok || kind_ < kGainDb || kind_ > kLadder || channels_ < 1 || channels_ > kMaxChannels || count > 6) {
            r.ok = false;
            return;
        }
        for (uint32_t i = 0; i < count; ++i) {
            Knob knob;
            knob.parameter = r.get<int32_t>();
            knob.fixed = r.get<double>();
            knobs_.push_back(knob);
        }
        if (count != expected_knobs()) r.ok = false;
        state_.assign(size_t(channels_) * 2, 0.0f);
        for (auto& stage : stages_) stage.prepare(rate, channels_, kind_ == kNoiseGate);
        volume_.steps = int(std::floor(0.001 * rate));
        if (kind_ == kDelay) echo_.prepare(rate, channels_);
        if (kind_ == kReverb) reverb_.prepare(rate);
        if (kind_ == kChorus) chorus_.prepare(rate, channels_);
        if (kind_ == kPhaser) phaser_.prepare(rate, channels_);
        if (kind_ == kLadder) ladder_.prepare(rate, channels_);
    }
    int inputs() const override { return channels_; }
    int outputs() const override { return channels_; }
    void reset(const std::vector<double>& values) override {
        update(values, false);
        std::fill(state_.begin(), state_.end(), 0.0f);
        for (auto& stage : stages_) stage.reset();
        volume_.settle(volume_.target);
        echo_.reset();
        reverb_.reset();
        reverb_.settle();
        chorus_.reset();
        phaser_.reset();
        ladder_.reset();
        t_ = 0;
    }
    void changed(int32_t parameter, const std::vector<double>& values) override {
        for (const Knob& knob : knobs_)
            if (knob.parameter == parameter) { update(values, true); return; }
    }
    void process(const double* const* in, double* const* out, int n) override {
        switch (kind_) {
            case kGainDb:
                for (int c = 0; c < channels_; ++c)
                    for (int i = 0; i < n; ++i) out[c][i] = double(float(in[c][i]) * gain_);
                break;
            case kInvert:
                for (int c = 0; c < channels_; ++c)
                    for (int i = 0; i < n; ++i) out[c][i] = -in[c][i];
                break;
            case kClipping:
                for (int c = 0; c < channels_; ++c)
                    for (int i = 0; i < n; ++i) out[c][i] = double(clip(float(in[c][i]), -gain_, gain_));
                break;
            case kCompressor:
            case kNoiseGate:
                for (int c = 0; c < channels_; ++c)
                    for (int i = 0; i < n; ++i) out[c][i] = double(stages_[0].process(c, float(in[c][i])));
                break;
            case kDistortion:  // juce::dsp::Gain, then a WaveShaper of tanh
                for (int c = 0; c < channels_; ++c)
                    for (int i = 0; i < n; ++i) out[c][i] = double(std::tanh(float(in[c][i]) * gain_));
                break;
            case kBitcrush:  // pedalboard's own: scaled, rounded to the nearest (ties to even), scaled back
                for (int c = 0; c < channels_; ++c)
                    for (int i = 0; i < n; ++i) out[c][i] = double(std::nearbyint(float(in[c][i]) * gain_) * inverse_);
                break;
            case kLimiter: limit(in, out, n); break;
            case kDelay: echo_.process(in, out, channels_, n); break;
            case kReverb:
                if (channels_ <= 2) reverb_.process(in, out, channels_, n);
                else for (int c = 0; c < channels_; ++c) std::memcpy(out[c], in[c], sizeof(double) * size_t(n));
                break;
            case kChorus: chorus_.process(in, out, channels_, n); break;
            case kPhaser: phaser_.process(in, out, channels_, n); break;
            case kLadder: ladder_.process(in, out, channels_, n); break;
            default: filter(in, out, n); break;
        }
        t_ += n;
    }

private:
    uint32_t expected_knobs() const {
        switch (kind_) {
            case kInvert: return 0;
            case kHighShelf: case kLowShelf: case kPeak: return 3;
            case kCompressor: case kNoiseGate: return 4;
            case kLimiter: return 2;
            case kDelay: return 3;
            case kReverb: return 6;
            case kChorus: case kPhaser: return 5;
            case kLadder: return 4;
            default: return 1;
        }
    }
    float knob(size_t index, const std::vector<double>& values) const { return float(knob_value(knobs_[index], values)); }
    static float clip(float x, float low, float high) { return x < low ? low : (high < x ? high : x); }

    // What a pedalboard setter does: the gain, the coefficients, or the compressors' settings and the output level;
    // `moved`: a knob turned since the start (not the values pedalboard's constructor set before it ran)
    void update(const std::vector<double>& values, bool moved) {
        switch (kind_) {
            case kGainDb: gain_ = builtin::decibels_to_gain(knob(0, values)); break;
            case kClipping: gain_ = builtin::decibels_to_gain(knob(0, values)); break;
            case kDistortion: gain_ = builtin::decibels_to_gain(knob(0, values)); break;
            case kBitcrush: {
                const double scale = std::pow(2, double(knob(0, values)));
                gain_ = float(scale);
                inverse_ = float(1.0 / double(gain_));
                break;
            }
            case kCompressor:
            case kNoiseGate: stages_[0].set(knob(0, values), knob(1, values), knob(2, values), knob(3, values)); break;
            case kLimiter: {
                const float threshold_db = knob(0, values);
                stages_[0].set(-10.0f, 4.0f, 2.0f, 200.0f);
                stages_[1].set(threshold_db, 1000.0f, 0.001f, knob(1, values));
                float level = float(std::pow(10.0, 10.0 * (1.0 - 0.25) / 40.0));
                level *= builtin::decibels_to_gain(-threshold_db);
                volume_.move_to(level);
                break;
            }
            case kDelay: echo_.set(knob(0, values), knob(1, values), knob(2, values)); break;
            case kReverb:
                reverb_.set(knob(0, values), knob(1, values), knob(2, values), knob(3, values), knob(4, values), knob(5, values));
                break;
            case kChorus: chorus_.set(knob(0, values), knob(1, values), knob(2, values), knob(3, values), knob(4, values)); break;
            case kPhaser:
                phaser_.set(knob(0, values), knob(1, values), knob(2, values), knob(3, values), knob(4, values), moved);
                break;
            case kLadder:
                ladder_.set(int(std::lround(knob(0, values))), knob(1, values), knob(2, values), knob(3, values));
                break;
            case kInvert: break;
            default: design(values); break;
        }
    }

    // juce::dsp::IIR::Coefficients' makers (pedalboard clamps the shelves' and the peak's cutoff into
    // [0.01, rate / 2 - 100]; soundstage's PedalboardStep clamps the first-order filters' below the same top, where
    // they would be unstable), normalised by a0 as Coefficients::assign does
    void design(const std::vector<double>& values) {
        const float pi = 3.14159265358979323846f, rate = float(rate_);
        float cutoff = knob(0, values);
        if (kind_ == kHighpass || kind_ == kLowpass) {
            cutoff = std::min(cutoff, rate / 2 - 1e2f);
            const float k = std::tan(pi * cutoff / rate);
            const float b0 = kind_ == kHighpass ? 1.0f : k, b1 = kind_ == kHighpass ? -1.0f : k;
            normalise({b0, b1, 0.0f, k + 1.0f, k - 1.0f, 0.0f});
            order_ = 1;
            return;
        }
        cutoff = std::min(std::max(cutoff, 1e-2f), rate / 2 - 1e2f);
        const float gain = builtin::decibels_to_gain(knob(1, values)), q = knob(2, values);
        const float a = std::max(0.0f, std::sqrt(gain));
        const float omega = (2 * pi * std::max(cutoff, 2.0f)) / rate;
        order_ = 2;
        if (kind_ == kPeak) {
            const float alpha = std::sin(omega) / (q * 2), c2 = -2 * std::cos(omega);
            const float alpha_a = alpha * a, alpha_over_a = alpha / a;
            normalise({1 + alpha_a, c2, 1 - alpha_a, 1 + alpha_over_a, c2, 1 - alpha_over_a});
            return;
        }
        const float minus = a - 1, plus = a + 1, coso = std::cos(omega);
        const float beta = std::sin(omega) * std::sqrt(a) / q, minus_coso = minus * coso;
        if (kind_ == kLowShelf)
            normalise({a * (plus - minus_coso + beta), a * 2 * (minus - plus * coso), a * (plus - minus_coso - beta),
                       plus + minus_coso + beta, -2 * (minus + plus * coso), plus + minus_coso - beta});
        else
            normalise({a * (plus + minus_coso + beta), a * -2 * (minus + plus * coso), a * (plus + minus_coso - beta),
                       plus - minus_coso + beta, 2 * (minus - plus * coso), plus - minus_coso - beta});
    }
    // {b0, b1, b2, a0, a1, a2} (a first-order filter: b2 = a2 = 0)
    void normalise(const std::array<float, 6>& v) {
        const float inverse = v[3] != 0.0f ? 1.0f / v[3] : 0.0f;
        b_[0] = v[0] * inverse; b_[1] = v[1] * inverse; b_[2] = v[2] * inverse;
        a_[1] = v[4] * inverse; a_[2] = v[5] * inverse;
    }

    // juce::dsp::IIR::Filter (transposed direct form II), its state snapped to zero where a pedalboard call ends
    void filter(const double* const* in, double* const* out, int n) {
        for (int c = 0; c < channels_; ++c) {
            float& s1 = state_[size_t(c) * 2];
            float& s2 = state_[size_t(c) * 2 + 1];
            int64_t t = t_;
            for (int i = 0; i < n; ++i) {
                const float x = float(in[c][i]);
                const float y = x * b_[0] + s1;
                out[c][i] = double(y);
                if (order_ == 1) {
                    s1 = (x * b_[1]) - (y * a_[1]);
                } else {
                    s1 = (x * b_[1]) - (y * a_[1]) + s2;
                    s2 = (x * b_[2]) - (y * a_[2]);
                }
                if (++t % kSnapEvery == 0) {
                    builtin::snap_to_zero(s1);
                    builtin::snap_to_zero(s2);
                }
            }
        }
    }

    // juce::dsp::Limiter: two compressors, the output level (ramped), a hard clip at full scale
    void limit(const double* const* in, double* const* out, int n) {
        for (int c = 0; c < channels_; ++c)
            for (int i = 0; i < n; ++i) out[c][i] = double(stages_[1].process(c, stages_[0].process(c, float(in[c][i]))));
        for (int i = 0; i < n; ++i) {
            const float level = volume_.next();
            for (int c = 0; c < channels_; ++c) out[c][i] = double(clip(float(out[c][i]) * level, -1.0f, 1.0f));
        }
    }

    double rate_;
    uint32_t kind_ = 0;
    int channels_ = 0, order_ = 1;
    std::vector<Knob> knobs_;
    float gain_ = 1.0f, inverse_ = 1.0f, b_[3] = {1, 0, 0}, a_[3] = {1, 0, 0};
    std::vector<float> state_;
    builtin::Dynamics stages_[2];
    builtin::LinearRamp volume_;
    builtin::Echo echo_;
    builtin::Freeverb reverb_;
    builtin::Chorus chorus_;
    builtin::Phaser phaser_;
    builtin::Ladder ladder_;
    int64_t t_ = 0;
};

// Spectra in single precision (numpy's complex64, as the Python engine keeps them), stored as separate
// real and imaginary parts so the multiply-adds vectorize (four per instruction on any x86-64).
struct Split {
    std::vector<float> re, im;
    void assign(size_t n) { re.assign(n, 0.0f); im.assign(n, 0.0f); }
    void clear() { std::fill(re.begin(), re.end(), 0.0f); std::fill(im.begin(), im.end(), 0.0f); }
    size_t size() const { return re.size(); }
    void set(size_t j, std::complex<float> v) { re[j] = v.real(); im[j] = v.imag(); }
    void add(size_t j, std::complex<float> v) { re[j] += v.real(); im[j] += v.imag(); }
};

// ---------------------------------------------------------------------------------
// soundstage.dsp.fir.MimoFir + CrossfadingFir: uniformly partitioned overlap-save,
// latency P, filter swaps crossfaded linearly over `fade` samples from the first
// output not yet computed, one at a time (a change during a fade is made after it); the filters from a design grid over one knob
// (soundstage.dsp.grid.GridAxis: nodes low + k * step, the last at high; linear
// between two nodes or the cubic through the four nearest, by the axis's order), or
// fixed (one node).
// a += h * x over `bins` complex values in split form: the convolutions' inner loop (with the FFTs, most of a
// plugin's time).
SSX_AVX2_CLONES
inline void multiply_add(float* __restrict ar, float* __restrict ai, const float* __restrict hr, const float* __restrict hi,
                         const float* __restrict xr, const float* __restrict xi, size_t bins) {
    for (size_t b = 0; b < bins; ++b) {
        ar[b] += hr[b] * xr[b] - hi[b] * xi[b];
        ai[b] += hr[b] * xi[b] + hi[b] * xr[b];
    }
}

class FirOp : public Op {
public:
    FirOp(Reader& r) {
        outputs_ = int(r.get<uint32_t>());
        inputs_ = int(r.get<uint32_t>());
        p_ = int(r.get<uint32_t>());
        parts_ = int(r.get<uint32_t>());
        fade_ = int64_t(r.get<uint32_t>());
        axis_ = r.get<int32_t>();
        step_ = r.get<double>(); low_ = r.get<double>(); high_ = r.get<double>();
        order_ = int(r.get<uint32_t>());
        nodes_ = int(r.get<uint32_t>());
        if (!r.ok || outputs_ < 1 || inputs_ < 1 || outputs_ > 64 || inputs_ > 64 || p_ < 1 || (p_ & (p_ - 1)) ||
            (order_ != 1 && order_ != 3) ||
            parts_ < 1 || nodes_ < 1 || nodes_ > 4096 || (nodes_ > 1 && !(step_ > 0 && high_ > low_))) {
            r.ok = false;
            return;
        }
        bins_ = p_ + 1;
        columns_ = parts_ * inputs_;
        const size_t per_node = size_t(outputs_) * size_t(columns_) * size_t(bins_);
        const size_t taps = size_t(parts_) * size_t(p_);
        fft_ = std::make_unique<Fft>(2 * p_);
        node_spectra_.resize(per_node * size_t(nodes_));
        std::vector<float> raw(taps, 0.0f);
        std::vector<double> padded(2 * size_t(p_), 0.0);
        std::vector<cplx> spectrum(static_cast<size_t>(bins_));
        for (int node = 0; node < nodes_ && r.ok; ++node)
            for (int o = 0; o < outputs_; ++o)
                for (int i = 0; i < inputs_; ++i) {
                    r.floats(raw.data(), taps);
                    for (int k = 0; k < parts_; ++k) {
                        for (int j = 0; j < p_; ++j) padded[size_t(j)] = raw[size_t(k * p_ + j)];
                        std::fill(padded.begin() + p_, padded.end(), 0.0);
                        fft_->rfft(padded.data(), spectrum.data());
                        const size_t column = size_t(o) * size_t(columns_) + size_t(k * inputs_ + i);
                        std::complex<float>* to = &node_spectra_[size_t(node) * per_node + column * size_t(bins_)];
                        for (int b = 0; b < bins_; ++b) to[b] = std::complex<float>(spectrum[size_t(b)]);
                    }
                }
        current_.assign(per_node);
        old_.assign(per_node);
        // per output, the blocks (partition, input) some node of the grid holds a nonzero value in: the others are
        // zero in any interpolation, and the convolution skips them (a fifth of the Spatializer's)
        live_.assign(size_t(outputs_), {});
        for (int o = 0; o < outputs_; ++o)
            for (int column = 0; column < columns_; ++column) {
                bool any = false;
                for (int node = 0; node < nodes_ && !any; ++node) {
                    const std::complex<float>* block =
                        &node_spectra_[size_t(node) * per_node + (size_t(o) * size_t(columns_) + size_t(column)) * size_t(bins_)];
                    any = std::any_of(block, block + bins_, [](std::complex<float> v) { return v != std::complex<float>(); });
                }
                if (any) live_[size_t(o)].push_back(column);
            }
        line_.assign(size_t(parts_) * size_t(inputs_) * size_t(bins_));
        spectrum_.assign(size_t(bins_), cplx());
        frame_in_.assign(size_t(inputs_) * 2 * size_t(p_), 0.0);
        ready_.assign(size_t(outputs_) * size_t(p_), 0.0);
        accumulate_.assign(size_t(bins_));
        sum_.assign(size_t(bins_), cplx());
        time_all_.assign(size_t(outputs_) * 2 * size_t(p_), 0.0);
        time_fade_.assign(size_t(outputs_) * 2 * size_t(p_), 0.0);
    }
    int inputs() const override { return inputs_; }
    int outputs() const override { return outputs_; }

    void reset(const std::vector<double>& values) override {
        interpolate(values, current_);
        fading_ = false;
        pending_ = values;
        has_pending_ = false;
        line_.clear();
        std::fill(frame_in_.begin(), frame_in_.end(), 0.0);
        std::fill(ready_.begin(), ready_.end(), 0.0);
        head_ = 0;
        t_ = 0;
        computed_ = p_;  // the latency: P samples of silence count as computed
    }
    void changed(int32_t parameter, const std::vector<double>& values) override {
        if (parameter != axis_ || nodes_ < 2) return;
        // made when the next partition is computed, or while a fade runs when the first one after it is
        // (soundstage.stages.device.Spatializer: one fade at a time, the last value wins)
        pending_ = values;  // the size reset() gave it: a copy, no allocation
        has_pending_ = true;
    }
    void process(const double* const* in, double* const* out, int n) override {
        const size_t two_p = 2 * size_t(p_);
        for (int i = 0; i < n;) {
            const size_t at = size_t(t_ % p_);
            const int count = std::min(n - i, p_ - int(at));  // up to the partition's end
            for (int o = 0; o < outputs_; ++o)
                std::memcpy(out[o] + i, &ready_[size_t(o) * size_t(p_) + at], sizeof(double) * size_t(count));
            for (int c = 0; c < inputs_; ++c)
                std::memcpy(&frame_in_[size_t(c) * two_p + size_t(p_) + at], in[c] + i, sizeof(double) * size_t(count));
            t_ += count;
            i += count;
            if (t_ % p_ == 0) partition();
        }
    }

private:
    double weight(int64_t sample) const {
        const double w = double(sample - fade_start_ + 1) / double(fade_);
        return std::min(std::max(w, 0.0), 1.0);
    }
    void interpolate(const std::vector<double>& values, Split& into) const {
        const size_t per_node = into.size();
        if (axis_ < 0 || nodes_ < 2) {
            for (size_t j = 0; j < per_node; ++j) into.set(j, node_spectra_[j]);
            return;
        }
        const double v = std::min(std::max(values[size_t(axis_)], low_), high_);
        const int index = std::min(int(std::floor((v - low_) / step_)), nodes_ - 2);
        const double lo = node_value(index), hi = node_value(index + 1);
        const double t = (v - lo) / (hi - lo);
        if (t <= 0.0 || t >= 1.0) {
            const std::complex<float>* a = &node_spectra_[size_t(t <= 0.0 ? index : index + 1) * per_node];
            for (size_t j = 0; j < per_node; ++j) into.set(j, a[j]);
            return;
        }
        int first = index, count = 2;
        double weights[4] = {1.0 - t, t, 0.0, 0.0};
        if (order_ == 3 && nodes_ >= 4) {  // the cubic through the four nearest nodes (Lagrange), as GridAxis.bracket
            first = std::min(std::max(index - 1, 0), nodes_ - 4);
            count = 4;
            for (int k = 0; k < 4; ++k) {
                weights[k] = 1.0;
                for (int m = 0; m < 4; ++m)
                    if (m != k) weights[k] *= (v - node_value(first + m)) / (node_value(first + k) - node_value(first + m));
            }
        }
        // in the designs' precision and order, as dsp/grid.py: the first node's share, then each other's added
        const std::complex<float>* a = &node_spectra_[size_t(first) * per_node];
        const float w0 = float(weights[0]);
        for (size_t j = 0; j < per_node; ++j) into.set(j, a[j] * w0);
        for (int k = 1; k < count; ++k) {
            const std::complex<float>* b = &node_spectra_[size_t(first + k) * per_node];
            const float w = float(weights[k]);
            for (size_t j = 0; j < per_node; ++j) into.add(j, b[j] * w);
        }
    }
    double node_value(int index) const { return index >= nodes_ - 1 ? high_ : low_ + index * step_; }
    void convolve(const Split& filters, double* time) {
        // sum over partitions k and inputs of H[k, in] * X[b - k, in]; the line's newest spectrum is at head_
        const size_t bins = size_t(bins_);
        for (int o = 0; o < outputs_; ++o) {
            accumulate_.clear();
            float* __restrict ar = accumulate_.re.data();
            float* __restrict ai = accumulate_.im.data();
            for (const int column : live_[size_t(o)]) {  // partition k, input c: in the order of the sum
                const int k = column / inputs_, c = column % inputs_;
                const size_t slot = size_t((head_ + k) % parts_);
                const size_t x = (slot * size_t(inputs_) + size_t(c)) * bins;
                const size_t h = (size_t(o) * size_t(columns_) + size_t(column)) * bins;
                multiply_add(ar, ai, &filters.re[h], &filters.im[h], &line_.re[x], &line_.im[x], bins);
            }
            for (size_t b = 0; b < bins; ++b) sum_[b] = cplx(double(ar[b]), double(ai[b]));
            fft_->irfft(sum_.data(), time + size_t(o) * 2 * size_t(p_));
        }
    }
    void partition() {
        const size_t two_p = 2 * size_t(p_);
        if (has_pending_ && !fading_) {  // the filters heard so far become the old ones
            old_.re = current_.re;  // same sizes: copies, no allocation
            old_.im = current_.im;
            interpolate(pending_, current_);
            fading_ = true;
            fade_start_ = computed_;
            has_pending_ = false;
        }
        head_ = (head_ + parts_ - 1) % parts_;  // the newest spectrum goes before the others
        for (int c = 0; c < inputs_; ++c) {
            double* frame = &frame_in_[size_t(c) * two_p];
            fft_->rfft(frame, spectrum_.data());
            const size_t at = (size_t(head_) * size_t(inputs_) + size_t(c)) * size_t(bins_);
            for (int b = 0; b < bins_; ++b) {
                line_.re[at + size_t(b)] = float(spectrum_[size_t(b)].real());
                line_.im[at + size_t(b)] = float(spectrum_[size_t(b)].imag());
            }
            std::memmove(frame, frame + p_, sizeof(double) * size_t(p_));  // this block becomes the previous one
        }
        convolve(current_, time_all_.data());
        if (fading_) convolve(old_, time_fade_.data());
        for (int o = 0; o < outputs_; ++o) {
            const double* fresh = &time_all_[size_t(o) * two_p + size_t(p_)];
            const double* stale = &time_fade_[size_t(o) * two_p + size_t(p_)];
            double* to = &ready_[size_t(o) * size_t(p_)];
            for (int j = 0; j < p_; ++j) {
                const double a = double(float(fresh[j]));
                to[j] = fading_ ? double(float(stale[j])) + (a - double(float(stale[j]))) * double(float(weight(computed_ + j)))
                               : a;
            }
        }
        if (fading_ && weight(computed_ + p_ - 1) >= 1.0) fading_ = false;
        computed_ += p_;
    }

    int outputs_ = 0, inputs_ = 0, p_ = 0, parts_ = 0, nodes_ = 0, bins_ = 0, columns_ = 0;
    int64_t fade_ = 0;
    int32_t axis_ = -1;
    double step_ = 0, low_ = 0, high_ = 0;
    int order_ = 1;
    std::unique_ptr<Fft> fft_;
    std::vector<std::complex<float>> node_spectra_;
    std::vector<std::vector<int>> live_;  // per output: the columns (partition * inputs + input) not zero everywhere
    Split current_, old_, line_, accumulate_;
    std::vector<cplx> spectrum_, sum_;
    std::vector<double> frame_in_, ready_, time_all_, time_fade_, pending_;
    bool fading_ = false, has_pending_ = false;
    int64_t fade_start_ = 0, computed_ = 0, t_ = 0;
    int head_ = 0;
};

// ---------------------------------------------------------------------------------
// soundstage.stages.virtualizer.Virtualizer: the direct path delayed by the FIR's
// bulk delay and latency, plus `crossfeed` (a smoothed knob) times the
// contralateral FIR, in float32 as numpy computes it.
class VirtualizerOp : public Op {
public:
    VirtualizerOp(Reader& r, double rate) {
        const uint32_t delay = r.get<uint32_t>();
        crossfeed_.parameter = r.get<int32_t>(); crossfeed_.fixed = r.get<double>();
        smoothing_ = int64_t(std::llround(r.get<double>() * 1e-3 * rate));
        if (!r.ok || !direct_.add(delay) || !direct_.add(delay)) { r.ok = false; return; }
        fir_ = std::make_unique<FirOp>(r);
        if (!r.ok || fir_->inputs() != 2 || fir_->outputs() != 2) { r.ok = false; return; }
        for (auto& channel : contra_) channel.assign(kMaxBlock, 0.0);
        for (auto& channel : delayed_) channel.assign(kMaxBlock, 0.0);
    }
    int inputs() const override { return 2; }
    int outputs() const override { return 2; }
    void reset(const std::vector<double>& values) override {
        fir_->reset(values);
        direct_.reset();
        ramp_.settle(knob_value(crossfeed_, values));
    }
    void changed(int32_t parameter, const std::vector<double>& values) override {
        if (parameter == crossfeed_.parameter) ramp_.move_to(values[size_t(parameter)], smoothing_);
    }
    void process(const double* const* in, double* const* out, int n) override {
        double* contra[2] = {contra_[0].data(), contra_[1].data()};
        double* delayed[2] = {delayed_[0].data(), delayed_[1].data()};
        fir_->process(in, contra, n);
        direct_.process(in, delayed, n);
        for (int i = 0; i < n; ++i) {
            const float crossfeed = float(ramp_.next());
            for (int c = 0; c < 2; ++c) out[c][i] = double(float(delayed[c][i]) + crossfeed * float(contra[c][i]));
        }
    }

private:
    Knob crossfeed_;
    int64_t smoothing_ = 0;
    Ramp ramp_;
    std::unique_ptr<FirOp> fir_;
    Delays direct_;
    std::vector<double> contra_[2], delayed_[2];
};

// ---------------------------------------------------------------------------------
// Operations that hold others: the routing nodes of soundstage.host.routing.

enum OpKind : uint32_t {
    kUpmix = 1, kGain = 2, kFir = 3, kDelay = 4, kVirtualizer = 5, kMatrix = 6, kChannels = 7, kBranches = 8, kBuiltin = 9
};

// one operation from the program (bake.py's _Baker.stage); null if its kind is unknown
inline std::unique_ptr<Op> read_op(Reader& r, double rate, int depth);

// The deepest routing nodes nest (a parallel in a branch of a parallel ...); deeper is a damaged program.
constexpr int kMaxDepth = 16;

// Operations in sequence on buffers of their own, float32 between them as the Python chain: the chain of a parallel
// branch, or the node an on_channels / per_channel runs.
class OpRun {
public:
    // allocates; false if the program is damaged or the channel counts do not chain
    bool read(Reader& r, double rate, int inputs, int depth) {
        const uint32_t count = r.get<uint32_t>();
        inputs_ = outputs_ = widest_ = inputs;
        for (uint32_t i = 0; i < count && r.ok; ++i) {
            std::unique_ptr<Op> op = read_op(r, rate, depth);
            if (!r.ok || !op || op->inputs() != outputs_) return false;
            outputs_ = op->outputs();
            widest_ = std::max(widest_, outputs_);
            ops_.push_back(std::move(op));
        }
        if (!r.ok || widest_ > kMaxChannels) return false;
        buffers_[0].assign(size_t(widest_) * kMaxBlock, 0.0);
        buffers_[1].assign(size_t(widest_) * kMaxBlock, 0.0);
        return true;
    }
    int inputs() const { return inputs_; }
    int outputs() const { return outputs_; }
    void reset(const std::vector<double>& values) {
        for (auto& op : ops_) op->reset(values);
    }
    void changed(int32_t parameter, const std::vector<double>& values) {
        for (auto& op : ops_) op->changed(parameter, values);
    }
    // in[c] for c in `channels` (inputs() of them) to out[0..outputs())
    void process(const double* const* in, const int* channels, double* const* out, int n) {
        double* a[kMaxChannels];
        double* b[kMaxChannels];
        for (int c = 0; c < widest_; ++c) {
            a[c] = &buffers_[0][size_t(c) * kMaxBlock];
            b[c] = &buffers_[1][size_t(c) * kMaxBlock];
        }
        for (int c = 0; c < inputs_; ++c) std::memcpy(a[c], in[channels ? channels[c] : c], sizeof(double) * size_t(n));
        for (auto& op : ops_) {
            op->process(a, b, n);
            for (int c = 0; c < op->outputs(); ++c) {
                for (int i = 0; i < n; ++i) b[c][i] = double(float(b[c][i]));
                std::swap(a[c], b[c]);
            }
        }
        for (int c = 0; c < outputs_; ++c) std::memcpy(out[c], a[c], sizeof(double) * size_t(n));
    }

private:
    int inputs_ = 0, outputs_ = 0, widest_ = 0;
    std::vector<std::unique_ptr<Op>> ops_;
    std::vector<double> buffers_[2];
};

// A run of operations and the delay that brings its output level with the slowest of its kind (a group of
// ChannelsOp, a branch of BranchesOp).
struct AlignedRun {
    OpRun run;
    Delays align;
    void reset(const std::vector<double>& values) {
        run.reset(values);
        align.reset();
    }
};

// OnChannels and PerChannel: groups of channels, each through operations of its own (one group for OnChannels;
// one per channel, each a copy of the node, for PerChannel) and delayed to the slowest; the channels no group takes
// pass, delayed as much. Each group gives back as many channels as it takes, to the same places.
class ChannelsOp : public Op {
public:
    ChannelsOp(Reader& r, double rate, int depth) {
        width_ = int(r.get<uint32_t>());
        const uint32_t groups = r.get<uint32_t>();
        if (!r.ok || width_ < 1 || width_ > kMaxChannels || groups < 1 || groups > uint32_t(width_)) { r.ok = false; return; }
        std::vector<bool> taken(size_t(width_), false);
        groups_.resize(groups);
        for (auto& group : groups_) {
            const uint32_t count = r.get<uint32_t>();
            if (!r.ok || count < 1 || count > uint32_t(width_)) { r.ok = false; return; }
            for (uint32_t i = 0; i < count; ++i) {
                const uint32_t channel = r.get<uint32_t>();
                if (!r.ok || channel >= uint32_t(width_) || taken[channel]) { r.ok = false; return; }
                taken[channel] = true;
                group.channels.push_back(int(channel));
            }
            const uint32_t align = r.get<uint32_t>();
            if (!r.ok || !group.run.read(r, rate, int(count), depth) || group.run.outputs() != int(count)) {
                r.ok = false;
                return;
            }
            for (uint32_t i = 0; i < count && r.ok; ++i)
                if (!group.align.add(align)) r.ok = false;
        }
        const uint32_t bypass = r.get<uint32_t>();
        for (int c = 0; c < width_ && r.ok; ++c) {
            if (taken[size_t(c)]) continue;
            passing_.push_back(c);
            if (!bypass_.add(bypass)) r.ok = false;
        }
        size_t widest = 0;
        for (const auto& group : groups_) widest = std::max(widest, group.channels.size());
        scratch_.assign(widest, std::vector<double>(kMaxBlock, 0.0));
    }
    int inputs() const override { return width_; }
    int outputs() const override { return width_; }
    void reset(const std::vector<double>& values) override {
        for (auto& group : groups_) group.reset(values);
        bypass_.reset();
    }
    void changed(int32_t parameter, const std::vector<double>& values) override {
        for (auto& group : groups_) group.run.changed(parameter, values);
    }
    void process(const double* const* in, double* const* out, int n) override {
        for (auto& group : groups_) {
            const int count = int(group.channels.size());
            double* made[kMaxChannels];
            double* placed[kMaxChannels];
            for (int c = 0; c < count; ++c) {
                made[c] = scratch_[size_t(c)].data();
                placed[c] = out[group.channels[size_t(c)]];
            }
            group.run.process(in, group.channels.data(), made, n);
            group.align.process(made, placed, n);
        }
        const double* passing_in[kMaxChannels];
        double* passing_out[kMaxChannels];
        for (size_t c = 0; c < passing_.size(); ++c) {
            passing_in[c] = in[passing_[c]];
            passing_out[c] = out[passing_[c]];
        }
        bypass_.process(passing_in, passing_out, n);
    }

private:
    struct Group : AlignedRun {
        std::vector<int> channels;
    };
    int width_ = 0;
    std::vector<Group> groups_;
    std::vector<int> passing_;
    Delays bypass_;
    std::vector<std::vector<double>> scratch_;  // as many as the widest group
};

// Parallel: branches on the same input, each delayed to the slowest, summed.
class BranchesOp : public Op {
public:
    BranchesOp(Reader& r, double rate, int depth) {
        inputs_ = int(r.get<uint32_t>());
        const uint32_t count = r.get<uint32_t>();
        if (!r.ok || inputs_ < 1 || inputs_ > kMaxChannels || count < 1 || count > 64) { r.ok = false; return; }
        branches_.resize(count);
        for (auto& branch : branches_) {
            const uint32_t align = r.get<uint32_t>();
            if (!r.ok || !branch.run.read(r, rate, inputs_, depth)) { r.ok = false; return; }
            if (outputs_ == 0) outputs_ = branch.run.outputs();
            if (branch.run.outputs() != outputs_) { r.ok = false; return; }
            for (int c = 0; c < outputs_ && r.ok; ++c)
                if (!branch.align.add(align)) r.ok = false;
        }
        for (int c = 0; c < outputs_; ++c) {
            made_[c].assign(kMaxBlock, 0.0);
            aligned_[c].assign(kMaxBlock, 0.0);
        }
    }
    int inputs() const override { return inputs_; }
    int outputs() const override { return outputs_; }
    void reset(const std::vector<double>& values) override {
        for (auto& branch : branches_) branch.reset(values);
    }
    void changed(int32_t parameter, const std::vector<double>& values) override {
        for (auto& branch : branches_) branch.run.changed(parameter, values);
    }
    void process(const double* const* in, double* const* out, int n) override {
        double* made[kMaxChannels];
        double* aligned[kMaxChannels];
        for (int c = 0; c < outputs_; ++c) {
            made[c] = made_[c].data();
            aligned[c] = aligned_[c].data();
            std::fill(out[c], out[c] + n, 0.0);
        }
        for (auto& branch : branches_) {  // summed in float32, branch by branch, as Parallel does
            branch.run.process(in, nullptr, made, n);
            branch.align.process(made, aligned, n);
            for (int c = 0; c < outputs_; ++c)
                for (int i = 0; i < n; ++i) out[c][i] = double(float(out[c][i]) + float(aligned[c][i]));
        }
    }

private:
    int inputs_ = 0, outputs_ = 0;
    std::vector<AlignedRun> branches_;
    std::vector<double> made_[kMaxChannels], aligned_[kMaxChannels];
};

inline std::unique_ptr<Op> read_op(Reader& r, double rate, int depth) {
    const uint32_t kind = r.get<uint32_t>();
    if (!r.ok) return nullptr;
    if (kind == kUpmix) return std::make_unique<UpmixOp>(r, rate);
    if (kind == kGain) return std::make_unique<GainOp>(r, rate);
    if (kind == kFir) return std::make_unique<FirOp>(r);
    if (kind == kDelay) return std::make_unique<DelayOp>(r);
    if (kind == kVirtualizer) return std::make_unique<VirtualizerOp>(r, rate);
    if (kind == kMatrix) return std::make_unique<MatrixOp>(r);
    if (kind == kBuiltin) return std::make_unique<BuiltinOp>(r, rate);
    if (depth >= kMaxDepth) return nullptr;
    if (kind == kChannels) return std::make_unique<ChannelsOp>(r, rate, depth + 1);
    if (kind == kBranches) return std::make_unique<BranchesOp>(r, rate, depth + 1);
    return nullptr;
}

// ---------------------------------------------------------------------------------
// Resampling by whole factors, around a chain baked for another rate (RateBridge, RateRaiser). Both filters are
// linear-phase lowpasses, Kaiser-windowed sincs (beta 10.06) flat within 0.0001 dB to 0.9 times the lower rate's
// Nyquist frequency and 100 dB down in their stopbands:
//   - the decimator (136 * factor + 1 taps) from the lower rate's Nyquist frequency on, so nothing aliases into
//     the lower rate's band;
//   - the interpolator (68 * factor + 1 taps, by polyphase branches each summing to 1, so no phase of the
//     higher rate's samples is louder at 0 Hz) from 1.1 times it on: no image of the band up to 0.9 times the
//     Nyquist frequency comes out. Cut at the Nyquist frequency, its sinc is zero at every low-rate sample but
//     its centre, so the high-rate samples that fall on low-rate ones are those samples (delayed), with no
//     multiply-adds.
// Through both, 102 samples of the lower rate pass: 68 in the decimator, 34 in the interpolator.
namespace resampling {

// sum of a[j] * b[j] in four running sums: the multiplies overlap instead of waiting on one another
inline double dot(const double* a, const double* b, int n) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += a[j] * b[j];
        s1 += a[j + 1] * b[j + 1];
        s2 += a[j + 2] * b[j + 2];
        s3 += a[j + 3] * b[j + 3];
    }
    for (; j < n; ++j) s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
}

// the modified Bessel function of the first kind, order 0 (the Kaiser window), by its power series
inline double bessel_i0(double x) {
    double sum = 1.0, term = 1.0;
    for (int k = 1; k < 60 && term > 1e-17 * sum; ++k) {
        term *= (x / (2.0 * k)) * (x / (2.0 * k));
        sum += term;
    }
    return sum;
}

// a lowpass of `taps` (odd) taps cut at `cutoff` cycles per sample, unity gain at 0 Hz
inline std::vector<double> kaiser_sinc(int taps, double cutoff) {
    const double beta = 0.1102 * (100.0 - 8.7);
    const double middle = 0.5 * (taps - 1);
    std::vector<double> h(size_t(taps), 0.0);
    double sum = 0.0;
    for (int j = 0; j < taps; ++j) {
        const double t = j - middle;
        const double x = 2.0 * cutoff * t;
        const double sinc = t == 0.0 ? 1.0 : std::sin(M_PI * x) / (M_PI * x);
        const double r = t / middle;
        sum += h[size_t(j)] = 2.0 * cutoff * sinc * bessel_i0(beta * std::sqrt(std::max(0.0, 1.0 - r * r)));
    }
    for (double& v : h) v /= sum;
    return h;
}

// the decimator by `factor`: 136 * factor + 1 taps
inline std::vector<double> decimator(int factor) { return kaiser_sinc(136 * factor + 1, 0.95 / (2.0 * factor)); }

// The interpolator by `factor` as its polyphase branches: the high-rate sample factor * m + p is
// dot(branch(p), the low-rate samples m, m - 1, ...).
class Interpolator {
public:
    static constexpr int kBranch = 68 + 1;  // taps of each branch (zero-padded)

    explicit Interpolator(int factor = 1) {
        std::vector<double> up = kaiser_sinc(68 * factor + 1, 1.0 / (2.0 * factor));
        for (int j = 0; j < int(up.size()); ++j)  // the sinc's zeros, exact: the branch at the low-rate samples
            if ((j - 34 * factor) % factor == 0 && j != 34 * factor) up[size_t(j)] = 0.0;  // passes them as they are
        branches_.assign(size_t(factor) * kBranch, 0.0);
        spans_.assign(size_t(factor), {0, 0});
        for (int p = 0; p < factor; ++p) {
            double* g = &branches_[size_t(p) * kBranch];
            double sum = 0.0;
            for (int l = 0; l < kBranch && p + factor * l < int(up.size()); ++l) sum += g[l] = up[size_t(p + factor * l)];
            int first = kBranch, last = -1;
            for (int l = 0; l < kBranch; ++l) {
                g[l] /= sum;
                if (g[l] != 0.0) {
                    first = std::min(first, l);
                    last = l;
                }
            }
            spans_[size_t(p)] = {first, last - first + 1};  // the multiply-adds skip the zero taps
        }
    }

    // the high-rate sample of phase p, from history[0..kBranch): the low-rate samples, newest first
    double at(int p, const double* history) const {
        const auto [first, count] = spans_[size_t(p)];
        return dot(&branches_[size_t(p) * kBranch] + first, history + first, count);
    }

private:
    std::vector<double> branches_;
    std::vector<std::pair<int, int>> spans_;  // per branch: its first nonzero tap and how many from there
};

}  // namespace resampling

// A session at 2 or 4 times a baked rate (176.4 / 192 kHz on a plugin baked for 88.2 / 96 kHz) runs that
// rate's chain between a decimator and an interpolator, so it plays instead of being silent.
// The stream stays causal with no buffering: the low-rate sample m is made from input up to sample
// factor * m, and is the first the interpolator needs, at that same sample. The chain's input is the
// session's delayed by the decimator's half length (68 samples of the baked rate). Latency in the session's
// samples: factor * (the baked chain's) + 102 * factor.
class RateBridge {
public:
    // allocates: call outside the audio thread
    void prepare(int factor, int inputs, int outputs) {
        factor_ = factor;
        down_ = resampling::decimator(factor);
        up_ = resampling::Interpolator(factor);
        inputs_.assign(size_t(inputs), std::vector<double>(2 * down_.size(), 0.0));
        outputs_.assign(size_t(outputs), std::vector<double>(2 * size_t(kBranch), 0.0));
        reset();
    }

    void reset() {
        for (auto& h : inputs_) std::fill(h.begin(), h.end(), 0.0);
        for (auto& h : outputs_) std::fill(h.begin(), h.end(), 0.0);
        in_at_ = out_at_ = phase_ = 0;
    }

    int delay() const { return int(down_.size() - 1) / 2 + (kBranch - 1) * factor_ / 2; }
    // the low-rate samples the next `n` session samples make
    int low_count(int n) const { return (n - (factor_ - phase_) % factor_ + factor_ - 1) / factor_; }

    // Session samples in[c][offset..offset + n) to low-rate samples low[c][0..low_count(n)); sanitize: as
    // Engine::audio. (The session's samples are a RateRaiser's, in double, where the two run together.)
    template <class In, class Sanitize>
    void decimate(const In* const* in, uint32_t offset, int n, double* const* low, Sanitize sanitize) {
        const int taps = int(down_.size());
        int at = in_at_;
        for (size_t c = 0; c < inputs_.size(); ++c) {
            double* history = inputs_[c].data();
            at = in_at_;
            int phase = phase_, made = 0;
            for (int i = 0; i < n; ++i) {
                at = at == 0 ? taps - 1 : at - 1;  // newest first: history[at + j] is x[now - j]
                history[at] = history[at + taps] = sanitize(in[c][offset + uint32_t(i)]);
                if (phase == 0) low[c][made++] = resampling::dot(down_.data(), history + at, taps);
                phase = phase + 1 == factor_ ? 0 : phase + 1;
            }
        }
        in_at_ = at;  // every channel moved the same way
    }

    // Low-rate samples low[c] (low_count(n) of them) to session samples out[c][offset..offset + n).
    template <class Out>
    void interpolate(const double* const* low, Out* const* out, uint32_t offset, int n) {
        int phase = phase_, at = out_at_;
        for (size_t c = 0; c < outputs_.size(); ++c) {
            double* history = outputs_[c].data();
            at = out_at_;
            phase = phase_;
            int used = 0;
            for (int i = 0; i < n; ++i) {
                if (phase == 0) {
                    at = at == 0 ? kBranch - 1 : at - 1;
                    history[at] = history[at + kBranch] = low[c][used++];
                }
                out[c][offset + uint32_t(i)] = Out(up_.at(phase, history + at));
                phase = phase + 1 == factor_ ? 0 : phase + 1;
            }
        }
        out_at_ = at;
        phase_ = phase;
    }

private:
    static constexpr int kBranch = resampling::Interpolator::kBranch;
    int factor_ = 1, in_at_ = 0, out_at_ = 0, phase_ = 0;
    std::vector<double> down_;
    resampling::Interpolator up_;
    std::vector<std::vector<double>> inputs_, outputs_;
};

// A session at a half, a third, a quarter or a sixth of a baked rate (22.05 kHz on a plugin baked for 44.1 kHz,
// 32 kHz on one baked for 96) runs that rate's chain between an interpolator and a decimator: the bridge above
// turned round. Each session sample makes `factor` samples of the chain, and each `factor` of the chain's make one
// of the session, so a block of the session is a block of the chain `factor` times as long. The decimator keeps the
// chain's samples of phase (the baked chain's latency modulo factor), so the baked chain's latency in its own
// samples adds a whole number of session samples. Latency in the session's samples: 102 + (the baked chain's)
// / factor, rounded down. Through both filters, a tone up to 90% of the session's Nyquist frequency keeps its level;
// whatever the chain makes above that Nyquist frequency comes out 100 dB down instead of aliasing.
class RateRaiser {
public:
    // allocates: call outside the audio thread
    void prepare(int factor, int inputs, int outputs, int chain_latency) {
        factor_ = factor;
        keep_ = chain_latency % factor;
        down_ = resampling::decimator(factor);
        up_ = resampling::Interpolator(factor);
        delay_ = (int(down_.size() - 1) / 2 + (kBranch - 1) * factor / 2 + chain_latency) / factor;
        inputs_.assign(size_t(inputs), std::vector<double>(2 * size_t(kBranch), 0.0));
        outputs_.assign(size_t(outputs), std::vector<double>(2 * down_.size(), 0.0));
        reset();
    }

    void reset() {
        for (auto& h : inputs_) std::fill(h.begin(), h.end(), 0.0);
        for (auto& h : outputs_) std::fill(h.begin(), h.end(), 0.0);
        in_at_ = out_at_ = 0;
    }

    int factor() const { return factor_; }
    // the whole latency, the baked chain's included, in session samples
    int latency() const { return delay_; }

    // Session samples in[c][offset..offset + n) to chain samples high[c][0..factor * n); sanitize: as Engine::audio.
    template <class Sanitize>
    void interpolate(const float* const* in, uint32_t offset, int n, double* const* high, Sanitize sanitize) {
        int at = in_at_;
        for (size_t c = 0; c < inputs_.size(); ++c) {
            double* history = inputs_[c].data();
            at = in_at_;
            for (int i = 0; i < n; ++i) {
                at = at == 0 ? kBranch - 1 : at - 1;
                history[at] = history[at + kBranch] = sanitize(in[c][offset + uint32_t(i)]);
                for (int p = 0; p < factor_; ++p) high[c][factor_ * i + p] = up_.at(p, history + at);
            }
        }
        in_at_ = at;
    }

    // Chain samples high[c][0..factor * n) to session samples out[c][offset..offset + n).
    void decimate(const double* const* high, float* const* out, uint32_t offset, int n) {
        const int taps = int(down_.size());
        int at = out_at_;
        for (size_t c = 0; c < outputs_.size(); ++c) {
            double* history = outputs_[c].data();
            at = out_at_;
            for (int i = 0; i < n; ++i) {
                for (int p = 0; p < factor_; ++p) {
                    at = at == 0 ? taps - 1 : at - 1;
                    history[at] = history[at + taps] = high[c][factor_ * i + p];
                    if (p == keep_) out[c][offset + uint32_t(i)] = float(resampling::dot(down_.data(), history + at, taps));
                }
            }
        }
        out_at_ = at;
    }

private:
    static constexpr int kBranch = resampling::Interpolator::kBranch;
    int factor_ = 1, keep_ = 0, delay_ = 0, in_at_ = 0, out_at_ = 0;
    std::vector<double> down_;
    resampling::Interpolator up_;
    std::vector<std::vector<double>> inputs_, outputs_;
};

// ---------------------------------------------------------------------------------
// The whole program: parameters, then one chain per sample rate.
class Engine {
public:
    // a session at 1/factor of a baked rate runs it raised (exported.py's RAISED_FACTORS)
    static constexpr int kRaisedFactors[] = {2, 3, 4, 6};


    // Parse the header (parameters, channel counts, the rates on offer); false if the blob is damaged.
    bool open(const uint8_t* data, size_t size) {
        Reader r{data, data + size};
        char magic[8];
        for (char& c : magic) c = char(r.get<uint8_t>());
        if (!r.ok || std::memcmp(magic, "SSPLUG02", 8) != 0) return false;
        chain_text_ = r.text();
        inputs_ = int(r.get<uint32_t>());
        outputs_ = int(r.get<uint32_t>());
        const uint32_t count = r.get<uint32_t>();
        for (uint32_t i = 0; i < count && r.ok; ++i) {
            ParameterInfo info;
            info.name = r.text(); info.symbol = r.text(); info.unit = r.text();
            info.minimum = r.get<float>(); info.maximum = r.get<float>(); info.fallback = r.get<float>();
            const uint8_t kind = r.get<uint8_t>();  // 0 a number, 1 on/off, 2 a choice (names follow), 3 a log number
            info.boolean = kind == 1;
            info.logarithmic = kind == 3;
            if (kind == 2) {
                const uint32_t names = r.get<uint32_t>();
                if (!r.ok || names < 1 || names > 64) return false;
                for (uint32_t j = 0; j < names && r.ok; ++j) info.choices.push_back(r.text());
            } else if (kind > 3) {
                return false;
            }
            parameters_.push_back(info);
        }
        const uint32_t rates = r.get<uint32_t>();
        for (uint32_t i = 0; i < rates && r.ok; ++i) {
            const double rate = r.get<double>();
            const uint64_t bytes = r.get<uint64_t>();
            if (!r.ok || bytes > uint64_t(r.end - r.p)) return false;
            rates_.push_back({rate, r.p, size_t(bytes)});
            r.skip(size_t(bytes));
        }
        values_.resize(parameters_.size());
        for (size_t i = 0; i < parameters_.size(); ++i) values_[i] = parameters_[i].fallback;
        return r.ok && inputs_ > 0 && outputs_ > 0 && !rates_.empty();
    }

    const std::vector<ParameterInfo>& parameters() const { return parameters_; }
    const std::string& chain_text() const { return chain_text_; }
    int inputs() const { return inputs_; }
    int outputs() const { return outputs_; }
    int latency() const { return latency_; }
    double value(size_t index) const { return values_[index]; }

    // Ready to run at `rate`: the baked chain for it, its latency, and the bypass's dry path delayed by that latency
    // (allocates: call outside the audio thread). False if no baked chain plays at `rate`: the plugin then plays silence.
    bool prepare(double rate) {
        const bool plays = prepare_chain(rate);
        if (!plays) { ops_.clear(); latency_ = 0; }  // silence, at no latency: a bypass passes the input as it is
        dry_channels_ = std::min(inputs_, outputs_);
        ring_size_ = size_t(latency_) + size_t(kMaxBlock);
        ring_.assign(size_t(dry_channels_) * ring_size_, 0.0);
        fade_step_ = 1.0 / std::max(1.0, kBypassFadeSeconds * rate);
        reset();
        return plays;
    }

    // The DAW's bypass: the input, delayed by the plugin's latency so nothing moves in time, in place of the chain's
    // output (input channel c on output c; an output with no input of its number is silent). The chain keeps running,
    // so leaving the bypass fades back into a chain that has heard the music. Engaged or left while audio runs, the two
    // crossfade over kBypassFadeSeconds; before a stream starts, at once.
    void bypass(bool on) {
        bypass_target_ = on ? 1.0 : 0.0;
        if (fresh_) bypass_gain_ = bypass_target_;
    }
    bool bypassed() const { return bypass_target_ > 0.5; }

private:
    // Load the chain baked for `rate`; else for a half or a quarter of it, run through a RateBridge; else for 2, 3, 4
    // or 6 times it, run through a RateRaiser; else for 3/2 or 3/4 of it, through both. False if none is.
    bool prepare_chain(double rate) {
        ops_.clear();
        latency_ = 0;
        factor_ = rise_ = 1;
        for (const auto& entry : rates_)  // a program for every rate (bake.py's ANY_RATE): built at this one
            if (entry.rate == 0.0) return load(entry, rate);
        for (int factor : {1, 2, 4}) {
            for (const auto& entry : rates_) {
                if (std::fabs(entry.rate * factor - rate) > 0.5 || !load(entry, entry.rate)) continue;
                factor_ = factor;
                if (factor > 1) {
                    bridge_.prepare(factor, inputs_, outputs_);
                    latency_ = factor * latency_ + bridge_.delay();
                }
                return true;
            }
        }
        for (int factor : kRaisedFactors) {
            for (const auto& entry : rates_) {
                if (std::fabs(entry.rate / factor - rate) > 0.5 || !load(entry, entry.rate)) continue;
                rise_ = factor;
                raiser_.prepare(factor, inputs_, outputs_, latency_);
                latency_ = raiser_.latency();
                return true;
            }
        }
        // two or four thirds of a baked rate (32 or 64 kHz on a plugin baked for 48, exported.py's BRIDGED_AND_RAISED):
        // the chain bridged up to 2 or 4 times its rate, and that raised down by 3 to the session's rate
        for (int factor : {2, 4}) {
            for (const auto& entry : rates_) {
                if (std::fabs(entry.rate * factor / 3 - rate) > 0.5 || !load(entry, entry.rate)) continue;
                factor_ = factor;
                rise_ = 3;
                bridge_.prepare(factor, inputs_, outputs_);
                raiser_.prepare(rise_, inputs_, outputs_, factor * latency_ + bridge_.delay());
                latency_ = raiser_.latency();
                high_.assign(size_t(widest_) * kMaxBlock, 0.0);
                return true;
            }
        }
        return false;
    }

public:
    void reset() {
        for (auto& op : ops_) op->reset(values_);
        if (factor_ > 1) bridge_.reset();
        if (rise_ > 1) raiser_.reset();
        std::fill(ring_.begin(), ring_.end(), 0.0);
        ring_at_ = 0;
        bypass_gain_ = bypass_target_;
        fresh_ = true;
    }

    // A parameter moved (from the host, between blocks); acts only on a change, as soundstage does.
    // Before the first sample of a stream it takes effect at once (no ramp, no fade), as a knob
    // set on a soundstage stage before its stream opens; while audio runs it ramps or crossfades.
    void set(size_t index, double value) {
        if (index >= values_.size() || values_[index] == value) return;
        values_[index] = value;
        if (fresh_) {
            for (auto& op : ops_) op->reset(values_);
            return;
        }
        for (auto& op : ops_) op->changed(int32_t(index), values_);
    }

    // An input sample that is no audio (NaN, infinite, or beyond +-1e6 = +120 dBFS: what a plugin upstream
    // sends when it breaks) plays as silence. Taken in, it would stay in the filters' state and the plugin
    // would send NaN for the rest of the session. The Python chain refuses such input with an error.
    static double audio(float x) {
        const double v = double(x);
        return (v >= -1e6 && v <= 1e6) ? v : 0.0;  // false for NaN
    }

    // `in` has inputs() channels, `out` outputs(); they may alias (hosts process in place).
    void process(const float* const* in, float* const* out, uint32_t frames) {
        if (frames) fresh_ = false;
        for (uint32_t done = 0; done < frames;) {
            const int n = int(std::min<uint32_t>(frames - done, uint32_t(kMaxBlock / rise_)));
            keep_dry(in, done, n);  // before the chain writes `out`, which may be `in`
            if (ops_.empty()) {
                for (int c = 0; c < outputs_; ++c) std::memset(out[c] + done, 0, sizeof(float) * size_t(n));
            } else {
                process_block(in, out, done, n);
            }
            mix_dry(out, done, n);
            done += uint32_t(n);
        }
    }

private:
    // the bypass's input, sample for sample, into the ring it is read from `latency_` samples later
    void keep_dry(const float* const* in, uint32_t done, int n) {
        for (int c = 0; c < dry_channels_; ++c) {
            double* ring = &ring_[size_t(c) * ring_size_];
            for (int i = 0; i < n; ++i) ring[(ring_at_ + size_t(i)) % ring_size_] = audio(in[c][done + uint32_t(i)]);
        }
    }

    void mix_dry(float* const* out, uint32_t done, int n) {
        const size_t start = (ring_at_ + ring_size_ - size_t(latency_)) % ring_size_;
        ring_at_ = (ring_at_ + size_t(n)) % ring_size_;
        if (bypass_gain_ == 0.0 && bypass_target_ == 0.0) return;  // the chain alone, untouched
        for (int i = 0; i < n; ++i) {
            if (bypass_gain_ < bypass_target_) bypass_gain_ = std::min(bypass_target_, bypass_gain_ + fade_step_);
            if (bypass_gain_ > bypass_target_) bypass_gain_ = std::max(bypass_target_, bypass_gain_ - fade_step_);
            const size_t at = (start + size_t(i)) % ring_size_;
            for (int c = 0; c < outputs_; ++c) {
                const double dry = c < dry_channels_ ? ring_[size_t(c) * ring_size_ + at] : 0.0;
                float& sample = out[c][done + uint32_t(i)];
                sample = bypass_gain_ == 1.0 ? float(dry) : float((1.0 - bypass_gain_) * double(sample) + bypass_gain_ * dry);
            }
        }
    }

    void process_block(const float* const* in, float* const* out, uint32_t done, int n) {
        double* a[kMaxChannels];
        double* b[kMaxChannels];
        for (int c = 0; c < widest_; ++c) {
            a[c] = &buffers_[0][size_t(c) * kMaxBlock];
            b[c] = &buffers_[1][size_t(c) * kMaxBlock];
        }
        if (rise_ > 1 && factor_ > 1) {  // raised to the common multiple, bridged from there to the chain's rate
            double* high[kMaxChannels];
            for (int c = 0; c < widest_; ++c) high[c] = &high_[size_t(c) * kMaxBlock];
            raiser_.interpolate(in, done, n, high, audio);
            const int low = bridge_.low_count(n * rise_);
            bridge_.decimate(high, 0, n * rise_, a, [](double x) { return x; });
            run(a, b, low);
            bridge_.interpolate(a, high, 0, n * rise_);
            raiser_.decimate(high, out, done, n);
        } else if (rise_ > 1) {  // as below: the block's input is all read first
            raiser_.interpolate(in, done, n, a, audio);
            run(a, b, n * rise_);
            raiser_.decimate(a, out, done, n);
        } else if (factor_ > 1) {  // every input sample of the block is read before any output is written (in place)
            const int low = bridge_.low_count(n);
            bridge_.decimate(in, done, n, a, audio);
            run(a, b, low);
            bridge_.interpolate(a, out, done, n);
        } else {
            for (int c = 0; c < inputs_; ++c)
                for (int i = 0; i < n; ++i) a[c][i] = audio(in[c][done + uint32_t(i)]);
            run(a, b, n);
            for (int c = 0; c < outputs_; ++c)
                for (int i = 0; i < n; ++i) out[c][done + uint32_t(i)] = float(a[c][i]);
        }
    }

    struct RateEntry { double rate; const uint8_t* data; size_t size; };

    // the chain baked at entry.rate, built to run at `rate` (the same, or any for a program made for every rate); false
    // if that part of the program is damaged
    bool load(const RateEntry& entry, double rate) {
        ops_.clear();
        latency_ = 0;
        Reader r{entry.data, entry.data + entry.size};
        latency_ = int(r.get<uint32_t>());
        const uint32_t count = r.get<uint32_t>();
        int channels = inputs_;
        for (uint32_t i = 0; i < count && r.ok; ++i) {
            std::unique_ptr<Op> op = read_op(r, rate, 0);
            if (!r.ok || !op || op->inputs() != channels) { ops_.clear(); return false; }
            channels = op->outputs();
            ops_.push_back(std::move(op));
        }
        if (!r.ok || channels != outputs_) { ops_.clear(); return false; }
        widest_ = inputs_;
        for (const auto& op : ops_) widest_ = std::max(widest_, op->outputs());
        if (widest_ > kMaxChannels) { ops_.clear(); return false; }
        buffers_[0].assign(size_t(widest_) * kMaxBlock, 0.0);
        buffers_[1].assign(size_t(widest_) * kMaxBlock, 0.0);
        reset();
        return true;
    }

    // the chain's operations on a[c][0..n) (inputs() channels); the result is left in a[c] (outputs() channels)
    void run(double** a, double** b, int n) {
        if (n == 0) return;
        for (auto& op : ops_) {
            op->process(a, b, n);
            for (int c = 0; c < op->outputs(); ++c) {  // float32 between stages, as the Python chain
                for (int i = 0; i < n; ++i) b[c][i] = double(float(b[c][i]));
                std::swap(a[c], b[c]);
            }
        }
    }

    std::string chain_text_;
    int inputs_ = 0, outputs_ = 0, latency_ = 0, widest_ = 0;
    std::vector<ParameterInfo> parameters_;
    std::vector<RateEntry> rates_;
    std::vector<double> values_;
    std::vector<std::unique_ptr<Op>> ops_;
    std::vector<double> buffers_[2];
    std::vector<double> high_;  // the common multiple's samples, where a raiser and a bridge run together
    RateBridge bridge_;
    RateRaiser raiser_;
    int factor_ = 1, rise_ = 1;
    bool fresh_ = true;
    // the bypass (see bypass()): the input's last latency_ + kMaxBlock samples per channel, and the crossfade
    std::vector<double> ring_;
    size_t ring_size_ = 1, ring_at_ = 0;
    int dry_channels_ = 0;
    double bypass_gain_ = 0.0, bypass_target_ = 0.0, fade_step_ = 1.0;
};

}  // namespace ssx
