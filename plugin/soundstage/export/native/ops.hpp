// The engine's operations for soundstage's stages: the upmix, gains, delays, channel matrices and the virtualizer.

#pragma once

#include "fir.hpp"

namespace ssx {

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

}  // namespace ssx
