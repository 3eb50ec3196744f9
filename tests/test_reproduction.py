"""REPRODUCTION.md is generated from the runs' metrics.json next to the papers' numbers."""

import json

from kmvae import reproduction


def test_report_puts_paper_and_kmvae_numbers_side_by_side(tmp_path):
    run = tmp_path / "runs" / "mvae_mnist"
    run.mkdir(parents=True)
    lls = {key: -100.0 - i for i, (_, _, section, key, _, _) in
           enumerate(reproduction.MVAE_TABLES) if section == "log_likelihood"}
    variances = {key: 30.0 for _, _, section, key, _, _ in reproduction.MVAE_TABLES
                 if section == "log_weight_variance"}
    run.joinpath("metrics.json").write_text(json.dumps({
        "recipe": "mvae_mnist", "epochs": 7, "num_samples": 1000, "eval_examples": None,
        "log_likelihood": lls, "log_weight_variance": variances,
        "cross_modal_accuracy(image->label)": 0.9}))
    output = tmp_path / "REPRODUCTION.md"
    archive = tmp_path / "archive"
    assert reproduction.main(["--runs", str(tmp_path), "--archive", str(archive),
                              "--output", str(output)]) == 0
    assert json.loads((archive / "mvae_mnist.json").read_text())["epochs"] == 7
    text = output.read_text()
    assert f"kmvae train mvae_mnist --epochs 7 --out {tmp_path}" in text
    assert f"kmvae evaluate mvae_mnist --out {tmp_path} --num-samples 1000" in text
    assert "| Table 2 | log p(x), proposal q(z\\|x) | -90.619 | -100.000 | -9.381 |" in text
    assert "| Table 4 | var log w, marginal, q(z\\|x) | 25.640 | 30.000 | +4.360 |" in text
    assert "7 epochs instead of the paper's 500" in text
    assert "10,000-digit subset" in text
    # The Fashion-MNIST recipe has not been run: its paper numbers are listed, kmvae's are not.
    assert "Not run yet" in text and "| -232.535 | (not run) |" in text


def test_msnvi_table_1_cells_pair_paper_and_kmvae(tmp_path):
    tmp_path.joinpath("msnvi_mnist_tb_ind.json").write_text(json.dumps({
        "recipe": "msnvi_mnist_tb_ind", "epochs": 5, "eval_examples": 500,
        "msnvi_bounds": {"-L(ind)": 110.5, "-L(moe)": 109.0, "-L(poe)": 99.25}}))
    text = reproduction.build(tmp_path, runs="runs-x")
    section = text[text.index("### MNIST-TB"):text.index("### MNIST-QU")]
    assert "| L(ind) | 102.200 / 110.500 | 102.400 / (not run) |" in section
    assert "| L(poe) | 94.380 / 99.250 |" in section
    assert "kmvae train msnvi_mnist_tb_ind --epochs 5 --out runs-x" in section
    assert "Not run yet (`kmvae train msnvi_mnist_qu_<objective>`)" in text


def test_archive_keeps_earlier_runs_and_takes_newer_ones(tmp_path):
    """A second report, from a runs directory holding only some recipes, still covers the
    recipes archived before; a recipe run again replaces its archived metrics."""
    archive = tmp_path / "archive"
    for runs, name, epochs in (("a", "msnvi_mnist_tb_ind", 5), ("b", "msnvi_mnist_tb_poe", 3),
                               ("b", "msnvi_mnist_tb_ind", 9)):
        run = tmp_path / runs / "runs" / name
        run.mkdir(parents=True)
        run.joinpath("metrics.json").write_text(json.dumps({
            "recipe": name, "epochs": epochs,
            "msnvi_bounds": {"-L(ind)": 100.0 + epochs, "-L(moe)": 1.0, "-L(poe)": 1.0}}))
    assert reproduction.archive_runs(tmp_path / "a", archive) == ["msnvi_mnist_tb_ind"]
    assert sorted(reproduction.archive_runs(tmp_path / "b", archive)) == [
        "msnvi_mnist_tb_ind", "msnvi_mnist_tb_poe"]
    section = reproduction.build(archive)
    section = section[section.index("### MNIST-TB"):section.index("### MNIST-QU")]
    assert "| L(ind) | 102.200 / 109.000 |" in section      # the newer run of the same recipe
    assert "265.590 / 103.000" in section                   # the other recipe, from runs b


