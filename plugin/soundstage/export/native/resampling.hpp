// Resampling by whole factors around a chain baked for another rate: the engine's RateBridge and RateRaiser.

#pragma once

#include "engine_core.hpp"  // M_PI where strict C++ leaves it out (MinGW-w64)

namespace ssx {

// ---------------------------------------------------------------------------------
// Resampling by whole factors, around a chain baked for another rate (RateBridge, RateRaiser). Both filters are
// linear-phase lowpasses, Kaiser-windowed sincs (beta 10.06) flat within 0.0001 dB to 0.9 times the lower rate's
// Nyquist frequency and 100 dB down in their stopbands:
//   - the decimator (136 * factor + 1 taps) from the lower rate's Nyquist frequency on, so nothing aliases into
//     the lower rate's band;
//   - the interpolator (68 * factor + 1 taps, by polyphase branches each summing to 1, so no phase of the
//     higher rate's samples is louder at 0 Hz) from 1.1 times it on: no image of the band up to 0.9 times the
//     Nyquist frequency comes out. Cut at the Nyquist frequency, its sinc is zero at every low-rate sample but
//     its center, so the high-rate samples that fall on low-rate ones are those samples (delayed), with no
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

}  // namespace ssx
