"""The README's drill-file reference is the schema's own, rendered; they cannot drift apart."""

from __future__ import annotations

from pathlib import Path

from drdrill.drills.loader import load_drill
from drdrill.drills.reference import BEGIN, END, render_reference

README = Path(__file__).parents[2] / "README.md"


def test_readme_holds_the_current_reference() -> None:
    text = README.read_text()
    start = text.index(BEGIN)
    end = text.index(END) + len(END)

    assert text[start:end] + "\n" == render_reference(), (
        "the README's drill-file reference is stale: paste the output of"
        " `python -m drdrill.drills.reference` between its markers"
    )


def test_every_probe_fault_and_step_kind_is_documented() -> None:
    reference = render_reference()

    for kind in ("postgres.write", "postgres.replica", "process.kill", "postgres.promote"):
        assert f"`{kind}`" in reference


def test_the_readme_example_is_a_valid_drill(tmp_path: Path) -> None:
    text = README.read_text()
    start = text.index("```yaml\nname: us-to-eu-rehearsal") + len("```yaml\n")
    example = tmp_path / "example.yaml"
    example.write_text(text[start:text.index("```", start)])

    drill = load_drill(example).drill

    assert drill.name == "us-to-eu-rehearsal"
    assert [p.name for p in drill.probes] == ["pg-write", "pg-lag"]
    assert drill.faults[0].kind == "k8s.delete_pod"
