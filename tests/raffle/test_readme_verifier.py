"""The README's twenty lines of standard-library Python check a real proof and catch a tampered one."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from companion.raffle import queries, services
from tests.raffle.factories import DRAW_AT, FREEZE_AT, PARIS, hunt_station, make_completers, make_raffle

README = Path(__file__).resolve().parents[2] / "README.md"


def _verifier(tmp_path: Path) -> Path:
    block = re.search(r"<!-- raffle-verifier -->\n```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block, "the README's verifier block is missing"
    assert len(block.group(1).splitlines()) <= 20
    path = tmp_path / "verify.py"
    path.write_text(block.group(1), encoding="utf-8")
    return path


def _run(script: Path, proof: dict, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof), encoding="utf-8")
    # -I: isolated, so nothing but the standard library can be imported.
    return subprocess.run([sys.executable, "-I", str(script), str(path)], capture_output=True, text=True, check=False)


def test_readme_verifier_checks_a_redrawn_raffle_with_an_excluded_entry(db, conference, tmp_path):
    make_completers(9, station=hunt_station())
    earlier = make_raffle("Morning raffle")
    services.freeze(earlier, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(3))
    services.draw(earlier, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")
    raffle = make_raffle(winners_wanted=2)
    services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(5))
    first = services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")[0]
    later = DRAW_AT + timedelta(hours=1)
    services.mark(first, "not_claimed", actor=None, now=later, zone=PARIS)
    services.redraw(raffle, actor=None, now=later, zone=PARIS, card_url="/hunt")
    db.commit()
    proof = queries.proof(raffle)
    script = _verifier(tmp_path)

    ok = _run(script, proof, tmp_path)
    assert len(proof["excluded"]) == 1 and [w["status"] for w in proof["winners"]] == ["not_claimed", "drawn", "drawn"]
    assert (ok.returncode, ok.stdout.strip()) == (0, "verified: " + ", ".join(w["entry"] for w in proof["winners"]))

    swapped = [e for e in proof["entries"] if e not in {w["entry"] for w in proof["winners"]} | set(proof["excluded"])][0]
    tampered = dict(proof, winners=[proof["winners"][0], dict(proof["winners"][1], entry=swapped), proof["winners"][2]])
    bad = _run(script, tampered, tmp_path)
    assert bad.returncode == 1 and bad.stderr.strip().endswith(f"AssertionError: winner at k={proof['winners'][1]['k']}")
    assert _run(script, dict(proof, seed="00" * 32), tmp_path).stderr.strip().endswith("AssertionError: commitment")
