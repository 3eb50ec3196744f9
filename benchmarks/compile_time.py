"""What a whole `kmvae train` run spends compiling with XLA, and whether any function is compiled
again for the same shapes.

    python benchmarks/compile_time.py mopoe_polymnist --epochs 2 --eval-examples 64
    python benchmarks/compile_time.py svae_mnist_split_100 --epochs 2 --shapes

Everything after the recipe is passed to `kmvae train` (with `--out` a temporary folder). The
run goes in a process of its own whose TensorFlow logs its XLA compilations: TensorFlow's own
compilation profiler (`TF_CPP_VMODULE=device_compilation_profiler=1`) prints one line per
compilation, with the function and the compile time. The script prints one JSON object: the
run's wall seconds, the seconds spent compiling and their share, and per function (the traced
name without TensorFlow's numeric suffix, e.g. `one_step_on_data`): how many times it was
traced (distinct suffixes) and compiled, and the compile seconds.

Compilation does not depend on the number of epochs (a function is compiled once per process and
per input shapes), so a run of a few epochs shows what a full-length run compiles; a recipe
whose training split does not divide into whole batches compiles its step twice (the last, short
batch has other shapes).

`--shapes` also dumps each compiled module's HLO (`XLA_FLAGS=--xla_dump_to`) and reads its entry
parameters' shapes, to list the functions compiled more than once for the same shapes (a
function traced again without need): `"recompiled_same_shapes"`. Writing the dumps adds to the
compile times, so measure the times without it.

Run it alone on the machine.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMPILED = re.compile(r"Compiled (\S+) \d+ times, compile time: (\d+) us")
SUFFIX = re.compile(r"^_*(?:a_)?_*inference_(.+?)_\d+(?:__.*)?$")
LAYOUT = re.compile(r"entry_computation_layout=\{\((.*?)\)->")


def base_name(function):
    """`__inference_one_step_on_data_1234` -> `one_step_on_data`."""
    match = SUFFIX.match(function)
    return match.group(1) if match else function


def entry_shapes(dump_dir):
    """`(traced function, entry parameter shapes)` of every module dumped before optimisation,
    the function with TensorFlow's numeric suffix (one trace)."""
    found = []
    for path in sorted(Path(dump_dir).glob("module_*.before_optimizations.txt")):
        text = path.read_text()
        name = path.name.split(".", 1)[1].split("__XlaMustCompile", 1)[0]
        layout = LAYOUT.search(text.split("\n", 1)[0])
        if layout is None:
            raise ValueError(f"{path}: no entry_computation_layout in its first line.")
        found.append((name, layout.group(1)))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--shapes", action="store_true",
                        help="dump the HLO to find functions compiled again for the same shapes")
    args, train_args = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0",
               "TF_CPP_VMODULE": "device_compilation_profiler=1"}
        if args.shapes:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + f" --xla_dump_to={tmp}/hlo").strip()
        command = [sys.executable, "-m", "kmvae.cli", "train", args.recipe, "--out",
                   f"{tmp}/out", "--quiet", *train_args]
        start = time.perf_counter()
        run = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if run.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{run.stderr[-3000:]}")
        functions = collections.defaultdict(lambda: {"traces": set(), "compilations": 0,
                                                     "seconds": 0.0})
        for name, microseconds in COMPILED.findall(run.stderr):
            entry = functions[base_name(name)]
            entry["traces"].add(name)
            entry["compilations"] += 1
            entry["seconds"] += int(microseconds) / 1e6
        result = {"command": " ".join(["kmvae", *command[3:5], *train_args]),
                  "wall_seconds": round(wall, 1),
                  "compile_seconds": round(sum(f["seconds"] for f in functions.values()), 1),
                  "load_average": round(os.getloadavg()[0], 2)}
        result["compile_share"] = round(result["compile_seconds"] / wall, 3)
        result["functions"] = {
            name: {"traces": len(f["traces"]), "compilations": f["compilations"],
                   "seconds": round(f["seconds"], 2)}
            for name, f in sorted(functions.items(), key=lambda item: -item[1]["seconds"])}
        if args.shapes:
            counts = collections.Counter(entry_shapes(f"{tmp}/hlo"))
            result["recompiled_same_shapes"] = {
                base_name(name): count for (name, _), count in counts.items() if count > 1}
            result["compiled_shapes"] = collections.Counter(
                base_name(name) for name, _ in counts)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
