"""Sutter, Daunhawer & Vogt 2021 (MoPoE-VAE), recipes/mopoe.py: the section on Figure 3
(PolyMNIST), kmvae's numbers against the number of input modalities, the claims of section 4.2
and kmvae's drawing of the figure.
"""

from pathlib import Path

from kmvae import recipes as _recipes

from reproduction.archive import IMAGES, ROOT, run_metrics, superseded_runs, trained_alike
from reproduction.common import (TOLERANCE_NATS, TOLERANCE_POINTS, format_number,
                                 ordering_line, plural, run_commands, verdict)


# Sutter, Daunhawer & Vogt 2021 (MoPoE-VAE), section 4.2, Figure 3: PolyMNIST, 5 modalities
# (recipes/mopoe.py). The figure gives no numbers; its legend gives the joint coherence (mean,
# std over 5 runs).
_POLYMNIST = {name: target for name, target in _recipes.paper("mopoe").TARGETS.items()
              if "coherence" in target}
POLYMNIST_RUNS = tuple((target["method"], name) for name, target in _POLYMNIST.items())
POLYMNIST_JOINT_COHERENCE = {target["method"]: (target["coherence"]["joint"],
                                                target["std"]["coherence"]["joint"])
                             for target in _POLYMNIST.values()}
POLYMNIST_PANELS = (("linear-probe accuracy", "latent_probe_by_size"),
                    ("conditional coherence", "coherence"),
                    ("log p(X), proposal q(z\\|X_k), nats", "subset_log_likelihood_by_size"))
# The tolerance of each panel's values: points for the probe and the coherence, nats for log p(X).
POLYMNIST_TOLERANCES = (TOLERANCE_POINTS, TOLERANCE_POINTS, TOLERANCE_NATS)
POLYMNIST_EPOCHS = _POLYMNIST["mopoe_polymnist"]["epochs"]
CHANCE_COHERENCE = 0.1          # PolyMNIST coherence of a random guess among ten digits
POLYMNIST_FIGURE = "mopoe_polymnist_figure3.png"
POLYMNIST_CLAIM = _POLYMNIST["mopoe_polymnist"]["claim"]
# docs/experiments/polymnist_dropout_oracles.py: kmvae's prior generations scored with the
# structure of the MoPoE authors' classifier, in inference mode and with its dropout active,
# as their code leaves it.
AUTHORS_SCORING = ROOT / "docs" / "experiments" / "polymnist_dropout_oracles.json"


def _authors_scoring_lines(joint, path=AUTHORS_SCORING):
    """The joint coherence of the archived runs scored as the MoPoE authors' code scores it
    (`AUTHORS_SCORING`, measured on the run whose joint coherence the archive holds: `joint`,
    model -> the archived joint coherence or None), each against the paper's; [] without that
    measurement."""
    import json

    if not Path(path).exists():
        return []
    measured = json.loads(Path(path).read_text())
    methods = {name: model for model, name in POLYMNIST_RUNS}
    runs = {methods[name]: r for name, r in measured["runs"].items()
            if name in methods and joint.get(methods[name]) == r["kmvae_oracles"]}
    if not runs:
        return []
    inference = [c["inference"] for c in measured["classifiers"].values()]
    noisy = [c["dropout_active"] for c in measured["classifiers"].values()]
    parts = []
    for model, r in runs.items():
        paper, std = POLYMNIST_JOINT_COHERENCE[model]
        active = r["authors_classifier_dropout_active"]
        steady = r["authors_classifier_inference"]
        parts.append(f"{model} {r['kmvae_oracles']:.3f} with kmvae's oracles, "
                     f"{steady:.3f} with the authors' classifier, "
                     f"{active:.3f} +- {r['dropout_active_std']:.3f} with its dropout active "
                     + (f"({steady / active:.1f} times lower; " if active else "(")
                     + f"paper {paper:.3f} +- {std:.3f}: "
                     f"{verdict(active, paper, max(2 * std, TOLERANCE_POINTS))})")
    return ["Checked against the authors' scoring (docs/experiments/"
            "polymnist_dropout_oracles.py): their code (thomassutter/MoPoE) decodes prior "
            "draws to the Laplace means and counts a draw coherent when all five classifiers "
            "agree, as kmvae does, but its classifiers are smaller than the encoder (two "
            "convolutions of 10 and 20 channels and a dense layer of 128, each followed by "
            "dropout of 0.5) and are never put in evaluation mode (mmnist/experiment.py "
            "`set_clfs`; `mm_vae.eval()` does not reach them), so each class they give is a "
            "draw of a noisy classifier, and five such classes agree less often. That "
            f"structure, trained {measured['epochs']} epochs per modality on the recipe's "
            f"training split (test accuracy {min(inference):.2f}-{max(inference):.2f} in "
            f"inference mode, {min(noisy):.2f}-{max(noisy):.2f} with dropout active), scores "
            f"the same {measured['samples']:,} prior generations (joint coherence; the "
            f"dropout's noise drawn {measured['repeats']} times): " + "; ".join(parts) + ".",
            ""]


