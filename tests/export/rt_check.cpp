// Real-time check of the native engine (tests/test_export_plugin.py builds and runs it).
//
//     rt_check PROGRAM.bin RATE PARAMETER VALUE...
//
// Loads a baked program, then counts every allocation (operator new, malloc) while it
// processes blocks of several sizes and while parameters move, at the start of a
// stream (at once) and in the middle of one (ramps and crossfades), and while the DAW's bypass is engaged and left. Prints
// "allocations N blocks B checksum C" and exits 0; the test wants N == 0 (and compares C between builds).
#include "engine.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "counting_new.hpp"

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    std::ifstream file(argv[1], std::ios::binary);
    std::vector<uint8_t> blob((std::istreambuf_iterator<char>(file)), {});
    ssx::Engine engine;
    if (!engine.open(blob.data(), blob.size()) || !engine.prepare(std::atof(argv[2]))) {
        std::puts("the program did not load");
        return 3;
    }
    const int channels = std::max(engine.inputs(), engine.outputs());
    std::vector<std::vector<float>> buffers(size_t(channels), std::vector<float>(8192, 0.0f));
    std::vector<const float*> in;
    std::vector<float*> out;
    for (auto& b : buffers) { in.push_back(b.data()); out.push_back(b.data()); }  // in place, as hosts do
    unsigned seed = 1;
    long blocks = 0;
    double checksum = 0.0;  // of every output sample, in order: builds of the engine that must agree compare it
    const int sizes[] = {32, 64, 256, 1000, 8192, 1, 777};
    counting = true;
    engine.reset();
    for (int a = 3; a + 1 < argc; a += 2) engine.set(size_t(std::atoi(argv[a])), std::atof(argv[a + 1]));  // fresh: at once
    for (int round = 0; round < 40; ++round) {
        for (int size : sizes) {
            for (auto& b : buffers)
                for (int i = 0; i < size; ++i) b[size_t(i)] = float(int(seed = seed * 1103515245u + 12345u) >> 8) * 1e-9f;
            engine.process(in.data(), out.data(), uint32_t(size));
            for (auto& b : buffers)
                for (int i = 0; i < size; ++i) checksum = checksum * 0.999 + double(b[size_t(i)]);
            ++blocks;
        }
        // knobs move mid-stream: ramps and crossfades
        for (int a = 3; a + 1 < argc; a += 2) {
            const auto& info = engine.parameters()[size_t(std::atoi(argv[a]))];
            const double value = round % 2 ? std::atof(argv[a + 1]) : double(info.fallback);
            engine.set(size_t(std::atoi(argv[a])), value);
        }
        engine.bypass(round % 3 == 1);  // the DAW's bypass, engaged and left: the dry path's ring and crossfade
    }
    counting = false;
    std::printf("allocations %ld blocks %ld checksum %.17g\n", allocations.load(), blocks, checksum);
    return 0;
}
