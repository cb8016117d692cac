// The engine's operation for pedalboard's built-ins, run on JUCE's DSP as pedalboard runs it (juce_dsp.hpp).

#pragma once

#include "juce_dsp.hpp"

namespace ssx {

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
    // they would be unstable), normalized by a0 as Coefficients::assign does
    void design(const std::vector<double>& values) {
        const float pi = 3.14159265358979323846f, rate = float(rate_);
        float cutoff = knob(0, values);
        if (kind_ == kHighpass || kind_ == kLowpass) {
            cutoff = std::min(cutoff, rate / 2 - 1e2f);
            const float k = std::tan(pi * cutoff / rate);
            const float b0 = kind_ == kHighpass ? 1.0f : k, b1 = kind_ == kHighpass ? -1.0f : k;
            normalize({b0, b1, 0.0f, k + 1.0f, k - 1.0f, 0.0f});
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
            normalize({1 + alpha_a, c2, 1 - alpha_a, 1 + alpha_over_a, c2, 1 - alpha_over_a});
            return;
        }
        const float minus = a - 1, plus = a + 1, coso = std::cos(omega);
        const float beta = std::sin(omega) * std::sqrt(a) / q, minus_coso = minus * coso;
        if (kind_ == kLowShelf)
            normalize({a * (plus - minus_coso + beta), a * 2 * (minus - plus * coso), a * (plus - minus_coso - beta),
                       plus + minus_coso + beta, -2 * (minus + plus * coso), plus + minus_coso - beta});
        else
            normalize({a * (plus + minus_coso + beta), a * -2 * (minus + plus * coso), a * (plus + minus_coso - beta),
                       plus - minus_coso + beta, 2 * (minus - plus * coso), plus - minus_coso - beta});
    }
    // {b0, b1, b2, a0, a1, a2} (a first-order filter: b2 = a2 = 0)
    void normalize(const std::array<float, 6>& v) {
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

}  // namespace ssx
