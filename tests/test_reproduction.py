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
