"""Chains holding pedalboard's plugins copy and pickle: per channel, in another process, on a dask worker.

pedalboard's plugins are C++ objects pickle cannot take, and ``copy.deepcopy`` goes through pickle. Before
soundstage told :mod:`copyreg` how to make them again, a dual-mono chain file (a compressor and a limiter run per
channel, as a mastering engineer sets up a bus) stopped ``soundstage process`` with a traceback ending in
"TypeError: cannot pickle 'pedalboard_native.Compressor' object", and the bundled ``mastering`` chain could not be
deep-copied, nor sent to a process pool or a dask worker.
"""

from __future__ import annotations

import copy
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pedalboard
import pytest
import soundfile

from soundstage import Chain, PerChannel, PluginError, load_chain, load_plugin
from soundstage.cli import main
from soundstage.host.external import external_parameters

SR = 48000


@pytest.fixture
def music() -> np.ndarray:
    """Two seconds of two different noises, loud enough for the compressor and limiter to act."""
    rng = np.random.default_rng(7)
    audio = rng.standard_normal((2, 2 * SR)).astype(np.float32) * np.float32(0.3)
    audio[1] *= np.float32(0.5)
    return audio


DUAL_MONO = """format = 1
[[stages]]
type = "per_channel"
[stages.stage]
type = "chain"
stages = [
  { type = "pedalboard.Compressor", parameters = { threshold_db = -20.0, ratio = 4.0 } },
  { type = "pedalboard.Limiter", parameters = { threshold_db = -6.0 } },
]
"""

MONO = """format = 1
[[stages]]
type = "pedalboard.Compressor"
parameters = { threshold_db = -20.0, ratio = 4.0 }
[[stages]]
type = "pedalboard.Limiter"
parameters = { threshold_db = -6.0 }
"""


def test_a_dual_mono_bus_of_built_ins_runs_each_channel_as_its_own_mono_chain(
    tmp_path: Path, music: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dual.toml").write_text(DUAL_MONO)
    (tmp_path / "mono.toml").write_text(MONO)
    soundfile.write(tmp_path / "mix.wav", music.T, SR, subtype="FLOAT")
    assert main(["process", str(tmp_path / "mix.wav"), str(tmp_path / "dual.wav"), "--chain", str(tmp_path / "dual.toml")]) == 0
    dual, _ = soundfile.read(tmp_path / "dual.wav", dtype="float32", always_2d=True)
    for channel in range(2):
        soundfile.write(tmp_path / f"ch{channel}.wav", music[channel], SR, subtype="FLOAT")
        out = tmp_path / f"ch{channel}-out.wav"
        assert main(["process", str(tmp_path / f"ch{channel}.wav"), str(out), "--chain", str(tmp_path / "mono.toml")]) == 0
        alone, _ = soundfile.read(out, dtype="float32")
        assert alone.shape == dual[:, channel].shape
        difference = np.max(np.abs(dual[:, channel] - alone))
        assert difference <= 1e-6, f"channel {channel} differs from the mono chain by {difference:.2e}"
    assert "Traceback" not in capsys.readouterr().err
    # the compressor and limiter did act: the left channel, 6 dB hotter, is turned down more than the right
    ratio_db = 20 * np.log10(np.std(dual[:, 0]) / np.std(dual[:, 1]))
    assert ratio_db < 6.0 - 1.0, f"left/right after the bus {ratio_db:.2f} dB: the dynamics did nothing"


def test_the_mastering_chain_pickles_and_copies_to_the_same_samples(music: np.ndarray) -> None:
    chain = load_chain("mastering")
    expected = chain(music, SR)
    for twin in (pickle.loads(pickle.dumps(chain)), copy.deepcopy(chain)):
        assert repr(twin).split(" at ")[0] == repr(chain).split(" at ")[0]
        np.testing.assert_array_equal(twin(music, SR), expected)


def test_a_copy_is_independent_of_its_original(music: np.ndarray) -> None:
    chain = Chain(
        [pedalboard.Compressor(threshold_db=-24.0, ratio=4.0), pedalboard.LadderFilter(mode=pedalboard.LadderFilter.Mode.HPF12)]
    )
    twin = copy.deepcopy(chain)
    assert twin[0] is not chain[0] and twin[0].threshold_db == -24.0 and twin[1].mode == pedalboard.LadderFilter.Mode.HPF12
    twin[0].threshold_db = -6.0
    assert chain[0].threshold_db == -24.0
    assert not np.array_equal(twin(music, SR), chain(music, SR))


def test_a_copy_plays_as_the_original_does_after_reset(music: np.ndarray) -> None:
    """A copy holds the parameters, not the audio inside the plugin (a reverb's tail)."""
    reverb = pedalboard.Reverb(room_size=0.9)
    reverb.process(music, SR, reset=False)
    twin = copy.deepcopy(reverb)
    reverb.reset()
    np.testing.assert_array_equal(twin(music, SR), reverb(music, SR))


def _run(chain: Chain, audio: np.ndarray) -> np.ndarray:
    return chain(audio, SR)


def test_a_chain_goes_to_a_process_pool(music: np.ndarray) -> None:
    chain = load_chain("mastering")
    items = [music, music[::-1].copy()]
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        outputs = list(pool.map(_run, [chain, chain], items))
    for audio, output in zip(items, outputs):
        np.testing.assert_array_equal(output, chain(audio, SR))


def test_a_chain_goes_to_a_dask_worker(music: np.ndarray) -> None:
    distributed = pytest.importorskip("distributed")
    chain = load_chain("mastering")
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        output = client.submit(_run, chain, music).result(timeout=120)
    np.testing.assert_array_equal(output, chain(music, SR))


def test_an_external_plugin_is_loaded_again_with_its_state(stereo_gain_path: Path, music: np.ndarray) -> None:
    plugin = load_plugin(stereo_gain_path)
    external_parameters(plugin)["gain_db"].value = -3.0
    external_parameters(plugin)["delay_samples"].value = 100
    twin = pickle.loads(pickle.dumps(plugin))
    assert twin is not plugin
    assert external_parameters(twin)["gain_db"].value == pytest.approx(-3.0, abs=1e-4)
    assert external_parameters(twin)["delay_samples"].value == pytest.approx(100, abs=0.5)
    np.testing.assert_array_equal(twin(music, SR), plugin(music, SR))


def test_a_nested_chain_of_an_external_plugin_runs_per_channel(mono_path: Path, music: np.ndarray) -> None:
    plugin = load_plugin(mono_path)
    external_parameters(plugin)["smoothing"].value = 0.5
    dual = PerChannel(Chain([plugin, pedalboard.Gain(gain_db=-6.0)]))(music, SR)
    for channel in range(2):
        alone = Chain([plugin, pedalboard.Gain(gain_db=-6.0)])(music[channel : channel + 1], SR)[0]
        np.testing.assert_allclose(dual[channel], alone, atol=1e-6)
    assert np.std(dual[0]) > 1e-3


def test_a_plugin_pedalboard_loaded_says_how_to_load_one_that_copies(stereo_gain_path: Path) -> None:
    plugin = pedalboard.load_plugin(str(stereo_gain_path))
    with pytest.raises(PluginError, match=r"loaded with pedalboard\.load_plugin.*load it with soundstage\.load_plugin\(path\)"):
        copy.deepcopy(Chain([plugin]))
