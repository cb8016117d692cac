// The MIDI map of an exported plugin (`soundstage export-plugin --map MAP.toml`): MIDI messages into knob values as
// soundstage reads a map (soundstage/midi/decode.py's Decoder, maps.py's Binding.value and Binding.position), and each
// change made where the knob's stage hears the input sample the message came with, as `soundstage process --midi
// --map` makes it (soundstage.host.automation.AutomatedStream: the latency of the stages before the knob's). The map
// itself is data a generated header holds (build.py: midi_map_data.h). No DPF here: plugin.cpp feeds it DPF's events.
//
// Real-time rules as the engine's: everything is allocated when the plugin is made; feed() and due() neither
// allocate nor lock.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ssx {
namespace midi {

enum Kind : uint8_t { kCc, kCc14, kNrpn, kRpn, kRelative, kNote, kPitchbend, kProgram };
enum Curve : uint8_t { kLinear, kLog, kDb, kExponent };
enum Encoding : uint8_t { kTwosComplement, kSignedBit, kBinaryOffset };
enum KnobKind : uint8_t { kNumber, kBoolean, kChoice };

// One binding (maps.py's Binding), its knob by index and what the knob is.
struct Binding {
    uint32_t knob;
    Kind kind;
    int channel;  // 0..15; -1: any
    int number;   // CC (cc14: the MSB's), NRPN/RPN number, note
    KnobKind knob_kind;
    int choices;  // a choice knob's count
    double low, high;  // a number knob's range: the binding's, else the knob's
    Curve curve;
    double exponent;
    bool invert, pickup, momentary;
    Encoding encoding;
};

// A program change that recalls a chain preset: its knobs' values, values[first .. first + count).
struct PresetValue {
    uint32_t knob;
    double value;
};
struct Preset {
    int program;
    int channel;  // -1: any
    uint32_t first, count;
};

// How late each knob's stage hears the input at a baked rate, in samples (Chain.parameter_delays).
struct RateDelays {
    double rate;  // 0: every rate (a program built at the session's rate, its delays the same in samples)
    const uint32_t* delays;  // one per knob
};

struct Map {
    const Binding* bindings;
    size_t binding_count;
    const Preset* presets;
    size_t preset_count;
    const PresetValue* values;
    const RateDelays* rates;
    size_t rate_count;
    size_t knobs;
    double db_taper_exponent;  // soundstage.host.parameters.DB_TAPER_EXPONENT
};

inline double clamp01(double x) { return std::min(std::max(x, 0.0), 1.0); }

// Binding.value: the knob value a control position 0..1 gives (invert, then the knob's kind, range and curve).
inline double binding_value(const Binding& b, double position, double taper) {
    double x = clamp01(position);
    if (b.invert) x = 1.0 - x;
    if (b.knob_kind == kBoolean) return x >= 0.5 ? 1.0 : 0.0;
    if (b.knob_kind == kChoice) return std::nearbyint(x * (b.choices - 1));  // Python's round: half to even
    const double low = b.low, high = b.high;
    switch (b.curve) {
        case kLog: return low * std::pow(high / low, x);
        case kDb: {
            const double a_low = std::pow(10.0, low / 20), a_high = std::pow(10.0, high / 20);
            return 20 * std::log10(std::max(a_low + std::pow(x, taper) * (a_high - a_low), 1e-12));
        }
        case kExponent: return low + std::pow(x, b.exponent) * (high - low);
        default: return low + x * (high - low);
    }
}

// Binding.position: the control position that gives `value` (the inverse of binding_value).
inline double binding_position(const Binding& b, double value, double taper) {
    double x;
    if (b.knob_kind == kBoolean) {
        x = value != 0.0 ? 1.0 : 0.0;
    } else if (b.knob_kind == kChoice) {
        x = b.choices > 1 ? value / (b.choices - 1) : 0.0;
    } else {
        const double low = b.low, high = b.high;
        if (b.curve == kLog) {
            x = std::log(std::max(value, 1e-30) / low) / std::log(high / low);
        } else if (b.curve == kDb) {
            const double a_low = std::pow(10.0, low / 20), a_high = std::pow(10.0, high / 20);
            x = std::pow(std::max((std::pow(10.0, value / 20) - a_low) / (a_high - a_low), 0.0), 1.0 / taper);
        } else if (b.curve == kExponent) {
            x = std::pow(std::max((value - low) / (high - low), 0.0), 1.0 / b.exponent);
        } else {
            x = high != low ? (value - low) / (high - low) : 0.0;
        }
    }
    x = clamp01(x);
    return b.invert ? 1.0 - x : x;
}

// decode.py's relative_delta: the steps a relative encoder's CC value encodes.
inline int relative_delta(int value, Encoding encoding) {
    if (encoding == kTwosComplement) return value < 64 ? value : value - 128;
    if (encoding == kSignedBit) return (value & 64) ? -(value & 63) : (value & 63);
    return value - 64;  // binary offset
}

// A knob's new value, due at an absolute sample of the stream.
struct Change {
    uint64_t due;
    uint32_t knob;
    double value;
};

class Mapper {
public:
    static constexpr size_t kPending = 8192;  // changes waiting for their stage; beyond them one is made at once