def _by_size(metrics, key):
    values = metrics.get(key) or {}
    return (values.get("by_size") or {}) if key == "coherence" else values


def _recipe_model(name):
    """The model class name of recipe `name`, or None when the catalog does not have it."""
    from kmvae import recipes
    try:
        return recipes.load(name).model
    except ValueError:
        return None


def _polymnist_fit_gap(found):
    """A note (or none) on how much better each model trained for the paper's epochs fits its
    training tuples than held-out ones: its own objective (`elbo`, nats per example) at the
    last epoch on the training split against the test split it validates on; and whether
    MoPoE's log-likelihood below MVAE's given all five modalities is within MoPoE's gap (issue
    item 6: a gap is called data-limited only with such evidence)."""
    gaps = {model: (m["final_train"]["elbo"], m["final_train"]["val_elbo"])
            for model, m in found.items()
            if {"elbo", "val_elbo"} <= set(m.get("final_train", {}))
            and (m.get("epochs") or 0) >= POLYMNIST_EPOCHS and not m.get("interim")}
    if not gaps:
        return []
    note = ("At the last epoch, each model's own objective (its ELBO, nats per example) on the "
            "training tuples against the test tuples it validates on: " + "; ".join(
                f"{model} {train:.1f} / {held:.1f} ({train - held:+.1f})"
                for model, (train, held) in gaps.items()) + ".")
    if {"MVAE", "MoPoE"} <= set(gaps):
        mvae, mopoe = (_by_size(found[m], "subset_log_likelihood_by_size").get("5")
                       for m in ("MVAE", "MoPoE"))
        fit = {m: train - held for m, (train, held) in gaps.items()}
        if None not in (mvae, mopoe) and mvae - mopoe > TOLERANCE_NATS:
            if fit["MoPoE"] > mvae - mopoe > fit["MVAE"]:
                note += (f" MoPoE's log-likelihood given all five is {mvae - mopoe:.1f} nats "
                         f"below MVAE's on the test tuples, less than MoPoE's gap between "
                         f"training and test objective and more than MVAE's: MoPoE overfits "
                         f"the 8,000 training tuples where MVAE hardly does, so the shortfall "
                         f"is consistent with the smaller data set; whether it is data-limited "
                         f"needs the paper's 60,000 tuples (the full MNIST, not on this "
                         f"machine).")
            else:
                note += (f" MoPoE's log-likelihood given all five is {mvae - mopoe:.1f} nats "
                         f"below MVAE's on the test tuples, which the models' fit gaps do not "
                         f"account for.")
    return [note]


