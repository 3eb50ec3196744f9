"""The section "Cost of the runs": each archived run's training and evaluation time and its
machine (`machine_cell`, which `plan` gives too).
"""

import json
from pathlib import Path

from reproduction.archive import SUPERSEDED
from reproduction.common import plural


def machine_cell(metrics):
    """A run's machine (`hardware` of its metrics.json) as a table cell."""
    hardware = metrics.get("hardware")
    if hardware is None:
        return "not recorded"
    gpus = hardware.get("gpus") or []
    text = f"{hardware.get('cpus')} CPUs"
    return text + (f", {len(gpus)} GPU ({', '.join(sorted(set(gpus)))})" if gpus else ", no GPU")


def cost_section(archive):
    """What the archived runs cost: per run, its epochs, machine, training and evaluation
    wall-clock time (`train_seconds`, `eval_seconds`); the totals, superseded runs included."""
    archive = Path(archive)
    current = [json.loads(path.read_text()) for path in sorted(archive.glob("*.json"))]
    timed = [m for m in current if m.get("train_seconds") is not None]
    superseded = [json.loads(path.read_text())
                  for path in sorted((archive / SUPERSEDED).glob("*.json"))]
    superseded = [m for m in superseded if m.get("train_seconds") is not None]
    if not timed:
        return []
    recorded = any("hardware" in m for m in timed)
    lines = ["## Cost of the runs", "",
             "Wall-clock time of each archived run as `kmvae train` measured it, with whatever "
             "else ran on the machine then: training (`train_seconds`, the sum of its epochs' "
             "seconds over every session of a resumed run, validation included; a pause of the "
             "process for another measurement counts too) and the last evaluation "
             "(`eval_seconds`; an evaluation resumed from its cached parts counts its last "
             "session only). Runs archived without these times (numbers carried over by hand) "
             "are left out.", "",
             "| recipe | epochs | " + ("machine | " if recorded else "")
             + "training (h) | seconds per epoch | evaluation (min) |",
             "|---|---|---|---|---|" + ("---|" if recorded else "")]
    for m in timed:
        epochs = m.get("epochs_planned", m.get("epochs"))
        trained = f"{m.get('epochs')} of {epochs} (interim)" if m.get("interim") else str(epochs)
        evaluation = m.get("eval_seconds")
        lines.append(f"| `{m['recipe']}` | {trained} | "
                     + (f"{machine_cell(m)} | " if recorded else "")
                     + f"{m['train_seconds'] / 3600:.2f} | "
                     f"{m['train_seconds'] / max(1, m.get('epochs') or 1):.1f} | "
                     + ("" if evaluation is None else f"{evaluation / 60:.1f}") + " |")
    train_hours = sum(m["train_seconds"] for m in timed) / 3600
    eval_hours = sum(m.get("eval_seconds") or 0 for m in timed) / 3600
    old_hours = sum(m["train_seconds"] + (m.get("eval_seconds") or 0) for m in superseded) / 3600
    lines += ["", f"In all: {train_hours:.1f} h of training and {eval_hours:.1f} h of "
              f"evaluation for the {plural(len(timed), 'run')} above"
              + (f", and {old_hours:.1f} h for {plural(len(superseded), 'superseded run')} "
                 f"(`docs/reproduction/{SUPERSEDED}/`)" if superseded else "")
              + f": {train_hours + eval_hours + old_hours:.1f} h."]
    if any("hardware" not in m for m in timed + superseded):
        lines.append(("A run whose machine is not recorded predates"
                      if recorded else "The runs' machine is not recorded: they predate")
                     + " the record (kmvae writes `hardware` since 2026-12-05); those archived "
                     "here trained on the project's 2-core CPU machine without GPU, one "
                     "training at a time.")
    return lines + [""]