    explicit Mapper(const Map& map) : map_(map) {
        for (size_t i = 0; i < map.binding_count; ++i) {
            const Binding& b = map.bindings[i];
            if (b.kind == kNrpn || b.kind == kRpn) key(b.kind == kRpn, b.number);
        }
        for (Channel& channel : channels_) channel.data.assign(keys_.size(), 0);
        position_.assign(map.binding_count, -1.0);
        picked_.assign(map.binding_count, false);
        last_.assign(map.binding_count, -1.0);
        delays_.assign(map.knobs, 0);
        pending_.reserve(kPending);
    }

    // The knobs' delays at the host's `rate`: a baked rate's own; at another, the nearest baked rate's, scaled (where
    // the engine runs that rate's program resampled); every rate's as they are.
    void prepare(double rate) {
        const RateDelays* nearest = nullptr;
        for (size_t r = 0; r < map_.rate_count; ++r)
            if (!nearest || std::fabs(map_.rates[r].rate - rate) < std::fabs(nearest->rate - rate)) nearest = &map_.rates[r];
        const double scale = !nearest || nearest->rate == 0.0 ? 1.0 : rate / nearest->rate;
        for (size_t k = 0; k < map_.knobs; ++k) delays_[k] = nearest ? uint64_t(std::llround(nearest->delays[k] * scale)) : 0;
        reset();
    }

    // A new stream: nothing pending, every control's memory cleared (a relative position, a toggle, a pickup, the
    // MSBs and NRPN/RPN values), sample 0.
    void reset() {
        for (Channel& channel : channels_) {
            std::fill(channel.msb, channel.msb + 32, -1);
            channel.parameter_msb = channel.parameter_lsb = -1;
            channel.registered = false;
            std::fill(channel.data.begin(), channel.data.end(), 0);
        }
        std::fill(position_.begin(), position_.end(), -1.0);
        std::fill(picked_.begin(), picked_.end(), false);
        std::fill(last_.begin(), last_.end(), -1.0);
        pending_.clear();
    }

