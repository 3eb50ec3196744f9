"""What the report's sections share: the tolerances and `verdict`, the formats of numbers, the
`kmvae train` / `kmvae evaluate` commands of an archived run, and the lines on a run's model
selection and on its training bound against its validation bound.
"""

# What the report says of a run selected in the last tenth of its epochs (`_late`).
LATE_SELECTION = "may still have been improving (not shown to have converged)"
# The report's tolerance for a verdict: a number within it of the paper's is reproduced.
TOLERANCE_NATS = 2.0          # log-likelihoods
TOLERANCE_POINTS = 0.03       # accuracies and coherences (3 percentage points)
TOLERANCE_TEXT = (
    "**Verdicts.** A kmvae number is *reproduced* when it is within 2 nats of the paper's for "
    "a log-likelihood, within 3 points for an accuracy or a coherence, or within the spread "
    "the paper reports where it reports one; otherwise it *differs*, with the reason where "
    "one is known: a run shorter than the paper's (its epochs are given) or data other than "
    "the paper's (the 10,000-digit MNIST subset). Variances of log importance weights have "
    "no tolerance (the paper reports no spread): they are compared, not judged.")


# This machine's MNIST is the 10,000-digit subset: 8,000 training digits (less a recipe's
# validation split) and 2,000 test digits.
MNIST_SUBSET_TRAIN = 8_000


def paired_examples(fraction, validation, examples=MNIST_SUBSET_TRAIN):
    """(paired, training) examples of a run at supervision `fraction`, as
    `kmvae.datasets.supervision_mask` counts them, from a data set's `examples` training
    examples less the `validation` fraction held out (default: the MNIST subset's digits)."""
    from kmvae.datasets.masks import supervision_mask
    train = round(examples * (1 - (validation or 0)))
    return int(supervision_mask(train, fraction).all(axis=1).sum()), train


def verdict(ours, paper, tolerance, caveats=()):
    """The report's verdict on one number: `"reproduced"` within `tolerance` of `paper`, else
    `"differs (kmvae higher|lower)"`, followed by the `caveats` that qualify a difference
    (e.g. `"5 of 500 epochs"`); `"not run"` when `ours` is None; without a `tolerance`,
    `"compared (no tolerance)"` (`"not run (compared, no tolerance)"`)."""
    if tolerance is None:
        return "compared (no tolerance)" if ours is not None else \
            "not run (compared, no tolerance)"
    if ours is None:
        return "not run"
    if abs(ours - paper) <= tolerance:
        return "reproduced"
    text = f"differs (kmvae {'higher' if ours > paper else 'lower'})"
    return text + "".join(f"; {c}" for c in caveats)


def _example_limits(metrics):
    """The `--eval-examples` / `--coherence-examples` options the archived run was made with."""
    return "".join(f" --{flag} {metrics[key]}" for flag, key in (
        ("eval-examples", "eval_examples"), ("coherence-examples", "coherence_examples"))
        if metrics.get(key))


def run_commands(name, metrics, runs):
    """`kmvae train` (`train_command`) and `kmvae evaluate` as the archived run was made."""
    return (train_command(name, metrics, runs),
            f"kmvae evaluate {name} --out {runs} --num-samples {metrics.get('num_samples')}"
            f"{_example_limits(metrics)}{' --in-progress' if metrics.get('interim') else ''}")


