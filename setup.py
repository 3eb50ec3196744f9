"""kmvae: multimodal variational autoencoders for Keras 3 / TensorFlow / TensorFlow Probability."""

from setuptools import find_packages, setup

setup(
    name="kmvae",
    version="0.1.0",
    description="Multimodal VAEs (MVAE, MoPoE-VAE, MoE, ...) for Keras 3, TensorFlow and TFP",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["kmvae", "kmvae.*"]) + ["kmvae.recipes.catalog"],
    package_dir={"kmvae.recipes.catalog": "recipes"},
    install_requires=[
        # Versions that work together: TFP 0.25 is built for TF 2.19 and imports tf-keras.
        "tensorflow==2.19.1",
        "tf-keras==2.19.0",
        "tensorflow-probability[tf]==0.25.0",
        "keras>=3.10,<3.11",
        "tensorflow-datasets==4.9.10",
        "importlib_resources>=6",  # TFDS 4.9.10 needs it on Python 3.11 to build data sets
        "tensorflow-metadata<1.18",  # newer ones need protobuf 6, TF 2.19 protobuf < 6
        "numpy>=1.26,<2.2",
        "scikit-learn>=1.5",
        "matplotlib>=3.8",
        "scikit-image>=0.24",  # PolyMNIST's backgrounds (skimage.data), Canny edges
    ],
    extras_require={"test": ["pytest>=8", "pytest-xdist>=3"]},
    entry_points={"console_scripts": ["kmvae=kmvae.cli:main"]},
)
