// A test instrument that hums quietly (pedalboard waits at load time until an
// instrument makes sound, so a silent one would take its full timeout to load).
// It only exists so the tests can load an instrument where an effect belongs.
#include "DistrhoPlugin.hpp"

START_NAMESPACE_DISTRHO

class SsSynth : public Plugin {
public:
    SsSynth() : Plugin(0, 0, 0), fPhase(0.0f) {}

protected:
    const char* getLabel() const override { return "ss_test_synth"; }
    const char* getMaker() const override { return "soundstage tests"; }
    const char* getLicense() const override { return "MIT"; }
    uint32_t getVersion() const override { return d_version(1, 0, 0); }
    int64_t getUniqueId() const override { return d_cconst('S', 's', 'S', 'y'); }

    void run(const float**, float** outputs, uint32_t frames, const MidiEvent*, uint32_t) override {
        for (uint32_t i = 0; i < frames; ++i) {
            fPhase += 0.01f;
            if (fPhase > 1.0f) fPhase -= 1.0f;
            outputs[0][i] = outputs[1][i] = 0.01f * (fPhase - 0.5f);
        }
    }

private:
    float fPhase;
    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(SsSynth)
};

Plugin* createPlugin() { return new SsSynth(); }

END_NAMESPACE_DISTRHO
