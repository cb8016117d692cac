// JUCE's DSP as pedalboard runs it (float32, JUCE's formulas and ramps), for the engine's built-ins (builtins.hpp).

#pragma once

#include "engine_core.hpp"

namespace ssx {

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
// (20 ms times depth / 2 around the center delay, at least 1 ms), the line's output fed back negated, then mixed.
class Chorus {
public:
    void prepare(double rate, int channels) {
        rate_ = rate;
        const float longest_ms = 20.0f * 1.0f * 0.5f + 100.0f;  // JUCE's maximum modulation, depth and center delay
        size_ = std::max(4, int(std::ceil(double(longest_ms) * rate / 1000.0)) + 1);
        line_.assign(size_t(channels) * size_t(size_), 0.0f);
        write_.assign(size_t(channels), 0);
        read_.assign(size_t(channels), 0);
        delays_.assign(kMaxBlock, 0.0f);
        sweep_.prepare(rate, rate, channels);
    }
    // rate (Hz), depth, center delay (ms), feedback, mix (juce::dsp::Chorus's setters)
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
// LFO sweeps, log-mapped between 20 Hz and 20 kHz around the center, updated every fourth sample; the output fed back
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
    // rate (Hz), depth, center frequency (Hz), feedback, mix (juce::dsp::Phaser's setters). The center is placed in
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

}  // namespace ssx