    // One MIDI message heard at absolute sample `at`; `current(knob)` gives a knob's value now (pickup's reference, a
    // relative encoder's start). Its changes wait for their stage; `apply(knob, value)` makes one that cannot wait.
    template <typename Current, typename Apply>
    void feed(const uint8_t* data, size_t size, uint64_t at, Current current, Apply apply) {
        if (size < 2) return;
        const int type = data[0] & 0xf0, channel = data[0] & 0x0f;
        auto emit = [&](uint32_t knob, double value) { queue(Change{at + delays_[knob], knob, value}, apply); };
        if (type == 0xb0 && size >= 3) {
            control_change(channel, data[1], data[2], current, emit);
        } else if ((type == 0x90 || type == 0x80) && size >= 3) {
            const bool pressed = type == 0x90 && data[2] > 0;
            for (size_t i = 0; i < map_.binding_count; ++i) {
                const Binding& b = map_.bindings[i];
                if (!matches(b, kNote, channel, data[1])) continue;
                if (b.momentary) {
                    emit(b.knob, value(b, pressed ? 1.0 : 0.0));
                } else if (pressed) {
                    position_[i] = position_[i] >= 0.5 ? 0.0 : 1.0;  // a toggle starts off
                    emit(b.knob, value(b, position_[i]));
                }
            }
        } else if (type == 0xe0 && size >= 3) {
            const double position = double((data[2] << 7) | data[1]) / 16383;
            for (size_t i = 0; i < map_.binding_count; ++i)
                if (matches(map_.bindings[i], kPitchbend, channel, -1)) absolute(i, position, current, emit);
        } else if (type == 0xc0) {
            for (size_t i = 0; i < map_.binding_count; ++i) {
                const Binding& b = map_.bindings[i];
                if (matches(b, kProgram, channel, -1)) emit(b.knob, value(b, data[1] / 127.0));
            }
            for (size_t p = 0; p < map_.preset_count; ++p) {
                const Preset& preset = map_.presets[p];
                if (preset.program != data[1] || (preset.channel >= 0 && preset.channel != channel)) continue;
                for (uint32_t v = preset.first; v < preset.first + preset.count; ++v)
                    emit(map_.values[v].knob, map_.values[v].value);
            }
        }
    }

    // The first sample (absolute) a change waits for, or UINT64_MAX.
    uint64_t next_due() const { return pending_.empty() ? UINT64_MAX : pending_.front().due; }

    // Every change due by absolute sample `now`, in order, to `apply(knob, value)`.
    template <typename Apply>
    void due(uint64_t now, Apply apply) {
        size_t made = 0;
        while (made < pending_.size() && pending_[made].due <= now) {
            apply(pending_[made].knob, pending_[made].value);
            ++made;
        }
        pending_.erase(pending_.begin(), pending_.begin() + std::ptrdiff_t(made));
    }

private:
    struct Channel {
        int msb[32];
        int parameter_msb = -1, parameter_lsb = -1;
        bool registered = false;
        std::vector<int> data;  // the 14-bit value of each NRPN/RPN a binding names (keys_)
    };

    double value(const Binding& b, double position) const { return binding_value(b, position, map_.db_taper_exponent); }
    double position_of(const Binding& b, double knob_value) const {
        return binding_position(b, knob_value, map_.db_taper_exponent);
    }

    static bool matches(const Binding& b, Kind kind, int channel, int number) {
        return b.kind == kind && (b.channel < 0 || b.channel == channel) && (number < 0 || b.number == number);
    }

    void key(bool registered, int number) {
        if (find_key(registered, number) < 0) keys_.push_back((registered ? 1 << 14 : 0) | number);
    }

    int find_key(bool registered, int number) const {
        const int wanted = (registered ? 1 << 14 : 0) | number;
        for (size_t k = 0; k < keys_.size(); ++k)
            if (keys_[k] == wanted) return int(k);
        return -1;
    }

    // An absolute control's new position; with pickup it moves nothing until it reaches (or passes) the knob's value.
    template <typename Current, typename Emit>
    void absolute(size_t i, double position, Current current, Emit emit) {
        const Binding& b = map_.bindings[i];
        if (b.pickup && !picked_[i]) {
            const double at = position_of(b, current(b.knob)), last = last_[i];
            last_[i] = position;
            const bool crossed = last >= 0 && (last - at) * (position - at) <= 0;
            if (!(std::fabs(position - at) <= 1.0 / 127 || crossed)) return;
            picked_[i] = true;
        }
        emit(b.knob, value(b, position));
    }