def _run_to_run_notes(archive, found):
    """For each model whose archive keeps earlier runs of the same recipe, settings and length
    (`superseded_runs`; `trained_alike`, as the archive compares them),
    their headline numbers beside the current run's, oldest first: how much one run differs
    from another (the paper's spread is over 5 seeds)."""
    notes = []
    for model, name in POLYMNIST_RUNS:
        now = found.get(model)
        if now is None:
            continue
        same = [m for m in superseded_runs(archive, name)
                if m.get("epochs") == now.get("epochs") and trained_alike(m, now)] + [now]
        if len(same) < 2:
            continue

        def values(get):
            numbers = [get(m) for m in same]
            return " / ".join("-" if v is None else format_number(v) for v in numbers)

        def by_size(key, size):
            return lambda m: _by_size(m, key).get(str(size))

        std = POLYMNIST_JOINT_COHERENCE[model][1]
        notes.append(
            f"`{name}` was trained {plural(len(same), 'time')} with the same recipe and "
            f"length (oldest first; the newest is the one above): joint coherence "
            f"{values(lambda m: (m.get('coherence') or {}).get('joint'))} (the paper's std "
            f"over 5 runs {std:.3f}); conditional coherence given 1 / 4 inputs "
            f"{values(by_size('coherence', 1))} and {values(by_size('coherence', 4))}; "
            f"linear-probe accuracy given 1 / 5 inputs "
            f"{values(by_size('latent_probe_by_size', 1))} and "
            f"{values(by_size('latent_probe_by_size', 5))}; log p(X) given all five "
            f"{values(by_size('subset_log_likelihood_by_size', 5))} nats.")
    return notes


def _polymnist_shortfalls(found):
    """What the PolyMNIST runs do differently from the paper, from their metrics and recipes."""
    short = {name: m["epochs"] for name, m in found.items()
             if m.get("epochs") and m["epochs"] < POLYMNIST_EPOCHS and not m.get("interim")}
    notes = [f"{name}: interim numbers, the model of epoch {m['epochs']} of a "
             f"{m['epochs_planned']}-epoch run still in progress (`kmvae evaluate "
             f"{m['recipe']} --in-progress`); the finished run replaces them."
             for name, m in found.items() if m.get("interim")]
    if short:
        runs = ", ".join(f"{name} {epochs} epoch{'' if epochs == 1 else 's'}"
                         for name, epochs in short.items())
        notes.append(f"{runs} instead of the paper's {POLYMNIST_EPOCHS} (a 2-core CPU): "
                     f"{'that model is' if len(short) == 1 else 'those models are'} far from "
                     f"converged, so {'its' if len(short) == 1 else 'their'} numbers are lower "
                     f"than a trained model's and the curves' shapes, not their levels, are "
                     f"what can be compared. One run per model, not five seeds, so no error "
                     f"bands.")
    else:
        notes.append("One run per model, not five seeds, so no error bands.")
    coherences = [v for m in found.values()
                  for v in (m.get("coherence") or {}).get("by_size", {}).values()]
    if coherences and max(coherences) < CHANCE_COHERENCE + 0.05:
        notes.append(f"Conditional coherence is at chance for every model (at most "
                     f"{max(coherences):.3f}; chance is {CHANCE_COHERENCE:.2f} for ten digits): "
                     f"these models' generations do not carry the digit yet, so the coherence "
                     f"panel shows no trend to compare with the paper's.")
    notes.append("MNIST is the 10,000-digit subset this machine has: 8,000 / 2,000 PolyMNIST "
                 "tuples instead of the paper's 60,000 / 10,000.")
    notes += _polymnist_fit_gap(found)
    notes.append("Backgrounds: five scikit-image photographs (astronaut, chelsea, coffee, "
                 "rocket, hubble_deep_field) instead of the paper's five (fractal tree, The "
                 "Scream, Lena, star field, shingles; App. D.1), which cannot be fetched here.")
    notes.append("Networks: the authors' PolyMNIST networks per modality, from their code (the "
                 "paper describes none; kmvae.layers.PolyMNISTEncoder / PolyMNISTDecoder), "
                 "latent 512, batch 256, Adam 1e-3, beta 2.5 (App. D.2). The coherence oracles "
                 "are, as the paper describes them, the encoder's architecture with a class "
                 "layer (the authors' code trains a smaller classifier).")
    oracle = {n: m.get("oracle_accuracy") for n, m in found.items() if m.get("oracle_accuracy")}
    if oracle:
        values = [v for accs in oracle.values() for v in accs.values()]
        notes.append(f"The oracles' test accuracy on real images is {min(values):.3f} to "
                     f"{max(values):.3f}: coherence cannot exceed it much.")
    ks = sorted({m.get("num_samples") for m in found.values()} - {None})

    def limited(key):
        """`"A: the first N test examples only; B: ...; C: the whole test set, as the paper"`
        for the runs' limit `key` (`eval_examples`, `coherence_examples`)."""
        some = {name: m[key] for name, m in found.items() if m.get(key)}
        whole = [name for name in found if name not in some]
        text = "; ".join(f"{name}: the first {n:,} test examples only" for name, n in some.items())
        return text + (f"; {', '.join(whole)}: the whole test set, as the paper" if whole else "")

    if any(m.get("eval_examples") for m in found.values()):
        notes.append(f"Log-likelihoods ({limited('eval_examples')}; 31 proposals x K samples x "
                     f"5 decoders per example, on a CPU).")
    where = (limited("coherence_examples") if any(m.get("coherence_examples")
                                                  for m in found.values())
             else "the whole test set, as the paper")
    notes.append(f"Conditional coherence over {where}; the probe is trained on 500 training "
                 f"examples and tested on the whole test set, as the paper.")
    if ks and ks != [15]:
        notes.append(f"K = {', '.join(map(str, ks))} importance samples instead of the paper's "
                     f"15.")
    mmvae = _recipe_model("mmvae_polymnist") if "MMVAE" in found else None
    if mmvae == "MMVAE":
        notes.append("MMVAE is trained with its importance-weighted DReG bound; the paper "
                     "compares all models without importance samples (App. B.1), i.e. with "
                     "the mixture-of-experts ELBO and beta = 2.5 (kmvae.MoEVAE).")
    elif mmvae == "MoEVAE":
        notes.append("MMVAE is the paper's (App. B.1): the mixture-of-experts posterior trained "
                     "with the ELBO, beta = 2.5 (kmvae.MoEVAE), not Shi et al.'s "
                     "importance-weighted bound (kmvae.MMVAE).")
    notes.append("Subset posteriors as the paper's code: MoPoE-VAE's subset X_k is the "
                 "product of its experts (Definition 1), MVAE's includes the prior expert, "
                 "MMVAE's is the mixture of X_k's experts (the probe takes one component's "
                 "mean per example, the log-likelihood uses the mixture density as proposal "
                 "where the authors' code uses the selected component).")
    return notes


