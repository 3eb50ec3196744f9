"""`.keras` files as earlier kmvae versions wrote them: the same archive with the model's config
edited, to check that `from_config` still loads them."""

import json
import zipfile


def rewrite_config(path, edit):
    """Replaces, in the `.keras` archive at `path`, the model's constructor arguments (the
    `"config"` of `config.json`) by `edit(arguments)`; the weights are left as they are."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    saved = json.loads(files["config.json"])
    saved["config"] = edit(dict(saved["config"]))
    files["config.json"] = json.dumps(saved).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
