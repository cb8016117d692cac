// The DPF plugin around soundstage's native engine (engine.hpp, through engine_api.hpp). Built by
// `soundstage export-plugin`, once per format, with a generated DistrhoPluginInfo.h (name, URI, IDs, channel
// counts), and linked with the engine (engine.cpp) and the baked program (program.cpp) compiled once per export.
#include "DistrhoPlugin.hpp"
#include "engine_api.hpp"

#include <algorithm>
#include <cstdio>

#if DISTRHO_PLUGIN_WANT_MIDI_INPUT  // exported with a MIDI map (--map): its bindings move the knobs
#include "midi_map_data.h"
#endif

extern "C" const uint8_t ssx_program_start[];  // program.cpp
extern "C" const uint8_t ssx_program_end[];

START_NAMESPACE_DISTRHO

namespace {

const ssx::EngineHandle& program() {
    static ssx::EngineHandle engine;
    static const bool opened = engine.open(ssx_program_start, size_t(ssx_program_end - ssx_program_start));
    (void)opened;
    return engine;
}

}  // namespace

class SoundstagePlugin : public Plugin {
public:
    // the chain's knobs, then the DAW's bypass (DPF's bypass designation: VST3's kIsBypass, CLAP's IS_BYPASS, LV2's
    // lv2:enabled), last so the knobs keep the indices the program gives them
    SoundstagePlugin() : Plugin(uint32_t(program().parameters().size()) + 1, 0, DISTRHO_PLUGIN_WANT_STATE ? 1 : 0) {
        fOpened = fEngine.open(ssx_program_start, size_t(ssx_program_end - ssx_program_start));
        if (fOpened) fEngine.prepare(getSampleRate());
        setLatency(uint32_t(fEngine.latency()));
#if DISTRHO_PLUGIN_WANT_MIDI_INPUT
        fMidi.prepare(getSampleRate());
#endif
    }

protected:
    const char* getLabel() const override { return DISTRHO_PLUGIN_LABEL; }
    const char* getDescription() const override { return DISTRHO_PLUGIN_DESCRIPTION; }
    const char* getMaker() const override { return "soundstage"; }
    const char* getLicense() const override { return "MIT"; }
    uint32_t getVersion() const override { return d_version(1, 0, 0); }
    int64_t getUniqueId() const override { return d_cconst(DISTRHO_PLUGIN_ID_CHARS); }

    void initAudioPort(bool input, uint32_t index, AudioPort& port) override {
        port.groupId = kPortGroupNone;
        char name[32];
        std::snprintf(name, sizeof(name), "%s %u", input ? "In" : "Out", index + 1);
        port.name = name;
        std::snprintf(name, sizeof(name), "%s_%u", input ? "in" : "out", index + 1);
        port.symbol = name;
    }

    void initParameter(uint32_t index, Parameter& parameter) override {
        if (index == kBypass()) {
            parameter.initDesignation(kParameterDesignationBypass);
            return;
        }
        const ssx::ParameterInfo& info = program().parameters()[index];
        parameter.hints = kParameterIsAutomatable | (info.boolean ? kParameterIsBoolean | kParameterIsInteger : 0u);
        if (info.logarithmic) parameter.hints |= kParameterIsLogarithmic;  // LV2's port property (DPF's VST3, CLAP: linear)
        parameter.name = info.name.c_str();
        parameter.shortName = info.symbol.c_str();
        parameter.symbol = info.symbol.c_str();
        parameter.unit = info.unit.c_str();
        parameter.ranges.min = info.minimum;
        parameter.ranges.max = info.maximum;
        parameter.ranges.def = info.fallback;
        if (!info.choices.empty()) {  // a choice: its names, one a step
            parameter.hints |= kParameterIsInteger;
            parameter.enumValues.count = uint8_t(info.choices.size());
            parameter.enumValues.restrictedMode = true;
            parameter.enumValues.values = new ParameterEnumerationValue[info.choices.size()];  // DPF deletes them
            for (size_t i = 0; i < info.choices.size(); ++i) {
                parameter.enumValues.values[i].value = float(i);
                parameter.enumValues.values[i].label = info.choices[i].c_str();
            }
        }
    }

#if DISTRHO_PLUGIN_WANT_STATE
    // the chain file the plugin was made from, saved with the host's session (LV2 bundles carry it as chain.toml)
    void initState(uint32_t, State& state) override {
        state.hints = kStateIsOnlyForDSP;
        state.key = "soundstage_chain";
        state.label = "soundstage chain file";
        state.defaultValue = program().chain_text().c_str();
    }

