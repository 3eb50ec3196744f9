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
    assert reproduction.main(["--runs", str(tmp_path), "--output", str(output)]) == 0
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
    run = tmp_path / "runs" / "msnvi_mnist_tb_ind"
    run.mkdir(parents=True)
    run.joinpath("metrics.json").write_text(json.dumps({
        "recipe": "msnvi_mnist_tb_ind", "epochs": 5, "eval_examples": 500,
        "msnvi_bounds": {"-L(ind)": 110.5, "-L(moe)": 109.0, "-L(poe)": 99.25}}))
    text = reproduction.build(tmp_path)
    section = text[text.index("### MNIST-TB"):text.index("### MNIST-QU")]
    assert "| L(ind) | 102.200 / 110.500 | 102.400 / (not run) |" in section
    assert "| L(poe) | 94.380 / 99.250 |" in section
    assert f"kmvae train msnvi_mnist_tb_ind --epochs 5 --out {tmp_path}" in section
    assert "Not run yet (`kmvae train msnvi_mnist_qu_<objective>`)" in text