    template <typename Current, typename Emit>
    void control_change(int channel, int control, int data, Current current, Emit emit) {
        Channel& s = channels_[size_t(channel)];
        for (size_t i = 0; i < map_.binding_count; ++i)
            if (matches(map_.bindings[i], kCc, channel, control)) absolute(i, data / 127.0, current, emit);
        for (size_t i = 0; i < map_.binding_count; ++i) {
            const Binding& b = map_.bindings[i];
            if (!matches(b, kRelative, channel, control)) continue;
            const double start = position_[i] >= 0 ? position_[i] : position_of(b, current(b.knob));
            position_[i] = clamp01(start + relative_delta(data, b.encoding) / 127.0);
            emit(b.knob, value(b, position_[i]));
        }
        if (control < 32) {  // a 14-bit pair's MSB (its LSB starts at 0)
            s.msb[control] = data;
            for (size_t i = 0; i < map_.binding_count; ++i)
                if (matches(map_.bindings[i], kCc14, channel, control)) absolute(i, (data << 7) / 16383.0, current, emit);
        } else if (control < 64 && s.msb[control - 32] >= 0) {  // its LSB
            const int value14 = (s.msb[control - 32] << 7) | data;
            for (size_t i = 0; i < map_.binding_count; ++i)
                if (matches(map_.bindings[i], kCc14, channel, control - 32)) absolute(i, value14 / 16383.0, current, emit);
        }
        parameter_number(s, channel, control, data, current, emit);
    }

    // NRPN (99/98) and RPN (101/100) selection, data entry (6/38), increment/decrement (96/97): decode.py's
    // parameter_number_update. A number no binding names keeps no value: none would be read.
    template <typename Current, typename Emit>
    void parameter_number(Channel& s, int channel, int control, int data, Current current, Emit emit) {
        if (control == 99 || control == 101) {
            s.parameter_msb = data;
            s.registered = control == 101;
            return;
        }
        if (control == 98 || control == 100) {
            s.parameter_lsb = data;
            s.registered = control == 100;
            return;
        }
        if ((control != 6 && control != 38 && control != 96 && control != 97) || s.parameter_msb < 0 || s.parameter_lsb < 0)
            return;
        const int number = (s.parameter_msb << 7) | s.parameter_lsb;
        const int k = find_key(s.registered, number);
        if (k < 0) return;
        int& now = s.data[size_t(k)];
        if (control == 6) now = data << 7;
        else if (control == 38) now = (now & ~127) | data;
        else if (control == 96) now = std::min(now + 1, 16383);
        else now = std::max(now - 1, 0);
        const Kind kind = s.registered ? kRpn : kNrpn;
        for (size_t i = 0; i < map_.binding_count; ++i)
            if (matches(map_.bindings[i], kind, channel, number)) absolute(i, now / 16383.0, current, emit);
    }

    // In order of the sample it is due at, after those due at the same sample (AutomatedStream's stable sort).
    template <typename Apply>
    void queue(const Change& change, Apply apply) {
        if (pending_.size() == kPending) {  // full (a flood of messages far ahead of a long latency): made now
            apply(change.knob, change.value);
            return;
        }
        auto place = std::upper_bound(pending_.begin(), pending_.end(), change.due,
                                      [](uint64_t due, const Change& c) { return due < c.due; });
        pending_.insert(place, change);
    }

    const Map& map_;
    Channel channels_[16];
    std::vector<int> keys_;  // the (registered, number) of each NRPN/RPN a binding names
    std::vector<double> position_, last_;  // per binding: relative/toggle position, pickup's last (-1: none)
    std::vector<bool> picked_;
    std::vector<uint64_t> delays_;  // per knob
    std::vector<Change> pending_;
};

}  // namespace midi
}  // namespace ssx
