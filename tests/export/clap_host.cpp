// A minimal CLAP host (tests/test_export_plugin.py builds it against DPF's CLAP headers and runs it).
//
//     clap_host PLUGIN.clap RATE BLOCK IN.f32 CHANNELS_IN OUT.f32 [PARAMETER_ID VALUE]...
//
// Loads the plugin through clap_entry and its plugin factory, activates it at RATE,
// sends the parameter values as CLAP_EVENT_PARAM_VALUE events with the first block,
// processes IN (raw float32, channel after channel) in blocks of BLOCK frames and
// writes the raw output (channel after channel, as long as the input) to OUT.
// Prints "latency L outputs N parameters P" (the latency and params extensions).
// CLAP_MIDI=FILE: MIDI messages to send, one a line, "FRAME BYTE BYTE [BYTE]" (the frame counted from the input's
// start), as CLAP_EVENT_MIDI events in the block that holds the frame, at its offset there.
// CLAP_REACTIVATE=RATE2: after IN has played, the plugin is deactivated and activated again at RATE2 (a DAW's
// project rate changed), and IN plays again; OUT holds that second pass. The knobs' values are sent once, with the
// first pass.
// CLAP_VARIABLE_BLOCKS=SEED: each block of a size drawn from 0..BLOCK (0 and 1 frames among them), as DAWs call a
// plugin at loop points, around automation and at a transport's start, not always BLOCK frames.
#include "clap/entry.h"
#include "clap/events.h"
#include "clap/ext/latency.h"
#include "clap/ext/params.h"
#include "clap/ext/state.h"
#include "clap/host.h"
#include "clap/plugin-factory.h"
#include "clap/plugin.h"
#include "clap/process.h"

#if defined(_WIN32)  // built with MinGW for a plugin built for Windows, and run under Wine
#include <windows.h>
static void* open_library(const char* path) { return reinterpret_cast<void*>(LoadLibraryA(path)); }
static void* find_symbol(void* library, const char* name) {
    return reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(library), name));
}
static const char* library_error() { return "LoadLibraryA failed"; }
#else
#include <dlfcn.h>
static void* open_library(const char* path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }
static void* find_symbol(void* library, const char* name) { return dlsym(library, name); }
static const char* library_error() { return dlerror(); }
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

// The host extensions DPF calls without checking for them: latency, params, state (all no-ops here).
static void host_nothing(const clap_host_t*) {}
static void params_rescan(const clap_host_t*, clap_param_rescan_flags) {}
static void params_clear(const clap_host_t*, clap_id, clap_param_clear_flags) {}
static const clap_host_latency_t host_latency{host_nothing};
static const clap_host_params_t host_params{params_rescan, params_clear, host_nothing};
static const clap_host_state_t host_state{host_nothing};
static const void* host_extension(const clap_host_t*, const char* id) {
    if (!std::strcmp(id, CLAP_EXT_LATENCY)) return &host_latency;
    if (!std::strcmp(id, CLAP_EXT_PARAMS)) return &host_params;
    if (!std::strcmp(id, CLAP_EXT_STATE)) return &host_state;
    return nullptr;
}

struct Events {
    std::vector<const clap_event_header_t*> list;
};
static uint32_t events_size(const clap_input_events_t* list) {
    return uint32_t(static_cast<const Events*>(list->ctx)->list.size());
}
static const clap_event_header_t* events_get(const clap_input_events_t* list, uint32_t index) {
    return static_cast<const Events*>(list->ctx)->list[index];
}
static bool events_push(const clap_output_events_t*, const clap_event_header_t*) { return true; }

