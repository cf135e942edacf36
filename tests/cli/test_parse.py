"""``imagine parse``: the prompt parser on the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from bot.prompt import ParserOptions, parse_prompt
from worker.sizes import BASE_RESOLUTION, SIZE_STEP

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("imagine")  # the console script installed beside this interpreter

EXPECTED_KEYS = {
    "prompts", "negative", "aspect", "width", "height", "stylize", "chaos", "seed", "quality", "stop", "tile",
    "repeat", "raw", "mode", "model",
}  # fmt: skip


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cli`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_json_output_from_python_m_cli() -> None:
    """--json prints one exact PromptFields object per job; sizes are the demo model's, as the bot's defaults."""
    result = run_module("parse", "--json", "hot:: dog::2 --ar 16:9 --no fruit --seed 7 --relax")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "prompts": [{"text": "hot", "weight": 1.0}, {"text": "dog", "weight": 2.0}],
            "negative": "fruit",
            "aspect": "16:9",
            "width": 160,
            "height": 96,
            "stylize": 100,
            "chaos": 0,
            "seed": 7,
            "quality": 1.0,
            "stop": 100,
            "tile": False,
            "repeat": 1,
            "raw": False,
            "mode": "relax",
            "model": None,
        }
    ]


def test_installed_script_prints_a_summary() -> None:
    """The imagine console script prints a readable summary per job, with --model's sizes."""
    result = subprocess.run(
        [str(SCRIPT), "parse", "--model", "sd1", "a {red, green} bird --ar 3:2 --tile"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "job 1 of 2: a red bird" in result.stdout
    assert "job 2 of 2: a green bird" in result.stdout
    assert result.stdout.count("640×448 (aspect 3:2)") == 2
    assert "tile on" in result.stdout


def test_parse_error_exits_2_with_title_and_message_on_stderr() -> None:
    """An invalid prompt exits with status 2, its title and message on stderr and nothing on stdout."""
    result = run_module("parse", "--json", "a cat --ar 0:1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert (
        'Invalid parameter: Invalid value for --ar: "0:1" (both sides must be positive whole numbers, e.g. --ar 16:9)'
        in result.stderr
    )


def test_main_prints_the_same_jobs_as_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    """cli.main(["parse", "--json", ...]) prints exactly what parse_prompt returns, with the expected keys."""
    prompt = "a bird --chaos {20, 80} --q .5"
    assert cli.main(["parse", "--json", prompt]) == 0
    printed = json.loads(capsys.readouterr().out)
    demo = ParserOptions(base=BASE_RESOLUTION["demo"], size_step=SIZE_STEP["demo"])
    assert printed == [job.model_dump(mode="json") for job in parse_prompt(prompt, demo)]
    assert [set(job) for job in printed] == [EXPECTED_KEYS, EXPECTED_KEYS]
    assert [job["chaos"] for job in printed] == [20, 80]


def test_model_base_and_size_step_change_the_size(capsys: pytest.CaptureFixture[str]) -> None:
    """Sizes are the demo model's unless --model names a family; --model-base and --size-step override either."""
    assert cli.main(["parse", "--json", "a cat --ar 3:2"]) == 0
    job = json.loads(capsys.readouterr().out)[0]
    assert (job["width"], job["height"]) == (192, 128)
    assert cli.main(["parse", "--json", "--model", "sdxl", "a cat --ar 16:9"]) == 0
    job = json.loads(capsys.readouterr().out)[0]
    assert (job["width"], job["height"]) == (1344, 768)
    assert cli.main(["parse", "--json", "--model", "sd1", "--model-base", "1024", "a cat --ar 16:9"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["width"] == 1344
    assert cli.main(["parse", "--json", "--model-base", "128", "--size-step", "8", "a cat"]) == 0
    job = json.loads(capsys.readouterr().out)[0]
    assert (job["width"], job["height"]) == (128, 128)


def test_words_are_joined_and_double_dash_allows_a_leading_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    """Unquoted words are joined by spaces; after --, a prompt may start with a parameter (and is then empty)."""
    assert cli.main(["parse", "--json", "a", "red", "bird"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["prompts"] == [{"text": "a red bird", "weight": 1.0}]
    assert cli.main(["parse", "--", "--tile"]) == 2
    assert capsys.readouterr().err.startswith("Empty prompt: ")


def test_bad_model_base_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A base that is not a multiple of the size step is reported, with status 2."""
    assert cli.main(["parse", "--model-base", "500", "a cat"]) == 2
    assert "multiple of 32" in capsys.readouterr().err


def test_parse_never_imports_the_diffusion_side() -> None:
    """imagine parse stays light: running it imports no torch, diffusers, transformers or models."""
    code = (
        "import sys, cli; cli.main(['parse', 'a cat']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'diffusers', 'transformers', 'models'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
