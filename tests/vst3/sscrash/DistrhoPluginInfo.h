// Build-time description of the "SS Test Crash" VST3 used by the test suite.
#ifndef DISTRHO_PLUGIN_INFO_H_INCLUDED
#define DISTRHO_PLUGIN_INFO_H_INCLUDED
#define DISTRHO_PLUGIN_BRAND "soundstage-tests"
#define DISTRHO_PLUGIN_NAME  "SS Test Crash"
#define DISTRHO_PLUGIN_URI   "urn:soundstage:tests:crash"
#define DISTRHO_PLUGIN_BRAND_ID  SsTs
#define DISTRHO_PLUGIN_UNIQUE_ID SsCr
#define DISTRHO_PLUGIN_HAS_UI        0
#define DISTRHO_PLUGIN_IS_RT_SAFE    1
#define DISTRHO_PLUGIN_NUM_INPUTS    2
#define DISTRHO_PLUGIN_NUM_OUTPUTS   2
#define DISTRHO_PLUGIN_VST3_CATEGORIES "Fx|Stereo"
#endif