int main(int argc, char** argv) {
    if (argc < 7) return 2;
    const double rate = std::atof(argv[2]);
    const uint32_t block = uint32_t(std::atoi(argv[3]));
    const uint32_t inputs = uint32_t(std::atoi(argv[5]));
    void* library = open_library(argv[1]);
    if (!library) { std::printf("dlopen: %s\n", library_error()); return 3; }
    auto* entry = static_cast<const clap_plugin_entry_t*>(find_symbol(library, "clap_entry"));
    if (!entry || !entry->init(argv[1])) { std::puts("no clap_entry"); return 3; }
    auto* factory = static_cast<const clap_plugin_factory_t*>(entry->get_factory(CLAP_PLUGIN_FACTORY_ID));
    if (!factory || factory->get_plugin_count(factory) != 1) { std::puts("no plugin factory"); return 3; }
    const clap_plugin_descriptor_t* descriptor = factory->get_plugin_descriptor(factory, 0);
    clap_host_t host{CLAP_VERSION, nullptr, "soundstage tests", "soundstage", "", "1.0", host_extension,
                     host_nothing, host_nothing, host_nothing};
    const clap_plugin_t* plugin = factory->create_plugin(factory, &host, descriptor->id);
    if (!plugin || !plugin->init(plugin)) { std::puts("create failed"); return 3; }
    auto* params = static_cast<const clap_plugin_params_t*>(plugin->get_extension(plugin, CLAP_EXT_PARAMS));
    auto* latency = static_cast<const clap_plugin_latency_t*>(plugin->get_extension(plugin, CLAP_EXT_LATENCY));
    if (!plugin->activate(plugin, rate, 1, block) || !plugin->start_processing(plugin)) { std::puts("activate failed"); return 3; }

    std::ifstream file(argv[4], std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(file)), {});
    std::vector<float> raw(bytes.size() / sizeof(float), 0.0f);
    std::memcpy(raw.data(), bytes.data(), raw.size() * sizeof(float));
    const size_t frames = raw.size() / inputs;
    const uint32_t outputs = uint32_t(std::atoi(std::getenv("CLAP_OUTPUTS") ? std::getenv("CLAP_OUTPUTS") : "2"));
    std::vector<float> result(size_t(outputs) * frames, 0.0f);

    std::vector<clap_event_param_value_t> values;
    for (int a = 7; a + 1 < argc; a += 2) {
        clap_event_param_value_t value{};
        value.header = {sizeof(clap_event_param_value_t), 0, CLAP_CORE_EVENT_SPACE_ID, CLAP_EVENT_PARAM_VALUE, 0};
        value.param_id = clap_id(std::atoi(argv[a]));
        value.note_id = -1; value.port_index = -1; value.channel = -1; value.key = -1;
        value.value = std::atof(argv[a + 1]);
        values.push_back(value);
    }
    std::vector<clap_event_midi_t> midi;  // every message, its time the frame from the input's start
    if (const char* messages = std::getenv("CLAP_MIDI")) {
        std::ifstream lines(messages);
        unsigned long frame;
        unsigned b0, b1, b2;
        std::string line;
        while (std::getline(lines, line)) {
            b2 = 0;
            if (std::sscanf(line.c_str(), "%lu %u %u %u", &frame, &b0, &b1, &b2) < 3) continue;
            clap_event_midi_t event{};
            event.header = {sizeof(clap_event_midi_t), uint32_t(frame), CLAP_CORE_EVENT_SPACE_ID, CLAP_EVENT_MIDI, 0};
            event.port_index = 0;
            event.data[0] = uint8_t(b0); event.data[1] = uint8_t(b1); event.data[2] = uint8_t(b2);
            midi.push_back(event);
        }
    }
    Events events;
    clap_input_events_t in_events{&events, events_size, events_get};
    size_t next_midi = 0;
    clap_output_events_t out_events{nullptr, events_push};
    std::vector<std::vector<float>> in_buffers(inputs, std::vector<float>(block)), out_buffers(outputs, std::vector<float>(block));
    std::vector<float*> in_pointers, out_pointers;
    for (auto& b : in_buffers) in_pointers.push_back(b.data());
    for (auto& b : out_buffers) out_pointers.push_back(b.data());
    const char* reactivate = std::getenv("CLAP_REACTIVATE");
    bool sent = false;  // the knobs' values go once: a host does not send them again as it activates the plugin again
    for (int pass = 0; pass < (reactivate ? 2 : 1); ++pass) {
        if (pass == 1) {
            plugin->stop_processing(plugin);
            plugin->deactivate(plugin);
            if (!plugin->activate(plugin, std::atof(reactivate), 1, block) || !plugin->start_processing(plugin)) {
                std::puts("activate again failed");
                return 3;
            }
            next_midi = 0;
        }
        const char* variable = std::getenv("CLAP_VARIABLE_BLOCKS");
        uint64_t seed = variable ? std::strtoull(variable, nullptr, 10) : 0;
        auto next_size = [&]() -> uint32_t {  // a linear congruential draw: the same sizes for the same seed
            if (!variable) return block;
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            const uint32_t draw = uint32_t(seed >> 33) % 8;
            return draw == 0 ? 0 : draw == 1 ? 1 : draw == 2 ? block : 1 + uint32_t(seed >> 40) % block;
        };
        for (size_t done = 0, count = 0; done < frames; done += count) {
            count = std::min<size_t>(next_size(), frames - done);
            for (uint32_t c = 0; c < inputs; ++c) std::memcpy(in_pointers[c], &raw[c * frames + done], count * sizeof(float));
            clap_audio_buffer_t in_audio{in_pointers.data(), nullptr, inputs, 0, 0};
            clap_audio_buffer_t out_audio{out_pointers.data(), nullptr, outputs, 0, 0};
            clap_process_t process{};
            process.steady_time = int64_t(done + size_t(pass) * frames);
            process.frames_count = uint32_t(count);
            process.audio_inputs = &in_audio;
            process.audio_outputs = &out_audio;
            process.audio_inputs_count = 1;
            process.audio_outputs_count = 1;
            std::vector<clap_event_midi_t> block_midi;
            for (; next_midi < midi.size() && midi[next_midi].header.time < done + count; ++next_midi) {
                block_midi.push_back(midi[next_midi]);
                block_midi.back().header.time -= uint32_t(done);
            }
            events.list.clear();
            if (!sent && count > 0)  // with the first block that has frames, where the events' times lie
                for (const auto& value : values) events.list.push_back(&value.header);
            sent = sent || count > 0;
            for (const auto& event : block_midi) events.list.push_back(&event.header);
            process.in_events = &in_events;
            process.out_events = &out_events;
            if (plugin->process(plugin, &process) == CLAP_PROCESS_ERROR) { std::puts("process failed"); return 4; }
            for (uint32_t c = 0; c < outputs; ++c) std::memcpy(&result[c * frames + done], out_pointers[c], count * sizeof(float));
        }
    }
    std::ofstream out(argv[6], std::ios::binary);
    out.write(reinterpret_cast<const char*>(result.data()), std::streamsize(result.size() * sizeof(float)));
    std::printf("latency %u outputs %u parameters %u\n", latency ? latency->get(plugin) : 0u, outputs,
                params ? params->count(plugin) : 0u);
    plugin->stop_processing(plugin);
    plugin->deactivate(plugin);
    plugin->destroy(plugin);
    entry->deinit();
    return 0;
}
