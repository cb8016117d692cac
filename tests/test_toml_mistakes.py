"""The mistakes people make writing TOML by hand, told in words that say how TOML writes it.

tomllib's own words say where a file stops being TOML ("Invalid value (at line 2, column 8)") but not why; the
usual why is text pasted from a document or a chat (typographic quotes, a minus sign, a no-break space), a number
written as elsewhere (a decimal comma, a unit, ``.5``), a Windows path in double quotes, or Python's ``True``.
Each case below is a chain file as a person writes it, run through ``soundstage process``; the same reader reads
sessions, MIDI maps, job lists and device profiles.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from soundstage import ChainFileError, Gain, SoundstageError
from soundstage.cli import main
from soundstage.tomlfile import parse_toml

GAIN = '[[stages]]\ntype = "Gain"\nparameters = {{ gain_db = {} }}\n'

CASES = {
    # (file text, the words the error must hold)
    "typographic quotes": ("[[stages]]\ntype = \u201cGain\u201d\n", r"line 2: typographic quotes \(“ ”\).*write straight quotes"),
    "minus sign": (GAIN.format("\u22123.0"), r"line 3: a number's sign is a minus sign \(−\): write -"),
    "en dash": (GAIN.format("\u20133.0"), r"line 3: a number's sign is an en dash \(–\): write -"),
    "no-break space": ('[[stages]]\ntype\u00a0= "Gain"\n', r"line 2: a no-break space \(U\+00A0, column 5\).*plain space"),
    "decimal comma": (GAIN.format("-3,5"), r"line 3: -3,5 has a decimal comma: TOML writes -3.5"),
    "trailing comma": (GAIN.format("-3.0,"), r"line 3: a comma before the \} that closes an inline table"),
    "unit": ('[[stages]]\ntype = "Gain"\n[stages.parameters]\ngain_db = -3 dB\n', r"line 4: -3 dB: write the number alone"),
    "unit glued": ('[[stages]]\ntype = "Gain"\n[stages.parameters]\ngain_db = -3dB\n', r"line 4: -3 dB: write the number"),
    "leading point": ('[[stages]]\ntype = "Gain"\n[stages.parameters]\ngain_db = .5\n', r"line 4: .*\(0\.5\)"),
    "trailing point": ('[[stages]]\ntype = "Gain"\n[stages.parameters]\ngain_db = 5.\n', r"line 4: .*\(5\.0\)"),
    "Python True": ('[[stages]]\ntype = "Gain"\nbypass = True\n', r"line 3: TOML writes true and false, in lower case"),
    "None": ('[[stages]]\ntype = "Gain"\nbypass = None\n', r"line 3: TOML has no None: leave the key out"),
    "bare text": ("[[stages]]\ntype = Gain\n", r'line 2: a text value is written in quotes: "Gain"'),
    "key with a space": (GAIN.format("-3.0").replace("gain_db", "gain db"), r"line 3: a key holds no spaces: gain_db"),
    "windows path": ('[[stages]]\ntype = "plugin"\npath = "C:\\Plugins\\Limiter.vst3"\n', r"line 3: a Windows path in double"),
    "key twice": ('[[stages]]\ntype = "Gain"\ntype = "Gain"\n', r"line 3: 'type' is given twice in one table \(line 2"),
    "table twice": ('[meta]\nname = "a"\n[meta]\nname = "b"\n', r"line 3: \[meta\] is declared twice"),
}


@pytest.fixture(scope="module")
def mix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mix") / "mix.wav"
    sf.write(path, 0.1 * np.random.default_rng(0).standard_normal((4800, 2)), 48000, subtype="PCM_24")
    return path


@pytest.mark.parametrize("case", CASES)
def test_a_toml_mistake_is_told_with_how_toml_writes_it(
    case: str, mix: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, words = CASES[case]
    chain = tmp_path / "chain.toml"
    chain.write_text(text, encoding="utf-8")
    assert main(["process", str(mix), str(tmp_path / "out.wav"), "--chain", str(chain)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("soundstage: error: "), error
    assert "not valid TOML" in error
    assert re.search(words, error), error
    assert not (tmp_path / "out.wav").exists()


def test_a_good_line_elsewhere_gets_no_hint_it_does_not_need() -> None:
    """The hint reads the line the error is on: True on another line (in a string) is not blamed for a missing
    quote."""
    text = 'name = "True or False, 3,5 and .5 C:\\\\x"\n[[stages]\n'
    with pytest.raises(ChainFileError) as error:
        parse_toml(text, "c.toml", ChainFileError)
    assert str(error.value).endswith(")"), str(error.value)  # tomllib's words alone


@pytest.mark.parametrize(
    ("value", "words"),
    [("-3 dB", r"write the number without quotes or unit: -3$"), ("0,5", r"without quotes: 0.5$"), ("-.5", r": -0.5$")],
)
def test_a_number_in_quotes_is_told_to_be_written_as_a_number(value: str, words: str) -> None:
    with pytest.raises(TypeError, match=words):
        Gain(gain_db=value)  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]{}=\",.'#\n -+0123456789abTFNe dB\\\u201c\u201d\u2212\u00a0:")), max_size=80))
def test_any_text_is_read_or_refused_in_one_line(text: str) -> None:
    try:
        parse_toml(text, "c.toml", ChainFileError)
    except SoundstageError as error:
        assert "\n" not in str(error)


SESSION = 'format = 1\nsample_rate = {rate}\n[[stems]]\npath = "stem.wav"\n{key} = {value}\n[master]\nchain = "mastering"\n'

VALUES = {
    # (key, value as written in the session file, the words the error must end with)
    "gain in quotes": ("gain_db", '"+3"', r"write the number without quotes: 3$"),
    "gain with its unit": ("gain_db", '"-3 dB"', r"write the number without quotes or unit: -3$"),
    "offset as a clock": ("offset_s", '"1:02.5"', r"offset_s is in seconds: 1:02.5 is 62.5, written as a number \("),
    "offset as timecode": ("offset_s", '"00:00:02:12"', r"00:00:02:12 is 2 plus 12 frames at the timecode's frame rate"),
    "pan as a letter": ("pan", '"L"', r"pan runs from -1 \(hard left\) through 0 \(center\) to \+1 \(hard right\): 'L' is -1$"),
    "pan as a DAW shows it": ("pan", '"30R"', r": '30R' is 0.3$"),
    "pan as REAPER shows it": ("pan", '"30%L"', r": '30%L' is -0.3$"),
    "pan on a DAW's scale": ("pan", "-50", r"at least -1; pan runs .*: -50 on a DAW's -100..100 is -0.5$"),
}


@pytest.mark.parametrize("case", VALUES)
def test_a_value_written_as_people_say_it_is_told_how_to_write_it(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, value, words = VALUES[case]
    sf.write(tmp_path / "stem.wav", np.zeros((4800, 2)), 48000, subtype="PCM_24")
    (tmp_path / "session.toml").write_text(SESSION.format(rate=48000, key=key, value=value))
    assert main(["session", "check", str(tmp_path / "session.toml")]) == 2
    error = capsys.readouterr().err.strip()
    assert f"stems[0].{key}: {key} = " in error and re.search(words, error), error


@pytest.mark.parametrize(("rate", "want"), [("48", "48000"), ('"44.1k"', "44100"), ("96", "96000")])
def test_a_sample_rate_in_khz_is_told_in_hz(rate: str, want: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sf.write(tmp_path / "stem.wav", np.zeros((4800, 2)), 48000, subtype="PCM_24")
    (tmp_path / "session.toml").write_text(SESSION.format(rate=rate, key="gain_db", value="0.0"))
    assert main(["session", "check", str(tmp_path / "session.toml")]) == 2
    assert capsys.readouterr().err.strip().endswith(f"a sample rate is in Hz: write {want}")


def test_a_long_line_is_read_only_as_far_as_a_person_writes_one() -> None:
    """The hints' patterns cost the square of the line they read (a 32 kB line of digits took 3.4 s); a file that
    is one long line (a JSON file given for a chain) is refused as fast as tomllib refuses it: its first 400
    characters are read for a hint. A 100 kB line here took half a minute before."""
    text = "gain_db = " + "1" * 50_000 + "." + "1" * 50_000 + "!"
    with pytest.raises(ChainFileError, match=r"^c.toml: not valid TOML: .*\(at line 1, column"):
        parse_toml(text, "c.toml", ChainFileError)