def selection_lines(metrics, short_of_paper=True):
    """The model selection of a run (`metrics.json`'s `selection`) and, as the evidence for or
    against a data-limited gap, the training objective against the validation objective;
    the gap is called data-limited only when the run is `short_of_paper` and was not selected
    in the last tenth of its epochs (a criterion still rising: more training may close it)."""
    selection = metrics.get("selection")
    if not selection:
        return ["Model selection: none (the last epoch; the paper selects on a validation "
                "split).", ""]
    held = selection["validation_split"]
    held = f"{held:.3g} of the training split" if isinstance(held, float) else f"{held:,} " \
        "training examples"
    lines = [f"Model selection: epoch {selection['selected_epoch']} of "
             f"{selection['last_epoch']}, the {selection['criterion']} on a validation split "
             f"({held}, held out of training) "
             f"({selection['selected_value']:.3f} against {selection['last_value']:.3f} at the "
             f"last epoch)." + (f" Selected in the last tenth of training, so the criterion "
                                f"{LATE_SELECTION}" + _gain_clause(selection) + "."
                                if _late(selection) else "")]
    final = metrics.get("final_train", {})
    if "elbo" in final and "val_elbo" in final:
        gap = final["elbo"] - final["val_elbo"]
        lines.append(f"At the last epoch the training ELBO is {final['elbo']:.2f} nats and the "
                     f"validation ELBO {final['val_elbo']:.2f} ({gap:+.2f}): "
                     + _gap_reading(gap, short_of_paper, _late(selection)))
    return lines + [""]


def _gap_reading(gap, short_of_paper, late):
    """What a training-over-validation ELBO `gap` (nats) says of a run's gap to the paper:
    data-limited only when the run is `short_of_paper` and its criterion was not still rising
    (`late`: selected in the last tenth)."""
    if gap <= TOLERANCE_NATS:
        return "no sign of overfitting."
    if short_of_paper and not late:
        return ("the model fits its training data much better than held-out data, so more "
                "data, not more training, would close the gap.")
    over = (f"the model fits its training data better than held-out data by more than "
            f"{TOLERANCE_NATS:g} nats, ")
    if short_of_paper:
        return over + ("but its validation ELBO was still rising: this run does not tell "
                       "whether more data or more training would close the gap to the paper.")
    return over + "with no gap to the paper to close."


def ordering_line(what, paper, ours):
    """Whether kmvae shows the paper's ordering of models: `paper` name -> (value, ...) or
    value, `ours` name -> value or None (higher is better)."""
    rank = sorted(paper, key=lambda n: -(paper[n][0] if isinstance(paper[n], tuple)
                                         else paper[n]))
    claim = " > ".join(rank)
    if any(ours.get(n) is None for n in rank):
        return f"{what}: the paper's {claim}; kmvae not run for every model yet."
    mine = sorted(rank, key=lambda n: -ours[n])
    strict = all(ours[a] > ours[b] for a, b in zip(rank, rank[1:]))
    text = " > ".join(mine) if len(set(ours[n] for n in rank)) == len(rank) else ", ".join(
        f"{n} {ours[n]:.3f}" for n in mine)
    return f"{what}: the paper's {claim}; kmvae's {text}: {'shown' if strict else 'not shown'}."


def format_number(value):
    if value is None:
        return "(not run)"
    return f"{value:.3f}" if abs(value) >= 1 else f"{value:.4f}"


def selection_summary(runs_of):
    """One line, for the runs of `runs_of` (recipe name -> archived metrics or None) made with
    model selection: each run's selected epoch against its last, and the criterion; nothing when
    none of them was."""
    chosen = {name: m["selection"] for name, m in runs_of.items() if m and m.get("selection")}
    if not chosen:
        return []
    line = "Model selection on a validation split held out of the training data: " + "; ".join(
        f"`{name}` epoch {c['selected_epoch']} of {c['last_epoch']} ({c['criterion']} "
        f"{c['selected_value']:.3f}, last epoch {c['last_value']:.3f})"
        for name, c in chosen.items()) + "."
    late = {name: c for name, c in chosen.items() if _late(c)}
    if late:
        line += (f" Selected in the last tenth of training, so their criterion "
                 f"{LATE_SELECTION}: " + ", ".join(
                     f"`{name}`" + (f" (+{_gain_text(c)} over its last {_half(c)} epochs)"
                                    if _gain_text(c) else "")
                     for name, c in late.items()) + "." + _extrapolation(late.values()))
    return [line, ""]


def _late(selection):
    """Whether a run's selected epoch lies in the last tenth of its epochs: its criterion may
    still have been improving when training stopped."""
    return selection["selected_epoch"] > 0.9 * selection["last_epoch"]


def _half(selection):
    """The number of epochs in the second half of a run's training (`gain_last_half`'s)."""
    return selection["last_epoch"] - selection["last_epoch"] // 2


