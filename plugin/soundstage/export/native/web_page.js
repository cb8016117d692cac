// The web page of a chain exported by `soundstage export-plugin --format web` (web.py inlines it into web.html,
// followed by web_controls.js and web_midi.js, as one script): the engine run live and offline, the loudness match,
// the files the page saves.
const config = JSON.parse(document.getElementById("config").textContent);
function bytes(id) {
  const text = atob(document.getElementById(id).textContent.trim());
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out.buffer;
}
const state = {
  config, wasm: null, program: null, context: null, node: null, buffer: null, source: null, file: null,
  playing: false, startedAt: 0, offset: 0, loop: true, bypass: false,
  values: config.parameters.map((p) => p.default), listen: "1-2", monitor: [], analyzers: [],
  reference: null, referenceNode: null, side: "device", gains: { device: 1, reference: 1, bypass: 1 }, loudness: null,
  matching: true,
  sides: {}, measuring: 0,
};
window.soundstage = state;  // for tests and the curious
// What the page renders offline holds every sample in memory (float32, and again as the WAV): the A/B's loudness is
// measured on the first MATCH_SECONDS of the mix (?match_s=N), and a download is offered up to DOWNLOAD_SECONDS
// (?download_s=N); past that, the command line renders any length from disk.
const query = new URLSearchParams(location.search);
const MATCH_SECONDS = Number(query.get("match_s")) || 600;
const DOWNLOAD_SECONDS = Number(query.get("download_s")) || 900;

function fail(message) { document.getElementById("error").textContent = message; }
function seconds(frames) { return (frames / config.rate).toFixed(3); }

