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
//
// Its parts: engine_core.hpp (the program reader, the FFT, the operation interface), fir.hpp, ops.hpp,
// juce_dsp.hpp and builtins.hpp (pedalboard's built-ins), routing.hpp (routing nodes, reading operations),
// resampling.hpp (other rates); here, the Engine that runs a program.

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
#include "resampling.hpp"
#include "routing.hpp"

namespace ssx {

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