def _panel(title):
    """A Figure 3 panel's name without its unit: "log p(X), ... nats" -> "log p(X)"."""
    return title.split(",")[0]


def _polymnist_claims(found):
    """A line per claim of MoPoE's section 4.2 on Figure 3 saying whether kmvae shows it, from
    the runs `found` (model -> metrics); a claim about a model whose run is shorter than the
    paper's is not judged."""
    def short(model):
        """Why a claim naming `model` cannot be judged yet (an interim run's epochs are the
        evaluated epoch's, fewer than the paper's), or None."""
        if model not in found:
            return f"{model} not run"
        epochs = found[model].get("epochs")
        if (epochs or 0) < POLYMNIST_EPOCHS:
            return f"{model} trained {plural(epochs, 'epoch')} of {POLYMNIST_EPOCHS}"
        return None

    def judged(claim, models, test):
        reasons = [r for r in map(short, models) if r]
        return (f"- {claim}: kmvae not judged ({'; '.join(reasons)})." if reasons
                else f"- {claim}: kmvae {test()}.")

    def change(model, key):
        values = _by_size(found[model], key)
        return values.get("4", 0) - values.get("1", 0)

    def rises(model):
        falls = [_panel(title) for title, key in POLYMNIST_PANELS if not change(model, key) > 0]
        return "shown" if not falls else f"not shown ({', '.join(falls)} not higher)"

    def above(key, sizes):
        worse = [k for k in sizes
                 if not _by_size(found["MoPoE"], key).get(k, 0)
                 > _by_size(found["MVAE"], key).get(k, 0)]
        return "shown" if not worse else f"not shown (given {', '.join(worse)} inputs)"

    def parity():
        mvae, mopoe = (_by_size(found[m], "subset_log_likelihood_by_size").get("5")
                       for m in ("MVAE", "MoPoE"))
        gap = mopoe - mvae
        return (f"{'shown' if abs(gap) <= TOLERANCE_NATS else 'not shown'} (MoPoE - MVAE = "
                f"{gap:+.1f} nats given all five; tolerance {TOLERANCE_NATS:g})")

    def flat():
        # "across all metrics": the probe, the coherence (points) and log p(X) (nats).
        changes = {_panel(title): (change("MMVAE", key), tolerance)
                   for (title, key), tolerance in zip(POLYMNIST_PANELS, POLYMNIST_TOLERANCES)}
        moved = [t for t, (v, tolerance) in changes.items() if abs(v) > tolerance]
        return (("shown" if not moved else f"not shown ({', '.join(moved)} moved)") + " ("
                + ", ".join(f"{t} {v:+.3f}" for t, (v, _) in changes.items()) + ")")

    def single_match():
        gaps = {_panel(title): (_by_size(found["MoPoE"], key).get("1", 0)
                                - _by_size(found["MMVAE"], key).get("1", 0), tolerance)
                for (title, key), tolerance in zip(POLYMNIST_PANELS, POLYMNIST_TOLERANCES)}
        apart = [t for t, (gap, tolerance) in gaps.items() if abs(gap) > tolerance]
        return (("shown" if not apart else f"not shown ({', '.join(apart)} apart)") + " (MoPoE - "
                "MMVAE given one: " + ", ".join(f"{t} {gap:+.3f}" for t, (gap, _) in gaps.items())
                + ")")

    def best_when_all():
        values = {m: _by_size(found[m], "subset_log_likelihood_by_size").get("5")
                  for m in found}
        top = max(values, key=values.get)
        return ("shown" if top == "MVAE" else f"not shown ({top} higher)") + " (" + ", ".join(
            f"{m} {v:.1f}" for m, v in values.items()) + " nats given all five)"

    return [
        "The paper's claims about the figure (section 4.2), each against kmvae's runs:", "",
        judged("The MVAE and MoPoE-VAE benefit from more input modalities (probe, coherence "
               "and log-likelihood higher with 4 inputs than with 1)", ["MVAE", "MoPoE"],
               lambda: "MVAE " + rises("MVAE") + "; MoPoE " + rises("MoPoE")),
        judged("The MMVAE stays flat across all metrics (probe and coherence within 3 "
               "points, log-likelihood within 2 nats, from 1 to 4 inputs)", ["MMVAE"], flat),
        judged("The MoPoE-VAE is clearly superior to the MVAE in latent classification and "
               "conditional coherence for any number of inputs", ["MVAE", "MoPoE"],
               lambda: "probe " + above("latent_probe_by_size", ["1", "2", "3", "4", "5"])
               + "; coherence " + above("coherence", ["1", "2", "3", "4"])),
        judged("Given all 5 modalities the MoPoE-VAE's log-likelihood is on par with the "
               "MVAE's", ["MVAE", "MoPoE"], parity),
        judged("The MVAE achieves the best generative performance when all modalities are "
               "present (the hypothesis)", ["MVAE", "MMVAE", "MoPoE"], best_when_all),
        judged("Given a single modality the MoPoE-VAE matches the MMVAE (probe and coherence "
               "within 3 points, log-likelihood within 2 nats)", ["MMVAE", "MoPoE"],
               single_match),
        "",
    ]