    String getState(const char*) const override { return String(program().chain_text().c_str()); }
    void setState(const char*, const char*) override {}  // the chain is what the plugin was made from
#endif

    float getParameterValue(uint32_t index) const override {
        if (index == kBypass()) return fEngine.bypassed() ? 1.0f : 0.0f;
        return float(fEngine.value(index));
    }
    void setParameterValue(uint32_t index, float value) override {
        if (index == kBypass()) fEngine.bypass(value > 0.5f);
        else fEngine.set(index, double(value));
    }

    void sampleRateChanged(double rate) override {
        if (fOpened) fEngine.prepare(rate);  // false: a rate no baked one resamples to (engine.hpp): silence
        setLatency(uint32_t(fEngine.latency()));
#if DISTRHO_PLUGIN_WANT_MIDI_INPUT
        fMidi.prepare(rate);
        fNow = 0;
#endif
    }

#if DISTRHO_PLUGIN_WANT_MIDI_INPUT
    void activate() override {
        fEngine.reset();
        fMidi.reset();
        fNow = 0;
    }

    // The block cut where a message comes and where a change it made falls due (the knob's stage hears the input
    // sample the message came with), so each knob moves on its sample, whatever the host's block size.
    void run(const float** inputs, float** outputs, uint32_t frames, const MidiEvent* events, uint32_t count) override {
        const auto current = [this](uint32_t knob) { return fEngine.value(knob); };
        const auto apply = [this](uint32_t knob, double value) { fEngine.set(knob, value); };
        uint32_t done = 0, next_event = 0;
        while (done < frames || next_event < count) {
            for (; next_event < count && std::min(events[next_event].frame, frames) <= done; ++next_event) {
                const MidiEvent& event = events[next_event];
                fMidi.feed(event.size > MidiEvent::kDataSize ? event.dataExt : event.data, event.size, fNow + done, current,
                           apply);
            }
            fMidi.due(fNow + done, apply);
            if (done == frames) break;
            uint32_t until = next_event < count ? std::min(events[next_event].frame, frames) : frames;
            const uint64_t due = fMidi.next_due();
            if (due < fNow + until) until = uint32_t(due - fNow);
            const float* in[DISTRHO_PLUGIN_NUM_INPUTS > 0 ? DISTRHO_PLUGIN_NUM_INPUTS : 1];
            float* out[DISTRHO_PLUGIN_NUM_OUTPUTS];
            for (uint32_t c = 0; c < DISTRHO_PLUGIN_NUM_INPUTS; ++c) in[c] = inputs[c] + done;
            for (uint32_t c = 0; c < DISTRHO_PLUGIN_NUM_OUTPUTS; ++c) out[c] = outputs[c] + done;
            fEngine.process(in, out, until - done);
            done = until;
        }
        fNow += frames;
    }
#else
    void activate() override { fEngine.reset(); }

    void run(const float** inputs, float** outputs, uint32_t frames) override {
        // a rate the engine neither baked nor resamples to plays silence (see the export's summary)
        fEngine.process(inputs, outputs, frames);
    }
#endif

private:
    static uint32_t kBypass() { return uint32_t(program().parameters().size()); }

    ssx::EngineHandle fEngine;
    bool fOpened = false;
#if DISTRHO_PLUGIN_WANT_MIDI_INPUT
    ssx::midi::Mapper fMidi{ssx::midi::kMap};
    uint64_t fNow = 0;  // the stream's samples so far (a change's due time counts from its start)
#endif
    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(SoundstagePlugin)
};

Plugin* createPlugin() { return new SoundstagePlugin(); }

END_NAMESPACE_DISTRHO
