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

// The loudness of what is heard, as a BS.1771 meter reads it: K-weighted (the sections soundstage's meter uses, in
// doubles), the squares summed over the channels in 100 ms units; after each unit, the momentary (last 400 ms) and
// short-term (last 3 s) loudness in LUFS are posted (-Infinity for silence, or before the window is full).
class SoundstageLoudness extends AudioWorkletProcessor {
  constructor(options) {
    super(options);
    this.sections = options.processorOptions.sections;
    this.unit = Math.max(1, Math.floor(0.1 * sampleRate));
    this.states = [];  // per channel: the two sections' states
    this.sum = 0;
    this.count = 0;
    this.units = [];  // the mean square of the last 30 units
    this.done = 0;
  }

  process(inputs) {
    const input = inputs[0], frames = input.length ? input[0].length : 128;
    const [[b0, b1, b2, , a1, a2], [c0, c1, c2, , d1, d2]] = this.sections;
    while (this.states.length < input.length) this.states.push(new Float64Array(4));
    for (let i = 0; i < frames; i++) {
      let power = 0;
      for (let c = 0; c < input.length; c++) {
        const s = this.states[c], x = input[c][i], y = b0 * x + s[0];
        s[0] = b1 * x - a1 * y + s[1];
        s[1] = b2 * x - a2 * y;
        const v = c0 * y + s[2];
        s[2] = c1 * y - d1 * v + s[3];
        s[3] = c2 * y - d2 * v;
        power += v * v;
      }
      this.sum += power;
      if (++this.count === this.unit) this.close();
    }
    return true;
  }

  close() {
    this.units.push(this.sum / this.unit);
    if (this.units.length > 30) this.units.shift();
    this.sum = 0;
    this.count = 0;
    this.done += 1;
    const lufs = (count) => {
      if (this.units.length < count) return -Infinity;
      let total = 0;
      for (let u = this.units.length - count; u < this.units.length; u++) total += this.units[u];
      return -0.691 + 10 * Math.log10(total / count);
    };
    this.port.postMessage({ unit: this.done, momentary: lufs(4), shortTerm: lufs(30) });
  }
}
registerProcessor("soundstage-loudness", SoundstageLoudness);