def polymnist_section(archive, runs, images=IMAGES):
    """MoPoE Figure 3: per model and number of input modalities, the probe accuracy, the
    conditional coherence and the subset log-likelihood (averages over the subsets of each
    size); the figure itself once the three runs are archived."""
    found = {model: m for model, name in POLYMNIST_RUNS
             if (m := run_metrics(archive, name)) is not None}
    lines = ["## MoPoE Figure 3 (PolyMNIST)", "",
             "Sutter, Daunhawer & Vogt 2021 (MoPoE-VAE), section 4.2, Figure 3: performance "
             "against the number of input modalities (1 to 5 of 5), each value the average "
             "over the subsets of that size. Probe: logistic regression on the codes of 500 "
             "training examples, accuracy on the test set; coherence: the oracle-judged "
             "coherence of the generated modalities not in the subset; log-likelihood: "
             "log p(X) of all five modalities with the subset's posterior q(z|X_k) as "
             "importance distribution, K = 15 in the paper (App. B).", "", POLYMNIST_CLAIM, ""]
    if not found:
        commands = [f"kmvae train {name}" for _, name in POLYMNIST_RUNS]
        return lines + ["Not run yet: " + ", ".join(f"`{c}`" for c in commands) + ".", ""]
    sizes = sorted({int(k) for m in found.values() for _, key in POLYMNIST_PANELS
                    for k in _by_size(m, key)})
    lines += ["| quantity | model | " + " | ".join(f"{k} input{'s' * (k > 1)}" for k in sizes)
              + " | change 1 -> 4 |", "|---" * (len(sizes) + 3) + "|"]
    for title, key in POLYMNIST_PANELS:
        for model, _ in POLYMNIST_RUNS:
            values = _by_size(found.get(model, {}), key)
            cells = ["(not run)" if model not in found else
                     "-" if values.get(str(k)) is None else format_number(values[str(k)])
                     for k in sizes]
            change = (f"{values['4'] - values['1']:+.3f}" if "1" in values and "4" in values
                      else "")
            lines.append(f"| {title} | {model} | " + " | ".join(cells) + f" | {change} |")
    joint = {model: found.get(model, {}).get("coherence", {}).get("joint")
             for model in POLYMNIST_JOINT_COHERENCE}

    def caveats(model):
        """The model's own run length, when it is shorter than the paper's."""
        epochs = found.get(model, {}).get("epochs")
        return ([f"{epochs} of {POLYMNIST_EPOCHS} epochs"]
                if epochs and epochs < POLYMNIST_EPOCHS else [])

    lines += ["", "Joint coherence (paper, mean +- std over 5 runs / kmvae: verdict, within "
              "the paper's 2 std or 3 points): " + "; ".join(
                  f"{m} {paper:.3f} +- {std:.3f} / {format_number(joint[m])}: "
                  f"{verdict(joint[m], paper, max(2 * std, TOLERANCE_POINTS), caveats(m))}"
                  for m, (paper, std) in POLYMNIST_JOINT_COHERENCE.items()) + ".", ""]
    lines += [ordering_line("Joint coherence ordering", POLYMNIST_JOINT_COHERENCE, joint), ""]
    chance = {model: m["coherence"]["joint_chance"] for model, m in found.items()
              if "joint_chance" in (m.get("coherence") or {})}
    if chance:
        lines += ["Checked against oracles that agree without shared content: the joint "
                  "coherence the same prior generations would have if each modality's oracle "
                  "classes were drawn independently, with the frequencies it gives them "
                  "(`kmvae.metrics.chance_agreement`; 1e-4 for ten equally frequent "
                  "classes): " + "; ".join(f"{model} {value:.4f} (measured {joint[model]:.4f})"
                                           for model, value in chance.items()) + ".", ""]
    lines += _authors_scoring_lines(joint)
    lines += _polymnist_claims(found)
    lines += ["```bash"]
    for model, name in POLYMNIST_RUNS:
        if model in found:
            lines += list(run_commands(name, found[model], runs))
    lines += ["```", ""]
    if len(found) == len(POLYMNIST_RUNS):
        from kmvae.metrics.plots import performance_by_size
        path = performance_by_size(found, Path(images) / POLYMNIST_FIGURE)
        link = Path(path).resolve()
        link = link.relative_to(ROOT) if link.is_relative_to(ROOT) else link
        lines += [f"![MoPoE Figure 3 by kmvae]({link.as_posix()})", ""]
    lines += ["Where kmvae is short of the paper, and why:", ""]
    lines += [f"- {note}" for note in _polymnist_shortfalls(found)
              + _run_to_run_notes(archive, found)] + [""]
    return lines