// The worklet's code, loaded into `context`: as a data: URL (a page opened from disk has no origin, and Chrome loads
// no blob: URL into a worklet there), else as a blob: URL (for a browser that refuses data: URLs in worklets).
async function loadWorklet(context) {
  const source = document.getElementById("worklet").textContent;
  try {
    await context.audioWorklet.addModule("data:text/javascript;base64," + btoa(unescape(encodeURIComponent(source))));
  } catch (refused) {
    await context.audioWorklet.addModule(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
  }
}

// A node running the chain (`options.reference`: the stereo reference) in `context`; resolves once the engine has
// read its program and said so.
// The worklet's code in `context`, loaded once per context.
async function ensureWorklet(context) {
  if (!context.soundstageLoaded) context.soundstageLoaded = loadWorklet(context);
  await context.soundstageLoaded;
}

async function engineNode(context, options = {}) {
  await ensureWorklet(context);
  const reference = !!options.reference;
  const node = new AudioWorkletNode(context, "soundstage-engine", {
    numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [config.outputs],
    channelCount: config.inputs, channelCountMode: "explicit", channelInterpretation: "discrete",
    processorOptions: { wasm: state.wasm, program: reference ? state.reference : state.program,
                        values: reference ? [] : options.values || state.values, bypass: !!options.bypass,
                        events: options.events || [], pad: options.pad || 0 },
  });
  const report = await new Promise((resolve) => { node.port.onmessage = (event) => resolve(event.data); });
  if (!report.opened) throw new Error("the page's program is damaged: export it again");
  if (!report.plays) throw new Error(`the chain plays at ${config.rate} Hz, not at ${report.rate} Hz`);
  node.report = report;
  return node;
}

// The chain over `channels` (Float32Array per input channel, at config.rate), offline, as fast as the machine goes:
// the outputs (Float32Array each), the latency taken off, as long as the input. `values`: the knobs (by index);
// `bypass`: from the start; `events`: [{frame, set: index, value} or {frame, bypass}], applied at the start of the
// 128-sample quantum that holds the frame; `reference`: the stereo reference instead of the chain.
async function render(channels, options = {}) {
  if (options.reference && !config.reference) throw new Error("this chain has no stereo reference");
  const length = channels[0].length, latency = options.reference ? config.reference.latency : config.latency;
  const context = new OfflineAudioContext(config.outputs, length + latency, config.rate);
  const node = await engineNode(context, options);
  const buffer = context.createBuffer(config.inputs, length, config.rate);
  channels.forEach((samples, c) => buffer.copyToChannel(samples, c));
  const source = new AudioBufferSourceNode(context, { buffer });
  source.connect(node).connect(context.destination);
  source.start();
  const rendered = await context.startRendering();
  return Array.from({ length: config.outputs }, (_, c) => rendered.getChannelData(c).slice(latency, latency + length));
}
state.render = render;

// Integrated loudness (LUFS, ITU-R BS.1770-4) of `channels`, as soundstage's reports measure it: K-weighted (the
// config's sections), 400 ms blocks every 100 ms, gated at -70 LUFS and 10 LU below the ungated mean.
function loudness(channels) {
  const rate = config.rate, block = Math.floor(0.4 * rate), step = Math.floor(0.1 * rate);
  const gcd = (a, b) => (b ? gcd(b, a % b) : a), unit = gcd(block, step);
  const n = channels[0].length, units = Math.floor(n / unit), count = n >= block ? Math.floor((n - block) / step) + 1 : 0;
  const powers = new Float64Array(count);
  channels.forEach((samples, c) => {
    const weight = c === 3 || c === 4 ? 1.41 : 1.0;
    const sums = new Float64Array(units);
    const [[b0, b1, b2, , a1, a2], [c0, c1, c2, , d1, d2]] = config.k_weighting;
    let z0 = 0, z1 = 0, w0 = 0, w1 = 0;  // the two sections' states (transposed direct form II, in doubles)
    for (let u = 0, i = 0; u < units; u++) {
      let sum = 0;
      for (const end = i + unit; i < end; i++) {
        const x = samples[i], y = b0 * x + z0;
        z0 = b1 * x - a1 * y + z1;
        z1 = b2 * x - a2 * y;
        const v = c0 * y + w0;
        w0 = c1 * y - d1 * v + w1;
        w1 = c2 * y - d2 * v;
        sum += v * v;
      }
      sums[u] = sum;
    }
    for (let j = 0; j < count; j++) {
      let sum = 0;
      for (let u = (j * step) / unit; u < (j * step + block) / unit; u++) sum += sums[u];
      powers[j] += (weight * sum) / block;
    }
  });
  const lufs = (power) => -0.691 + 10 * Math.log10(power);
  const mean = (list) => list.reduce((a, b) => a + b, 0) / list.length;
  const loud = [...powers].filter((power) => lufs(power) > -70);
  if (!loud.length) return -Infinity;
  const gate = lufs(mean(loud)) - 10;
  return lufs(mean(loud.filter((power) => lufs(power) > gate)));
}
state.measure = loudness;

// The chain's bypass is loudness-matched where it plays the mix in place of the output (as many channels out as in:
// a mastering chain, a device on headphones); a device's driver feeds are not the mix's channels.
const MATCHES_BYPASS = config.outputs === config.inputs;
function matchable() { return !!config.reference || MATCHES_BYPASS; }

// The loudness match on the mix that is open, as a mastering engineer compares: the chain (rendered offline at its
// knobs), the stereo reference (for a device on headphones) and the bypass (the mix itself) measured (BS.1770,
// integrated), and each heard at the quietest one's loudness: the louder lowered, nothing raised. Measured again
// when a knob moves; a newer measurement wins over an older.
async function match() {
  if (!matchable() || !state.buffer) return;
  const ticket = ++state.measuring;
  document.getElementById("match").textContent = "loudness match: measuring ...";
  const frames = Math.min(state.buffer.length, Math.round(MATCH_SECONDS * config.rate));
  const channels = Array.from({ length: config.inputs }, (_, c) => state.buffer.getChannelData(c).subarray(0, frames));
  const [device, reference] = await Promise.all(
    [render(channels), config.reference ? render(channels, { reference: true }) : null]);
  if (ticket !== state.measuring) return;
  const measured = { device: loudness(device) };
  if (reference) measured.reference = loudness(reference);
  if (MATCHES_BYPASS) measured.bypass = loudness(channels);
  const heard = Object.values(measured).filter(Number.isFinite);
  const quietest = heard.length ? Math.min(...heard) : 0;
  state.loudness = measured;
  state.gains = { device: 1, reference: 1, bypass: 1 };
  for (const [side, lufs] of Object.entries(measured)) {
    if (Number.isFinite(lufs)) state.gains[side] = 10 ** ((quietest - lufs) / 20);
  }
  const names = { device: config.reference ? "device" : "chain", reference: "stereo reference", bypass: "bypass (the mix)" };
  const parts = Object.entries(measured).map(([side, lufs]) => {
    const lowered = Number.isFinite(lufs) ? lufs - quietest : 0;
    return `${names[side]} ${lufs.toFixed(1)} LUFS${lowered > 0.05 ? `, lowered ${lowered.toFixed(1)} dB` : ""}`;
  });
  document.getElementById("match").textContent = `loudness match: ${parts.join("; ")}` +
    (frames < state.buffer.length ? ` (measured on the first ${MATCH_SECONDS} s)` : "");
  applyGains();
}
state.match = match;

// A WAV file (32-bit float; WAVE_FORMAT_EXTENSIBLE past two channels, as a DAW writes one) of `channels`.
function wav(channels) {
  const count = channels.length, frames = channels[0].length, extensible = count > 2;
  const header = extensible ? 68 : 44, data = count * frames * 4;
  const view = new DataView(new ArrayBuffer(header + data));
  const text = (at, chars) => [...chars].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, header - 8 + data, true); text(8, "WAVE"); text(12, "fmt ");
  view.setUint32(16, extensible ? 40 : 16, true);
  view.setUint16(20, extensible ? 0xfffe : 3, true);
  view.setUint16(22, count, true);
  view.setUint32(24, config.rate, true);
  view.setUint32(28, config.rate * count * 4, true);
  view.setUint16(32, count * 4, true);
  view.setUint16(34, 32, true);
  if (extensible) {
    view.setUint16(36, 22, true); view.setUint16(38, 32, true); view.setUint32(40, 0, true);  // no speaker positions
    [3, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71].forEach((b, i) => view.setUint8(44 + i, b));  // float
  }
  text(header - 8, "data"); view.setUint32(header - 4, data, true);
  for (let i = 0, at = header; i < frames; i++) {
    for (let c = 0; c < count; c++, at += 4) view.setFloat32(at, channels[c][i], true);
  }
  return view.buffer;
}
state.wav = wav;

