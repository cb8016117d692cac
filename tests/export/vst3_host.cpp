// A minimal VST3 host (tests/test_export_plugin.py builds it on DPF's travesty headers, the VST3 C API): for Linux
// with g++, and for Windows with MinGW-w64, run under Wine, where no other VST3 host runs.
//
//     vst3_host PLUGIN_BINARY RATE BLOCK IN.f32 CHANNELS_IN OUT.f32 [BYPASS_AT]
//
// PLUGIN_BINARY is the library inside the bundle (Contents/x86_64-linux/NAME.so, Contents/x86_64-win/NAME.vst3).
// Loads it through its module entry and GetPluginFactory, creates the audio module class, prepares it for RATE and
// BLOCK (offline, 32-bit), processes IN (raw float32, channel after channel; the plugin's other inputs silent) in
// blocks of BLOCK frames and writes the raw output (every output channel, as long as the input) to OUT.
// With BYPASS_AT, the parameter the plugin flags as its bypass (found through its edit controller) is switched on
// with the block that starts at that frame, as a DAW's bypass button does (an input parameter change at offset 0).
// Prints "latency L inputs I outputs O" (the bus widths).
#include "travesty/audio_processor.h"
#include "travesty/base.h"
#include "travesty/component.h"
#include "travesty/edit_controller.h"
#include "travesty/factory.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#if defined(_WIN32)
#include <windows.h>
static void* open_library(const char* path) { return reinterpret_cast<void*>(LoadLibraryA(path)); }
static void* find_symbol(void* library, const char* name) {
    return reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(library), name));
}
static bool enter_module(void* library) {
    auto* init = reinterpret_cast<bool (*)()>(find_symbol(library, "InitDll"));
    return !init || init();
}
#else
#include <dlfcn.h>
static void* open_library(const char* path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }
static void* find_symbol(void* library, const char* name) { return dlsym(library, name); }
static bool enter_module(void* library) {
    auto* entry = reinterpret_cast<bool (*)(void*)>(find_symbol(library, "ModuleEntry"));
    return !entry || entry(library);
}
#endif

// Where the plugin reports parameter changes (its latency, a read-only value): taken, and dropped.
static v3_result V3_API no_interface(void*, const v3_tuid, void** object) {
    *object = nullptr;
    return V3_NO_INTERFACE;
}
static uint32_t V3_API one_reference(void*) { return 1; }
static v3_param_id V3_API queue_id(void*) { return 0; }
static int32_t V3_API no_points(void*) { return 0; }
static v3_result V3_API no_point(void*, int32_t, int32_t*, double*) { return V3_INVALID_ARG; }
static v3_result V3_API add_point(void*, int32_t, double, int32_t* index) {
    *index = 0;
    return V3_OK;
}
static const v3_param_value_queue_cpp queue_methods{{no_interface, one_reference, one_reference},
                                                    {queue_id, no_points, no_point, add_point}};
static const v3_param_value_queue_cpp* queue_object = &queue_methods;
static int32_t V3_API no_parameters(void*) { return 0; }
static v3_param_value_queue** V3_API no_queue(void*, int32_t) { return nullptr; }
static v3_param_value_queue** V3_API add_queue(void*, v3_param_id*, int32_t* index) {
    *index = 0;
    return reinterpret_cast<v3_param_value_queue**>(const_cast<v3_param_value_queue_cpp**>(&queue_object));
}
static const v3_param_changes_cpp changes_methods{{no_interface, one_reference, one_reference},
                                                  {no_parameters, no_queue, add_queue}};
static const v3_param_changes_cpp* changes_object = &changes_methods;

// What the host sends: one parameter's new value, at the start of a block (the DAW's bypass button).
static v3_param_id change_id = 0;
static double change_value = 0.0;
static v3_param_id V3_API change_queue_id(void*) { return change_id; }
static int32_t V3_API one_point(void*) { return 1; }
static v3_result V3_API the_point(void*, int32_t index, int32_t* offset, double* value) {
    if (index != 0) return V3_INVALID_ARG;
    *offset = 0;
    *value = change_value;
    return V3_OK;
}
static const v3_param_value_queue_cpp change_queue_methods{{no_interface, one_reference, one_reference},
                                                           {change_queue_id, one_point, the_point, add_point}};
static const v3_param_value_queue_cpp* change_queue_object = &change_queue_methods;
static int32_t V3_API one_parameter(void*) { return 1; }
static v3_param_value_queue** V3_API the_queue(void*, int32_t index) {
    if (index != 0) return nullptr;
    return reinterpret_cast<v3_param_value_queue**>(const_cast<v3_param_value_queue_cpp**>(&change_queue_object));
}
static const v3_param_changes_cpp input_methods{{no_interface, one_reference, one_reference},
                                                {one_parameter, the_queue, add_queue}};
static const v3_param_changes_cpp* input_object = &input_methods;

// The id of the parameter the plugin flags as its bypass, from its edit controller; false if it has none.
static bool find_bypass(v3_component** component, v3_param_id* id) {
    v3_edit_controller** controller = nullptr;
    if (v3_cpp_obj_query_interface(component, v3_edit_controller_iid, &controller) != V3_OK || !controller) return false;
    bool found = false;
    for (int32_t i = 0; i < v3_cpp_obj(controller)->get_parameter_count(controller) && !found; ++i) {
        v3_param_info info{};
        found = v3_cpp_obj(controller)->get_parameter_info(controller, i, &info) == V3_OK &&
                (info.flags & V3_PARAM_IS_BYPASS);
        if (found) *id = info.param_id;
    }
    v3_cpp_obj_unref(controller);
    return found;
}

