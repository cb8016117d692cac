// Build-time description of the "SS Test Synth" VST3: an instrument, used to
// check that soundstage refuses an instrument where an effect is expected.
#ifndef DISTRHO_PLUGIN_INFO_H_INCLUDED
#define DISTRHO_PLUGIN_INFO_H_INCLUDED
#define DISTRHO_PLUGIN_BRAND "soundstage-tests"
#define DISTRHO_PLUGIN_NAME  "SS Test Synth"
#define DISTRHO_PLUGIN_URI   "urn:soundstage:tests:synth"
#define DISTRHO_PLUGIN_BRAND_ID  SsTs
#define DISTRHO_PLUGIN_UNIQUE_ID SsSy
#define DISTRHO_PLUGIN_HAS_UI        0
#define DISTRHO_PLUGIN_IS_RT_SAFE    1
#define DISTRHO_PLUGIN_IS_SYNTH      1
#define DISTRHO_PLUGIN_NUM_INPUTS    0
#define DISTRHO_PLUGIN_NUM_OUTPUTS   2
#define DISTRHO_PLUGIN_WANT_MIDI_INPUT 1
#define DISTRHO_PLUGIN_VST3_CATEGORIES "Instrument|Synth"
#endif
