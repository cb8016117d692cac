"use strict";
// The engine on the audio thread: one WebAssembly instance per node, fed one render quantum at a time.
class SoundstageEngine extends AudioWorkletProcessor {
  constructor(options) {
    super(options);
    const o = options.processorOptions;
    const module = new WebAssembly.Module(o.wasm);
    const imports = {};
    for (const wanted of WebAssembly.Module.imports(module)) {  // WASI calls the C library links but never makes
      (imports[wanted.module] = imports[wanted.module] || {})[wanted.name] = () => 52;  // ENOSYS
    }
    const x = new WebAssembly.Instance(module, imports).exports;
    x._initialize();
    const bytes = new Uint8Array(o.program);
    const at = x.ssx_alloc(bytes.length);
    new Uint8Array(x.memory.buffer, at, bytes.length).set(bytes);
    this.x = x;
    this.block = 128;
    const opened = x.ssx_open(at, bytes.length) === 1;
    const plays = opened && x.ssx_prepare(sampleRate, this.block) === 1;
    (o.values || []).forEach((value, index) => x.ssx_set(index, value));
    x.ssx_bypass(o.bypass ? 1 : 0);
    x.ssx_reset();
    this.ins = x.ssx_inputs();
    this.outs = x.ssx_outputs();
    const all = new Float32Array(x.memory.buffer, x.ssx_buffers(), (this.ins + this.outs) * this.block);
    this.channels = Array.from({ length: this.ins + this.outs }, (_, c) => all.subarray(c * this.block, (c + 1) * this.block));
    this.events = (o.events || []).slice().sort((a, b) => a.frame - b.frame);  // automation at frames (an offline render)
    // extra delay on the outputs (samples): the side of an A/B with less latency waits for the other
    this.pad = o.pad || 0;
    this.rings = Array.from({ length: this.pad ? this.outs : 0 }, () => new Float32Array(this.pad));
    this.at = 0;
    this.frame = 0;
    this.port.onmessage = (event) => this.apply(event.data);
    this.port.postMessage({ opened, plays, latency: x.ssx_latency(), rate: sampleRate });
  }
  apply(change) {
    if ("bypass" in change) this.x.ssx_bypass(change.bypass ? 1 : 0);
    if ("set" in change) this.x.ssx_set(change.set, change.value);
  }
  process(inputs, outputs) {
    const input = inputs[0], output = outputs[0], frames = output[0].length;
    while (this.events.length && this.events[0].frame < this.frame + frames) this.apply(this.events.shift());
    for (let c = 0; c < this.ins; c++) {
      if (c < input.length) this.channels[c].set(input[c]); else this.channels[c].fill(0);
    }
    this.x.ssx_process(frames);
    for (let c = 0; c < output.length && c < this.outs; c++) output[c].set(this.channels[this.ins + c].subarray(0, frames));
    if (this.pad) {
      for (let c = 0; c < output.length && c < this.outs; c++) {
        const ring = this.rings[c], out = output[c];
        for (let i = 0, at = this.at; i < frames; i++, at = at + 1 === this.pad ? 0 : at + 1) {
          const late = ring[at];
          ring[at] = out[i];
          out[i] = late;
        }
      }
      this.at = (this.at + frames) % this.pad;
    }
    this.frame += frames;
    return true;
  }
}
registerProcessor("soundstage-engine", SoundstageEngine);