static int bus_channels(v3_component** component, int32_t direction) {
    if (v3_cpp_obj(component)->get_bus_count(component, V3_AUDIO, direction) < 1) return 0;
    v3_bus_info info{};
    if (v3_cpp_obj(component)->get_bus_info(component, V3_AUDIO, direction, 0, &info) != V3_OK) return 0;
    return info.channel_count;
}

int main(int argc, char** argv) {
    if (argc < 7) return 2;
    const double rate = std::atof(argv[2]);
    const int block = std::atoi(argv[3]);
    const int given = std::atoi(argv[5]);
    const long bypass_at = argc > 7 ? std::atol(argv[7]) : -1;
    void* library = open_library(argv[1]);
    if (!library || !enter_module(library)) { std::puts("cannot load the plugin"); return 3; }
    auto* get_factory = reinterpret_cast<v3_plugin_factory** (*)()>(find_symbol(library, "GetPluginFactory"));
    v3_plugin_factory** factory = get_factory ? get_factory() : nullptr;
    if (!factory) { std::puts("no GetPluginFactory"); return 3; }
    v3_class_info info{};
    bool found = false;
    for (int32_t i = 0; i < v3_cpp_obj(factory)->num_classes(factory) && !found; ++i)
        found = v3_cpp_obj(factory)->get_class_info(factory, i, &info) == V3_OK &&
                !std::strcmp(info.category, "Audio Module Class");
    v3_component** component = nullptr;
    if (!found || v3_cpp_obj(factory)->create_instance(factory, info.class_id, v3_component_iid,
                                                       reinterpret_cast<void**>(&component)) != V3_OK) {
        std::puts("no audio module");
        return 3;
    }
    if (v3_cpp_obj_initialize(component, nullptr) != V3_OK) { std::puts("initialize failed"); return 3; }
    v3_audio_processor** processor = nullptr;
    if (v3_cpp_obj_query_interface(component, v3_audio_processor_iid, &processor) != V3_OK || !processor) {
        std::puts("no audio processor");
        return 3;
    }
    const int inputs = bus_channels(component, V3_INPUT), outputs = bus_channels(component, V3_OUTPUT);
    v3_cpp_obj(component)->activate_bus(component, V3_AUDIO, V3_INPUT, 0, true);
    v3_cpp_obj(component)->activate_bus(component, V3_AUDIO, V3_OUTPUT, 0, true);
    v3_process_setup setup{V3_OFFLINE, V3_SAMPLE_32, block, rate};
    if (v3_cpp_obj(processor)->setup_processing(processor, &setup) != V3_OK) { std::puts("setup failed"); return 3; }
    if (bypass_at >= 0 && !find_bypass(component, &change_id)) { std::puts("no bypass parameter"); return 3; }
    change_value = 1.0;
    v3_cpp_obj(component)->set_active(component, true);
    v3_cpp_obj(processor)->set_processing(processor, true);

    std::ifstream file(argv[4], std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(file)), {});
    const size_t frames = bytes.size() / sizeof(float) / size_t(given);
    std::vector<float> audio(frames * size_t(given));
    std::memcpy(audio.data(), bytes.data(), audio.size() * sizeof(float));
    std::vector<std::vector<float>> in(size_t(inputs), std::vector<float>(size_t(block), 0.0f));
    std::vector<std::vector<float>> out(size_t(outputs), std::vector<float>(size_t(block), 0.0f));
    std::vector<float*> in_ptrs, out_ptrs;
    for (auto& channel : in) in_ptrs.push_back(channel.data());
    for (auto& channel : out) out_ptrs.push_back(channel.data());
    std::vector<float> result(frames * size_t(outputs));
    for (size_t done = 0; done < frames; done += size_t(block)) {
        const int n = int(std::min(size_t(block), frames - done));
        for (int c = 0; c < inputs; ++c)
            for (int i = 0; i < n; ++i)
                in[size_t(c)][size_t(i)] = c < given ? audio[size_t(c) * frames + done + size_t(i)] : 0.0f;
        v3_audio_bus_buffers in_bus{}, out_bus{};
        in_bus.num_channels = inputs;
        in_bus.channel_buffers_32 = in_ptrs.data();
        out_bus.num_channels = outputs;
        out_bus.channel_buffers_32 = out_ptrs.data();
        v3_process_data data{};
        data.process_mode = V3_OFFLINE;
        data.symbolic_sample_size = V3_SAMPLE_32;
        data.nframes = n;
        data.num_input_buses = 1;
        data.num_output_buses = 1;
        data.inputs = &in_bus;
        data.outputs = &out_bus;
        data.output_params = reinterpret_cast<v3_param_changes**>(const_cast<v3_param_changes_cpp**>(&changes_object));
        if (long(done) == bypass_at)
            data.input_params = reinterpret_cast<v3_param_changes**>(const_cast<v3_param_changes_cpp**>(&input_object));
        if (v3_cpp_obj(processor)->process(processor, &data) != V3_OK) { std::puts("process failed"); return 3; }
        for (int c = 0; c < outputs; ++c)
            std::memcpy(&result[size_t(c) * frames + done], out[size_t(c)].data(), sizeof(float) * size_t(n));
    }
    std::printf("latency %u inputs %d outputs %d\n", v3_cpp_obj(processor)->get_latency_samples(processor), inputs,
                outputs);
    std::ofstream(argv[6], std::ios::binary).write(reinterpret_cast<const char*>(result.data()),
                                                   std::streamsize(result.size() * sizeof(float)));
    v3_cpp_obj(processor)->set_processing(processor, false);
    v3_cpp_obj(component)->set_active(component, false);
    v3_cpp_obj_unref(processor);
    v3_cpp_obj_terminate(component);
    v3_cpp_obj_unref(component);
    return 0;
}
