"""Adding a stage touches one file: a Processor subclass is a chain-file type from its definition on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from soundstage import Chain, Gain, Processor, load_chain, save_chain
from soundstage.errors import ChainFileError
from soundstage.host.parameters import ParameterSpec
from soundstage.host.processor import stage_types


class Balance(Processor):
    """A stage defined here and nowhere else: left/right balance in dB, with one configuration key."""

    parameter_specs = (ParameterSpec("balance_db", 0.0, minimum=-24.0, maximum=24.0, unit="dB"),)
    input_channels = 2
    output_channels = 2
    config_keys = ("law",)

    def __init__(self, *, law: str = "linear", balance_db: float = 0.0) -> None:
        self.law = law
        super().__init__(balance_db=balance_db)

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        half = float(self.balance_db) / 2.0
        gains = np.array([10 ** (-half / 20), 10 ** (half / 20)], np.float32)[:, None]
        return (block * gains).astype(np.float32)

    def _config(self) -> dict[str, Any]:
        return {"law": self.law} if self.law != "linear" else {}


def test_a_new_stage_round_trips_through_a_chain_file_with_no_other_change(tmp_path: Path) -> None:
    assert stage_types()["Balance"] is Balance
    chain = Chain([Balance(law="constant-power", balance_db=6.0), Gain(gain_db=-3.0)], names=["bal", "trim"])
    file = tmp_path / "chain.toml"
    save_chain(chain, file)
    text = file.read_text()
    assert 'type = "Balance"' in text and 'law = "constant-power"' in text
    loaded = load_chain(file)  # no stages= argument: the class registered itself
    assert isinstance(loaded[0], Balance)
    assert loaded[0].law == "constant-power" and loaded[0].balance_db == 6.0
    audio = np.random.default_rng(1).standard_normal((2, 4800)).astype(np.float32)
    out = loaded.process(audio, 48000)
    np.testing.assert_array_equal(out, chain.process(audio, 48000))
    # the balance itself: left 3 dB down, right 3 dB up, then the -3 dB trim (tolerance 0.01 dB)
    left_db = 20 * np.log10(np.abs(out[0]).max() / np.abs(audio[0]).max())
    right_db = 20 * np.log10(np.abs(out[1]).max() / np.abs(audio[1]).max())
    assert abs(left_db - (-6.0)) < 0.01 and abs(right_db - 0.0) < 0.01


def test_a_registered_stage_keeps_the_file_checks(tmp_path: Path) -> None:
    file = tmp_path / "chain.toml"
    file.write_text('format = 1\n[[stages]]\ntype = "Balance"\nparameters = { balance_db = 30.0 }\n')
    with pytest.raises(ChainFileError, match=r"stages\[0\]\.parameters\.balance_db: .*30\.0.*-24"):
        load_chain(file)
    file.write_text('format = 1\n[[stages]]\ntype = "Balance"\nlaws = "x"\n')
    with pytest.raises(ChainFileError, match=r"stages\[0\]\.laws: unknown key 'laws' for Balance; did you mean 'law'\?"):
        load_chain(file)


def test_a_taken_type_name_is_refused() -> None:
    with pytest.raises(TypeError, match=r"stage type name 'Gain' .* is taken by soundstage\.stages\.gain\.Gain"):

        class Gain(Processor):  # noqa: F811 - the clash is the point
            pass


def test_routing_nodes_and_chains_are_not_stage_types() -> None:
    names = stage_types()
    assert "Chain" not in names and "route" not in names and "parallel" not in names
    assert {"Upmix", "Virtualizer", "CrosstalkCanceller", "Beamformer", "Align", "Spatializer", "Gain"} <= set(names)


def test_typed_parameter_reads() -> None:
    stage = Balance(balance_db=3)
    assert stage.float_value("balance_db") == 3.0 and isinstance(stage.float_value("balance_db"), float)
    gain = Gain(invert=True)
    assert gain.bool_value("invert") is True
    with pytest.raises(TypeError, match=r"Gain\.invert is a bool parameter, not a float one"):
        gain.float_value("invert")
    with pytest.raises(Exception, match=r"Gain has no parameter 'gain'; did you mean 'gain_db'\?"):
        gain.float_value("gain")
