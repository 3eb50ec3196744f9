"""Where the report's numbers come from: the checkout's paths and the archive of the runs'
`metrics.json` (`docs/reproduction/<recipe>.json`). `archive_runs` copies each recipe's newest
run there; a run it replaces that was trained with other settings moves to
`docs/reproduction/superseded/` (`superseded_runs`).
"""

import json
import shutil
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]           # the checkout (REPRODUCTION.md's folder)
ARCHIVE = ROOT / "docs" / "reproduction"
IMAGES = ROOT / "docs" / "images"                    # the README's copies of run figures
SUPERSEDED = "superseded"   # <archive>/superseded/<recipe>[.<n>].json: runs a change replaced
# The settings whose change makes an archived run superseded rather than overwritten.
TRAINING_SETTINGS = ("batch_size", "dataset_options", "model_options")


def run_metrics(archive, name):
    """The archived `metrics.json` of recipe `name` (`<archive>/<name>.json`), or None."""
    path = Path(archive) / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _superseded_paths(archive, name):
    """The files of `superseded_runs`, oldest first."""
    found = []
    for path in (Path(archive) / SUPERSEDED).glob(f"{name}*.json"):
        order = path.name[len(name):-len(".json")]
        if order == "" or (order.startswith(".") and order[1:].isdigit()):
            found.append((int(order[1:] or 1), path))
    return [path for _, path in sorted(found)]


def superseded_runs(archive, name):
    """The archived runs of recipe `name` that runs with other settings replaced, oldest first:
    `<archive>/superseded/<name>.json`, then `<name>.2.json`, `<name>.3.json`, ..."""
    return [json.loads(path.read_text()) for path in _superseded_paths(archive, name)]


def trained_alike(then, now):
    """Whether two runs' metrics (`metrics.json` dicts) record the same training settings
    (`TRAINING_SETTINGS`), each compared where both runs record it."""
    return all(then[key] == now[key] for key in TRAINING_SETTINGS
               if key in then and key in now)


def _supersede(archived, new, archive, name):
    """Moves the archived run `archived` (a path) to `<archive>/superseded/` when the run `new`
    (a path) about to replace it was trained with other settings (`TRAINING_SETTINGS`, each
    compared where both runs record it), or records settings where the archived run, older
    than kmvae's recording them, records none (so that nothing shows them alike); an interim
    run, or the same run evaluated again, is replaced."""
    if not archived.exists():
        return
    then, now = json.loads(archived.read_text()), json.loads(new.read_text())
    unrecorded = (not any(key in then for key in TRAINING_SETTINGS)
                  and any(key in now for key in TRAINING_SETTINGS))
    if then.get("interim") or (trained_alike(then, now) and not unrecorded):
        return
    folder = Path(archive) / SUPERSEDED
    folder.mkdir(exist_ok=True)
    count = len(_superseded_paths(archive, name))
    shutil.move(archived, folder / (f"{name}.json" if count == 0 else f"{name}.{count + 1}.json"))


def archive_runs(runs, archive=ARCHIVE):
    """Copies each recipe's newest finished `metrics.json` under `<runs>/runs/<recipe>/` (the
    highest version `<n>/` that has one, else the unversioned run of earlier kmvae; a recipe
    without a finished run, its newest `<n>/interim/metrics.json` of
    `kmvae evaluate --in-progress`) to `<archive>/<recipe>.json`. An archived finished run
    that one trained with other batch size, data-set or model options replaces (or one that
    records those settings, where the archived run records none) moves to
    `<archive>/superseded/` (`superseded_runs`) instead of being overwritten.

    Returns:
        list of the recipe names archived.
    """
    archive = Path(archive)
    archive.mkdir(parents=True, exist_ok=True)
    names = []
    for folder in sorted(p for p in Path(runs).glob("runs/*") if p.is_dir()):
        versions = sorted((p for p in folder.glob("*/metrics.json") if p.parent.name.isdigit()),
                          key=lambda p: int(p.parent.name))
        interim = sorted((p for p in folder.glob("*/interim/metrics.json")
                          if p.parent.parent.name.isdigit()),
                         key=lambda p: int(p.parent.parent.name))
        found = (versions[-1:] or [p for p in [folder / "metrics.json"] if p.exists()]
                 or interim[-1:])
        if found:
            _supersede(archive / f"{folder.name}.json", found[0], archive, folder.name)
            shutil.copyfile(found[0], archive / f"{folder.name}.json")
            names.append(folder.name)
    return names
