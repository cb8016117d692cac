// A silent test instrument: it only exists so the tests can load an instrument.
#include "DistrhoPlugin.hpp"

START_NAMESPACE_DISTRHO

class SsSynth : public Plugin {
public:
    SsSynth() : Plugin(0, 0, 0) {}

protected:
    const char* getLabel() const override { return "ss_test_synth"; }
    const char* getMaker() const override { return "soundstage tests"; }
    const char* getLicense() const override { return "MIT"; }
    uint32_t getVersion() const override { return d_version(1, 0, 0); }
    int64_t getUniqueId() const override { return d_cconst('S', 's', 'S', 'y'); }

    void run(const float**, float** outputs, uint32_t frames, const MidiEvent*, uint32_t) override {
        for (uint32_t i = 0; i < frames; ++i) outputs[0][i] = outputs[1][i] = 0.0f;
    }

private:
    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(SsSynth)
};

Plugin* createPlugin() { return new SsSynth(); }

END_NAMESPACE_DISTRHO