// The mix that is open, rendered offline through the side of the A/B that plays (the chain at its knobs, or the
// stereo reference; bypassed: the mix itself), as long as the mix, and saved as a WAV by the browser.
async function download() {
  const button = document.getElementById("download");
  if (state.buffer.duration > DOWNLOAD_SECONDS) {
    fail(`${state.file}: ${state.buffer.duration.toFixed(0)} s is past what the page renders in memory ` +
         `(${DOWNLOAD_SECONDS} s); render it from disk: soundstage process "${state.file}" out.wav --chain CHAIN`);
    return;
  }
  button.disabled = true;
  try {
    const channels = Array.from({ length: config.inputs }, (_, c) => state.buffer.getChannelData(c));
    const outputs = await render(channels, { reference: state.side === "reference", bypass: state.bypass });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([wav(outputs)], { type: "audio/wav" }));
    const side = state.bypass ? "bypassed" : state.side === "reference" ? "stereo reference" : config.stem;
    link.download = `${state.file.replace(/\.[^.]*$/, "")} - ${side}.wav`;
    document.body.appendChild(link);
    link.click();
    link.remove();
  } catch (error) {
    fail(String(error.message || error));
  } finally {
    button.disabled = false;
  }
}

// The chain file at the knobs as they are now (TOML, as soundstage writes chain files): `soundstage process IN OUT
// --chain` renders with it, and `export-plugin` makes plugins of it. Its values in their units: a choice by name.
function chainText() {
  const data = structuredClone(config.chain_file.data);
  config.chain_file.slots.forEach((slot, index) => {
    const p = config.parameters[index], value = state.values[index];
    let at = data;
    for (const key of slot.slice(0, -1)) at = at[key];
    at[slot.at(-1)] = p.kind === "choice" ? p.choices[Math.round(value)] : p.kind === "boolean" ? value > 0.5 : value;
  });
  const key = (k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : tomlString(k));
  const value = (v) => {
    if (typeof v === "string") return tomlString(v);
    if (typeof v === "boolean") return String(v);
    if (typeof v === "number") return String(v);
    if (Array.isArray(v)) return `[${v.map(value).join(", ")}]`;
    return `{ ${Object.entries(v).map(([k, x]) => `${key(k)} = ${value(x)}`).join(", ")} }`;
  };
  const lines = [`# ${config.name}, at the knobs set in its web page: soundstage process IN.wav OUT.wav --chain THIS.toml`];
  for (const [k, v] of Object.entries(data)) if (k !== "stages") lines.push(`${key(k)} = ${value(v)}`);
  for (const stage of data.stages) {
    lines.push("", "[[stages]]");
    for (const [k, v] of Object.entries(stage)) lines.push(`${key(k)} = ${value(v)}`);
  }
  return lines.join("\n") + "\n";
}
state.chainText = chainText;

// A TOML basic string: JSON's escapes are TOML's, and DEL, which JSON leaves, is escaped too.
function tomlString(text) { return JSON.stringify(text).replace(/\x7f/g, "\\u007f"); }

function saveChain() {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([chainText()], { type: "application/toml" }));
  link.download = `${config.stem}.toml`;
  document.body.appendChild(link);
  link.click();
  link.remove();
}