def _polymnist_metrics(name, probe, coherence, ll, joint):
    sizes = ("1", "2", "3", "4", "5")
    return {"recipe": name, "epochs": 2, "num_samples": 15, "eval_examples": 50,
            "coherence_examples": 500,
            "latent_probe_by_size": dict(zip(sizes, probe)),
            "coherence": {"by_size": dict(zip(sizes[:4], coherence)), "joint": joint},
            "subset_log_likelihood_by_size": dict(zip(sizes, ll)),
            "oracle_accuracy": {"m0": 0.91, "m1": 0.88}}


def test_polymnist_figure_3_section_pairs_models_and_sizes(tmp_path):
    archive, images = tmp_path / "archive", tmp_path / "images"
    archive.mkdir()
    runs = {"mvae_polymnist": ((0.3, 0.4, 0.5, 0.6, 0.7), (0.1, 0.2, 0.3, 0.4),
                               (-2400.0, -2300.0, -2200.0, -2100.0, -2000.0), 0.04),
            "mmvae_polymnist": ((0.7, 0.7, 0.7, 0.7, 0.7), (0.6, 0.6, 0.6, 0.6),
                                (-2100.0, -2100.0, -2100.0, -2100.0, -2100.0), 0.2)}
    for name, values in runs.items():
        archive.joinpath(f"{name}.json").write_text(json.dumps(_polymnist_metrics(name,
                                                                                  *values)))
    text = reproduction.build(archive, runs="runs-p", images=images)
    section = text[text.index("## MoPoE Figure 3 (PolyMNIST)"):text.index("## Figures")]
    assert "| linear-probe accuracy | MVAE | 0.3000 | 0.4000 | 0.5000 | 0.6000 | 0.7000 | " \
           "+0.300 |" in section
    assert "| conditional coherence | MMVAE | 0.6000 | 0.6000 | 0.6000 | 0.6000 | - | +0.000 |" \
        in section
    assert "| log p(X), proposal q(z\\|X_k), nats | MVAE | -2400.000 | -2300.000 | -2200.000 | " \
           "-2100.000 | -2000.000 | +300.000 |" in section
    assert "| linear-probe accuracy | MoPoE | (not run) | (not run) |" in section
    assert "MVAE 0.036 +- 0.015 / 0.0400; MMVAE 0.200 +- 0.019 / 0.2000; " \
           "MoPoE 0.121 +- 0.016 / (not run)" in section
    assert ("kmvae train mvae_polymnist --epochs 2 --out runs-p --eval-examples 50 "
            "--coherence-examples 500") in section
    assert "2 epochs instead of the paper's 300" in section and "scikit-image" in section
    assert "0.880 to 0.910" in section
    assert not (images / "mopoe_polymnist_figure3.png").exists()   # only once all three ran
    archive.joinpath("mopoe_polymnist.json").write_text(json.dumps(_polymnist_metrics(
        "mopoe_polymnist", (0.7, 0.8, 0.85, 0.9, 0.92), (0.6, 0.7, 0.8, 0.85),
        (-2100.0, -2050.0, -2000.0, -1980.0, -1990.0), 0.12)))
    text = reproduction.build(archive, runs="runs-p", images=images)
    figure = images / "mopoe_polymnist_figure3.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"![MoPoE Figure 3 by kmvae]({figure.resolve().as_posix()})" in text
    assert "| conditional coherence | MoPoE | 0.6000 | 0.7000 | 0.8000 | 0.8500 | - | +0.250 |" \
        in text
