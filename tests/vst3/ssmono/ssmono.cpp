// A mono-only test effect: a gain in dB followed by a one-pole low-pass whose
// state makes per-channel instances observable (one shared instance would smear
// channels together). Used by tests/ for PerChannel and OnChannels routing.
#include "DistrhoPlugin.hpp"
#include <cmath>

START_NAMESPACE_DISTRHO

class SsMono : public Plugin {
public:
    enum { kGain = 0, kSmoothing, kParamCount };

    SsMono() : Plugin(kParamCount, 0, 0), fGainDb(0.0f), fSmoothing(0.0f), fState(0.0f) {}

protected:
    const char* getLabel() const override { return "ss_test_mono"; }
    const char* getMaker() const override { return "soundstage tests"; }
    const char* getLicense() const override { return "MIT"; }
    uint32_t getVersion() const override { return d_version(1, 0, 0); }
    int64_t getUniqueId() const override { return d_cconst('S', 's', 'M', 'o'); }

    void initParameter(uint32_t index, Parameter& p) override {
        p.hints = kParameterIsAutomatable;
        if (index == kGain) {
            p.name = "Gain"; p.symbol = "gain"; p.unit = "dB";
            p.ranges.min = -60.0f; p.ranges.max = 12.0f; p.ranges.def = 0.0f;
        } else {
            // y[n] = (1 - a) x[n] + a y[n-1]; a = 0 passes the input unchanged.
            p.name = "Smoothing"; p.symbol = "smoothing"; p.unit = "";
            p.ranges.min = 0.0f; p.ranges.max = 0.99f; p.ranges.def = 0.0f;
        }
    }

    float getParameterValue(uint32_t index) const override { return index == kGain ? fGainDb : fSmoothing; }

    void setParameterValue(uint32_t index, float value) override {
        if (index == kGain) fGainDb = value; else fSmoothing = value;
    }

    void activate() override { fState = 0.0f; }

    void run(const float** inputs, float** outputs, uint32_t frames) override {
        const float g = std::pow(10.0f, fGainDb / 20.0f);
        const float a = fSmoothing;
        for (uint32_t i = 0; i < frames; ++i) {
            fState = (1.0f - a) * inputs[0][i] + a * fState;
            outputs[0][i] = g * fState;
        }
    }

private:
    float fGainDb, fSmoothing, fState;
    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(SsMono)
};

Plugin* createPlugin() { return new SsMono(); }

END_NAMESPACE_DISTRHO