def _gain_text(selection, factor=1):
    """How far a run's criterion improved over the second half of its training (times
    `factor`), with its unit ("0.31 nats", "0.5 points"), or None when the run does not record
    it (archived before kmvae did, or a single epoch)."""
    gain = selection.get("gain_last_half")
    if gain is None:
        return None
    if _in_points(selection):
        return f"{100 * factor * gain:.1f} points"
    return f"{factor * gain:.2f} nats"


def _in_points(selection):
    """Whether a selection criterion is an accuracy or a coherence (a fraction, reported in
    points) rather than a bound or a loss (nats)."""
    return any(word in selection["criterion"] for word in ("accuracy", "coherence"))


# What training as long again would gain, from the gain G over the second half: at most 2 G
# while the learning curve flattens (a concave curve gains no more in each next half-length).
EXTRAPOLATION = "as many epochs again would gain at most {}, if the learning curve keeps flattening"


def _gain_clause(selection):
    """For one run selected in its last tenth: its gain over the second half and the bound
    `EXTRAPOLATION` puts on training as long again; empty when the run does not record it."""
    if not _gain_text(selection):
        return ""
    return (f"; its best value gained {_gain_text(selection)} over the last {_half(selection)} "
            f"epochs, so " + EXTRAPOLATION.format(_gain_text(selection, 2)))


def _extrapolation(selections):
    """The same bound for several runs selected in their last tenth, at the largest of their
    gains; empty when none records its gain or their units differ."""
    recorded = [c for c in selections if c.get("gain_last_half") is not None]
    if not recorded or len({_in_points(c) for c in recorded}) > 1:
        return ""
    fastest = max(recorded, key=lambda c: c["gain_last_half"])
    return " At the largest of these gains, " + EXTRAPOLATION.format(_gain_text(fastest, 2)) + "."


def fit_gap_summary(runs_of):
    """One line, for the runs of `runs_of` (recipe name -> archived metrics or None) whose last
    epoch logged both: the training bound against the validation bound, the evidence for or
    against a data-limited gap (issue item 6); nothing when no run logged them."""
    gaps = {name: (m["final_train"]["bound"], m["final_train"]["val_bound"])
            for name, m in runs_of.items()
            if m and {"bound", "val_bound"} <= set(m.get("final_train", {}))}
    if not gaps:
        return []
    over = [name for name, (train, held) in gaps.items() if train - held > TOLERANCE_NATS]
    line = ("At the last epoch, the training bound against the validation bound (each run's "
            "own objective, nats per example): " + "; ".join(
                f"`{name}` {train:.2f} / {held:.2f} ({train - held:+.2f})"
                for name, (train, held) in gaps.items()) + ". ")
    if len(over) == len(gaps):
        line += ("Every run fits its training data better than held-out data by more than "
                 f"{TOLERANCE_NATS:g} nats: more data, not more training, would close the gap.")
    elif over:
        line += (f"The runs that fit their training data better than held-out data by more "
                 f"than {TOLERANCE_NATS:g} nats: " + ", ".join(f"`{name}`" for name in over)
                 + ".")
    else:
        line += "No run shows overfitting."
    return [line, ""]


def train_command(name, metrics, runs):
    """`kmvae train` as the archived run was made: its epochs, and K or the example limit of its
    evaluation when they differ from the recipe's."""
    from kmvae import recipes

    epochs = metrics.get("epochs_planned", metrics.get("epochs"))     # an interim run's plan
    command = f"kmvae train {name} --epochs {epochs} --out {runs}"
    k = metrics.get("num_samples")
    if k is not None and k != recipes.load(name).eval_num_samples:
        command += f" --num-samples {k}"
    return command + _example_limits(metrics)


def table_cell(text):
    """`text` for a Markdown table cell: literal bars escaped."""
    return text.replace("|", "\\|")


def plural(n, noun):
    """`n` and `noun`, plural unless `n` is 1: "1 epoch", "2 epochs"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_accuracy(value):
    return "(not run)" if value is None else f"{value:.3f}"
